// What the bpf-only tracing commands (latency, slow, offcpu, wakeup) share on the command line:
// the target options (--pid, --children, --duration, --progress, -- COMMAND) parsed into a
// usecase::TraceTarget.
#pragma once

#include "usecase/target.hpp"

namespace CLI {
class App;
}

namespace iodiag::cli {

// -d is parsed into target.duration_ms here; these commands reject a duration of 0.
void add_target_options(CLI::App& cmd, usecase::TraceTarget& target);

}  // namespace iodiag::cli
