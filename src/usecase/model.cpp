#include "usecase/model.hpp"

#include <ctime>
#include <filesystem>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "analysis/block_stats.hpp"
#include "model/classifier.hpp"
#include "model/source_totals.hpp"
#include "trace/bpf_source.hpp"
#include "trace/file_stat.hpp"
#include "trace/kernel_ids.hpp"
#include "trace/perf_source.hpp"
#include "trace/proc_fd.hpp"
#include "trace/strace_parser.hpp"
#include "trace/strace_source.hpp"
#include "trace/syscall_decoder.hpp"
#include "usecase/bpf_run.hpp"

namespace iodiag::usecase {
namespace {

std::string utc_now_iso8601() {
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

double seconds_between(uint64_t first_ns, uint64_t last_ns) {
    return last_ns > first_ns ? static_cast<double>(last_ns - first_ns) / 1e9 : 0.0;
}

bool from_log(const ModelRequest& request) { return !request.strace_log.empty() || !request.perf_log.empty(); }

// Syscalls and async requests go to the classifier, block requests to the device statistics.
class ModelSink final : public trace::EventSink {
public:
    ModelSink(model::Classifier& classifier, analysis::BlockStats& block)
        : classifier_(classifier), block_(block) {}
    void on_event(const trace::IoEvent& event) override { classifier_.on_event(event); }
    void on_async(const trace::AsyncRequest& request) override { classifier_.on_async(request); }
    void on_block(const trace::BlockRequest& request) override { block_.add(request); }

private:
    model::Classifier& classifier_;
    analysis::BlockStats& block_;
};

// What a trace feeds, set up for the source chosen (the classifier's options depend on it).
struct Pipeline {
    explicit Pipeline(const std::string& source_kind)
        : classifier(model::ClassifierOptions::for_source(source_kind)) {}
    trace::FileTable files;
    model::Classifier classifier;
    analysis::BlockStats block;
    ModelSink sink{classifier, block};
    trace::SyscallDecoder decoder{classifier, files};

    // A text trace's first unreadable line, shown under the summary.
    uint64_t first_bad_line = 0;
    std::string first_bad_text;

    void note_first_bad(const trace::ReaderStats& stats) {
        first_bad_line = stats.first_bad_line;
        first_bad_text = stats.first_bad_text;
    }
};

// A saved trace's figures, whichever text source wrote it.
void describe_log(Pipeline& pipeline, model::WorkloadModel& base, const char* kind,
                  const char* why, const std::string& path, const trace::ReaderStats& stats) {
    base.source.kind = kind;
    base.source.detail = path;
    base.source.why = why;
    base.source.lines = stats.lines;
    base.source.bad_lines = stats.bad_lines;
    pipeline.note_first_bad(stats);
    base.duration_s = seconds_between(stats.first_ts_ns, stats.last_ts_ns);
    base.end_reason = "end of log";
    base.complete = true;
}

Status read_log(const ModelRequest& request, Pipeline& pipeline, model::WorkloadModel& base) {
    const bool perf = !request.perf_log.empty();
    const std::string& path = perf ? request.perf_log : request.strace_log;
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return fail(ErrorKind::not_found, "no such file: " + path);
    if (perf) {
        trace::PerfReaderOptions reader_options;
        reader_options.strict = request.strict;
        auto stats = trace::read_perf_file(path, pipeline.decoder, reader_options);
        if (!stats) return tl::unexpected(stats.error());
        describe_log(pipeline, base, "perf", "saved perf trace output", path, *stats);
        base.source.dropped_events = stats->lost_events;
        return {};
    }
    trace::ReaderOptions reader_options;
    reader_options.strict = request.strict;
    auto stats = trace::read_strace_file(path, pipeline.decoder, reader_options);
    if (!stats) return tl::unexpected(stats.error());
    describe_log(pipeline, base, "strace", "saved strace log", path, *stats);
    return {};
}

// The target's identity, read before tracing: it may be gone afterwards.
void identify_target(const TraceTarget& target, model::WorkloadModel& base) {
    if (target.pid) {
        trace::ProcFs proc;
        base.target.pid = target.pid;
        if (auto comm = proc.comm(target.pid)) base.target.comm = *comm;
        if (auto cmdline = proc.cmdline(target.pid)) base.target.cmdline = *cmdline;
    } else {
        base.target.comm = std::filesystem::path(target.command.front()).filename().string();
        base.target.cmdline = target.command;
    }
}

// A trace that ran to its natural end is complete: --duration, or a launched command exiting.
bool complete_run(const TraceTarget& target, trace::StopReason reason) {
    return reason == trace::StopReason::duration ||
           (!target.pid && reason == trace::StopReason::target_exited);
}

// A second Ctrl-C: the caller keeps nothing of the trace.
Status check_not_aborted(trace::StopReason reason) {
    if (reason == trace::StopReason::aborted) return fail(ErrorKind::aborted, "aborted; no model written");
    return {};
}

trace::LiveTraceOptions live_options(const TraceTarget& target, const Pipeline& pipeline, Observer& observer) {
    trace::LiveTraceOptions live;
    live.pid = target.pid;
    live.command = target.command;
    live.progress = target.progress;
    live.progress_output = status_lines(observer);
    live.command_stdout = target.command_stdout;
    live.io_events = [&pipeline] { return pipeline.classifier.io_events(); };
    live.duration_ms = effective_duration_ms(target);
    return live;
}

// What a live strace or perf run leaves in the model.
Status text_source_result(const char* kind, const TraceTarget& target, Pipeline& pipeline,
                          model::WorkloadModel& base, const std::string& why,
                          const Result<trace::LiveTraceRun>& run, const trace::ReaderStats& stats) {
    if (!run) return tl::unexpected(run.error());
    if (auto status = check_not_aborted(run->reason); !status) return status;
    if (!target.pid) base.target.pid = run->target_pid;
    trace::fill_file_sizes(pipeline.files);

    pipeline.note_first_bad(stats);
    base.source.kind = kind;
    base.source.detail = run->command_line;
    base.source.why = why;
    base.source.lines = stats.lines;
    base.source.bad_lines = stats.bad_lines;
    base.duration_s = stats.first_ts_ns && stats.last_ts_ns
                          ? seconds_between(stats.first_ts_ns, stats.last_ts_ns)
                          : static_cast<double>(run->wall_ns) / 1e9;
    base.end_reason = std::string(trace::stop_reason_name(run->reason));
    base.complete = complete_run(target, run->reason);
    if (!run->untraced_syscalls.empty())
        base.source.why += fmt::format("; this {} cannot trace {}", kind,
                                       fmt::join(run->untraced_syscalls, ","));
    return {};
}

Status trace_strace(const TraceTarget& target, Pipeline& pipeline, model::WorkloadModel& base,
                    const std::string& why, Observer& observer) {
    trace::StraceReader reader(pipeline.decoder);
    auto run = trace::run_strace(live_options(target, pipeline, observer), reader, pipeline.decoder);
    return text_source_result("strace", target, pipeline, base, why, run, reader.stats());
}

Status trace_perf(const TraceTarget& target, Pipeline& pipeline, model::WorkloadModel& base,
                  const std::string& why, Observer& observer) {
    const trace::LiveTraceOptions live = live_options(target, pipeline, observer);
    trace::PerfReader reader(pipeline.decoder, trace::live_perf_reader_options(live));
    auto run = trace::run_perf(live, reader, pipeline.decoder);
    base.source.dropped_events = reader.stats().lost_events;
    return text_source_result("perf", target, pipeline, base, why, run, reader.stats());
}

Status trace_bpf(const TraceTarget& target, trace::BpfSource& source, Pipeline& pipeline,
                 model::WorkloadModel& base, const std::string& why) {
    auto run = source.run(pipeline.sink, pipeline.files);
    if (!run) return tl::unexpected(run.error());
    if (auto status = check_not_aborted(run->reason); !status) return status;
    if (!target.pid) base.target.pid = run->target_pid;
    trace::fill_file_sizes(pipeline.files);
    base.source.kind = "bpf";
    base.source.detail = run->detail;
    base.source.why = why;
    base.source.dropped_events = run->dropped;
    base.source.totals = model::to_json(run->totals);
    base.duration_s = static_cast<double>(run->wall_ns) / 1e9;
    base.end_reason = std::string(trace::stop_reason_name(run->reason));
    base.complete = complete_run(target, run->reason);
    return {};
}

// A bpf source that cannot start for these reasons leaves another source a chance; a missing
// pid or command, or an unwritable file, would fail any source.
bool other_source_may_work(const Error& error) {
    return error.kind != ErrorKind::not_found && error.kind != ErrorKind::usage &&
           error.kind != ErrorKind::output;
}

// --source auto tries bpf, then perf, then strace, and says which it used and why.
Status trace_live(const ModelRequest& request, std::optional<Pipeline>& pipeline,
                  model::WorkloadModel& base, Observer& observer) {
    const TraceTarget& target = request.target;
    const bool automatic = request.source == "auto";
    std::string why = "--source " + request.source;
    if (request.source == "bpf" || automatic) {
        auto source = trace::BpfSource::start(bpf_options(target, observer));
        if (source) {
            if (automatic) {
                why = "auto: bpf loads here (exact offsets, libaio pairing, in-kernel totals)";
                observer.note("tracing with bpf");
            }
            pipeline.emplace("bpf");
            return trace_bpf(target, **source, *pipeline, base, why);
        }
        if (!automatic || !other_source_may_work(source.error()))
            return tl::unexpected(source.error());
        const Error& error = source.error();
        why = "auto: bpf: " + error.message;
        observer.note(fmt::format("the bpf source is not usable: {}{}", error.message,
                                  error.hint.empty() ? "" : " (" + error.hint + ")"));
    }
    if (automatic) {
        auto perf = trace::probe_perf();
        if (perf) {
            why += "; tracing with perf";
            observer.note("tracing with perf trace");
        } else {
            why += "; perf: " + perf.error().message + "; tracing with strace";
            observer.note("tracing with strace: perf trace is not usable: " + perf.error().message);
        }
        pipeline.emplace(perf ? "perf" : "strace");
        return perf ? trace_perf(target, *pipeline, base, why, observer) : trace_strace(target, *pipeline, base, why, observer);
    }
    pipeline.emplace(request.source);
    return request.source == "perf" ? trace_perf(target, *pipeline, base, why, observer)
                                    : trace_strace(target, *pipeline, base, why, observer);
}

}  // namespace

Status validate_model_request(const ModelRequest& request) {
    const TraceTarget& target = request.target;
    int inputs = (target.pid ? 1 : 0) + (request.strace_log.empty() ? 0 : 1) +
                 (request.perf_log.empty() ? 0 : 1) + (target.command.empty() ? 0 : 1);
    if (inputs != 1)
        return fail(ErrorKind::usage,
                    "give exactly one of --pid PID, --strace-log FILE, --perf-log FILE or -- "
                    "COMMAND [ARGS...]",
                    "see iodiag model --help");
    if (request.strict && !from_log(request))
        return fail(ErrorKind::usage, "--strict goes with --strace-log or --perf-log");
    if (request.source != "auto" && request.source != "bpf" && request.source != "perf" &&
        request.source != "strace")
        return fail(ErrorKind::usage, "unknown source " + request.source, "give auto, bpf, perf or strace");
    if (!from_log(request)) return validate_target(target, "model");
    // A log stands where a command would: like a command, it has no --children.
    TraceTarget log_as_command = target;
    log_as_command.command = {request.strace_log + request.perf_log};
    return validate_target(log_as_command, "model");
}

Result<ModelRun> build_model(const ModelRequest& request, Observer& observer) {
    if (auto status = validate_model_request(request); !status) return tl::unexpected(status.error());

    std::optional<Pipeline> pipeline;  // its classifier is set up for the source chosen
    model::WorkloadModel base;
    base.tool_version = IODIAG_VERSION;
    base.created = utc_now_iso8601();
    if (from_log(request)) {
        pipeline.emplace(request.perf_log.empty() ? "strace" : "perf");
        if (auto status = read_log(request, *pipeline, base); !status) return tl::unexpected(status.error());
    } else {
        identify_target(request.target, base);
        if (auto status = trace_live(request, pipeline, base, observer); !status)
            return tl::unexpected(status.error());
    }

    base.source.events = pipeline->classifier.io_events();
    ModelRun run{pipeline->classifier.finish(pipeline->files, std::move(base)), pipeline->first_bad_line,
                 pipeline->first_bad_text};
    model::WorkloadModel& model = run.model;
    model.devices = pipeline->block.devices([](uint32_t dev) { return trace::block_device_name(dev); });
    if (model.source.events == 0 || model.groups.empty()) {
        std::string seen = model.source.kind == "bpf"
                               ? std::string("no IO seen (no reads or writes of files)")
                               : fmt::format("no IO seen ({} trace lines, {} on files)", model.source.lines,
                                             model.source.events);
        // A process that only starts others (fio's main process, a shell, a supervisor) does its
        // IO in children that --pid alone does not trace: say so rather than "trace longer".
        const TraceTarget& target = request.target;
        if (target.pid && !target.children) {
            auto children = trace::ProcFs().children(target.pid);
            if (children && !children->empty())
                return fail(ErrorKind::no_io,
                            fmt::format("{} in process {}, but it has {} child process{} ({}), which {} not traced",
                                        seen, target.pid, children->size(), children->size() == 1 ? "" : "es",
                                        fmt::join(*children, ", "), children->size() == 1 ? "was" : "were"),
                            "add --children to trace the processes it started too (fio runs each job in "
                            "its own process unless thread=1)");
        }
        return fail(ErrorKind::no_io, seen, "trace longer, or check that the target reads or writes files");
    }
    if (auto cost = tracing_cost(model)) observer.note(*cost);
    return run;
}

std::optional<std::string> tracing_cost(const model::WorkloadModel& model) {
    const auto& totals = model.source.totals;
    if (!totals.is_object() || !totals.contains("bpf_programs")) return std::nullopt;
    const auto& programs = totals.at("bpf_programs");
    const auto run_ns = programs.value("run_ns", uint64_t{0}), runs = programs.value("runs", uint64_t{0});
    if (runs == 0) return std::nullopt;
    std::string line = fmt::format("tracing cost: the BPF programs ran {} times, {:.0f} ns each, {:.1f} ms in all",
                                   runs, static_cast<double>(run_ns) / static_cast<double>(runs),
                                   static_cast<double>(run_ns) / 1e6);
    if (model.source.events)
        line += fmt::format(": {:.0f} ns per IO event", static_cast<double>(run_ns) / static_cast<double>(model.source.events));
    if (model.duration_s > 0)
        line += fmt::format(", {:.2f}% of one CPU over the {:.1f} s traced",
                            100.0 * static_cast<double>(run_ns) / 1e9 / model.duration_s, model.duration_s);
    return line + " (the kernel's run-time statistics, on only while tracing)";
}

}  // namespace iodiag::usecase
