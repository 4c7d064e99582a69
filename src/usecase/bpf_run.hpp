// What the bpf-only use cases (latency, slow, offcpu, wakeup) share: starting the bpf source for
// a TraceTarget, running it, and how a trace ended.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "trace/bpf_source.hpp"
#include "usecase/target.hpp"

namespace iodiag::usecase {

// How a trace ended: the part of trace::BpfRun that results keep.
struct TraceEnd {
    trace::StopReason reason = trace::StopReason::target_exited;
    uint64_t dropped = 0;   // records lost in the kernel (ring buffers full)
    uint64_t wall_ns = 0;   // from release (or attach) to stop

    double seconds() const { return static_cast<double>(wall_ns) / 1e9; }
};

TraceEnd trace_end(const trace::BpfRun& run);

// "ended: interrupted", with the number of records lost when the ring buffers overflowed.
std::string describe_end(const TraceEnd& end);

// The bpf source's options for the target (its deadline from effective_duration_ms), its progress
// lines to the observer.
trace::BpfOptions bpf_options(const TraceTarget& target, Observer& observer);

// Starts the bpf source; where it cannot work, the error says that `use_case` needs it.
Result<std::unique_ptr<trace::BpfSource>> start_bpf(const trace::BpfOptions& options, std::string_view use_case);

// Runs the source into `sink`. A second Ctrl-C (StopReason::aborted) is ErrorKind::aborted: the
// caller keeps nothing of the trace.
Result<trace::BpfRun> run_bpf(trace::BpfSource& source, trace::EventSink& sink, trace::FileTable& files);

}  // namespace iodiag::usecase
