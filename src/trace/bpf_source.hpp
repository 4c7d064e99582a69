// The bpf source: runs iodiag's BPF tracers for one target (a running process, or a command it
// launches held before exec until everything is attached), drains them all from one polling loop
// with progress lines, and stops on --duration, SIGINT/SIGTERM or the target's exit (the rules in
// trace_lifecycle). Nothing
// of iodiag's stays attached once run() returns (or the source is destroyed).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "trace/io_event.hpp"
#include "trace/strace_source.hpp"
#include "trace/trace_lifecycle.hpp"
#include "trace/tracer_totals.hpp"

namespace iodiag::trace {

struct BpfOptions {
    int32_t pid = 0;                    // attach to this process, or
    std::vector<std::string> command;   // launch this (argv[0] looked up through $PATH)
    bool children = false;              // with pid: also processes it starts (always for a command)
    uint64_t duration_ms = 0;           // 0 = until the target exits or a signal
    bool progress = false;              // progress lines even when stderr is not a TTY
    ProgressOutput progress_output;     // where they go (none: no progress lines)
    std::string command_stdout;         // launch: the command's stdout goes to this file
    bool offcpu = false;                // also the off-CPU tracer (totals.offcpu)
    uint64_t offcpu_min_ns = 1000;      // its shortest absence recorded
    bool wakers = false;                // and who wakes the target's threads (totals.offcpu->wakeups)
    uint64_t interval_ms = 0;           // > 0: on_interval runs this often while tracing, after
    std::function<void()> on_interval;  // the records so far went to the sink
};

struct BpfRun {
    StopReason reason = StopReason::target_exited;
    int exit_status = 0;        // launch: the command's exit code
    int32_t target_pid = 0;
    std::string detail;         // attach variant, tracers, ring size, start-up time
    uint64_t wall_ns = 0;       // from release (or attach) to stop
    uint64_t records = 0;       // events and requests the tracers handed over
    uint64_t dropped = 0;       // lost in the kernel (ring buffers full); totals stay exact
    TracerTotals totals;        // per tracer, exact
};

class BpfSource {
public:
    // Checks BPF is usable, loads and attaches every tracer for the target; a command is started
    // but held before exec. An error here means nothing was traced and no target was started,
    // so a caller may fall back to another source.
    static Result<std::unique_ptr<BpfSource>> start(const BpfOptions& options);
    ~BpfSource();
    BpfSource(const BpfSource&) = delete;
    BpfSource& operator=(const BpfSource&) = delete;

    // Releases a launched command and traces until a stop condition; then detaches everything
    // and hands over what the tracers still held. Call once.
    Result<BpfRun> run(EventSink& sink, FileTable& files);

    // Milliseconds from start() to every tracer attached.
    double attach_ms() const;

private:
    BpfSource();
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace iodiag::trace
