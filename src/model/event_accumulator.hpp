// The classifier's first stage (model/classifier.hpp): IoEvents and AsyncRequests accumulated
// per thread and per (thread, file) stream, with state bounded however long the trace.
// Internal to the classifier.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <functional>
#include <map>
#include <queue>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/histogram.hpp"
#include "model/classifier.hpp"
#include "model/workload_model.hpp"
#include "trace/io_event.hpp"

namespace iodiag::model::classify {

using trace::AsyncRequest;
using trace::FileKind;
using trace::IoDir;
using trace::IoEvent;
using trace::Syscall;

// Distinct forward gaps remembered per stream for stride detection.
constexpr size_t kMaxDistinctGaps = 32;
constexpr size_t kSyscallSlots = 64;
// read .. pwritev2 are contiguous in trace::Syscall.
constexpr size_t kDataCalls = static_cast<size_t>(Syscall::pwritev2) - static_cast<size_t>(Syscall::read) + 1;

// Requests remembered per stream to see through submission reordering (about an async
// application's depth: qemu issues its 16 sequential requests a few slots out of order).
constexpr size_t kRecentRequests = 16;

// Per (thread, file, direction): where the recent IOs were, to tell consecutive from random.
struct DirectionStream {
    bool has_last = false;
    uint64_t last_start = 0, last_end = 0;
    PatternEvidence pattern;
    std::map<uint64_t, uint64_t> gaps;  // forward gap -> times (bounded)

    // `appending`: a write that rewrites the tail of the previous one and reaches at least its end
    // continues it, as a log does when each commit rewrites its partial last page (PostgreSQL's
    // WAL); random writes land on the block just written only by chance.
    //
    // A request that starts where one of the recent ones ended is consecutive, not only where the
    // previous one did. One that was issued a few slots early (a jump ahead, then the requests
    // it skipped) is counted as a jump when it comes, and made consecutive once the requests
    // before it arrive to close the hole. A random offset in a file of any size almost never
    // meets one of the last few requests exactly; a stride never closes its holes.
    void observe(uint64_t offset, uint64_t bytes, bool appending) {
        const bool rewrites_tail = appending && offset >= last_start && offset < last_end && offset + bytes >= last_end;
        Step step = Step::first;
        uint64_t gap = 0;
        if (has_last) {
            ++pattern.ops;
            if (offset == last_end || rewrites_tail || continues_recent(offset)) {
                step = Step::consecutive;
                ++pattern.consecutive;
                ++pattern.sequential;
            } else if (offset > last_end) {
                step = Step::forward;
                ++pattern.sequential;
                gap = offset - last_end;
                if (gaps.size() < kMaxDistinctGaps || gaps.count(gap)) ++gaps[gap];
                else gap = 0;  // not recorded: nothing to take back
            } else {
                step = Step::backward;
                ++pattern.backward;
            }
        }
        has_last = true;
        last_start = offset;
        last_end = offset + bytes;
        recent_[next_] = {offset, offset + bytes, gap, step};
        next_ = (next_ + 1) % kRecentRequests;
        if (step == Step::consecutive) close_hole(last_end);
    }

private:
    enum class Step : uint8_t { none, first, consecutive, forward, backward };
    struct Recent {
        uint64_t start = 0, end = 0;
        uint64_t gap = 0;  // the forward gap recorded for it (0 = none)
        Step step = Step::none;
    };
    std::array<Recent, kRecentRequests> recent_{};
    size_t next_ = 0;

    bool continues_recent(uint64_t offset) const {
        for (const auto& r : recent_)
            if (r.step != Step::none && r.end == offset) return true;
        return false;
    }

