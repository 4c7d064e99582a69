#include "cli/bpf_target.hpp"

#include <CLI/CLI.hpp>

#include "common/units.hpp"

namespace iodiag::cli {

void add_target_options(CLI::App& cmd, usecase::TraceTarget& target) {
    auto* pid = cmd.add_option("-p,--pid", target.pid, "Attach to this running process")->check(CLI::PositiveNumber);
    cmd.add_flag("--children", target.children, "With --pid: also trace the processes it starts");
    cmd.add_option_function<std::string>(
           "-d,--duration", [&target](const std::string& text) { target.duration_ms = *parse_duration_ms(text); },
           "How long to trace: 10, 10s, 500ms, 2m (default: 10s with --pid; a command is traced until it exits)")
        ->check([](const std::string& text) {
            auto ms = parse_duration_ms(text);
            return ms && *ms > 0 ? std::string() : "not a duration: " + text;
        });
    cmd.add_flag("--progress", target.progress, "Progress lines on stderr even when it is not a terminal");
    auto* command = cmd.add_option("command", target.command, "-- COMMAND [ARGS...]: launch and trace this command");
    pid->excludes(command);
}

}  // namespace iodiag::cli
