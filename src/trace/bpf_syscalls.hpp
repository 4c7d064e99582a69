// The syscall tracer (bpf/syscalls.bpf.c): the traced processes' IO syscalls with exact offsets
// (the file position read from the kernel's struct file), the fd's open flags and file identity
// (device, inode) at the time of each call, libaio iocbs paired with their completions, and
// exact per-call totals kept in BPF maps. Emits the same IoEvents and AsyncRequests as the strace
// source, so the classifier cannot tell them apart except by their precision.
#pragma once

#include <cstddef>
#include <memory>

#include "trace/bpf_tracer.hpp"

namespace iodiag::trace {

class BpfSyscalls final : public BpfTracer {
public:
    // The ring buffer must hold what arrives between two polls at the highest rates
    // (~10^6 calls/s x ~120 bytes = 120 MB/s: 16 MiB is ~130 ms of slack over a 20 ms poll, and
    // bigger rings cost start-up time to allocate); a power of two.
    static constexpr size_t kDefaultRingBytes = size_t(16) << 20;

    explicit BpfSyscalls(size_t ring_bytes = kDefaultRingBytes);
    ~BpfSyscalls() override;
    BpfSyscalls(const BpfSyscalls&) = delete;
    BpfSyscalls& operator=(const BpfSyscalls&) = delete;

    std::string_view name() const override { return "syscalls"; }
    std::span<const BpfVariant> variants() const override { return kBtfAndRawVariants; }
    Status load(const BpfTarget& target, const BpfFeatures& features) override;
    Status attach() override;
    // After detach() this also hands over the libaio requests still waiting for a completion
    // (complete_ns 0): none can come any more.
    uint64_t poll(EventSink& sink, FileTable& files) override;
    void collect_totals(TracerTotals& totals) const override;
    uint64_t dropped() const override;
    ProgramTime program_time() const override;
    void targets_added() override;
    void detach() override;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace iodiag::trace