    // The requests issued early that now continue a consecutive run become consecutive steps,
    // in a chain: each one closed may close the next. Bounded by the window.
    void close_hole(uint64_t end) {
        for (size_t round = 0; round < kRecentRequests; ++round) {
            Recent* early = nullptr;
            for (auto& r : recent_)
                if ((r.step == Step::forward || r.step == Step::backward) && r.start == end) early = &r;
            if (!early) return;
            if (early->step == Step::forward) {
                if (early->gap) {
                    auto it = gaps.find(early->gap);
                    if (it != gaps.end() && --it->second == 0) gaps.erase(it);
                }
            } else {
                --pattern.backward;
                ++pattern.sequential;
            }
            ++pattern.consecutive;
            early->step = Step::consecutive;
            early->gap = 0;
            end = early->end;
        }
    }
};

// Per (thread, file, direction) counts; summed per thread at the end, minus the files that are
// only program loading (see kLoaderOps).
struct StreamTotals {
    uint64_t ops = 0, bytes = 0, errors = 0, short_ops = 0;
    ValueCounts sizes;
};

// Flushes, counted per thread and per file (a flush names its file through the fd).
struct FlushCounts {
    uint64_t fsyncs = 0, fdatasyncs = 0, sync_file_ranges = 0;
    ValueCounts writes_per_flush;  // writes to the file between two of its flushes -> times

    void add(Syscall call, uint64_t writes_before) {
        if (call == Syscall::fsync) ++fsyncs;
        else if (call == Syscall::fdatasync) ++fdatasyncs;
        else ++sync_file_ranges;
        if (writes_before) ++writes_per_flush[writes_before];
    }
};

// A latency kept per file to its top four bits (under 1/8 off): a full LogHistogram per file
// would cost 8 KiB each, and only a thread split into streams needs per-file latencies.
inline uint64_t coarse_ns(uint64_t ns) {
    const int drop = std::bit_width(ns) - 4;
    return drop > 0 ? (ns >> drop) << drop : ns;
}

struct FileStream {
    uint32_t file_id = 0;
    DirectionStream reads, writes;
    StreamTotals read_totals, write_totals;
    uint64_t direct_ops = 0, sync_ops = 0, dsync_ops = 0;
    std::array<uint64_t, kDataCalls> calls{};  // by data syscall, for naming the engine
    uint64_t ops = 0, bytes = 0;
    uint64_t writes_since_flush = 0;
    // What a stream of several files needs when its thread is split (model/thread_summary.hpp).
    FlushCounts flushes;
    ValueCounts read_latency_ns, write_latency_ns, flush_latency_ns;  // coarse_ns -> calls
    uint64_t busy_ns = 0;  // time inside this file's calls
    bool has_range = false;
    uint64_t offset_min = 0, offset_max = 0;

    void touch(uint64_t offset, uint64_t length) {
        if (!has_range) {
            offset_min = offset;
            offset_max = offset + length;
            has_range = true;
        }
        offset_min = std::min(offset_min, offset);
        offset_max = std::max(offset_max, offset + length);
    }
};

struct AioContextState {
    uint64_t inflight = 0;
};

// Where a ring's depth and batch samples go.
struct AsyncCounts {
    ValueCounts& inflight;
    ValueCounts& submit_batch;
    ValueCounts& complete_batch;
};

// An io_uring ring whose requests the source delivers one by one (bpf): in submit order, the
// requests of one submit batch sharing submit_ns, those whose CQEs were posted together sharing
// complete_ns. That gives exact in-flight depth (after each submit batch, as for libaio) and
// submit/complete batch sizes, with state bounded by the requests in flight.
struct RingState {
    uint64_t batch_ns = 0;     // submit_ns of the open batch
    uint64_t batch_size = 0;
    std::priority_queue<uint64_t, std::vector<uint64_t>, std::greater<>> completions;  // in flight
    std::map<uint64_t, uint64_t> cqe_batches;  // complete_ns -> requests, while it can still grow

    // False for a request behind the order (its batch is closed): it is left out of the counts.
    bool add(const AsyncRequest& r, AsyncCounts counts) {
        if (r.submit_ns < batch_ns) return false;
        if (r.submit_ns != batch_ns) {
            close_batch(counts);
            batch_ns = r.submit_ns;
            // Every earlier submit has been seen, so what completed by now is final.
            while (!completions.empty() && completions.top() <= batch_ns) completions.pop();
            while (!cqe_batches.empty() && cqe_batches.begin()->first <= batch_ns) {
                ++counts.complete_batch[cqe_batches.begin()->second];
                cqe_batches.erase(cqe_batches.begin());
            }
        }
        ++batch_size;
        // In flight as the application sees it: until it took the CQE, not when the kernel posted it.
        completions.push(r.reaped_ns ? r.reaped_ns : r.complete_ns ? r.complete_ns : UINT64_MAX);
        if (r.complete_ns) ++cqe_batches[r.complete_ns];
        return true;
    }

