#include "cli/cmd_model.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/exit_codes.hpp"
#include "cli/stderr_observer.hpp"
#include "cli/target_options.hpp"
#include "common/histogram.hpp"
#include "common/table.hpp"
#include "common/units.hpp"
#include "model/workload_model.hpp"
#include "usecase/output_path.hpp"

namespace iodiag::cli {
namespace {

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

}  // namespace

void print_model_summary(const usecase::ModelRun& run, const std::string& output) {
    const model::WorkloadModel& model = run.model;
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
    // A thread whose IO is of several kinds feeds one group per kind (README: Streams).
    for (const auto& thread : model.threads) {
        if (thread.groups.size() < 2) continue;
        fmt::print("thread {}{} feeds {} groups: {}\n", thread.tid, thread.comm.empty() ? "" : " (" + thread.comm + ")",
                   thread.groups.size(), fmt::join(thread.groups, ", "));
    }

    if (!model.devices.empty()) fmt::print("{}\n", device_table(model.devices));

    for (const auto& group : model.groups)
        for (const auto& [dimension, why] : group.unknown)
            fmt::print("unknown: {}: {}: {}\n", group.name, dimension, why);
    if (model.source.bad_lines) {
        fmt::print("skipped {} unreadable trace lines\n", model.source.bad_lines);
        if (run.first_bad_line)
            fmt::print("  the first, line {}: {}\n", run.first_bad_line, run.first_bad_text);
    }
    if (model.source.dropped_events)
        fmt::print("note: {} events were lost (ring buffer full){}\n", model.source.dropped_events,
                   model.source.totals.empty() ? "" : "; source.totals in the model stay exact");
    if (!model.complete) fmt::print("note: the trace was cut short ({})\n", model.end_reason);
    fmt::print("model: {}\n", std::filesystem::absolute(output).string());
}

void add_model_command(CLI::App& app, ModelOptions& options) {
    usecase::ModelRequest& request = options.request;
    usecase::TraceTarget& target = request.target;
    CLI::App* cmd = app.add_subcommand(
        "model", "Trace a workload and write its model (job groups in fio's terms) to model.json");
    const TargetOptions target_options = add_target_options(*cmd, target);
    auto* log = cmd->add_option("--strace-log", request.strace_log,
                                "Read a saved strace log (strace -f -tt -T -y output)");
    auto* perf_log = cmd->add_option("--perf-log", request.perf_log,
                                     "Read a saved perf trace output (perf trace -T -o FILE ...)");
    cmd->add_flag("--strict", request.strict, "Stop at the first unreadable log line");
    cmd->add_option("--source", request.source,
                    "Trace source: auto (bpf where it loads, else perf, else strace), bpf, perf, "
                    "strace")
        ->check(CLI::IsMember({"auto", "strace", "bpf", "perf"}))
        ->capture_default_str();
    cmd->add_option("-o,--output", options.output, "Where to write the model")
        ->capture_default_str();
    cmd->add_flag("--json", options.json, "Print the model as JSON on stdout instead of a table");
    target_options.pid->excludes(log)->excludes(perf_log);
    log->excludes(perf_log)->excludes(target_options.command);
    perf_log->excludes(target_options.command);
    cmd->footer("Examples:\n"
                "  iodiag model --pid 1234 -d 30s\n"
                "  iodiag model --pid 1234 -d 0          (until it exits or Ctrl-C)\n"
                "  iodiag model --pid 1234 --children --source bpf   (strace always follows children)\n"
                "  iodiag model -- fio job.fio\n"
                "  iodiag model --strace-log trace.txt -o model.json\n"
                "  iodiag model --perf-log perf.txt -o model.json");
}

int run_model(const ModelOptions& options) {
    // The output is checked before tracing, so a long trace does not end in "cannot write".
    if (auto status = usecase::validate_model_request(options.request); !status)
        return report_error(status.error(), options.json);
    if (auto status = usecase::check_output_writable(options.output); !status)
        return report_error(status.error(), options.json);
    StderrObserver observer;
    auto run = usecase::build_model(options.request, observer);
    if (!run) return report_error(run.error(), options.json);
    if (auto status = model::save_model(run->model, options.output); !status)
        return report_error(status.error(), options.json);
    if (options.json) {
        print_json(model::to_json(run->model));
        std::fprintf(stderr, "model: %s\n", std::filesystem::absolute(options.output).string().c_str());
    } else {
        print_model_summary(*run, options.output);
    }
    return finish_output(options.json);
}

}  // namespace iodiag::cli
