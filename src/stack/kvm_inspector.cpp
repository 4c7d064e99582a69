#include "stack/kvm_inspector.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/subprocess.hpp"
#include "stack/domain_xml.hpp"
#include "stack/qemu_cmdline.hpp"
#include "stack/qemu_config.hpp"
#include "trace/proc_fd.hpp"

namespace iodiag::stack {
namespace {

constexpr size_t kMaxInputBytes = 16 << 20;   // a command line or domain XML is far smaller

// Protocols whose image is a local file or device the host can open.
bool is_local(const ImageLayer& layer) {
    return (layer.protocol.empty() || layer.protocol == "file" || layer.protocol == "host_device" ||
            layer.protocol == "host_cdrom") &&
           !layer.path.empty() && layer.path.front() == '/' && layer.path.rfind("/dev/fdset/", 0) != 0;
}

}  // namespace

KvmInspector::KvmInspector(SysRoot root, KvmInspectOptions options)
    : root_(std::move(root)), options_(options) {}

Result<std::string> KvmInspector::read_input_file(const std::string& path) {
    UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
        int err = errno;
        if (err == ENOENT || err == ENOTDIR) return fail(ErrorKind::not_found, "no such file: " + path);
        if (err == EACCES || err == EPERM)
            return fail(ErrorKind::permission, "cannot read " + path + ": " + std::strerror(err));
        return fail(ErrorKind::bad_input, "cannot read " + path + ": " + std::strerror(err));
    }
    std::string data;
    char buf[65536];
    for (;;) {
        ssize_t n = read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail(ErrorKind::bad_input, "cannot read " + path + ": " + std::strerror(errno));
        if (n == 0) break;
        data.append(buf, static_cast<size_t>(n));
        if (data.size() > kMaxInputBytes)
            return fail(ErrorKind::bad_input, path + " is larger than 16 MiB; not a command line or domain XML");
    }
    if (data.find_first_not_of(" \t\r\n", 0) == std::string::npos && data.find('\0') == std::string::npos)
        return fail(ErrorKind::bad_input, path + " is empty");
    return data;
}

DiskReport KvmInspector::describe_disk(const DiskConfig& config) const {
    DiskReport report;
    report.config = config;
    for (const auto& layer : config.chain) {
        LayerReport out;
        out.layer = layer;
        if (is_local(layer)) {
            auto info = read_image_info(root_, layer.path);
            if (info) {
                // A format that differs from the header is a finding (kvm.format_mismatch).
                if (out.layer.format.empty()) {
                    out.layer.format = info->format;
                    out.layer.format_source = "image header (QEMU probes it)";
                }
                out.info = std::move(*info);
            } else {
                out.error = info.error().message;
            }
        } else if (!layer.path.empty()) {
            out.error = "not a local file (" + (layer.protocol.empty() ? std::string("?") : layer.protocol) +
                        "): header not read";
        }
        report.chain.push_back(std::move(out));
    }

    // Backing files the configuration leaves to the image headers.
    if (!report.chain.empty() && report.chain.back().info && !report.chain.back().info->backing_file.empty()) {
        const LayerReport& last = report.chain.back();
        const std::string next = backing_path(last.layer.path, last.info->backing_file);
        if (config.chain_complete) {
            report.config.notes.push_back(last.layer.path + " names backing file " + next +
                                          ", but the configuration opens it without one (backing: null)");
        } else {
            std::string format_hint = last.info->backing_format;
            for (auto& link : read_backing_chain(root_, next)) {
                LayerReport out;
                out.layer.path = link.path;
                out.layer.protocol = "file";
                out.layer.format = link.info ? link.info->format : format_hint;
                out.layer.format_source = "image header";
                out.error = link.error;
                format_hint = link.info ? link.info->backing_format : std::string();
                out.info = std::move(link.info);
                report.chain.push_back(std::move(out));
            }
        }
    }

    if (options_.host_stack && !report.chain.empty() && report.chain.front().info) {
        auto stack = StackInspector(root_).inspect_path(report.chain.front().layer.path);
        if (stack) report.host_stack = std::move(*stack);
        else report.host_stack_error = stack.error().message;
    }
    return report;
}

KvmReport KvmInspector::complete(VmConfig vm) const {
    KvmReport report;
    for (const auto& disk : vm.disks) report.disks.push_back(describe_disk(disk));
    report.vm = std::move(vm);
    return report;
}

Result<KvmReport> KvmInspector::inspect_cmdline(std::string_view text) const {
    auto cmdline = parse_qemu_text(text);
    if (!cmdline) return tl::unexpected(cmdline.error());
    auto vm = vm_config_from_qemu(*cmdline);
    if (!vm) return tl::unexpected(vm.error());
    return complete(std::move(*vm));
}

Result<KvmReport> KvmInspector::inspect_domain_xml(std::string_view xml) const {
    auto vm = vm_config_from_domain_xml(xml);
    if (!vm) return tl::unexpected(vm.error());
    return complete(std::move(*vm));
}

Result<KvmReport> KvmInspector::inspect_pid(int32_t pid) const {
    trace::ProcFs proc(root_.is_live() ? "/" : root_.root());
    const std::string who = "pid " + std::to_string(pid);
    if (!proc.exists(pid))
        return fail(ErrorKind::not_found, "no process with " + who, "find QEMU processes with: pgrep -a qemu");
    auto argv = proc.cmdline(pid);
    if (!argv) return tl::unexpected(argv.error());
    const std::string comm = proc.comm(pid).value_or("?");
    if (argv->empty())
        return fail(ErrorKind::bad_input, who + " (" + comm + ") has no command line: a kernel thread or a zombie",
                    "find QEMU processes with: pgrep -a qemu");
    if (!is_qemu_binary(argv->front()))
        return fail(ErrorKind::bad_input, who + " (" + comm + ") is not QEMU: it runs " + argv->front(),
                    "find QEMU processes with: pgrep -a qemu; `iodiag stack --pid " + std::to_string(pid) +
                        "` shows the storage this process uses");
    auto cmdline = parse_qemu_argv(*argv);
    if (!cmdline) return tl::unexpected(cmdline.error());
    auto vm = vm_config_from_qemu(*cmdline);
    if (!vm) return tl::unexpected(vm.error());
    vm->source = "pid";
    KvmReport report = complete(std::move(*vm));
    report.pid = pid;

    auto threads = read_qemu_threads(root_, pid);
    if (!threads) {
        report.notes.push_back("threads: " + threads.error().message);
        return report;
    }
    if (!threads->named)
        report.notes.push_back("QEMU did not name its threads (start it with -name ...,debug-threads=on, as libvirt "
                               "does); only the main loop is known");
    for (const auto& id : report.vm.iothreads) {
        bool seen = std::any_of(threads->threads.begin(), threads->threads.end(),
                                [&](const QemuThread& t) { return t.role == "iothread" && t.detail == id; });
        if (threads->named && !seen) report.notes.push_back("iothread " + id + " has no thread named \"IO " + id + "\"");
    }
    report.threads = std::move(*threads);
    return report;
}

}  // namespace iodiag::stack
