#include "trace/kvm_events.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "trace/bpf_features.hpp"

namespace iodiag::trace {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kInstancePrefix = "iodiag-kvm-";
constexpr const char* kEvents[] = {"kvm_exit", "kvm_userspace_exit", "kvm_msi_set_irq"};

bool write_file(const fs::path& path, const std::string& text) {
    std::ofstream out(path);
    out << text;
    out.flush();
    return static_cast<bool>(out);
}

// Instances named iodiag-kvm-PID-OWNER whose owner is gone (an iodiag killed mid-trace).
void remove_stale_instances(const fs::path& instances) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(instances, ec)) {
        const std::string name = entry.path().filename().string();
        if (!name.starts_with(kInstancePrefix)) continue;
        const auto dash = name.rfind('-');
        const int owner = std::atoi(name.c_str() + dash + 1);
        if (owner > 0 && (::kill(owner, 0) == 0 || errno == EPERM)) continue;
        if (::rmdir(entry.path().c_str()) == 0) spdlog::debug("removed stale tracefs instance {}", name);
    }
}

}  // namespace

Result<std::string> kvm_events_root() {
    if (auto mounted = ensure_tracefs(); !mounted) return tl::unexpected(mounted.error());
    for (const char* root : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}) {
        std::error_code ec;
        if (!fs::exists(fs::path(root) / "events", ec)) continue;
        if (!fs::exists(fs::path(root) / "events/kvm/kvm_exit", ec))
            return fail(ErrorKind::unsupported, "the kernel has no kvm tracepoints (events/kvm/kvm_exit)",
                        "load the kvm module (modprobe kvm_intel or kvm_amd); a guest under TCG makes no VM exits");
        return std::string(root);
    }
    return fail(ErrorKind::unsupported, "tracefs has no events folder", "mount -t tracefs tracefs /sys/kernel/tracing");
}

struct KvmEventCapture::Impl {
    fs::path instance;
    int pipe_fd = -1;
    std::thread reader;
    std::atomic<bool> stopping{false};
    LineHandler on_line;
    bool stopped = false;

    void read_loop() {
        std::string pending;
        char buf[65536];
        for (;;) {
            pollfd pfd{pipe_fd, POLLIN, 0};
            const bool last_round = stopping.load();
            const int ready = ::poll(&pfd, 1, last_round ? 0 : 100);
            if (ready > 0) {
                const ssize_t n = ::read(pipe_fd, buf, sizeof buf);
                if (n > 0) {
                    pending.append(buf, static_cast<size_t>(n));
                    size_t start = 0;
                    for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1)
                        on_line(std::string_view(pending).substr(start, nl - start));
                    pending.erase(0, start);
                    continue;  // drain before looking at `stopping` again
                }
                if (n < 0 && errno != EAGAIN && errno != EINTR) break;
            } else if (ready < 0 && errno != EINTR) {
                break;
            }
            if (last_round) break;
        }
        if (!pending.empty()) on_line(pending);
    }
};

Result<std::unique_ptr<KvmEventCapture>> KvmEventCapture::start(const std::vector<int32_t>& tids, LineHandler on_line) {
    auto root = kvm_events_root();
    if (!root) return tl::unexpected(root.error());
    const fs::path instances = fs::path(*root) / "instances";
    remove_stale_instances(instances);

    std::unique_ptr<KvmEventCapture> capture(new KvmEventCapture());
    capture->impl_ = std::make_unique<Impl>();
    Impl& impl = *capture->impl_;
    impl.on_line = std::move(on_line);
    const int32_t first = tids.empty() ? 0 : tids.front();
    impl.instance = instances / fmt::format("{}{}-{}", kInstancePrefix, first, ::getpid());
    if (::mkdir(impl.instance.c_str(), 0700) != 0)
        return fail(ErrorKind::unsupported,
                    fmt::format("cannot create the tracefs instance {}: {}", impl.instance.string(), std::strerror(errno)),
                    "kvm exits need root and a tracefs with instances");

    std::string pids;
    for (int32_t tid : tids) pids += std::to_string(tid) + " ";
    // A bigger per-CPU buffer: a busy guest exits 100k times a second.
    write_file(impl.instance / "buffer_size_kb", "4096");
    if (!write_file(impl.instance / "set_event_pid", pids) || !write_file(impl.instance / "options/event-fork", "1")) {
        capture->stop();
        return fail(ErrorKind::unsupported, "cannot filter the kvm events by thread (set_event_pid)");
    }
    for (const char* event : kEvents) {
        const fs::path enable = impl.instance / "events/kvm" / event / "enable";
        std::error_code ec;
        if (fs::exists(enable, ec) && !write_file(enable, "1")) spdlog::warn("cannot enable kvm:{}", event);
    }
    impl.pipe_fd = ::open((impl.instance / "trace_pipe").c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (impl.pipe_fd < 0) {
        const std::string why = std::strerror(errno);
        capture->stop();
        return fail(ErrorKind::unsupported, "cannot open the tracefs instance's trace_pipe: " + why);
    }
    impl.reader = std::thread([&impl] { impl.read_loop(); });
    return capture;
}

void KvmEventCapture::stop() {
    if (!impl_ || impl_->stopped) return;
    Impl& impl = *impl_;
    impl.stopped = true;
    // Events off first, so the reader's last round drains a buffer that no longer grows.
    for (const char* event : kEvents) write_file(impl.instance / "events/kvm" / event / "enable", "0");
    impl.stopping = true;
    if (impl.reader.joinable()) impl.reader.join();
    if (impl.pipe_fd >= 0) ::close(impl.pipe_fd);
    impl.pipe_fd = -1;
    if (::rmdir(impl.instance.c_str()) != 0 && errno != ENOENT)
        spdlog::warn("could not remove the tracefs instance {}: {}", impl.instance.string(), std::strerror(errno));
}

KvmEventCapture::~KvmEventCapture() { stop(); }

}  // namespace iodiag::trace
