#include "stack/qemu_threads.hpp"

#include <regex>

#include "trace/proc_fd.hpp"

namespace iodiag::stack {
namespace {

bool starts_with(std::string_view text, std::string_view prefix) {
    return text.substr(0, prefix.size()) == prefix;
}

}  // namespace

QemuThread classify_qemu_thread(int32_t tid, std::string_view name, bool main) {
    static const std::regex kVcpu(R"(^CPU (\d+)/(KVM|TCG|HVF|WHPX|NVMM|Xen)$)");
    QemuThread thread;
    thread.tid = tid;
    thread.name = std::string(name);
    std::cmatch match;
    if (main) {
        thread.role = "main-loop";
    } else if (std::regex_match(thread.name.c_str(), match, kVcpu)) {
        thread.role = "vcpu";
        thread.detail = match[1].str();
    } else if (name == "ALL CPUs/TCG") {
        thread.role = "vcpu";
        thread.detail = "all";
    } else if (name == "IO mon_iothread") {
        thread.role = "monitor";
    } else if (starts_with(name, "IO ")) {
        thread.role = "iothread";
        thread.detail = std::string(name.substr(3));
    } else if (name == "worker") {
        thread.role = "worker";
    } else if (name == "call_rcu") {
        thread.role = "rcu";
    } else if (starts_with(name, "live_migration") || starts_with(name, "mig/") || starts_with(name, "multifdsend") ||
               starts_with(name, "multifdrecv") || name == "postcopy/listen") {
        thread.role = "migration";
    } else if (name == "vnc_worker" || name == "SPICE Worker" || name == "gtk" || name == "sdl") {
        thread.role = "display";
    } else if (starts_with(name, "vhost-")) {
        thread.role = "vhost";
    } else if (starts_with(name, "iou-wrk-") || starts_with(name, "iou-sqp-")) {
        thread.role = "io_uring";
    } else if (starts_with(name, "kvm-nx-lpage") || starts_with(name, "kvm-pit")) {
        thread.role = "kvm-kernel";
    } else {
        thread.role = "other";
    }
    return thread;
}

Result<QemuThreads> read_qemu_threads(const SysRoot& root, int32_t pid) {
    trace::ProcFs proc(root.is_live() ? "/" : root.root());
    auto tids = proc.threads(pid);
    if (!tids) return tl::unexpected(tids.error());
    QemuThreads out;
    const std::string main_name = root.read_line("/proc/" + std::to_string(pid) + "/comm").value_or("");
    for (int32_t tid : *tids) {
        auto name = root.read_line("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/comm");
        if (!name) continue;   // the thread ended while we looked
        QemuThread thread = classify_qemu_thread(tid, *name, tid == pid);
        if (tid != pid && *name != main_name) out.named = true;
        ++out.by_role[thread.role];
        out.threads.push_back(std::move(thread));
    }
    return out;
}

}  // namespace iodiag::stack
