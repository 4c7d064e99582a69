// What the bpf-only tracing commands (latency, slow, offcpu, wakeup) share on the command line:
// the target options (--pid, --children, --duration, --progress, -- COMMAND) parsed into a
// usecase::TraceTarget, and how their errors end the command.
#pragma once

#include "common/result.hpp"
#include "usecase/target.hpp"

namespace CLI {
class App;
}

namespace iodiag::cli {

// -d is parsed into target.duration_ms here; these commands reject a duration of 0.
void add_target_options(CLI::App& cmd, usecase::TraceTarget& target);

// report_error(), except that a second Ctrl-C (ErrorKind::aborted) ends with just "iodiag: aborted".
int report_trace_error(const Error& error);

}  // namespace iodiag::cli
