// strace's text output, line by line (strace_line), and a reader that joins
// "<unfinished ...>" / "<... resumed>" halves, decodes the arguments of the syscalls iodiag
// understands into RawSyscalls and hands them to a RawSyscallSink (normally a SyscallDecoder).
//
// Accepted: -f ("[pid N]" prefixes) and -o/-ff style leading pids, or no pid; -t, -tt, -ttt or no
// timestamps; with or without -T; -y/-yy fd annotations or plain fds; signals ("--- SIG... ---"),
// exits ("+++ exited with N +++", "+++ killed by SIG +++"), error returns ("= -1 ENOENT (...)"),
// "= ?" and a cut-off last line.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "trace/raw_syscall.hpp"

namespace iodiag::trace {

enum class StraceLineKind : uint8_t {
    syscall,     // complete: name(args) = ret
    unfinished,  // name(args <unfinished ...>
    resumed,     // <... name resumed>args) = ret
    signal,      // --- SIGxxx {...} ---
    exited,      // +++ exited with N +++
    killed,      // +++ killed by SIGxxx +++
    info,        // strace's own messages ("strace: Process N attached", "detached", ...)
    blank,
    bad,         // not strace output, or cut off
};

struct StraceLine {
    StraceLineKind kind = StraceLineKind::bad;
    int32_t pid = 0;              // 0 = no pid on the line
    bool pid_in_brackets = false; // "[pid N]" form: strace -f writing to stderr, which omits the
                                  // prefix while only one process is traced
    uint64_t ts_ns = 0;           // 0 = no timestamp; -t/-tt: ns since midnight; -ttt: since epoch
    std::string_view name;        // syscall name (syscall/unfinished/resumed), signal name
    std::string_view args;        // argument text, without the outer parentheses
    std::string_view ret_text;    // what follows "= " up to the duration, e.g. "3</tmp/f>", "-1 ENOENT (...)"
    int64_t ret = 0;              // numeric return (negative errno for "-1 EXXX")
    bool ret_known = false;       // false for "= ?" or when the line has no return
    uint64_t dur_ns = 0;          // -T, 0 when absent
    bool has_dur = false;
    int32_t exit_code = 0;        // exited: status; killed: 0
};

// Pure: never allocates, never fails (bad lines come back as kind == bad).
StraceLine parse_strace_line(std::string_view line);

// RawSyscall::fd of openat/openat2 when the directory argument is AT_FDCWD (not an fd); fd_path
// then holds the working directory when strace -y showed it ("AT_FDCWD</tmp>").
constexpr int32_t kAtFdcwd = -100;

struct ReaderOptions {
    bool strict = false;        // stop at the first bad line instead of skipping it
    int32_t default_pid = 0;    // pid for lines that carry none (e.g. a per-process -ff file)
};

struct ReaderStats {
    uint64_t lines = 0;
    uint64_t syscalls = 0;         // complete calls decoded (after joining halves)
    uint64_t ignored_syscalls = 0; // calls iodiag does not model (e.g. mprotect)
    uint64_t signals = 0;
    uint64_t bad_lines = 0;
    uint64_t first_bad_line = 0;   // 1-based line number, 0 = none
    std::string first_bad_text;    // the first bad line, cut to 200 bytes
    uint64_t unfinished_at_end = 0;  // calls still "<unfinished ...>" when the log ended
    uint64_t orphan_resumed = 0;     // "<... resumed>" halves whose start is not in the log
    uint64_t first_ts_ns = 0;
    uint64_t last_ts_ns = 0;
};

class StraceReader {
public:
    StraceReader(RawSyscallSink& sink, ReaderOptions options = {});
    ~StraceReader();
    StraceReader(const StraceReader&) = delete;
    StraceReader& operator=(const StraceReader&) = delete;

    // Feeds one line (without the trailing newline). Fails only in strict mode, with the line
    // number in the message.
    Status feed_line(std::string_view line);
    // End of input: calls left unfinished are counted (and dropped); thread exits are flushed.
    void finish();
    const ReaderStats& stats() const { return stats_; }

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    ReaderStats stats_;
};

// Streams a whole log file through a reader (constant memory). Errors name file:line.
Result<ReaderStats> read_strace_file(const std::string& path, RawSyscallSink& sink,
                                     ReaderOptions options = {});

}  // namespace iodiag::trace
