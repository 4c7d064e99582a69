// The live strace source: runs `strace -f -ttt -T -y` attached to a pid or launching a command,
// streams its output through a StraceReader while tracing, and stops on --duration, on
// SIGINT/SIGTERM (forwarded so strace detaches cleanly), or when the target exits.
#pragma once

#include "common/result.hpp"
#include "trace/live_trace.hpp"  // StopReason, options and run shared with the perf source

namespace iodiag::trace {

class StraceReader;
class SyscallDecoder;

using StraceOptions = LiveTraceOptions;
using StraceRun = LiveTraceRun;  // exit_status: in launch mode, the command's

// Runs strace until a stop condition and feeds every output line to `reader`, then calls
// reader.finish(). Attach mode first loads the process's open fds, threads and tgid from /proc
// into `decoder` (the sink behind `reader`) so IO on files opened before the trace resolves.
Result<StraceRun> run_strace(const StraceOptions& options, StraceReader& reader,
                             SyscallDecoder& decoder);

}  // namespace iodiag::trace
