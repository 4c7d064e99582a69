#include "cli/cmd_latency.hpp"

#include <chrono>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "analysis/latency.hpp"
#include "analysis/latency_output.hpp"
#include "cli/exit_codes.hpp"
#include "common/units.hpp"
#include "trace/bpf_source.hpp"
#include "trace/kernel_ids.hpp"

namespace iodiag::cli {
namespace {

// One report: the table (and histograms) as text, or one JSON object on one line per interval.
class Printer {
public:
    Printer(const LatencyOptions& options, std::string target) : options_(options), target_(std::move(target)) {}

    void print(const std::vector<analysis::LatencyRow>& rows, double seconds, const std::string& heading) {
        if (options_.json) {
            nlohmann::ordered_json out = {{"target", target_},
                                          {"interval_s", seconds},
                                          {"rows", analysis::to_json(rows)}};
            if (!heading.empty()) out["ended"] = heading;
            std::cout << (options_.interval.empty() ? out.dump(2) : out.dump()) << '\n';
        } else {
            std::cout << fmt::format("{} {:.1f}s{}\n", target_, seconds, heading.empty() ? "" : ", " + heading);
            if (rows.empty()) std::cout << "(no IO in this interval)\n";
            else std::cout << analysis::render_table(rows);
            if (options_.histogram)
                for (const auto& row : rows) std::cout << '\n' << analysis::render_histogram(row);
            std::cout << '\n';
        }
        std::cout.flush();
    }

private:
    const LatencyOptions& options_;
    std::string target_;
};

}  // namespace

void add_latency_command(CLI::App& app, LatencyOptions& options) {
    CLI::App* cmd = app.add_subcommand(
        "latency", "Where a process's IO time goes: latency of each syscall, async request (libaio, "
                   "io_uring) and block request (queued and in the device), with the bpf source");
    add_target_options(*cmd, options.target);
    cmd->add_option("-i,--interval", options.interval,
                    "Print a report this often (each covers its interval only), e.g. 1s; default: one "
                    "report at the end")
        ->check([](const std::string& text) {
            return parse_duration_ms(text) && *parse_duration_ms(text) >= 100 ? std::string()
                                                                              : "not an interval of 100ms or more: " + text;
        });
    cmd->add_flag("--histogram", options.histogram, "Also print a log2 histogram of each row (as bcc's tools do)");
    cmd->add_flag("--json", options.json, "JSON instead of tables (one object per line with --interval)");
    cmd->footer("Examples:\n"
                "  iodiag latency --pid 1234 -d 30s\n"
                "  iodiag latency --pid 1234 -i 1s --histogram\n"
                "  iodiag latency --json -- fio job.fio");
}

int run_latency(const LatencyOptions& options) {
    if (auto status = validate_target(options.target, "latency"); !status) return report_error(status.error());

    const std::string target = describe_target(options.target);
    analysis::LatencyStats stats([](uint32_t dev) { return trace::block_device_name(dev); });
    Printer printer(options, target);
    auto interval_start = std::chrono::steady_clock::now();
    const auto seconds_since = [](std::chrono::steady_clock::time_point since) {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
    };

    trace::BpfOptions bpf = bpf_options(options.target);
    if (!options.interval.empty()) {
        bpf.interval_ms = *parse_duration_ms(options.interval);
        bpf.on_interval = [&] {
            printer.print(stats.rows(), seconds_since(interval_start), "");
            stats.reset();
            interval_start = std::chrono::steady_clock::now();
        };
    }
    auto source = start_bpf(bpf, "latency");
    if (!source) return report_error(source.error());
    interval_start = std::chrono::steady_clock::now();  // the first interval starts with the trace, not the load
    trace::FileTable files;
    auto outcome = run_bpf(**source, stats, files);
    if (const int* code = std::get_if<int>(&outcome)) return *code;
    const trace::BpfRun& run = std::get<trace::BpfRun>(outcome);
    const auto rows = stats.rows();
    printer.print(rows, seconds_since(interval_start), describe_end(run));
    if (rows.empty() && options.interval.empty())
        return report_error({ErrorKind::no_io, "no IO seen", "trace longer, or check that the target reads or writes files"});
    if (!std::cout) return report_error({ErrorKind::output, "cannot write to stdout", {}});
    return kExitOk;
}

}  // namespace iodiag::cli