    // What closing the open batches would add (at finish, without changing the state).
    void pending(AsyncCounts counts) const {
        if (batch_size) {
            counts.inflight[completions.size()] += batch_size;
            ++counts.submit_batch[batch_size];
        }
        for (const auto& [ns, requests] : cqe_batches) ++counts.complete_batch[requests];
    }

private:
    void close_batch(AsyncCounts counts) {
        if (!batch_size) return;
        counts.inflight[completions.size()] += batch_size;
        ++counts.submit_batch[batch_size];
        batch_size = 0;
    }
};

struct ThreadState {
    int32_t tid = 0;
    int32_t tgid = 0;
    std::array<uint64_t, kSyscallSlots> syscalls{};
    std::vector<FileStream> streams;
    LogHistogram read_latency_ns, write_latency_ns;
    uint64_t read_ops = 0, write_ops = 0;  // all data ops, for the does-IO test
    FlushCounts flushes;
    LogHistogram flush_latency_ns;
    uint64_t async_requests = 0;           // libaio iocbs
    std::unordered_map<uint64_t, AioContextState> aio;
    ValueCounts inflight, submit_batch, complete_batch, complete_min;
    // io_uring requests seen one by one, on rings announced by a uring_setup event with their ctx
    uint64_t uring_requests = 0;
    std::unordered_map<uint64_t, RingState> rings;
    ValueCounts uring_batches;             // requests per submit batch, from the requests
    // io_uring as seen from syscalls only
    uint64_t uring_enters = 0;
    uint32_t uring_entries = 0;
    uint32_t uring_setup_flags = 0;
    ValueCounts uring_submit;
    std::set<uint32_t> opened_read_only, opened_writable, mmapped;
    bool opened_direct = false;
    // timing
    uint64_t first_ts = 0, last_end = 0, busy_ns = 0, idle_ns = 0;
    LogHistogram idle_gap_ns;
    bool has_timing = false, has_durations = false;

    FileStream& stream(uint32_t file_id) {
        for (auto& s : streams)
            if (s.file_id == file_id) return s;
        streams.push_back(FileStream{});
        streams.back().file_id = file_id;
        return streams.back();
    }
    uint64_t data_ops() const { return read_ops + write_ops; }
};

inline bool is_data_file(FileKind kind) {
    return kind == FileKind::regular || kind == FileKind::block || kind == FileKind::unknown;
}

// Folds each event into its thread's state as it arrives.
class EventAccumulator {
public:
    explicit EventAccumulator(ClassifierOptions options) : options_(std::move(options)) {}

    void on_event(const IoEvent& e);
    void on_async(const AsyncRequest& r);

    const ClassifierOptions& options() const { return options_; }
    const std::unordered_map<int32_t, ThreadState>& threads() const { return threads_; }
    uint64_t io_events() const { return io_events_; }
    // What was left out and why (IO on pipes, stdio), with counts.
    const std::map<std::string, uint64_t>& ignored() const { return ignored_; }

private:
    ThreadState& thread(int32_t tid, int32_t tgid);
    void time_call(ThreadState& t, uint64_t ts, uint64_t dur);
    void on_data(ThreadState& t, const IoEvent& e);
    void on_flush(ThreadState& t, const IoEvent& e);
    void on_aio_submit(ThreadState& t, const IoEvent& e);
    void on_aio_reap(ThreadState& t, const IoEvent& e);
    void on_uring_enter(ThreadState& t, const IoEvent& e);
    void on_open(ThreadState& t, const IoEvent& e);

    ClassifierOptions options_;
    std::unordered_map<int32_t, ThreadState> threads_;
    ThreadState* last_ = nullptr;
    uint64_t io_events_ = 0;
    std::map<std::string, uint64_t> ignored_;
};

}  // namespace iodiag::model::classify
