// `iodiag slow`: each of a process's IO operations that takes at least --min, as it happens:
// syscalls, async requests and block requests, with file, offset, size and latency.
#pragma once

#include <cstdint>
#include <string>

#include "cli/bpf_target.hpp"

namespace CLI {
class App;
}

namespace iodiag::cli {

struct SlowOptions {
    TargetOptions target;
    std::string min = "10ms";   // threshold: 10ms, 250us, ...
    uint64_t limit = 10'000;    // slow operations listed at most (all are counted)
    bool json = false;
};

void add_slow_command(CLI::App& app, SlowOptions& options);
int run_slow(const SlowOptions& options);

}  // namespace iodiag::cli
