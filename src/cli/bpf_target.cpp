#include "cli/bpf_target.hpp"

#include <cstdio>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/exit_codes.hpp"
#include "common/units.hpp"
#include "trace/live_trace.hpp"
#include "trace/proc_fd.hpp"

namespace iodiag::cli {

constexpr uint64_t kDefaultAttachMs = 10'000;

void add_target_options(CLI::App& cmd, TargetOptions& options) {
    auto* pid = cmd.add_option("-p,--pid", options.pid, "Attach to this running process")->check(CLI::PositiveNumber);
    cmd.add_flag("--children", options.children, "With --pid: also trace the processes it starts");
    cmd.add_option("-d,--duration", options.duration,
                   "How long to trace: 10, 10s, 500ms, 2m (default: 10s with --pid; a command is traced "
                   "until it exits)")
        ->check([](const std::string& text) {
            auto ms = parse_duration_ms(text);
            return ms && *ms > 0 ? std::string() : "not a duration: " + text;
        });
    cmd.add_flag("--progress", options.progress, "Progress lines on stderr even when it is not a terminal");
    auto* command = cmd.add_option("command", options.command, "-- COMMAND [ARGS...]: launch and trace this command");
    pid->excludes(command);
}

Status validate_target(const TargetOptions& options, const std::string& command_name) {
    if ((options.pid > 0) == !options.command.empty())
        return fail(ErrorKind::usage, "give exactly one of --pid PID or -- COMMAND [ARGS...]",
                    "see iodiag " + command_name + " --help");
    if (options.children && !options.pid)
        return fail(ErrorKind::usage, "--children goes with --pid (a launched command is always traced "
                                      "with the processes it starts)");
    return {};
}

std::string describe_target(const TargetOptions& options) {
    if (!options.pid) return options.command.front();
    auto comm = trace::ProcFs().comm(options.pid);
    return fmt::format("pid {}{}", options.pid, comm ? " (" + *comm + ")" : std::string());
}

trace::BpfOptions bpf_options(const TargetOptions& options) {
    trace::BpfOptions bpf;
    bpf.pid = options.pid;
    bpf.command = options.command;
    bpf.children = options.children;
    bpf.duration_ms = options.duration.empty() ? (options.pid ? kDefaultAttachMs : 0)
                                               : *parse_duration_ms(options.duration);
    bpf.progress = options.progress;
    return bpf;
}

std::string describe_end(const trace::BpfRun& run) {
    std::string ended = fmt::format("ended: {}", trace::stop_reason_name(run.reason));
    if (run.dropped)
        ended += fmt::format("; {} records lost (ring buffer full): figures are from the rest", run.dropped);
    return ended;
}

std::variant<trace::BpfRun, int> run_bpf(trace::BpfSource& source, trace::EventSink& sink, trace::FileTable& files) {
    auto run = source.run(sink, files);
    if (!run) return report_error(run.error());
    if (run->reason == trace::StopReason::aborted) {
        std::fprintf(stderr, "iodiag: aborted\n");
        return kExitAborted;
    }
    return std::move(*run);
}

Result<std::unique_ptr<trace::BpfSource>> start_bpf(const trace::BpfOptions& options, const std::string& command_name) {
    auto source = trace::BpfSource::start(options);
    if (source) return source;
    Error error = source.error();
    if (error.kind == ErrorKind::unsupported || error.kind == ErrorKind::permission) {
        error.message = command_name + " needs the bpf source: " + error.message;
        if (error.hint.empty())
            error.hint = "iodiag model --source strace shows syscall latencies, with strace's own cost in them";
    }
    return tl::unexpected(error);
}

}  // namespace iodiag::cli
