// The live strace source: runs `strace -f -ttt -T -y` attached to a pid or launching a command,
// streams its output through a StraceReader while tracing, and stops on --duration, on
// SIGINT/SIGTERM (forwarded so strace detaches cleanly), or when the target exits.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace iodiag::trace {

class StraceReader;
class SyscallDecoder;

enum class StopReason : uint8_t {
    duration,       // --duration elapsed
    interrupted,    // SIGINT/SIGTERM: the trace was cut short but is usable
    target_exited,  // the traced process (and everything it started) exited
    aborted,        // a second SIGINT/SIGTERM: stop now, keep nothing
};

// "duration", "interrupted", "target exited", "aborted" (the model's end_reason).
std::string_view stop_reason_name(StopReason reason);

struct StraceOptions {
    int32_t pid = 0;                    // attach to this process and its threads, or
    std::vector<std::string> command;   // launch this (argv[0] looked up through $PATH)
    uint64_t duration_ms = 0;           // 0 = until the target exits or a signal
    bool progress = false;              // progress lines on stderr even when it is not a TTY
    std::string command_stdout;         // launch: the command's stdout goes to this file
                                        // (empty = iodiag's stdout)
    std::function<uint64_t()> io_events;  // IO events so far, for progress lines
};

struct StraceRun {
    StopReason reason = StopReason::target_exited;
    int exit_status = 0;        // strace's exit code (in launch mode: the command's)
    int32_t target_pid = 0;     // attach: the pid; launch: the command's pid (0 if never seen)
    std::string command_line;   // the strace invocation, for the model's source.detail
    std::vector<std::string> untraced_syscalls;  // names this strace rejected
    uint64_t wall_ns = 0;       // from starting strace to its exit
};

// The syscalls iodiag asks strace for: every named trace::Syscall.
std::vector<std::string> traced_syscall_names();

// Runs strace until a stop condition and feeds every output line to `reader`, then calls
// reader.finish(). Attach mode first loads the process's open fds, threads and tgid from /proc
// into `decoder` (the sink behind `reader`) so IO on files opened before the trace resolves.
Result<StraceRun> run_strace(const StraceOptions& options, StraceReader& reader,
                             SyscallDecoder& decoder);

}  // namespace iodiag::trace
