// `iodiag latency`: where a process's IO time goes: each syscall, async request and block request
// (queue and device), as latency distributions, once at the end or every --interval.
#pragma once

#include "usecase/latency.hpp"

namespace CLI {
class App;
}

namespace iodiag::cli {

struct LatencyOptions {
    usecase::LatencyRequest request;   // -i is parsed into request.interval_ms (0: one report at the end)
    bool json = false;
    bool histogram = false;
};

void add_latency_command(CLI::App& app, LatencyOptions& options);
int run_latency(const LatencyOptions& options);

}  // namespace iodiag::cli
