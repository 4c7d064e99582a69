// A QEMU process's threads by role, from the names QEMU gives them with -name debug-threads=on
// (libvirt always sets it): "CPU 3/KVM" is a vCPU, "IO iothread1" an iothread, "worker" the
// thread pool behind aio=threads, the process's first thread the main loop.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "stack/sysroot.hpp"

namespace iodiag::stack {

struct QemuThread {
    int32_t tid = 0;
    std::string name;
    std::string role;    // vcpu, iothread, main-loop, worker, monitor, rcu, migration, display,
                         // vhost, io_uring, kvm-kernel, other
    std::string detail;  // vCPU index or iothread id
};

struct QemuThreads {
    std::vector<QemuThread> threads;
    std::map<std::string, int> by_role;
    bool named = false;  // QEMU named its threads (else only the main loop is known)
};

// The role of one thread; `main` for the thread whose tid is the pid.
QemuThread classify_qemu_thread(int32_t tid, std::string_view name, bool main);

// not_found / permission for the pid.
Result<QemuThreads> read_qemu_threads(const SysRoot& root, int32_t pid);

}  // namespace iodiag::stack
