// What the BPF tracers count exactly in their kernel maps, handed over at the end of a trace
// (BpfTracer::collect_totals, BpfRun::totals). Plain values: model/source_totals.hpp writes them
// into model.json's source.totals.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace iodiag::trace {

// The kernel's run-time statistics of a set of programs (bpf_enable_stats): how often they ran and
// for how long, summed. Zero where statistics were not enabled.
struct ProgramTime {
    uint64_t run_ns = 0;
    uint64_t runs = 0;
};

// A log2 histogram's non-empty buckets: (lower bound, count), ascending; 4096 counts [4096, 8192).
using Log2Buckets = std::vector<std::pair<uint64_t, uint64_t>>;

struct SyscallCallTotals {
    std::string name;                   // the syscall, as syscall_name() spells it
    uint64_t calls = 0;
    uint64_t errors = 0;
    uint64_t latency_ns_total = 0;
    Log2Buckets latency_ns_log2;
    bool has_bytes = false;             // a read or write call: bytes and sizes are counted
    uint64_t bytes = 0;
    Log2Buckets size_log2;
};

struct SyscallTotals {
    std::vector<SyscallCallTotals> calls;  // calls made at least once, in Syscall order
    uint64_t records = 0;
    uint64_t dropped = 0;
    uint64_t aio_iocbs = 0;
    uint64_t aio_iocbs_unread = 0;
    uint64_t aio_completions = 0;            // reaped by io_getevents
    uint64_t aio_completions_from_ring = 0;  // reaped from the mapped ring in user space
    uint64_t aio_completions_unseen_submit = 0;
    uint64_t processes_started = 0;
    uint64_t processes_exited = 0;
};

struct UringTotals {
    uint64_t reads = 0;
    uint64_t writes = 0;
    uint64_t fsyncs = 0;
    uint64_t read_bytes = 0;
    uint64_t write_bytes = 0;
    uint64_t errors = 0;
    uint64_t submit_batches = 0;
    uint64_t complete_batches = 0;
    std::vector<std::pair<std::string, uint64_t>> submitted_by_opcode;  // opcodes seen, by number
    uint64_t not_files = 0;
    uint64_t untracked = 0;
    uint64_t dropped = 0;
    uint64_t order_gaps_skipped = 0;
    uint64_t late = 0;
    uint64_t reap_unseen = 0;           // delivered without the time the application took the CQE
};

struct BlockDeviceTotals {
    std::string name;                   // block_device_name(): "nvme0n1"
    std::string dev;                    // "major:minor"
    uint64_t requests = 0;
    uint64_t reads = 0;
    uint64_t writes = 0;
    uint64_t flushes = 0;
    uint64_t discards = 0;
    uint64_t others = 0;
    uint64_t read_bytes = 0;
    uint64_t write_bytes = 0;
    uint64_t attributed = 0;
    uint64_t errors = 0;
    uint64_t untracked = 0;
    uint64_t dropped = 0;
    uint64_t missed_completions = 0;
    uint64_t in_flight_at_end = 0;      // issued, not completed when the trace ended
};

struct OffcpuStackTotals {
    uint32_t tgid = 0;
    uint32_t tid = 0;
    std::string comm;
    std::string state;                  // preempted, sleeping, disk, other
    uint64_t total_ns = 0;
    uint64_t count = 0;
    std::vector<std::string> kernel;    // innermost frame first
    std::vector<std::string> user;
};

// A thread woken by another: who woke a traced thread and how long it had waited (woken), or a
// thread a traced one woke (not woken: nothing is known of its wait).
struct WakeupTotals {
    bool woken = true;                  // a traced thread was woken (else it woke another)
    uint32_t wakee_tgid = 0, wakee_tid = 0;
    std::string wakee_comm;
    uint32_t waker_tgid = 0, waker_tid = 0;
    std::string waker_comm;
    uint64_t waited_ns = 0;
    uint64_t count = 0;
    uint64_t run_delay_ns = 0;          // woken: wakeup to running, summed (wake-to-run latency)
    std::vector<std::string> waker_kernel;  // the waker's stack when it woke, innermost first
    std::vector<std::string> waker_user;
};

struct OffcpuTotals {
    uint64_t switches = 0;
    uint64_t too_short = 0;
    uint64_t lost = 0;
    bool kernel_symbols = true;
    std::vector<OffcpuStackTotals> stacks;              // most time first
    std::optional<std::vector<WakeupTotals>> wakeups;   // when wakers were tracked
};

// One member per tracer, set when it was loaded.
struct TracerTotals {
    std::optional<ProgramTime> bpf_programs;  // where the bpf source enabled program statistics
    std::optional<SyscallTotals> syscalls;
    std::optional<UringTotals> io_uring;
    std::optional<std::vector<BlockDeviceTotals>> block;  // per traced device
    std::optional<OffcpuTotals> offcpu;
};

}  // namespace iodiag::trace
