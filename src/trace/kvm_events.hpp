// The kernel's kvm tracepoints for one QEMU process, read as text through a private tracefs
// instance (instances/iodiag-kvm-PID-SELF): kvm_exit, kvm_userspace_exit and kvm_msi_set_irq
// for the process's threads (set_event_pid), each line handed to a callback from a reader
// thread. The instance is removed on stop() and in the destructor; instances left by a killed
// iodiag are removed at the next start.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace iodiag::trace {

class KvmEventCapture {
public:
    using LineHandler = std::function<void(std::string_view line)>;

    // unsupported when tracefs cannot be had or has no kvm events (the kvm module is not loaded).
    // `tids`: the threads to follow (a process's threads; new ones are followed through fork).
    static Result<std::unique_ptr<KvmEventCapture>> start(const std::vector<int32_t>& tids, LineHandler on_line);
    ~KvmEventCapture();
    KvmEventCapture(const KvmEventCapture&) = delete;
    KvmEventCapture& operator=(const KvmEventCapture&) = delete;

    // Reads what is still buffered, stops the reader and removes the instance. Idempotent.
    void stop();

private:
    KvmEventCapture() = default;
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// The tracefs folder with the kvm events (/sys/kernel/tracing or the debugfs one), or an
// unsupported error naming what is missing.
Result<std::string> kvm_events_root();

}  // namespace iodiag::trace
