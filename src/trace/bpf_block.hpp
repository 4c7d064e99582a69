// Block-layer requests on the devices under the target's files (bpf/block.bpf.c): size, sector,
// direction, requests in the device at issue, queue (insert -> issue) and device (issue ->
// complete) times, and the traced process when it was the one inserting or issuing. Sent to the
// sink as BlockRequests (analysis::BlockStats turns them into model::DeviceEvidence); exact
// per-device totals stay in a BPF map (collect_totals).
//
// The devices: the whole disks under the target processes' open files (their st_dev; for btrfs's
// anonymous device numbers and overlay, the devices `iodiag stack` finds under the file) and
// opened block device files, found at load and again while polling as files get opened;
// add_device() adds one by hand.
#pragma once

#include <memory>
#include <vector>

#include "trace/bpf_tracer.hpp"

namespace iodiag::trace {

class BpfBlockTracer final : public BpfTracer {
public:
    BpfBlockTracer();
    ~BpfBlockTracer() override;
    BpfBlockTracer(const BpfBlockTracer&) = delete;
    BpfBlockTracer& operator=(const BpfBlockTracer&) = delete;

    std::string_view name() const override { return "block"; }
    Status load(const BpfTarget& target, const BpfFeatures& features) override;
    Status attach() override;
    uint64_t poll(EventSink& sink, FileTable& files) override;
    void collect_totals(TracerTotals& totals) const override;
    uint64_t dropped() const override;
    ProgramTime program_time() const override;
    void detach() override;

    // Traces `dev` (kernel dev_t; a partition means its whole disk). After load.
    Status add_device(uint32_t dev);
    std::vector<uint32_t> devices() const;  // whole disks traced so far

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace iodiag::trace
