// Shared by the tests of the text-source parsers (strace, perf): a sink that keeps what a reader
// hands it, and runs of a reader over literal lines or over a whole fixture file.
#pragma once

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "trace/raw_syscall.hpp"

namespace iodiag::testing {

struct RawCapture final : trace::RawSyscallSink {
    std::vector<trace::RawSyscall> calls;
    std::vector<std::pair<int32_t, uint32_t>> spawns;  // parent tid, clone flags
    std::vector<std::pair<int32_t, uint64_t>> exits;   // tid, time

    void on_syscall(const trace::RawSyscall& call) override { calls.push_back(call); }
    void on_pending_spawn(int32_t parent, uint32_t flags) override {
        spawns.emplace_back(parent, flags);
    }
    void on_thread_exit(int32_t tid, uint64_t ts) override { exits.emplace_back(tid, ts); }

    std::vector<trace::RawSyscall> of(trace::Syscall which) const {
        std::vector<trace::RawSyscall> out;
        for (const trace::RawSyscall& c : calls)
            if (c.call == which) out.push_back(c);
        return out;
    }
};

template <class Stats>
struct ReaderRun {
    RawCapture sink;
    Stats stats;
};

// Feeds literal lines through a fresh Reader (for cases no fixture covers); every line must be
// accepted.
template <class Reader, class Options>
auto feed_lines(const std::vector<std::string>& lines, Options options) {
    ReaderRun<std::decay_t<decltype(std::declval<Reader&>().stats())>> run;
    Reader reader(run.sink, std::move(options));
    for (const std::string& line : lines) REQUIRE(reader.feed_line(line));
    reader.finish();
    run.stats = reader.stats();
    return run;
}

// The one call a single line decodes to.
template <class Reader, class Options>
trace::RawSyscall one_call(const std::string& line, Options options) {
    auto run = feed_lines<Reader>({line}, std::move(options));
    REQUIRE(run.sink.calls.size() == 1);
    return run.sink.calls[0];
}

// Runs read_file(sink) (read_strace_file or read_perf_file on a fixture), which must succeed.
template <class Stats, class ReadFile>
ReaderRun<Stats> read_with(ReadFile&& read_file) {
    ReaderRun<Stats> run;
    auto result = read_file(run.sink);
    INFO((result ? std::string() : result.error().message));
    REQUIRE(result);
    run.stats = *result;
    return run;
}

}  // namespace iodiag::testing
