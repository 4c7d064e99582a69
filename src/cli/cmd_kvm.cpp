#include "cli/cmd_kvm.hpp"

#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/exit_codes.hpp"
#include "model/workload_model.hpp"
#include "stack/kvm_inspector.hpp"
#include "stack/kvm_output.hpp"
#include "stack/kvm_rules.hpp"

namespace iodiag::cli {

void add_kvm_command(CLI::App& app, KvmOptions& options) {
    CLI::App* kvm = app.add_subcommand("kvm", "KVM/QEMU host-side inspection");
    kvm->require_subcommand(1);
    CLI::App* cmd = kvm->add_subcommand(
        "inspect", "How a VM's disks are emulated: image format and chain, cache mode, aio, iothread, "
                   "controller queues, the host stack under each image, QEMU's threads; with findings");
    auto* pid = cmd->add_option("-p,--pid", options.pid, "A running QEMU process")->check(CLI::PositiveNumber);
    auto* cmdline = cmd->add_option("--cmdline", options.cmdline_file,
                                    "A copy of /proc/PID/cmdline (NUL-separated), a shell-style QEMU command "
                                    "line, or a libvirt log (/var/log/libvirt/qemu/VM.log)");
    auto* domxml = cmd->add_option("--domxml", options.domxml_file, "A libvirt domain XML (virsh dumpxml VM)");
    pid->excludes(cmdline)->excludes(domxml);
    cmdline->excludes(domxml);
    cmd->add_option("--model", options.model_file,
                    "model.json of the VM's workload (iodiag model): judges rules that depend on a busy or "
                    "write-heavy workload");
    cmd->add_flag("--json", options.json, "Print JSON instead of text");
    cmd->add_flag("!--no-host-stack", options.host_stack, "Do not inspect the host IO stack under each image");
    cmd->add_option("--root", options.root,
                    "Read /proc, /sys, /dev and images below this folder (a copied tree or a test fixture)")
        ->capture_default_str();
    cmd->footer("Examples:\n"
                "  iodiag kvm inspect --pid $(pgrep -f qemu-system | head -1)\n"
                "  iodiag kvm inspect --cmdline /var/log/libvirt/qemu/vm1.log --json\n"
                "  virsh dumpxml vm1 > vm1.xml && iodiag kvm inspect --domxml vm1.xml");
}

int run_kvm(const KvmOptions& options) {
    const int inputs = (options.pid ? 1 : 0) + (options.cmdline_file.empty() ? 0 : 1) +
                       (options.domxml_file.empty() ? 0 : 1);
    if (inputs != 1)
        return report_error({ErrorKind::usage, "give exactly one of --pid PID, --cmdline FILE or --domxml FILE",
                             "see iodiag kvm inspect --help"});
    stack::SysRoot root(options.root);
    if (!root.is_live() && !root.is_dir("/"))
        return report_error({ErrorKind::usage, "--root " + options.root + " is not a folder", {}});

    stack::WorkloadHint hint;
    if (!options.model_file.empty()) {
        auto model = model::load_model(options.model_file);
        if (!model) return report_error(model.error());
        hint = stack::workload_hint(*model);
        hint.source = options.model_file + ", " + hint.source;
    }

    stack::KvmInspector inspector(root, {options.host_stack});
    Result<stack::KvmReport> report = fail(ErrorKind::internal, "no input");
    if (options.pid) {
        report = inspector.inspect_pid(options.pid);
    } else {
        const std::string& file = options.cmdline_file.empty() ? options.domxml_file : options.cmdline_file;
        auto text = stack::KvmInspector::read_input_file(file);
        if (!text) return report_error(text.error());
        report = options.cmdline_file.empty() ? inspector.inspect_domain_xml(*text) : inspector.inspect_cmdline(*text);
        if (!report) {
            Error error = report.error();
            error.message = file + ": " + error.message;
            return report_error(error);
        }
    }
    if (!report) return report_error(report.error());

    const auto findings = stack::kvm_findings(*report, hint);
    if (options.json) {
        auto json = stack::to_json(*report);
        json["findings"] = stack::to_json(findings);
        std::cout << json.dump(2) << '\n';
    } else {
        std::cout << stack::render_text(*report) << '\n' << stack::render_text(findings);
    }
    std::cout.flush();
    if (!std::cout) return report_error({ErrorKind::output, "cannot write to stdout", {}});
    return kExitOk;
}

}  // namespace iodiag::cli
