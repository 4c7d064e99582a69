#include "cli/cmd_stack.hpp"

#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/exit_codes.hpp"
#include "stack/finding.hpp"
#include "stack/stack_output.hpp"

namespace iodiag::cli {

void add_stack_command(CLI::App& app, StackOptions& options) {
    CLI::App* cmd = app.add_subcommand(
        "stack", "Show the IO stack under a path or a process's open files: mount, file system, and "
                 "the block devices down to the disks, with their queue settings; and whether this is a guest");
    auto* path = cmd->add_option("--path", options.request.path, "A file, folder or block device");
    auto* pid = cmd->add_option("-p,--pid", options.request.pid, "Every file this process has open, grouped by device")
                    ->check(CLI::PositiveNumber);
    path->excludes(pid);
    cmd->add_flag("--json", options.json, "Print JSON instead of a tree");
    cmd->add_option("--root", options.request.root,
                    "Read /proc, /sys and /dev below this folder (a copied tree or a test fixture)")
        ->capture_default_str();
    cmd->footer("Examples:\n"
                "  iodiag stack --path /var/lib/mysql\n"
                "  iodiag stack --pid $(pidof mysqld) --json");
}

int run_stack(const StackOptions& options) {
    auto result = usecase::inspect_stack(options.request);
    if (!result) return report_error(result.error(), options.json);
    if (options.json) {
        print_json(usecase::to_json(*result));
    } else {
        std::cout << std::visit([](const auto& report) { return stack::render_text(report); }, result->report) << '\n'
                  << stack::render_text(result->virtualization) << '\n'
                  << stack::render_text(result->findings);
    }
    return finish_output(options.json);
}

}  // namespace iodiag::cli
