#include "usecase/kvm_trace.hpp"

#include <unistd.h>

#include <filesystem>
#include <mutex>
#include <set>

#include <fmt/format.h>

#include "analysis/kvm_exits.hpp"
#include "model/source_totals.hpp"
#include "stack/kvm_inspector.hpp"
#include "stack/qemu_threads.hpp"
#include "stack/sysroot.hpp"
#include "trace/kvm_events.hpp"
#include "usecase/kvm_compare.hpp"

namespace iodiag::usecase {
namespace {

namespace fs = std::filesystem;

std::string read_link(const fs::path& path) {
    std::error_code ec;
    auto target = fs::read_symlink(path, ec);
    return ec ? std::string() : target.string();
}

// The process's KVM VM fd (anon_inode:kvm-vm) tells a KVM guest from a TCG one.
bool holds_kvm_vm(int32_t pid) {
    std::error_code ec;
    for (const auto& fd : fs::directory_iterator(fmt::format("/proc/{}/fd", pid), ec))
        if (read_link(fd.path()) == "anon_inode:kvm-vm") return true;
    return false;
}

Status check_is_qemu(const stack::SysRoot& root, int32_t pid, bool kvm, std::string& comm) {
    comm = root.read_line(fmt::format("/proc/{}/comm", pid)).value_or("");
    const std::string exe = fs::path(read_link(fmt::format("/proc/{}/exe", pid))).filename().string();
    if (kvm || comm.find("qemu") != std::string::npos || exe.find("qemu") != std::string::npos) return {};
    return fail(ErrorKind::usage, fmt::format("pid {} ({}) is not a QEMU process", pid, comm.empty() ? exe : comm),
                "give the pid of qemu-system-*: pgrep -f qemu-system");
}

// Thread roles seen so far: threads come and go (worker pools), so they are read again while tracing.
class RoleRegistry {
public:
    explicit RoleRegistry(int32_t pid) : pid_(pid) {}

