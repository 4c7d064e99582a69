// `iodiag latency`: where a process's IO time goes: each syscall, async request and block request
// (queue and device), as latency distributions, once at the end or every --interval.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace iodiag::cli {

struct LatencyOptions {
    int32_t pid = 0;
    std::vector<std::string> command;
    bool children = false;
    std::string duration;   // empty: 10s with --pid, until a command exits
    std::string interval;   // empty: one report at the end
    bool json = false;
    bool histogram = false;
    bool progress = false;
};

void add_latency_command(CLI::App& app, LatencyOptions& options);
int run_latency(const LatencyOptions& options);

}  // namespace iodiag::cli
