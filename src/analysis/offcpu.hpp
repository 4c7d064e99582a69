// Off-CPU stacks (trace::BpfOffcpuTracer's totals): where the target's threads waited, grouped by
// stack and the state they left the CPU in, with their time; as a top list, per-state totals, or
// folded lines for flame graphs (flamegraph.pl, speedscope). Pure.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "trace/tracer_totals.hpp"

namespace iodiag::analysis {

// The off-CPU tracer's own rows, as model.json keeps them.
using OffcpuStack = trace::OffcpuStackTotals;  // tid 0 once threads are merged
using Wakeup = trace::WakeupTotals;            // tids 0 once threads are merged

struct OffcpuReport {
    uint64_t switches = 0;             // times a traced thread left the CPU
    uint64_t too_short = 0;            // absences under the minimum, not in the stacks
    uint64_t lost = 0;                 // not recorded: a table was full
    bool kernel_symbols = true;        // false: kernel frames are bare addresses (no root?)
    std::vector<OffcpuStack> stacks;   // most time first
    std::vector<Wakeup> wakeups;       // when wakers were tracked
};

// From the tracer's totals["offcpu"].
Result<OffcpuReport> offcpu_from_json(const nlohmann::ordered_json& totals);

// Same process, command, state and stacks: one entry (tid 0), times and counts added; most time first.
std::vector<OffcpuStack> merge_threads(const std::vector<OffcpuStack>& stacks);

// Only the stacks in `state` ("all": every one).
std::vector<OffcpuStack> in_state(const std::vector<OffcpuStack>& stacks, const std::string& state);

// "comm;user outermost..innermost;kernel outermost..innermost COUNT" with COUNT in µs, one per stack.
std::string folded(const std::vector<OffcpuStack>& stacks);

// The `top` stacks with the most time, each with its frames (kernel, then user), and a first line
// of totals per state.
std::string render_top(const std::vector<OffcpuStack>& stacks, size_t top);

nlohmann::ordered_json to_json(const std::vector<OffcpuStack>& stacks);

// Same wakee and waker processes, commands and waker stacks: one entry, tids 0; most waited first.
std::vector<Wakeup> merge_threads(const std::vector<Wakeup>& wakeups);

// Who woke the target's threads (with the time they had waited and the waker's stack), then whom
// the target's threads woke; `top` entries of each.
std::string render_wakeups(const std::vector<Wakeup>& wakeups, size_t top);

nlohmann::ordered_json to_json(const std::vector<Wakeup>& wakeups);

}  // namespace iodiag::analysis
