// `latency`: where a process's IO time goes: each syscall, async request and block request
// (queue and device), as latency distributions, for the whole trace or every interval.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/latency.hpp"
#include "common/result.hpp"
#include "usecase/bpf_run.hpp"
#include "usecase/observer.hpp"
#include "usecase/target.hpp"

namespace iodiag::usecase {

// One report: the latencies of an interval, or of the whole trace (or its last interval) once
// the trace has ended.
struct LatencyRun {
    std::string target;                      // describe_target()
    double seconds = 0;                      // the time the rows cover
    std::vector<analysis::LatencyRow> rows;  // each with its log2 histogram
    std::optional<TraceEnd> end;             // set in the final report only
};

struct LatencyRequest {
    TraceTarget target;
    uint64_t interval_ms = 0;   // > 0: a report this often, each of its own interval only
    // Each report as it is made: every interval's, then the final one (also when the trace saw
    // no IO, before measure_latency fails with no_io). May be empty.
    std::function<void(const LatencyRun&)> on_report;
};

// The final report. no_io when a trace without intervals saw no IO; aborted on a second Ctrl-C.
Result<LatencyRun> measure_latency(const LatencyRequest& request, Observer& observer);

// {"target", "interval_s", "rows"} and, in the final report, "ended": `iodiag latency --json`
// (one such object per interval with --interval).
nlohmann::ordered_json to_json(const LatencyRun& run);

}  // namespace iodiag::usecase
