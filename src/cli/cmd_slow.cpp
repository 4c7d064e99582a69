#include "cli/cmd_slow.hpp"

#include <cstdio>
#include <ctime>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "analysis/slow_ops.hpp"
#include "cli/exit_codes.hpp"
#include "common/units.hpp"
#include "trace/kernel_ids.hpp"

namespace iodiag::cli {
namespace {

constexpr const char* kLineFormat = "{:>9} {:>7} {:>7} {:<8} {:<14} {:>10} {:>8} {:>14}  {}\n";

std::string layer_word(analysis::LatencyLayer layer) {
    switch (layer) {
    case analysis::LatencyLayer::syscall: return "syscall";
    case analysis::LatencyLayer::async: return "async";
    default: return "block";
    }
}

nlohmann::ordered_json to_json(const analysis::SlowOp& op, double t_s) {
    nlohmann::ordered_json out = {{"t_s", t_s},
                                  {"layer", layer_word(op.layer)},
                                  {"op", op.op},
                                  {"pid", op.tgid},
                                  {"tid", op.tid},
                                  {"file", op.file},
                                  {"bytes", op.bytes},
                                  {"latency_ms", static_cast<double>(op.latency_ns) / 1e6},
                                  {"result", op.result}};
    if (op.has_offset) out["offset"] = op.offset;
    if (op.layer == analysis::LatencyLayer::block_device) out["queued_ms"] = static_cast<double>(op.queue_ns) / 1e6;
    return out;
}

}  // namespace

void add_slow_command(CLI::App& app, SlowOptions& options) {
    CLI::App* cmd = app.add_subcommand(
        "slow", "List each IO operation of a process that takes at least --min, as it happens: syscalls, "
                "async requests (libaio, io_uring) and block requests, with the bpf source");
    add_target_options(*cmd, options.target);
    cmd->add_option("--min", options.min, "List operations this slow or slower: 10ms, 250us, 1s")
        ->check([](const std::string& text) {
            return parse_duration_ns(text) ? std::string() : "not a duration: " + text;
        })
        ->capture_default_str();
    cmd->add_option("--limit", options.limit, "List at most this many (all are counted)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    cmd->add_flag("--json", options.json, "One JSON object at the end instead of lines as they happen");
    cmd->footer("Examples:\n"
                "  iodiag slow --pid 1234 --min 20ms -d 1m\n"
                "  iodiag slow --min 500us --json -- fio job.fio");
}

int run_slow(const SlowOptions& options) {
    if (auto status = validate_target(options.target, "slow"); !status) return report_error(status.error());
    const uint64_t min_ns = *parse_duration_ns(options.min);

    const std::string target = describe_target(options.target);
    trace::FileTable files;
    nlohmann::ordered_json listed = nlohmann::ordered_json::array();
    uint64_t printed = 0;
    uint64_t start_ns = 0;  // the trace's start on the BPF clock (CLOCK_MONOTONIC)
    analysis::SlowOps slow(min_ns, files, [](uint32_t dev) { return trace::block_device_name(dev); },
                           [&](const analysis::SlowOp& op) {
                               if (printed >= options.limit) return;
                               ++printed;
                               const double t_s =
                                   static_cast<double>(op.start_ns > start_ns ? op.start_ns - start_ns : 0) / 1e9;
                               if (options.json) {
                                   listed.push_back(to_json(op, t_s));
                                   return;
                               }
                               std::cout << fmt::format(
                                   kLineFormat, fmt::format("{:.6f}", t_s), op.tgid ? std::to_string(op.tgid) : "-",
                                   op.tid ? std::to_string(op.tid) : "-", layer_word(op.layer), op.op,
                                   fmt::format("{:.3f}", static_cast<double>(op.latency_ns) / 1e6),
                                   op.bytes ? human_bytes(op.bytes) : "-",
                                   op.has_offset ? std::to_string(op.offset) : "-", op.file);
                               std::cout.flush();
                           });

    auto source = start_bpf(bpf_options(options.target), "slow");
    if (!source) return report_error(source.error());
    if (!options.json) {
        std::cout << fmt::format("tracing {}: operations of {} or more\n", target, options.min);
        std::cout << fmt::format(kLineFormat, "T(s)", "PID", "TID", "LAYER", "OP", "LAT(ms)", "BYTES", "OFFSET", "FILE");
    }
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    start_ns = static_cast<uint64_t>(now.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(now.tv_nsec);
    auto outcome = run_bpf(**source, slow, files);
    if (const int* code = std::get_if<int>(&outcome)) return *code;
    const trace::BpfRun& run = std::get<trace::BpfRun>(outcome);

    nlohmann::ordered_json counts = nlohmann::ordered_json::object();
    std::string summary;
    for (const auto& [layer, c] : slow.counts()) {
        counts[layer_word(layer)] = {{"seen", c.seen}, {"slow", c.slow}};
        summary += fmt::format("{}{}: {} of {}", summary.empty() ? "" : ", ", layer_word(layer), c.slow, c.seen);
    }
    if (options.json) {
        nlohmann::ordered_json out = {{"target", target},     {"min_ms", static_cast<double>(min_ns) / 1e6},
                                      {"ended", describe_end(run)}, {"counts", counts},
                                      {"listed", printed},     {"ops", listed}};
        std::cout << out.dump(2) << '\n';
    } else {
        std::cout << fmt::format("\n{}; slow: {}{}\n", describe_end(run), summary.empty() ? "no IO seen" : summary,
                                 printed >= options.limit ? fmt::format(" (the first {} listed)", printed) : "");
    }
    std::cout.flush();
    if (!std::cout) return report_error({ErrorKind::output, "cannot write to stdout", {}});
    return kExitOk;
}

}  // namespace iodiag::cli
