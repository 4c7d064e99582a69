#include "usecase/bpf_run.hpp"

#include <fmt/format.h>

#include "trace/live_trace.hpp"

namespace iodiag::usecase {

TraceEnd trace_end(const trace::BpfRun& run) {
    return TraceEnd{run.reason, run.dropped, run.wall_ns};
}

std::string describe_end(const TraceEnd& end) {
    std::string ended = fmt::format("ended: {}", trace::stop_reason_name(end.reason));
    if (end.dropped)
        ended += fmt::format("; {} records lost (ring buffer full): figures are from the rest", end.dropped);
    return ended;
}

trace::BpfOptions bpf_options(const TraceTarget& target, Observer& observer) {
    trace::BpfOptions bpf;
    bpf.pid = target.pid;
    bpf.command = target.command;
    bpf.children = target.children;
    bpf.duration_ms = effective_duration_ms(target);
    bpf.progress = target.progress;
    bpf.progress_output = status_lines(observer);
    bpf.command_stdout = target.command_stdout;
    return bpf;
}

Result<std::unique_ptr<trace::BpfSource>> start_bpf(const trace::BpfOptions& options, std::string_view use_case) {
    auto source = trace::BpfSource::start(options);
    if (source) return source;
    Error error = source.error();
    if (error.kind == ErrorKind::unsupported || error.kind == ErrorKind::permission) {
        error.message = fmt::format("{} needs the bpf source: {}", use_case, error.message);
        if (error.hint.empty())
            error.hint = "iodiag model --source strace shows syscall latencies, with strace's own cost in them";
    }
    return tl::unexpected(error);
}

Result<trace::BpfRun> run_bpf(trace::BpfSource& source, trace::EventSink& sink, trace::FileTable& files) {
    auto run = source.run(sink, files);
    if (run && run->reason == trace::StopReason::aborted) return fail(ErrorKind::aborted, "aborted");
    return run;
}

}  // namespace iodiag::usecase
