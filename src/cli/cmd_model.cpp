#include "cli/cmd_model.hpp"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <optional>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "analysis/block_stats.hpp"
#include "cli/exit_codes.hpp"
#include "cli/output_path.hpp"
#include "common/histogram.hpp"
#include "common/table.hpp"
#include "common/units.hpp"
#include "model/classifier.hpp"
#include "model/workload_model.hpp"
#include "trace/bpf_source.hpp"
#include "trace/file_stat.hpp"
#include "trace/kernel_ids.hpp"
#include "trace/perf_source.hpp"
#include "trace/proc_fd.hpp"
#include "trace/strace_parser.hpp"
#include "trace/strace_source.hpp"
#include "trace/syscall_decoder.hpp"

namespace iodiag::cli {
namespace {

constexpr uint64_t kDefaultAttachMs = 10'000;

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

// A fio option's value as a table cell: strings bare, numbers as written, absent as "-".
std::string fio_cell(const model::ordered_json& fio, const char* key) {
    if (!fio.contains(key)) return "-";
    const auto& value = fio.at(key);
    return value.is_string() ? value.get<std::string>() : value.dump();
}

// bssplit can run long; the table shows its start, model.json has all of it.
std::string bs_cell(const model::ordered_json& fio) {
    constexpr size_t kMax = 24;
    std::string cell = fio.contains("bs") ? fio_cell(fio, "bs") : fio_cell(fio, "bssplit");
    if (cell.size() > kMax) cell = cell.substr(0, kMax - 3) + "...";
    return cell;
}

std::string sync_cell(const model::ordered_json& fio) {
    std::string cell;
    for (const char* key : {"sync", "fsync", "fdatasync"}) {
        if (!fio.contains(key)) continue;
        if (!cell.empty()) cell += ",";
        cell += std::string(key) + "=" + fio_cell(fio, key);
    }
    return cell.empty() ? "-" : cell;
}

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

struct Pipeline {
    explicit Pipeline(const std::string& source_kind) : classifier(classifier_options(source_kind)) {}
    trace::FileTable files;
    model::Classifier classifier;
    analysis::BlockStats block;
    ModelSink sink{classifier, block};
    trace::SyscallDecoder decoder{classifier, files};

    static model::ClassifierOptions classifier_options(const std::string& source_kind) {
        return model::ClassifierOptions::for_source(source_kind);
    }

