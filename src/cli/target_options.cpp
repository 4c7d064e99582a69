#include "cli/target_options.hpp"

#include <CLI/CLI.hpp>

#include "common/units.hpp"

namespace iodiag::cli {

TargetOptions add_target_options(CLI::App& cmd, usecase::TraceTarget& target) {
    TargetOptions options;
    options.pid = cmd.add_option("-p,--pid", target.pid, "Attach to this running process")->check(CLI::PositiveNumber);
    cmd.add_flag("--children", target.children, "With --pid: also trace the processes it starts");
    cmd.add_option_function<std::string>(
           "-d,--duration",
           [&target](const std::string& text) {
               target.duration_ms = *parse_duration_ms(text);
               target.no_deadline = target.duration_ms == 0;
           },
           "How long to trace: 10, 10s, 500ms, 2m; 0 = until the target exits or Ctrl-C (default: 10s with "
           "--pid; a command is traced until it exits)")
        ->check([](const std::string& text) {
            return parse_duration_ms(text) ? std::string() : "not a duration: " + text;
        });
    cmd.add_flag("--progress", target.progress, "Progress lines on stderr even when it is not a terminal");
    options.command = cmd.add_option("command", target.command, "-- COMMAND [ARGS...]: launch and trace this command");
    options.pid->excludes(options.command);
    return options;
}

}  // namespace iodiag::cli
