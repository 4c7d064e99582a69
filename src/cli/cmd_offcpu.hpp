// `iodiag offcpu`: where a process's threads wait off the CPU (the note's offcputime), by kernel
// and user stack and the state they left in: waiting for disk, sleeping, preempted.
// `iodiag wakeup`: who wakes the process's threads, with the time they had waited and the
// waker's stack, and whom its threads wake (the note's offwaketime).
#pragma once

#include <cstddef>
#include <string>

#include "usecase/offcpu.hpp"

namespace CLI {
class App;
}

namespace iodiag::cli {

struct OffcpuOptions {
    usecase::OffcpuRequest request;
    std::string min = "1us";        // shortest absence recorded (request.min_ns)
    bool folded = false;
    bool json = false;
};

void add_offcpu_command(CLI::App& app, OffcpuOptions& options);
int run_offcpu(const OffcpuOptions& options);

struct WakeupOptions {
    usecase::WakeupRequest request;
    size_t top = 10;
    bool json = false;
};

void add_wakeup_command(CLI::App& app, WakeupOptions& options);
int run_wakeup(const WakeupOptions& options);

}  // namespace iodiag::cli
