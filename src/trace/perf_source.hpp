// The live perf source: runs `perf trace -T -e <iodiag's syscalls>` on a pid (its threads and the
// child processes it has when the trace starts) or launching a command, and streams its output
// through a PerfReader while tracing. Stops as the strace source does (live_trace.hpp).
//
// perf trace needs no ptrace, but sees less than strace: openat's filename (the file is learned
// from the fd annotations perf reads in /proc), io_submit's iocbs, io_uring_setup's flags; and
// attached with -p it does not follow threads or processes started after the trace began.
#pragma once

#include <cstdint>

#include "common/result.hpp"
#include "trace/live_trace.hpp"
#include "trace/perf_parser.hpp"

namespace iodiag::trace {

class SyscallDecoder;

// Whether perf trace works here: perf installed, allowed to trace, and printing lines PerfReader
// reads (a short `perf trace -- true` run, done once per process). The error says what is
// missing and what to do about it.
Status probe_perf();

// Reader options for a live trace of `options`: lines without a thread prefix (perf omits it
// when it traces a single thread) belong to the pid, and the fds and thread groups perf could
// not show are looked up in /proc while the trace is read.
PerfReaderOptions live_perf_reader_options(const LiveTraceOptions& options);

// Runs perf trace until a stop condition and feeds every output line to `reader`, then calls
// reader.finish(). Attach mode first loads the process's open fds, threads and tgid from /proc
// into `decoder` (the sink behind `reader`).
Result<LiveTraceRun> run_perf(const LiveTraceOptions& options, PerfReader& reader,
                              SyscallDecoder& decoder);

}  // namespace iodiag::trace
