// `slow`: each of a process's IO operations that takes at least a threshold, as it happens:
// syscalls, async requests and block requests, with file, offset, size and latency.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/slow_ops.hpp"
#include "common/result.hpp"
#include "usecase/bpf_run.hpp"
#include "usecase/observer.hpp"
#include "usecase/target.hpp"

namespace iodiag::usecase {

struct ListedSlowOp {
    double t_s = 0;             // seconds from the trace's start
    analysis::SlowOp op;
};

struct SlowRequest {
    TraceTarget target;
    uint64_t min_ns = 10'000'000;   // list operations this slow or slower
    uint64_t limit = 10'000;        // list at most this many (all are counted)
    // The tracers are attached and the trace begins; with describe_target().
    std::function<void(const std::string& target)> on_start;
    std::function<void(const ListedSlowOp&)> on_listed;   // each listed operation, as it happens
};

struct SlowRun {
    std::string target;                                         // describe_target()
    uint64_t min_ns = 0;
    TraceEnd end;
    std::map<analysis::LatencyLayer, analysis::SlowCounts> counts;   // seen and slow, per layer
    std::vector<ListedSlowOp> listed;                           // the first `limit` slow ones
};

// aborted on a second Ctrl-C.
Result<SlowRun> find_slow_ops(const SlowRequest& request, Observer& observer);

// "syscall", "async" or "block": a slow operation's layer as listed.
std::string_view slow_layer_name(analysis::LatencyLayer layer);

// {"target", "min_ms", "ended", "counts", "listed", "ops"}: `iodiag slow --json`.
nlohmann::ordered_json to_json(const SlowRun& run);

}  // namespace iodiag::usecase
