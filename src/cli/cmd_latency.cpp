#include "cli/cmd_latency.hpp"

#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "analysis/latency_output.hpp"
#include "cli/exit_codes.hpp"
#include "cli/stderr_observer.hpp"
#include "cli/target_options.hpp"
#include "common/units.hpp"

namespace iodiag::cli {
namespace {

// One report: the table (and histograms) as text, or one JSON object (on one line per interval).
void print(const LatencyOptions& options, const usecase::LatencyRun& report) {
    if (options.json) {
        print_json(usecase::to_json(report), options.request.interval_ms ? -1 : 2);
    } else {
        std::cout << fmt::format("{} {:.1f}s{}\n", report.target, report.seconds,
                                 report.end ? ", " + usecase::describe_end(*report.end) : "");
        if (report.rows.empty()) std::cout << "(no IO in this interval)\n";
        else std::cout << analysis::render_table(report.rows);
        if (options.histogram)
            for (const auto& row : report.rows) std::cout << '\n' << analysis::render_histogram(row);
        std::cout << '\n';
    }
    std::cout.flush();
}

}  // namespace

void add_latency_command(CLI::App& app, LatencyOptions& options) {
    CLI::App* cmd = app.add_subcommand(
        "latency", "Where a process's IO time goes: latency of each syscall, async request (libaio, "
                   "io_uring) and block request (queued and in the device), with the bpf source");
    add_target_options(*cmd, options.request.target);
    cmd->add_option_function<std::string>(
           "-i,--interval",
           [&options](const std::string& text) { options.request.interval_ms = *parse_duration_ms(text); },
           "Print a report this often (each covers its interval only), e.g. 1s; default: one report at the end")
        ->check([](const std::string& text) {
            return parse_duration_ms(text) && *parse_duration_ms(text) >= 100 ? std::string()
                                                                              : "not an interval of 100ms or more: " + text;
        });
    cmd->add_flag("--histogram", options.histogram, "Also print a log2 histogram of each row (as bcc's tools do)");
    cmd->add_flag("--json", options.json, "JSON instead of tables (one object per line with --interval)");
    cmd->footer("Examples:\n"
                "  iodiag latency --pid 1234 -d 30s\n"
                "  iodiag latency --pid 1234 -i 1s --histogram\n"
                "  iodiag latency --pid 1234 -d 0 -i 5s   (until it exits or Ctrl-C)\n"
                "  iodiag latency --json -- fio job.fio");
}

int run_latency(const LatencyOptions& options) {
    usecase::LatencyRequest request = options.request;
    // Every report is printed as it is made, the final one too: a trace that saw no IO still
    // shows its empty report before the error. Except one --json report: stdout then holds one
    // object, the report or the error.
    const bool at_end = options.json && !options.request.interval_ms;
    if (!at_end) request.on_report = [&options](const usecase::LatencyRun& report) { print(options, report); };
    StderrObserver observer;
    auto run = usecase::measure_latency(request, observer);
    if (!run) return report_error(run.error(), options.json);
    if (at_end) print(options, *run);
    return finish_output(options.json);
}

}  // namespace iodiag::cli
