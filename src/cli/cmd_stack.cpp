#include "cli/cmd_stack.hpp"

#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/exit_codes.hpp"
#include "stack/stack_inspector.hpp"
#include "stack/stack_output.hpp"
#include "stack/stack_rules.hpp"
#include "stack/virtualization.hpp"

namespace iodiag::cli {

void add_stack_command(CLI::App& app, StackOptions& options) {
    CLI::App* cmd = app.add_subcommand(
        "stack", "Show the IO stack under a path or a process's open files: mount, file system, and "
                 "the block devices down to the disks, with their queue settings; and whether this is a guest");
    auto* path = cmd->add_option("--path", options.path, "A file, folder or block device");
    auto* pid = cmd->add_option("-p,--pid", options.pid, "Every file this process has open, grouped by device")
                    ->check(CLI::PositiveNumber);
    path->excludes(pid);
    cmd->add_flag("--json", options.json, "Print JSON instead of a tree");
    cmd->add_option("--root", options.root,
                    "Read /proc, /sys and /dev below this folder (a copied tree or a test fixture)")
        ->capture_default_str();
    cmd->footer("Examples:\n"
                "  iodiag stack --path /var/lib/mysql\n"
                "  iodiag stack --pid $(pidof mysqld) --json");
}

int run_stack(const StackOptions& options) {
    if (options.path.empty() == (options.pid == 0))
        return report_error({ErrorKind::usage, "give exactly one of --path PATH or --pid PID",
                             "see iodiag stack --help"});
    stack::SysRoot root(options.root);
    if (!root.is_live() && !root.is_dir("/"))
        return report_error({ErrorKind::usage, "--root " + options.root + " is not a folder", {}});

    stack::StackInspector inspector(root);
    const auto virt = stack::detect_virtualization(root, root.is_live() ? stack::read_cpuid() : std::nullopt);
    std::vector<stack::Finding> findings;
    stack::ordered_json json = stack::ordered_json::object();
    std::string text;

    if (!options.path.empty()) {
        auto report = inspector.inspect_path(options.path);
        if (!report) return report_error(report.error());
        findings = stack::stack_findings(*report);
        json["target"] = {{"path", options.path}};
        json["stack"] = stack::to_json(*report);
        text = stack::render_text(*report);
    } else {
        auto report = inspector.inspect_pid(options.pid);
        if (!report) return report_error(report.error());
        for (const auto& group : report->groups) {
            auto more = stack::stack_findings(group.stack);
            findings.insert(findings.end(), more.begin(), more.end());
        }
        json["target"] = {{"pid", options.pid}};
        json["stack"] = stack::to_json(*report);
        text = stack::render_text(*report);
    }
    auto guest = stack::guest_findings(virt);
    findings.insert(findings.end(), guest.begin(), guest.end());

    if (options.json) {
        json["virtualization"] = stack::to_json(virt);
        json["findings"] = stack::to_json(findings);
        std::cout << json.dump(2) << '\n';
    } else {
        std::cout << text << '\n' << stack::render_text(virt) << '\n' << stack::render_text(findings);
    }
    std::cout.flush();
    if (!std::cout) return report_error({ErrorKind::output, "cannot write to stdout", {}});
    return kExitOk;
}

}  // namespace iodiag::cli
