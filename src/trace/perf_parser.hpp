// `perf trace`'s text output, line by line (parse_perf_line), and a reader that joins split calls
// ("name(args) ..." then "... [continued]: name()) = ret"), decodes the arguments of the syscalls
// iodiag understands into RawSyscalls and hands them to a RawSyscallSink (normally a
// SyscallDecoder): the perf source produces the same events as the strace source.
//
// Accepted (as perf 6.1 prints them): timestamps relative (default) or absolute (-T), both in ms;
// "( 0.004 ms)" durations or "(         )"; "comm/tid " prefixes, comm with spaces or slashes, or
// no prefix (perf omits it when it traces one thread); failures "= -1 ENOENT (...)"; "= ?";
// fd annotations "fd: 3</tmp/file>"; symbolic flags "RDWR|CREAT|DIRECT|0x100000"; zero arguments
// left out (perf hides them); "LOST N events!"; other events (tracepoints, page faults) and the
// -s/-S summary are recognised and skipped; a cut-off last line is counted as bad.
//
// What perf trace cannot show, iodiag cannot know: openat's filename is a user pointer (the file is
// learned from the first annotated use of the fd), io_submit's iocbs, io_uring_setup's flags.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "trace/raw_syscall.hpp"
#include "trace/strace_parser.hpp"  // ReaderOptions, ReaderStats: shared by the text sources

namespace iodiag::trace {

enum class PerfLineKind : uint8_t {
    syscall,    // complete: name(args) = ret
    entry,      // name(args) ...            (interrupted by another thread's line)
    continued,  // ... [continued]: name()) = ret
    event,      // a tracepoint ("sched:sched_switch(...)") or page fault ("majfault [...]")
    lost,       // LOST 12 events!
    summary,    // the heading of the -s/-S summary ("Summary of events:")
    blank,
    bad,        // not perf trace output, or cut off
};

struct PerfLine {
    PerfLineKind kind = PerfLineKind::bad;
    uint64_t ts_ns = 0;           // 0 = "?" (perf did not see the entry); ms as printed, in ns
    uint64_t dur_ns = 0;
    bool has_dur = false;
    int32_t tid = 0;              // 0 = the line has no "comm/tid" prefix
    std::string_view comm;
    std::string_view name;        // syscall (or event) name
    std::string_view args;        // "fd: 3</f>, count: 4096", without the parentheses
    std::string_view ret_text;    // what follows "= ", e.g. "-1 ENOENT (No such ...)", "7</f>"
    int64_t ret = 0;              // numeric return (negative errno for "-1 EXXX")
    bool ret_known = false;       // false for "= ?" and for an empty return
    uint64_t lost = 0;            // lost: how many
};

// Pure: never allocates, never fails (bad lines come back as kind == bad).
PerfLine parse_perf_line(std::string_view line);

// What a live source can still look up while the trace is read; offline logs leave them empty.
struct PerfReaderOptions : ReaderOptions {
    // The file behind a thread's fd now (readlink /proc/TID/fd/FD), "" when unknown.
    std::function<std::string(int32_t tid, int32_t fd)> fd_path;
    // The process of a thread, 0 when unknown: tells a clone3 thread from a clone3 process.
    std::function<int32_t(int32_t tid)> tgid_of;
};

struct PerfReaderStats : ReaderStats {
    uint64_t lost_events = 0;    // "LOST N events!": perf's ring buffer overflowed
    uint64_t other_events = 0;   // tracepoints and page faults, skipped
    uint64_t summary_lines = 0;  // the -s/-S summary, skipped
};

class PerfReader {
public:
    PerfReader(RawSyscallSink& sink, PerfReaderOptions options = {});
    ~PerfReader();
    PerfReader(const PerfReader&) = delete;
    PerfReader& operator=(const PerfReader&) = delete;

    // Feeds one line (without the trailing newline). Fails only in strict mode, with the line
    // number in the message.
    Status feed_line(std::string_view line);
    // End of input: calls left unfinished are counted (and dropped); opens still waiting for the
    // name of their fd go out unnamed.
    void finish();
    const PerfReaderStats& stats() const { return stats_; }

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    PerfReaderStats stats_;
};

// Streams a whole saved `perf trace` output through a reader. Errors name file:line; a log with
// only a summary (-s) or no syscalls at all (--no-syscalls) is an error with a hint.
Result<PerfReaderStats> read_perf_file(const std::string& path, RawSyscallSink& sink,
                                       PerfReaderOptions options = {});

}  // namespace iodiag::trace