    void refresh() {
        auto threads = stack::read_qemu_threads(stack::SysRoot("/"), pid_);
        if (!threads) return;  // QEMU exited: keep what was seen
        std::lock_guard lock(mutex_);
        named_ = named_ || threads->named;
        for (const auto& t : threads->threads) roles_[t.tid] = {t.role, t.name};
    }
    std::map<int32_t, analysis::QemuThreadRole> roles() const {
        std::lock_guard lock(mutex_);
        return roles_;
    }
    std::vector<int32_t> tids() const {
        std::lock_guard lock(mutex_);
        std::vector<int32_t> out;
        for (const auto& [tid, role] : roles_) out.push_back(tid);
        return out;
    }
    bool named() const { return named_; }

private:
    int32_t pid_;
    mutable std::mutex mutex_;
    bool named_ = false;
    std::map<int32_t, analysis::QemuThreadRole> roles_;
};

// The files and devices behind the VM's disks (every layer of each chain), as the kernel names
// them, so IO on other files (a serial console's log) is not counted as the guest's.
std::set<std::string> disk_images(int32_t pid, Observer& observer) {
    std::set<std::string> images;
    auto report = stack::KvmInspector(stack::SysRoot("/"), {.host_stack = false}).inspect_pid(pid);
    if (report) {
        for (const auto& disk : report->disks)
            for (const auto& layer : disk.chain) {
                std::error_code ec;
                const fs::path real = fs::canonical(layer.layer.path, ec);
                if (!ec) images.insert(real.string());
            }
    }
    if (images.empty())
        observer.note("the VM's disk images are not known from its command line: IO on every file QEMU uses counts");
    return images;
}

}  // namespace

Result<KvmTraceRun> trace_qemu(const KvmTraceRequest& request, Observer& observer) {
    if (request.pid <= 0)
        return fail(ErrorKind::usage, "kvm trace needs the QEMU process's pid", "iodiag kvm trace --pid QEMU_PID");
    const stack::SysRoot root("/");
    if (!fs::exists(fmt::format("/proc/{}", request.pid)))
        return fail(ErrorKind::not_found, fmt::format("no process with pid {}", request.pid),
                    "pgrep -f qemu-system lists the running QEMU processes");
    KvmTraceRun run;
    run.accel = holds_kvm_vm(request.pid) ? "kvm" : "tcg";
    std::string comm;
    if (auto is_qemu = check_is_qemu(root, request.pid, run.accel == "kvm", comm); !is_qemu)
        return tl::unexpected(is_qemu.error());
    run.target = fmt::format("pid {} ({})", request.pid, comm);

    std::optional<double> guest_us;
    if (!request.guest_file.empty()) {
        auto guest = load_latency_side(request.guest_file);
        if (!guest) return tl::unexpected(guest.error());
        if (guest->latency_known) guest_us = guest->clat_us[0];
        else observer.note("the guest's result has no completion latency: the host side is not set against it");
    }

    RoleRegistry roles(request.pid);
    roles.refresh();
    const std::set<std::string> images = disk_images(request.pid, observer);

    analysis::KvmExitCounts exits;
    std::unique_ptr<trace::KvmEventCapture> capture;
    if (run.accel == "kvm") {
        auto started = trace::KvmEventCapture::start(roles.tids(), [&exits](std::string_view line) { exits.add_line(line); });
        if (started) capture = std::move(*started);
        else run.vm_exits_note = "VM exits not counted: " + started.error().message;
    } else {
        run.vm_exits_note = "the guest runs under TCG (QEMU holds no KVM VM): there are no VM exits, and the cost "
                            "measured is QEMU's emulation, not hardware world switches";
    }

    trace::BpfOptions bpf;
    bpf.pid = request.pid;
    bpf.duration_ms = request.duration_ms;
    bpf.progress = request.progress;
    bpf.progress_output = status_lines(observer);
    bpf.offcpu = true;
    bpf.wakers = true;
    bpf.interval_ms = 500;
    bpf.on_interval = [&roles] { roles.refresh(); };
    auto source = start_bpf(bpf, "kvm trace");
    if (!source) return tl::unexpected(source.error());
    analysis::QemuIoSink sink(request.pid);
    trace::FileTable files;
    auto traced = run_bpf(**source, sink, files);
    if (capture) capture->stop();
    if (!traced) return tl::unexpected(traced.error());
    roles.refresh();
    run.end = trace_end(*traced);

    analysis::OffcpuReport offcpu;
    if (traced->totals.offcpu) {
        auto report = analysis::offcpu_from_json(model::to_json(*traced->totals.offcpu));
        if (!report) return tl::unexpected(report.error());
        offcpu = std::move(*report);
    }
    analysis::QemuTraceInput input;
    input.roles = roles.roles();
    input.pid = request.pid;
    input.named_threads = roles.named();
    input.seconds = run.end.seconds();
    input.wakeups = std::move(offcpu.wakeups);
    input.offcpu = std::move(offcpu.stacks);
    input.guest_us = guest_us;
    input.images = images;
    run.report = analysis::summarise_qemu_trace(sink, input, [&files](uint32_t id) { return files.get(id).path; });
    if (capture) {
        run.vm_exits = exits.to_json(run.end.seconds());
        if (exits.exits() == 0)
            run.vm_exits_note = "no VM exits were seen: was the guest running?";
    }
    return run;
}

nlohmann::ordered_json to_json(const KvmTraceRun& run) {
    nlohmann::ordered_json out = {{"target", run.target},
                                  {"accel", run.accel},
                                  {"duration_s", run.end.seconds()},
                                  {"ended", describe_end(run.end)}};
    const nlohmann::ordered_json report = analysis::to_json(run.report);
    for (const auto& [key, value] : report.items()) out[key] = value;
    out["vm_exits"] = run.vm_exits ? *run.vm_exits : nlohmann::ordered_json(nullptr);
    if (!run.vm_exits_note.empty()) out["vm_exits_note"] = run.vm_exits_note;
    return out;
}

std::string render_text(const KvmTraceRun& run) {
    std::string out = fmt::format("{}: {} guest, traced {:.1f} s ({})\n\n", run.target, run.accel == "kvm" ? "KVM" : "TCG",
                                  run.end.seconds(), describe_end(run.end));
    out += analysis::render_text(run.report);
    if (run.vm_exits) {
        const auto& e = *run.vm_exits;
        out += fmt::format("\nVM exits: {} ({:.0f}/s), interrupts injected: {} ({:.0f}/s)\n", e["exits"].get<uint64_t>(),
                           e["exits_per_s"].get<double>(), e["interrupts"].get<uint64_t>(),
                           e["interrupts_per_s"].get<double>());
        size_t shown = 0;
        for (const auto& r : e["reasons"]) {
            if (shown++ == 10) break;
            out += fmt::format("  {:<28} {:>10} {:>10.0f}/s\n", r["reason"].get<std::string>(), r["count"].get<uint64_t>(),
                               r["per_s"].get<double>());
        }
        for (const auto& r : e["userspace_reasons"])
            out += fmt::format("  to QEMU: {:<19} {:>10} {:>10.0f}/s\n", r["reason"].get<std::string>(),
                               r["count"].get<uint64_t>(), r["per_s"].get<double>());
        if (e["lost"].get<uint64_t>()) out += fmt::format("  ({} events lost: the counts are low)\n", e["lost"].get<uint64_t>());
    }
    if (!run.vm_exits_note.empty()) out += "\nVM exits: " + run.vm_exits_note + "\n";
    return out;
}

}  // namespace iodiag::usecase
