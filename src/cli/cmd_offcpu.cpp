#include "cli/cmd_offcpu.hpp"

#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "analysis/offcpu.hpp"
#include "cli/exit_codes.hpp"
#include "common/units.hpp"

namespace iodiag::cli {
namespace {

// The off-CPU tracer keeps everything in its maps; the other tracers' events are not needed here.
class IgnoreEvents final : public trace::EventSink {
public:
    void on_event(const trace::IoEvent&) override {}
};

// Traces with the off-CPU tracer and hands over what it gathered; or the exit code to end with.
std::variant<std::pair<trace::BpfRun, analysis::OffcpuReport>, int> trace_offcpu(trace::BpfOptions bpf,
                                                                                 const std::string& command) {
    auto source = start_bpf(bpf, command);
    if (!source) return report_error(source.error());
    IgnoreEvents ignore;
    trace::FileTable files;
    auto outcome = run_bpf(**source, ignore, files);
    if (const int* code = std::get_if<int>(&outcome)) return *code;
    trace::BpfRun& run = std::get<trace::BpfRun>(outcome);
    if (!run.totals.contains("offcpu"))
        return report_error({ErrorKind::internal, "the off-CPU tracer left no totals", {}});
    auto report = analysis::offcpu_from_json(run.totals.at("offcpu"));
    if (!report) return report_error(report.error());
    return std::pair{std::move(run), std::move(*report)};
}

int finish_output() {
    std::cout.flush();
    if (!std::cout) return report_error({ErrorKind::output, "cannot write to stdout", {}});
    return kExitOk;
}

}  // namespace

void add_offcpu_command(CLI::App& app, OffcpuOptions& options) {
    CLI::App* cmd = app.add_subcommand(
        "offcpu", "Where a process's threads wait off the CPU, by kernel and user stack and state "
                  "(disk, sleeping, preempted), with the bpf source");
    add_target_options(*cmd, options.target);
    cmd->add_option("--min", options.min, "Record absences this long or longer: 1us, 100us, 1ms")
        ->check([](const std::string& text) {
            return parse_duration_ns(text) ? std::string() : "not a duration: " + text;
        })
        ->capture_default_str();
    cmd->add_option("--state", options.state, "Only stacks in this state")
        ->check(CLI::IsMember({"all", "disk", "sleeping", "preempted", "other"}))
        ->capture_default_str();
    cmd->add_option("--top", options.top, "Show this many stacks")->check(CLI::PositiveNumber)->capture_default_str();
    cmd->add_flag("--per-thread", options.per_thread, "Keep threads apart (default: threads of a process merged)");
    cmd->add_flag("--folded", options.folded, "Folded stacks for flame graphs (time in us), one line each");
    cmd->add_flag("--json", options.json, "JSON instead of text");
    cmd->footer("Examples:\n"
                "  iodiag offcpu --pid 1234 -d 10s --state disk\n"
                "  iodiag offcpu --folded --pid 1234 > out.folded; flamegraph.pl out.folded > offcpu.svg");
}

int run_offcpu(const OffcpuOptions& options) {
    if (auto status = validate_target(options.target, "offcpu"); !status) return report_error(status.error());
    const std::string target = describe_target(options.target);

    trace::BpfOptions bpf = bpf_options(options.target);
    bpf.offcpu = true;
    bpf.offcpu_min_ns = *parse_duration_ns(options.min);
    auto outcome = trace_offcpu(bpf, "offcpu");
    if (const int* code = std::get_if<int>(&outcome)) return *code;
    const auto& [run, report] = std::get<0>(outcome);

    auto stacks = analysis::in_state(options.per_thread ? report.stacks : analysis::merge_threads(report.stacks),
                                     options.state);
    if (options.folded) {
        std::cout << analysis::folded(stacks);
    } else if (options.json) {
        if (stacks.size() > options.top) stacks.resize(options.top);
        nlohmann::ordered_json out = {{"target", target},
                                      {"duration_s", static_cast<double>(run.wall_ns) / 1e9},
                                      {"ended", describe_end(run)},
                                      {"switches", report.switches},
                                      {"too_short", report.too_short},
                                      {"lost", report.lost},
                                      {"stacks", analysis::to_json(stacks)}};
        std::cout << out.dump(2) << '\n';
    } else {
        std::cout << fmt::format("{} {:.1f}s, {}: {} switches off the CPU ({} shorter than {} not shown)\n", target,
                                 static_cast<double>(run.wall_ns) / 1e9, describe_end(run), report.switches,
                                 report.too_short, options.min);
        if (!report.kernel_symbols) std::cout << "note: /proc/kallsyms shows no addresses: kernel frames are unnamed\n";
        if (report.lost) std::cout << fmt::format("note: {} absences not recorded (tables full)\n", report.lost);
        std::cout << analysis::render_top(stacks, options.top);
    }
    return finish_output();
}

void add_wakeup_command(CLI::App& app, WakeupOptions& options) {
    CLI::App* cmd = app.add_subcommand(
        "wakeup", "Who wakes a process's threads (with how long they had waited and the waker's stack), "
                  "and whom its threads wake, with the bpf source");
    add_target_options(*cmd, options.target);
    cmd->add_option("--top", options.top, "Show this many of each")->check(CLI::PositiveNumber)->capture_default_str();
    cmd->add_flag("--per-thread", options.per_thread, "Keep threads apart (default: threads of a process merged)");
    cmd->add_flag("--json", options.json, "JSON instead of text");
    cmd->footer("Examples:\n"
                "  iodiag wakeup --pid $(pidof qemu-system-x86_64) -d 5s\n"
                "  iodiag wakeup --json -- fio job.fio");
}

int run_wakeup(const WakeupOptions& options) {
    if (auto status = validate_target(options.target, "wakeup"); !status) return report_error(status.error());
    const std::string target = describe_target(options.target);
    trace::BpfOptions bpf = bpf_options(options.target);
    bpf.wakers = true;
    auto outcome = trace_offcpu(bpf, "wakeup");
    if (const int* code = std::get_if<int>(&outcome)) return *code;
    const auto& [run, report] = std::get<0>(outcome);

    auto wakeups = options.per_thread ? report.wakeups : analysis::merge_threads(report.wakeups);
    if (options.json) {
        nlohmann::ordered_json out = {{"target", target},
                                      {"duration_s", static_cast<double>(run.wall_ns) / 1e9},
                                      {"ended", describe_end(run)},
                                      {"lost", report.lost},
                                      {"wakeups", analysis::to_json(wakeups)}};
        std::cout << out.dump(2) << '\n';
    } else {
        std::cout << fmt::format("{} {:.1f}s, {}\n", target, static_cast<double>(run.wall_ns) / 1e9, describe_end(run));
        if (report.lost) std::cout << fmt::format("note: {} events not recorded (tables full)\n", report.lost);
        std::cout << analysis::render_wakeups(wakeups, options.top);
    }
    return finish_output();
}

}  // namespace iodiag::cli
