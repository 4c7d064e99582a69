// `iodiag slow`: each of a process's IO operations that takes at least --min, as it happens:
// syscalls, async requests and block requests, with file, offset, size and latency.
#pragma once

#include <string>

#include "usecase/slow.hpp"

namespace CLI {
class App;
}

namespace iodiag::cli {

struct SlowOptions {
    usecase::SlowRequest request;
    std::string min = "10ms";       // threshold: 10ms, 250us, ... (request.min_ns)
    bool json = false;
};

void add_slow_command(CLI::App& app, SlowOptions& options);
int run_slow(const SlowOptions& options);

}  // namespace iodiag::cli
