#include "cli/cmd_offcpu.hpp"

#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "analysis/offcpu.hpp"
#include "cli/exit_codes.hpp"
#include "cli/stderr_observer.hpp"
#include "cli/target_options.hpp"
#include "common/units.hpp"

namespace iodiag::cli {
void add_offcpu_command(CLI::App& app, OffcpuOptions& options) {
    CLI::App* cmd = app.add_subcommand(
        "offcpu", "Where a process's threads wait off the CPU, by kernel and user stack and state "
                  "(disk, sleeping, preempted), with the bpf source");
    add_target_options(*cmd, options.request.target);
    cmd->add_option("--min", options.min, "Record absences this long or longer: 1us, 100us, 1ms")
        ->check([](const std::string& text) {
            return parse_duration_ns(text) ? std::string() : "not a duration: " + text;
        })
        ->capture_default_str();
    cmd->add_option("--state", options.request.state, "Only stacks in this state")
        ->check(CLI::IsMember({"all", "disk", "sleeping", "preempted", "other"}))
        ->capture_default_str();
    cmd->add_option("--top", options.request.top, "Show this many stacks")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    cmd->add_flag("--per-thread", options.request.per_thread,
                  "Keep threads apart (default: threads of a process merged)");
    cmd->add_flag("--folded", options.folded, "Folded stacks for flame graphs (time in us), one line each");
    cmd->add_flag("--json", options.json, "JSON instead of text");
    cmd->footer("Examples:\n"
                "  iodiag offcpu --pid 1234 -d 10s --state disk\n"
                "  iodiag offcpu --folded --pid 1234 > out.folded; flamegraph.pl out.folded > offcpu.svg");
}

int run_offcpu(const OffcpuOptions& options) {
    usecase::OffcpuRequest request = options.request;
    request.min_ns = *parse_duration_ns(options.min);
    StderrObserver observer;
    auto run = usecase::profile_offcpu(request, observer);
    if (!run) return report_error(run.error(), options.json);

    const analysis::OffcpuReport& report = run->report;
    if (options.folded) {
        std::cout << analysis::folded(report.stacks);
    } else if (options.json) {
        print_json(usecase::to_json(*run));
    } else {
        std::cout << fmt::format("{} {:.1f}s, {}: {} switches off the CPU ({} shorter than {} not shown)\n",
                                 run->target, run->end.seconds(), usecase::describe_end(run->end), report.switches,
                                 report.too_short, options.min);
        if (!report.kernel_symbols) std::cout << "note: /proc/kallsyms shows no addresses: kernel frames are unnamed\n";
        if (report.lost) std::cout << fmt::format("note: {} absences not recorded (tables full)\n", report.lost);
        std::cout << analysis::render_top(report.stacks, run->top);
    }
    return finish_output(options.json);
}

void add_wakeup_command(CLI::App& app, WakeupOptions& options) {
    CLI::App* cmd = app.add_subcommand(
        "wakeup", "Who wakes a process's threads (with how long they had waited and the waker's stack), "
                  "and whom its threads wake, with the bpf source");
    add_target_options(*cmd, options.request.target);
    cmd->add_option("--top", options.top, "Show this many of each")->check(CLI::PositiveNumber)->capture_default_str();
    cmd->add_flag("--per-thread", options.request.per_thread,
                  "Keep threads apart (default: threads of a process merged)");
    cmd->add_flag("--json", options.json, "JSON instead of text");
    cmd->footer("Examples:\n"
                "  iodiag wakeup --pid $(pidof qemu-system-x86_64) -d 5s\n"
                "  iodiag wakeup --json -- fio job.fio");
}

int run_wakeup(const WakeupOptions& options) {
    StderrObserver observer;
    auto run = usecase::profile_wakeups(options.request, observer);
    if (!run) return report_error(run.error(), options.json);

    if (options.json) {
        print_json(usecase::to_json(*run));
    } else {
        std::cout << fmt::format("{} {:.1f}s, {}\n", run->target, run->end.seconds(),
                                 usecase::describe_end(run->end));
        if (run->lost) std::cout << fmt::format("note: {} events not recorded (tables full)\n", run->lost);
        std::cout << analysis::render_wakeups(run->wakeups, options.top);
    }
    return finish_output(options.json);
}

}  // namespace iodiag::cli
