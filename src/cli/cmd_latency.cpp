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
#include "trace/live_trace.hpp"
#include "trace/proc_fd.hpp"

namespace iodiag::cli {
namespace {

constexpr uint64_t kDefaultAttachMs = 10'000;

Status validate(const LatencyOptions& options) {
    if ((options.pid > 0) == !options.command.empty())
        return fail(ErrorKind::usage, "give exactly one of --pid PID or -- COMMAND [ARGS...]",
                    "see iodiag latency --help");
    if (options.children && !options.pid)
        return fail(ErrorKind::usage, "--children goes with --pid (a launched command is always traced "
                                      "with the processes it starts)");
    return {};
}

std::string describe_target(const LatencyOptions& options) {
    if (!options.pid) return options.command.front();
    trace::ProcFs proc;
    auto comm = proc.comm(options.pid);
    return fmt::format("pid {}{}", options.pid, comm ? " (" + *comm + ")" : std::string());
}

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
    auto* pid = cmd->add_option("-p,--pid", options.pid, "Attach to this running process")
                    ->check(CLI::PositiveNumber);
    cmd->add_flag("--children", options.children, "With --pid: also trace the processes it starts");
    cmd->add_option("-d,--duration", options.duration,
                    "How long to trace: 10, 10s, 500ms, 2m (default: 10s with --pid; a command is "
                    "traced until it exits)")
        ->check([](const std::string& text) {
            return parse_duration_ms(text) && *parse_duration_ms(text) > 0 ? std::string()
                                                                           : "not a duration: " + text;
        });
    cmd->add_option("-i,--interval", options.interval,
                    "Print a report this often (each covers its interval only), e.g. 1s; default: one "
                    "report at the end")
        ->check([](const std::string& text) {
            return parse_duration_ms(text) && *parse_duration_ms(text) >= 100 ? std::string()
                                                                              : "not an interval of 100ms or more: " + text;
        });
    cmd->add_flag("--histogram", options.histogram, "Also print a log2 histogram of each row (as bcc's tools do)");
    cmd->add_flag("--json", options.json, "JSON instead of tables (one object per line with --interval)");
    cmd->add_flag("--progress", options.progress, "Progress lines on stderr even when it is not a terminal");
    auto* command = cmd->add_option("command", options.command, "-- COMMAND [ARGS...]: launch and trace this command");
    pid->excludes(command);
    cmd->footer("Examples:\n"
                "  iodiag latency --pid 1234 -d 30s\n"
                "  iodiag latency --pid 1234 -i 1s --histogram\n"
                "  iodiag latency --json -- fio job.fio");
}

int run_latency(const LatencyOptions& options) {
    if (auto status = validate(options); !status) return report_error(status.error());

    const std::string target = describe_target(options);
    analysis::LatencyStats stats([](uint32_t dev) { return trace::block_device_name(dev); });
    Printer printer(options, target);
    auto interval_start = std::chrono::steady_clock::now();
    const auto seconds_since = [](std::chrono::steady_clock::time_point since) {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
    };

    trace::BpfOptions bpf;
    bpf.pid = options.pid;
    bpf.command = options.command;
    bpf.children = options.children;
    bpf.duration_ms = options.duration.empty() ? (options.pid ? kDefaultAttachMs : 0)
                                               : *parse_duration_ms(options.duration);
    bpf.progress = options.progress;
    if (!options.interval.empty()) {
        bpf.interval_ms = *parse_duration_ms(options.interval);
        bpf.on_interval = [&] {
            printer.print(stats.rows(), seconds_since(interval_start), "");
            stats.reset();
            interval_start = std::chrono::steady_clock::now();
        };
    }
    auto source = trace::BpfSource::start(bpf);
    if (!source) {
        Error error = source.error();
        if (error.kind == ErrorKind::unsupported || error.kind == ErrorKind::permission) {
            error.message = "latency needs the bpf source: " + error.message;
            if (error.hint.empty())
                error.hint = "iodiag model --source strace shows syscall latencies, with strace's own cost in them";
        }
        return report_error(error);
    }
    trace::FileTable files;
    auto run = (*source)->run(stats, files);
    if (!run) return report_error(run.error());
    if (run->reason == trace::StopReason::aborted) {
        std::fprintf(stderr, "iodiag: aborted\n");
        return kExitAborted;
    }
    std::string ended = fmt::format("ended: {}", trace::stop_reason_name(run->reason));
    if (run->dropped)
        ended += fmt::format("; {} records lost (ring buffer full): latencies are from the rest", run->dropped);
    const auto rows = stats.rows();
    printer.print(rows, seconds_since(interval_start), ended);
    if (rows.empty() && options.interval.empty())
        return report_error({ErrorKind::no_io, "no IO seen", "trace longer, or check that the target reads or writes files"});
    if (!std::cout) return report_error({ErrorKind::output, "cannot write to stdout", {}});
    return kExitOk;
}

}  // namespace iodiag::cli
