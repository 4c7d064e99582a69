// What every live text source (strace, perf trace) shares: running the tracer program with its
// trace written into a pipe, streaming that trace line by line while tracing, progress lines, and
// stopping on --duration, on SIGINT/SIGTERM (forwarded so the tracer detaches cleanly), or when
// the target exits (the rules in trace_lifecycle). Each source builds its tracer's command line and reads the lines.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "trace/trace_lifecycle.hpp"

namespace iodiag::trace {

class SyscallDecoder;

struct LiveTraceOptions {
    int32_t pid = 0;                    // attach to this process and its threads, or
    std::vector<std::string> command;   // launch this (argv[0] looked up through $PATH)
    uint64_t duration_ms = 0;           // 0 = until the target exits or a signal
    bool progress = false;              // progress lines even when stderr is not a TTY
    ProgressOutput progress_output;     // where they go (none: no progress lines)
    std::string command_stdout;         // launch: the command's stdout goes to this file
                                        // (empty = iodiag's stdout)
    std::function<uint64_t()> io_events;  // IO events so far, for progress lines
};

struct LiveTraceRun {
    StopReason reason = StopReason::target_exited;
    int exit_status = 0;        // the tracer's exit code (strace in launch mode: the command's)
    int32_t target_pid = 0;     // attach: the pid; launch: the command's pid (0 if never seen)
    std::string command_line;   // the tracer's invocation, for the model's source.detail
    std::vector<std::string> untraced_syscalls;  // names this tracer or kernel cannot trace
    uint64_t wall_ns = 0;       // from starting the tracer to its exit
};

// The syscalls iodiag asks a tracer for: every named trace::Syscall.
std::vector<std::string> traced_syscall_names();

std::string join(const std::vector<std::string>& items, std::string_view sep);

class ProcFs;

// The attach-time picture of a process: its threads and open fds (path, flags, position) go into
// the decoder, so IO on files opened before the trace resolves.
Status preload_process(const ProcFs& proc, int32_t pid, SyscallDecoder& decoder);

// Checks the target before any tracer starts: attach mode loads the process's threads, open fds
// and tgid from /proc into `decoder` (so IO on files opened before the trace resolves) and sets
// run.target_pid; launch mode checks that the command exists.
Status prepare_target(const LiveTraceOptions& options, SyscallDecoder& decoder,
                      LiveTraceRun& run);

struct TracerProgram {
    std::string name;  // "strace", "perf": for messages
    // Its argv, given the path it must write the trace to (/proc/<iodiag>/fd/N).
    std::function<std::vector<std::string>(const std::string& trace_path)> argv;
    std::function<Status(std::string_view line)> feed_line;  // each trace line, in order
    std::function<uint64_t()> bad_lines;                      // so far, for progress lines
    // The pid a line names, 0 for none: in launch mode the first one is the command's.
    std::function<int32_t(std::string_view line)> line_pid;
};

// `argv` with the target appended: "-p PIDS" in attach mode, "-- COMMAND..." in launch mode.
std::vector<std::string> with_target(std::vector<std::string> argv, const LiveTraceOptions& options,
                                     const std::string& pids);

struct TracerExit {
    bool stop_requested = false;  // we asked it to stop (duration, signal)
    // It ended by itself with nothing traced and a failure status: it could not start. (After a
    // stop request an empty trace just means the target was idle.)
    bool failed_to_start = false;
    std::string err;              // attach mode: what the tracer wrote to stderr (capped)
};

// Runs the tracer until a stop condition, feeding every trace line to program.feed_line (a
// cut-off last line too). Fills run.reason, exit_status, command_line, wall_ns and, in launch
// mode, target_pid.
Result<TracerExit> run_tracer(const TracerProgram& program, const LiveTraceOptions& options,
                              LiveTraceRun& run);

}  // namespace iodiag::trace
