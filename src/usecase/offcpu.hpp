// `offcpu`: where a process's threads wait off the CPU (the note's offcputime), by kernel and
// user stack and the state they left in: waiting for disk, sleeping, preempted.
// `wakeup`: who wakes the process's threads, with the time they had waited and the waker's
// stack, and whom its threads wake (the note's offwaketime).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/offcpu.hpp"
#include "common/result.hpp"
#include "usecase/bpf_run.hpp"
#include "usecase/observer.hpp"
#include "usecase/target.hpp"

namespace iodiag::usecase {

struct OffcpuRequest {
    TraceTarget target;
    uint64_t min_ns = 1000;         // shortest absence recorded
    std::string state = "all";      // only stacks in this state: all, disk, sleeping, preempted, other
    bool per_thread = false;        // keep threads apart (default: a process's threads merged)
    size_t top = 10;                // stacks in the JSON document
};

struct OffcpuRun {
    std::string target;             // describe_target()
    TraceEnd end;
    analysis::OffcpuReport report;  // stacks merged and filtered as requested, most time first
    size_t top = 10;                // from the request
};

// aborted on a second Ctrl-C.
Result<OffcpuRun> profile_offcpu(const OffcpuRequest& request, Observer& observer);

// {"target", "duration_s", "ended", "switches", "too_short", "lost", "stacks" (the top ones)}:
// `iodiag offcpu --json`.
nlohmann::ordered_json to_json(const OffcpuRun& run);

struct WakeupRequest {
    TraceTarget target;
    bool per_thread = false;        // keep threads apart (default: a process's threads merged)
};

struct WakeupRun {
    std::string target;             // describe_target()
    TraceEnd end;
    uint64_t lost = 0;              // events not recorded: a table was full
    std::vector<analysis::Wakeup> wakeups;   // merged as requested, most waited first
};

// aborted on a second Ctrl-C.
Result<WakeupRun> profile_wakeups(const WakeupRequest& request, Observer& observer);

// {"target", "duration_s", "ended", "lost", "wakeups"}: `iodiag wakeup --json`.
nlohmann::ordered_json to_json(const WakeupRun& run);

}  // namespace iodiag::usecase
