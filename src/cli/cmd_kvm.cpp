#include "cli/cmd_kvm.hpp"

#include <iostream>

#include <fmt/format.h>

#include <CLI/CLI.hpp>

#include "cli/exit_codes.hpp"
#include "cli/stderr_observer.hpp"
#include "common/table.hpp"
#include "common/units.hpp"
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

    CLI::App* compare = kvm->add_subcommand(
        "compare", "The same job measured in the guest and on the host: completion latency per percentile, "
                   "lat_vm - lat_host as the virtualisation cost per IO (the world switch cost for syncwrite), "
                   "its uncertainty, the IOPS ratio and a verdict");
    compare->add_option("--guest", options.compare.guest_file,
                        "The run inside the VM: `iodiag probe NAME --json` output or fio's --output-format=json(+)")
        ->required();
    compare->add_option("--host", options.compare.host_file,
                        "The same job on the host, on the storage that holds the VM's image")
        ->required();
    compare->add_flag("--json", options.json, "Print JSON instead of text");
    compare->callback([&options] { options.compare_given = true; });
    compare->footer("Examples:\n"
                    "  (in the guest)  iodiag probe syncwrite --json > guest.json\n"
                    "  (on the host)   iodiag probe syncwrite --target /var/lib/libvirt/images --json > host.json\n"
                    "  iodiag kvm compare --guest guest.json --host host.json\n"
                    "  fio --output-format=json+ JOB > g.json (guest), > h.json (host); "
                    "iodiag kvm compare --guest g.json --host h.json --json");

    CLI::App* trace = kvm->add_subcommand(
        "trace", "Trace a running QEMU while its guest does IO: its threads by role (vCPU, iothread, main loop, "
                 "workers) with their IO syscalls, eventfd kicks and off-CPU time, who wakes whom, the host-side "
                 "steps of a guest request, and VM exits by reason (KVM guests)");
    trace->add_option("-p,--pid", options.trace.pid, "The QEMU process")->required()->check(CLI::PositiveNumber);
    trace->add_option_function<std::string>(
             "-d,--duration", [&options](const std::string& text) { options.trace.duration_ms = *parse_duration_ms(text); },
             "How long to trace: 10s, 500ms; 0 = until QEMU exits or Ctrl-C (default 10s)")
        ->check([](const std::string& text) {
            return parse_duration_ms(text) ? std::string() : "not a duration: " + text;
        });
    trace->add_option("--guest", options.trace.guest_file,
                      "The guest's result of the job it ran while traced (`iodiag probe NAME --json` or fio's "
                      "json output): the host side is set against its mean latency");
    trace->add_flag("--progress", options.trace.progress, "Progress lines on stderr even when it is not a terminal");
    trace->add_flag("--json", options.json, "Print JSON instead of text");
    trace->callback([&options] { options.trace_given = true; });
    trace->footer("Examples:\n"
                  "  iodiag kvm trace --pid $(pgrep -f qemu-system | head -1) -d 10s\n"
                  "  (in the guest) iodiag probe depth1 --json > guest.json; (on the host, meanwhile)\n"
                  "  iodiag kvm trace --pid QEMU_PID -d 15s --json > trace.json\n"
                  "QEMU names its threads with -name NAME,debug-threads=on (libvirt always does): without it only "
                  "the main loop is told apart.");
}

namespace {

std::string us(double value) { return fmt::format("{:.1f}", value); }

std::string render_comparison(const usecase::KvmComparison& k) {
    const auto& c = k.comparison;
    std::string text = fmt::format("guest (lat_vm):   {} ({})\nhost  (lat_host): {} ({})\n", k.guest_file,
                                   k.guest.source, k.host_file, k.host.source);
    const auto& job = k.guest.job.empty() ? k.host.job : k.guest.job;
    if (!job.empty()) {
        std::string options;
        for (const auto& [key, value] : job) options += (options.empty() ? "" : " ") + key + "=" + value;
        text += "job: " + options + "\n";
    }
    text += "\n";
    if (!c.stats.empty()) {
        using Align = Table::Align;
        std::string interval_title =
            c.uncertainty_known ? fmt::format("{:.0f}% interval us", c.level * 100.0) : "interval";
        Table table({{"completion latency", Align::left},
                     {"lat_vm us", Align::right},
                     {"lat_host us", Align::right},
                     {c.cost_name + " us", Align::right},
                     {interval_title, Align::right}});
        for (const auto& d : c.stats)
            table.add_row({d.name, us(d.guest_us), us(d.host_us), us(d.cost_us),
                           d.interval ? fmt::format("{} .. {}", us(d.interval->low), us(d.interval->high))
                                      : std::string("unknown")});
        text += table.render() + "\n";
    }
    if (c.iops_ratio)
        text += fmt::format("IOPS: guest {:.0f}, host {:.0f}, guest/host {:.2f}\n", c.guest_iops, c.host_iops,
                            *c.iops_ratio);
    else
        text += fmt::format("IOPS: guest {:.0f}, host {:.0f}, guest/host unknown\n", c.guest_iops, c.host_iops);
    text += "uncertainty: " + c.uncertainty + "\n";
    text += "verdict: " + c.verdict + "\n";
    return text;
}

int run_kvm_compare(const KvmOptions& options) {
    auto comparison = usecase::compare_guest_host(options.compare);
    if (!comparison) return report_error(comparison.error(), options.json);
    if (options.json) print_json(usecase::to_json(*comparison));
    else std::cout << render_comparison(*comparison);
    return finish_output(options.json);
}

int run_kvm_trace(const KvmOptions& options) {
    StderrObserver observer;
    auto run = usecase::trace_qemu(options.trace, observer);
    if (!run) return report_error(run.error(), options.json);
    if (options.json) print_json(usecase::to_json(*run));
    else std::cout << usecase::render_text(*run);
    return finish_output(options.json);
}

}  // namespace

int run_kvm(const KvmOptions& options) {
    if (options.compare_given) return run_kvm_compare(options);
    if (options.trace_given) return run_kvm_trace(options);
    auto inspection = usecase::inspect_kvm(options.request);
    if (!inspection) return report_error(inspection.error(), options.json);
    if (options.json) {
        print_json(usecase::to_json(*inspection));
    } else {
        std::cout << stack::render_text(inspection->report) << '\n' << stack::render_text(inspection->findings);
    }
    return finish_output(options.json);
}

}  // namespace iodiag::cli