    // A text trace's first unreadable line, shown under the summary.
    uint64_t first_bad_line = 0;
    std::string first_bad_text;
};

void note_first_bad(Pipeline& pipeline, const trace::ReaderStats& stats) {
    pipeline.first_bad_line = stats.first_bad_line;
    pipeline.first_bad_text = stats.first_bad_text;
}

uint64_t most_common(const model::ValueCounts& counts) {
    auto it = std::max_element(counts.begin(), counts.end(),
                               [](const auto& a, const auto& b) { return a.second < b.second; });
    return it == counts.end() ? 0 : it->first;
}

// What the block layer saw on each device under the target's files.
std::string device_table(const std::vector<model::DeviceEvidence>& devices) {
    using Align = Table::Align;
    Table table({{"device", Align::left},  {"requests", Align::right}, {"read%", Align::right},
                 {"size", Align::right},   {"consec%", Align::right},     {"depth p50", Align::right},
                 {"Q2D p50/p99 us", Align::right}, {"D2C p50/p99 us", Align::right},
                 {"target's%", Align::right}});
    const auto percent = [](uint64_t part, uint64_t whole) {
        return whole ? fmt::format("{:.0f}", 100.0 * static_cast<double>(part) / static_cast<double>(whole))
                     : std::string("-");
    };
    const auto latency = [](const model::Percentiles& p) {
        return p.count ? fmt::format("{:.0f}/{:.0f}", p.p50, p.p99) : std::string("-");
    };
    for (const auto& d : devices)
        table.add_row({d.name, std::to_string(d.requests), percent(d.reads, d.reads + d.writes),
                       fio_size(most_common(d.sizes)),
                       percent(d.pattern.consecutive, d.pattern.ops),
                       std::to_string(quantile_of(d.in_device, 0.5)), latency(d.q2d_us), latency(d.d2c_us),
                       percent(d.attributed, d.requests)});
    return table.render();
}

void print_summary(const model::WorkloadModel& model, const Pipeline& pipeline,
                   const std::string& output) {
    const auto& target = model.target;
    std::string who = target.pid ? fmt::format("pid {}", target.pid) : std::string("the log");
    if (!target.comm.empty()) who += " (" + target.comm + ")";
    fmt::print("traced {} for {:.1f}s with {}: {} lines, {} IO events, ended: {}\n\n", who,
               model.duration_s, model.source.kind, model.source.lines, model.source.events,
               model.end_reason);

    using Align = Table::Align;
    Table table({{"group", Align::left},   {"threads", Align::right}, {"engine", Align::left},
                 {"rw", Align::left},      {"bs", Align::left},       {"direct", Align::right},
                 {"sync", Align::left},    {"iodepth", Align::right}, {"IOPS", Align::right},
                 {"files", Align::right}});
    for (const auto& group : model.groups) {
        const auto& fio = group.fio;
        table.add_row({group.name, std::to_string(group.threads.size()), group.engine,
                       fio_cell(fio, "rw"),
                       bs_cell(fio),
                       fio_cell(fio, "direct"), sync_cell(fio), fio_cell(fio, "iodepth"),
                       fmt::format("{:.0f}", group.evidence.iops),
                       std::to_string(group.files.size())});
    }
    fmt::print("{}\n", table.render());

    if (!model.devices.empty()) fmt::print("{}\n", device_table(model.devices));

    for (const auto& group : model.groups)
        for (const auto& [dimension, why] : group.unknown)
            fmt::print("unknown: {}: {}: {}\n", group.name, dimension, why);
    if (model.source.bad_lines) {
        fmt::print("skipped {} unreadable trace lines\n", model.source.bad_lines);
        if (pipeline.first_bad_line)
            fmt::print("  the first, line {}: {}\n", pipeline.first_bad_line, pipeline.first_bad_text);
    }
    if (model.source.dropped_events)
        fmt::print("note: {} events were lost (ring buffer full){}\n", model.source.dropped_events,
                   model.source.totals.empty() ? "" : "; source.totals in the model stay exact");
    if (!model.complete) fmt::print("note: the trace was cut short ({})\n", model.end_reason);
    fmt::print("model: {}\n", std::filesystem::absolute(output).string());
}

// A saved trace's figures, whichever text source wrote it.
void describe_log(Pipeline& pipeline, model::WorkloadModel& base, const char* kind,
                  const char* why, const std::string& path, const trace::ReaderStats& stats) {
    base.source.kind = kind;
    base.source.detail = path;
    base.source.why = why;
    base.source.lines = stats.lines;
    base.source.bad_lines = stats.bad_lines;
    note_first_bad(pipeline, stats);
    base.duration_s = seconds_between(stats.first_ts_ns, stats.last_ts_ns);
    base.end_reason = "end of log";
    base.complete = true;
}

Status read_log(const ModelOptions& options, Pipeline& pipeline, model::WorkloadModel& base) {
    const bool perf = !options.perf_log.empty();
    const std::string& path = perf ? options.perf_log : options.strace_log;
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return fail(ErrorKind::not_found, "no such file: " + path);
    if (perf) {
        trace::PerfReaderOptions reader_options;
        reader_options.strict = options.strict;
        auto stats = trace::read_perf_file(path, pipeline.decoder, reader_options);
        if (!stats) return tl::unexpected(stats.error());
        describe_log(pipeline, base, "perf", "saved perf trace output", path, *stats);
        base.source.dropped_events = stats->lost_events;
        return {};
    }
    trace::ReaderOptions reader_options;
    reader_options.strict = options.strict;
    auto stats = trace::read_strace_file(path, pipeline.decoder, reader_options);
    if (!stats) return tl::unexpected(stats.error());
    describe_log(pipeline, base, "strace", "saved strace log", path, *stats);
    return {};
}

uint64_t duration_ms(const ModelOptions& options) {
    if (!options.duration.empty()) return *parse_duration_ms(options.duration);  // validated by CLI11
    return options.pid ? kDefaultAttachMs : 0;
}

// The target's identity, read before tracing: it may be gone afterwards.
void describe_target(const ModelOptions& options, model::WorkloadModel& base) {
    if (options.pid) {
        trace::ProcFs proc;
        base.target.pid = options.pid;
        if (auto comm = proc.comm(options.pid)) base.target.comm = *comm;
        if (auto cmdline = proc.cmdline(options.pid)) base.target.cmdline = *cmdline;
    } else {
        base.target.comm = std::filesystem::path(options.command.front()).filename().string();
        base.target.cmdline = options.command;
    }
}

// A trace that ran to its natural end is complete: --duration, or a launched command exiting.
bool complete_run(const ModelOptions& options, trace::StopReason reason) {
    return reason == trace::StopReason::duration ||
           (!options.pid && reason == trace::StopReason::target_exited);
}

trace::LiveTraceOptions live_options(const ModelOptions& options, const Pipeline& pipeline) {
    trace::LiveTraceOptions live;
    live.pid = options.pid;
    live.command = options.command;
    live.progress = options.progress;
    live.command_stdout = options.command_stdout;
    live.io_events = [&pipeline] { return pipeline.classifier.io_events(); };
    live.duration_ms = duration_ms(options);
    return live;
}

// What a live strace or perf run leaves in the model.
Result<int> text_source_result(const char* kind, const ModelOptions& options, Pipeline& pipeline,
                               model::WorkloadModel& base, const std::string& why,
                               const Result<trace::LiveTraceRun>& run,
                               const trace::ReaderStats& stats) {
    if (!run) return tl::unexpected(run.error());
    if (run->reason == trace::StopReason::aborted) {
        std::fprintf(stderr, "iodiag: aborted; no model written\n");
        return kExitAborted;
    }
    if (!options.pid) base.target.pid = run->target_pid;
    trace::fill_file_sizes(pipeline.files);

    note_first_bad(pipeline, stats);
    base.source.kind = kind;
    base.source.detail = run->command_line;
    base.source.why = why;
    base.source.lines = stats.lines;
    base.source.bad_lines = stats.bad_lines;
    base.duration_s = stats.first_ts_ns && stats.last_ts_ns
                          ? seconds_between(stats.first_ts_ns, stats.last_ts_ns)
                          : static_cast<double>(run->wall_ns) / 1e9;
    base.end_reason = std::string(trace::stop_reason_name(run->reason));
    base.complete = complete_run(options, run->reason);
    if (!run->untraced_syscalls.empty())
        base.source.why += fmt::format("; this {} cannot trace {}", kind,
                                       fmt::join(run->untraced_syscalls, ","));
    return kExitOk;
}

Result<int> trace_strace(const ModelOptions& options, Pipeline& pipeline,
                         model::WorkloadModel& base, const std::string& why) {
    trace::StraceReader reader(pipeline.decoder);
    auto run = trace::run_strace(live_options(options, pipeline), reader, pipeline.decoder);
    return text_source_result("strace", options, pipeline, base, why, run, reader.stats());
}

Result<int> trace_perf(const ModelOptions& options, Pipeline& pipeline,
                       model::WorkloadModel& base, const std::string& why) {
    const trace::LiveTraceOptions live = live_options(options, pipeline);
    trace::PerfReader reader(pipeline.decoder, trace::live_perf_reader_options(live));
    auto run = trace::run_perf(live, reader, pipeline.decoder);
    base.source.dropped_events = reader.stats().lost_events;
    return text_source_result("perf", options, pipeline, base, why, run, reader.stats());
}

Result<int> trace_bpf(const ModelOptions& options, trace::BpfSource& source, Pipeline& pipeline,
                      model::WorkloadModel& base, const std::string& why) {
    auto run = source.run(pipeline.sink, pipeline.files);
    if (!run) return tl::unexpected(run.error());
    if (run->reason == trace::StopReason::aborted) {
        std::fprintf(stderr, "iodiag: aborted; no model written\n");
        return kExitAborted;
    }
    if (!options.pid) base.target.pid = run->target_pid;
    trace::fill_file_sizes(pipeline.files);
    base.source.kind = "bpf";
    base.source.detail = run->detail;
    base.source.why = why;
    base.source.dropped_events = run->dropped;
    base.source.totals = std::move(run->totals);
    base.duration_s = static_cast<double>(run->wall_ns) / 1e9;
    base.end_reason = std::string(trace::stop_reason_name(run->reason));
    base.complete = complete_run(options, run->reason);
    return kExitOk;
}

// A bpf source that cannot start for these reasons leaves another source a chance; a missing
// pid or command, or an unwritable file, would fail any source.
bool other_source_may_work(const Error& error) {
    return error.kind != ErrorKind::not_found && error.kind != ErrorKind::usage &&
           error.kind != ErrorKind::output;
}

// --source auto tries bpf, then perf, then strace, and says which it used and why.
Result<int> trace_live(const ModelOptions& options, std::optional<Pipeline>& pipeline,
                       model::WorkloadModel& base) {
    const bool automatic = options.source == "auto";
    std::string why = "--source " + options.source;
    if (options.source == "bpf" || automatic) {
        trace::BpfOptions bpf_options;
        bpf_options.pid = options.pid;
        bpf_options.command = options.command;
        bpf_options.children = options.children;
        bpf_options.duration_ms = duration_ms(options);
        bpf_options.progress = options.progress;
        bpf_options.command_stdout = options.command_stdout;
        auto source = trace::BpfSource::start(bpf_options);
        if (source) {
            if (automatic) {
                why = "auto: bpf loads here (exact offsets, libaio pairing, in-kernel totals)";
                std::fprintf(stderr, "iodiag: tracing with bpf\n");
            }
            pipeline.emplace("bpf");
            return trace_bpf(options, **source, *pipeline, base, why);
        }
        if (!automatic || !other_source_may_work(source.error()))
            return tl::unexpected(source.error());
        why = "auto: bpf: " + source.error().message;
        std::fprintf(stderr, "iodiag: the bpf source is not usable: %s%s%s\n",
                     source.error().message.c_str(), source.error().hint.empty() ? "" : " (",
                     source.error().hint.empty() ? "" : (source.error().hint + ")").c_str());
    }
    if (automatic) {
        auto perf = trace::probe_perf();
        if (perf) {
            why += "; tracing with perf";
            std::fprintf(stderr, "iodiag: tracing with perf trace\n");
        } else {
            why += "; perf: " + perf.error().message + "; tracing with strace";
            std::fprintf(stderr, "iodiag: tracing with strace: perf trace is not usable: %s\n",
                         perf.error().message.c_str());
        }
        const char* kind = perf ? "perf" : "strace";
        pipeline.emplace(kind);
        return perf ? trace_perf(options, *pipeline, base, why)
                    : trace_strace(options, *pipeline, base, why);
    }
    pipeline.emplace(options.source);
    return options.source == "perf" ? trace_perf(options, *pipeline, base, why)
                                    : trace_strace(options, *pipeline, base, why);
}

Status validate(const ModelOptions& options) {
    int inputs = (options.pid ? 1 : 0) + (options.strace_log.empty() ? 0 : 1) +
                 (options.perf_log.empty() ? 0 : 1) +
                 (options.command.empty() ? 0 : 1);
    if (inputs != 1)
        return fail(ErrorKind::usage,
                    "give exactly one of --pid PID, --strace-log FILE, --perf-log FILE or -- "
                    "COMMAND [ARGS...]",
                    "see iodiag model --help");
    if (options.strict && options.strace_log.empty() && options.perf_log.empty())
        return fail(ErrorKind::usage, "--strict goes with --strace-log or --perf-log");
    if (options.children && !options.pid)
        return fail(ErrorKind::usage, "--children goes with --pid (a launched command is always "
                                      "traced with the processes it starts)");
    return {};
}

}  // namespace

void add_model_command(CLI::App& app, ModelOptions& options) {
    CLI::App* cmd = app.add_subcommand(
        "model", "Trace a workload and write its model (job groups in fio's terms) to model.json");
    auto* pid = cmd->add_option("-p,--pid", options.pid, "Attach to this running process")
                    ->check(CLI::PositiveNumber);
    auto* log = cmd->add_option("--strace-log", options.strace_log,
                                "Read a saved strace log (strace -f -tt -T -y output)");
    auto* perf_log = cmd->add_option("--perf-log", options.perf_log,
                                     "Read a saved perf trace output (perf trace -T -o FILE ...)");
    cmd->add_flag("--strict", options.strict, "Stop at the first unreadable log line");
    cmd->add_option("-d,--duration", options.duration,
                    "How long to trace: 10, 10s, 500ms, 2m (default: 10s with --pid; a command "
                    "is traced until it exits)")
        ->check([](const std::string& text) {
            return parse_duration_ms(text) ? std::string() : "not a duration: " + text;
        });
    cmd->add_option("--source", options.source,
                    "Trace source: auto (bpf where it loads, else perf, else strace), bpf, perf, "
                    "strace")
        ->check(CLI::IsMember({"auto", "strace", "bpf", "perf"}))
        ->capture_default_str();
    cmd->add_flag("--children", options.children,
                  "With --pid and bpf: also trace the processes the target starts (strace "
                  "always does)");
    cmd->add_option("-o,--output", options.output, "Where to write the model")
        ->capture_default_str();
    cmd->add_flag("--json", options.json, "Print the model as JSON on stdout instead of a table");
    cmd->add_flag("--progress", options.progress,
                  "Progress lines on stderr even when it is not a terminal");
    auto* command = cmd->add_option("command", options.command,
                                    "-- COMMAND [ARGS...]: launch and trace this command");
    pid->excludes(log)->excludes(perf_log)->excludes(command);
    log->excludes(perf_log)->excludes(command);
    perf_log->excludes(command);
    cmd->footer("Examples:\n"
                "  iodiag model --pid 1234 -d 30s\n"
                "  iodiag model --pid 1234 --children --source bpf\n"
                "  iodiag model -- fio job.fio\n"
                "  iodiag model --strace-log trace.txt -o model.json\n"
                "  iodiag model --perf-log perf.txt -o model.json");
}

int run_model(const ModelOptions& options) {
    if (auto status = validate(options); !status) return report_error(status.error());
    if (auto status = check_output_writable(options.output); !status)
        return report_error(status.error());

    std::optional<Pipeline> pipeline;  // its classifier is set up for the source chosen
    model::WorkloadModel base;
    base.tool_version = IODIAG_VERSION;
    base.created = utc_now_iso8601();
    if (!options.strace_log.empty() || !options.perf_log.empty()) {
        pipeline.emplace(options.perf_log.empty() ? "strace" : "perf");
        if (auto status = read_log(options, *pipeline, base); !status)
            return report_error(status.error());
    } else {
        describe_target(options, base);
        auto code = trace_live(options, pipeline, base);
        if (!code) return report_error(code.error());
        if (*code != kExitOk) return *code;
    }

    base.source.events = pipeline->classifier.io_events();
    model::WorkloadModel model = pipeline->classifier.finish(pipeline->files, std::move(base));
    model.devices = pipeline->block.devices([](uint32_t dev) { return trace::block_device_name(dev); });
    if (model.source.events == 0 || model.groups.empty())
        return report_error({ErrorKind::no_io,
                             model.source.kind == "bpf"
                                 ? std::string("no IO seen (no reads or writes of files)")
                                 : fmt::format("no IO seen ({} trace lines, {} on files)",
                                               model.source.lines, model.source.events),
                             "trace longer, or check that the target reads or writes files"});

    if (auto status = model::save_model(model, options.output); !status)
        return report_error(status.error());
    if (options.json) {
        std::cout << model::to_json(model).dump(2) << '\n';
        std::fprintf(stderr, "model: %s\n",
                     std::filesystem::absolute(options.output).string().c_str());
    } else {
        print_summary(model, *pipeline, options.output);
    }
    return kExitOk;
}

}  // namespace iodiag::cli
