#include "cli/cmd_slow.hpp"

#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/exit_codes.hpp"
#include "cli/stderr_observer.hpp"
#include "cli/target_options.hpp"
#include "common/units.hpp"

namespace iodiag::cli {
namespace {

constexpr const char* kLineFormat = "{:>9} {:>7} {:>7} {:<8} {:<14} {:>10} {:>8} {:>14}  {}\n";

void print_line(const usecase::ListedSlowOp& listed) {
    const analysis::SlowOp& op = listed.op;
    std::cout << fmt::format(kLineFormat, fmt::format("{:.6f}", listed.t_s), op.tgid ? std::to_string(op.tgid) : "-",
                             op.tid ? std::to_string(op.tid) : "-", usecase::slow_layer_name(op.layer), op.op,
                             fmt::format("{:.3f}", static_cast<double>(op.latency_ns) / 1e6),
                             op.bytes ? human_bytes(op.bytes) : "-", op.has_offset ? std::to_string(op.offset) : "-",
                             op.file);
    std::cout.flush();
}

}  // namespace

void add_slow_command(CLI::App& app, SlowOptions& options) {
    CLI::App* cmd = app.add_subcommand(
        "slow", "List each IO operation of a process that takes at least --min, as it happens: syscalls, "
                "async requests (libaio, io_uring) and block requests, with the bpf source");
    add_target_options(*cmd, options.request.target);
    cmd->add_option("--min", options.min, "List operations this slow or slower: 10ms, 250us, 1s")
        ->check([](const std::string& text) {
            return parse_duration_ns(text) ? std::string() : "not a duration: " + text;
        })
        ->capture_default_str();
    cmd->add_option("--limit", options.request.limit, "List at most this many (all are counted)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    cmd->add_flag("--json", options.json, "One JSON object at the end instead of lines as they happen");
    cmd->footer("Examples:\n"
                "  iodiag slow --pid 1234 --min 20ms -d 1m\n"
                "  iodiag slow --min 500us --json -- fio job.fio");
}

int run_slow(const SlowOptions& options) {
    usecase::SlowRequest request = options.request;
    request.min_ns = *parse_duration_ns(options.min);
    if (!options.json) {
        request.on_start = [&options](const std::string& target) {
            std::cout << fmt::format("tracing {}: operations of {} or more\n", target, options.min);
            std::cout << fmt::format(kLineFormat, "T(s)", "PID", "TID", "LAYER", "OP", "LAT(ms)", "BYTES", "OFFSET",
                                     "FILE");
        };
        request.on_listed = print_line;
    }
    StderrObserver observer;
    auto run = usecase::find_slow_ops(request, observer);
    if (!run) return report_error(run.error(), options.json);

    if (options.json) {
        print_json(usecase::to_json(*run));
    } else {
        std::string summary;
        for (const auto& [layer, c] : run->counts)
            summary += fmt::format("{}{}: {} of {}", summary.empty() ? "" : ", ", usecase::slow_layer_name(layer),
                                   c.slow, c.seen);
        const uint64_t listed = run->listed.size();
        std::cout << fmt::format("\n{}; slow: {}{}\n", usecase::describe_end(run->end),
                                 summary.empty() ? "no IO seen" : summary,
                                 listed >= options.request.limit ? fmt::format(" (the first {} listed)", listed) : "");
    }
    return finish_output(options.json);
}

}  // namespace iodiag::cli
