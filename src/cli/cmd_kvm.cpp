#include "cli/cmd_kvm.hpp"

#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/exit_codes.hpp"
#include "stack/finding.hpp"
#include "stack/kvm_output.hpp"

namespace iodiag::cli {

void add_kvm_command(CLI::App& app, KvmOptions& options) {
    CLI::App* kvm = app.add_subcommand("kvm", "KVM/QEMU host-side inspection");
    kvm->require_subcommand(1);
    CLI::App* cmd = kvm->add_subcommand(
        "inspect", "How a VM's disks are emulated: image format and chain, cache mode, aio, iothread, "
                   "controller queues, the host stack under each image, QEMU's threads; with findings");
    auto* pid = cmd->add_option("-p,--pid", options.request.pid, "A running QEMU process")->check(CLI::PositiveNumber);
    auto* cmdline = cmd->add_option("--cmdline", options.request.cmdline_file,
                                    "A copy of /proc/PID/cmdline (NUL-separated), a shell-style QEMU command "
                                    "line, or a libvirt log (/var/log/libvirt/qemu/VM.log)");
    auto* domxml = cmd->add_option("--domxml", options.request.domxml_file, "A libvirt domain XML (virsh dumpxml VM)");
    pid->excludes(cmdline)->excludes(domxml);
    cmdline->excludes(domxml);
    cmd->add_option("--model", options.request.model_file,
                    "model.json of the VM's workload (iodiag model): judges rules that depend on a busy or "
                    "write-heavy workload");
    cmd->add_flag("--json", options.json, "Print JSON instead of text");
    cmd->add_flag("!--no-host-stack", options.request.host_stack, "Do not inspect the host IO stack under each image");
    cmd->add_option("--root", options.request.root,
                    "Read /proc, /sys, /dev and images below this folder (a copied tree or a test fixture)")
        ->capture_default_str();
    cmd->footer("Examples:\n"
                "  iodiag kvm inspect --pid $(pgrep -f qemu-system | head -1)\n"
                "  iodiag kvm inspect --cmdline /var/log/libvirt/qemu/vm1.log --json\n"
                "  virsh dumpxml vm1 > vm1.xml && iodiag kvm inspect --domxml vm1.xml");
}

int run_kvm(const KvmOptions& options) {
    auto inspection = usecase::inspect_kvm(options.request);
    if (!inspection) return report_error(inspection.error());
    if (options.json) {
        std::cout << usecase::to_json(*inspection).dump(2) << '\n';
    } else {
        std::cout << stack::render_text(inspection->report) << '\n' << stack::render_text(inspection->findings);
    }
    std::cout.flush();
    if (!std::cout) return report_error({ErrorKind::output, "cannot write to stdout", {}});
    return kExitOk;
}

}  // namespace iodiag::cli
