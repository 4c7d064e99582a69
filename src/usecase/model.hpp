// `model`: trace a workload (a running process, a launched command) or read a saved strace /
// perf trace, and classify what it did into a WorkloadModel: job groups in fio's terms, plus what
// the block layer saw on each device. Saving the model is model::save_model's job.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/result.hpp"
#include "model/workload_model.hpp"
#include "usecase/observer.hpp"
#include "usecase/target.hpp"

namespace iodiag::usecase {

struct ModelRequest {
    TraceTarget target;           // trace this live, or read one of:
    std::string strace_log;       //   a saved strace log (strace -f -tt -T -y), or
    std::string perf_log;         //   a saved perf trace output (perf trace -T -o FILE)
    bool strict = false;          // with a log: stop at its first unreadable line
    std::string source = "auto";  // live: auto (bpf, else perf, else strace), bpf, perf, strace
};

struct ModelRun {
    model::WorkloadModel model;   // devices[] filled from the block layer's view
    // A text trace's first unreadable line, for the summary (0: none).
    uint64_t first_bad_line = 0;
    std::string first_bad_text;
};

// usage error unless the request names exactly one input (pid, command, strace log, perf log),
// with --strict only for a log and --children only for a pid. build_model checks it too; a caller
// that must do other checks before tracing (the output's path) calls it first.
Status validate_model_request(const ModelRequest& request);

// Traces or reads, then classifies. The source chosen and any fallback are noted on `observer`.
// no_io when the trace saw no file IO; aborted when a second Ctrl-C stopped it.
Result<ModelRun> build_model(const ModelRequest& request, Observer& observer);

// "tracing cost: the BPF programs ran N times, X ns each, ...: Y ns per IO event, Z% of one CPU",
// from the bpf source's program statistics (source.totals.bpf_programs); nullopt without them.
std::optional<std::string> tracing_cost(const model::WorkloadModel& model);

}  // namespace iodiag::usecase
