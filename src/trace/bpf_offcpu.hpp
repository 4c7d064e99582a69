// Off-CPU time of the target's threads (bpf/offcpu.bpf.c): how long each thread spent off the CPU,
// per kernel stack, user stack and the state it left in (preempted, sleeping, waiting for disk),
// aggregated in the kernel. The stacks are named at the end (kernel: /proc/kallsyms; user: the
// processes' ELF files, whose maps are read while they run) and handed over in collect_totals()
// under "offcpu".
#pragma once

#include <memory>

#include "trace/bpf_tracer.hpp"

namespace iodiag::trace {

class BpfOffcpuTracer final : public BpfTracer {
public:
    // `wakers`: also who wakes the traced threads and whom they wake (totals["offcpu"]["wakeups"]).
    explicit BpfOffcpuTracer(uint64_t min_ns = 1000, bool wakers = false);
    ~BpfOffcpuTracer() override;
    BpfOffcpuTracer(const BpfOffcpuTracer&) = delete;
    BpfOffcpuTracer& operator=(const BpfOffcpuTracer&) = delete;

    std::string_view name() const override { return "offcpu"; }
    std::span<const BpfVariant> variants() const override { return kBtfAndRawVariants; }
    Status load(const BpfTarget& target, const BpfFeatures& features) override;
    Status attach() override;
    uint64_t poll(EventSink& sink, FileTable& files) override;  // refreshes the processes' maps
    // {"switches", "too_short", "lost", "stacks": [{"tgid", "tid", "comm", "state", "total_ns",
    //  "count", "kernel": [frame names, innermost first], "user": [...]}]}, most time first.
    void collect_totals(TracerTotals& totals) const override;
    uint64_t dropped() const override;
    ProgramTime program_time() const override;
    void detach() override;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace iodiag::trace
