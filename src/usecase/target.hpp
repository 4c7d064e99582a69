// The one description of what to trace, shared by every tracing use case (model, latency, slow,
// offcpu, wakeup) and by the diagnosis wizard: a running process or a command to launch, how long,
// and its one validation.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "trace/trace_lifecycle.hpp"
#include "usecase/observer.hpp"

namespace iodiag::usecase {

inline constexpr uint64_t kDefaultAttachMs = 10'000;

struct TraceTarget {
    int32_t pid = 0;                    // attach to this running process, or
    std::vector<std::string> command;   // launch this command and trace it until it exits
    bool children = false;              // with pid: also the processes it starts
    uint64_t duration_ms = 0;           // 0: kDefaultAttachMs with pid, until exit for a command
    bool no_deadline = false;           // with pid: until it exits or Ctrl-C (`-d 0`)
    bool progress = false;              // progress lines on stderr even when it is not a terminal
    std::string command_stdout;         // launch: the command's stdout goes to this file
};

// A live source's progress lines, as the observer's status lines.
trace::ProgressOutput status_lines(Observer& observer);

// Exactly one of pid or command; --children only with a pid. `command_name` names the command in
// the hint ("see iodiag latency --help").
Status validate_target(const TraceTarget& target, std::string_view command_name);

// The trace's deadline in ms (0 = none): the given duration, else 10 s for an attach unless it
// has no_deadline.
uint64_t effective_duration_ms(const TraceTarget& target);

// "pid 1234 (mysqld)" while the process lives, or the command's first word.
std::string describe_target(const TraceTarget& target);

}  // namespace iodiag::usecase
