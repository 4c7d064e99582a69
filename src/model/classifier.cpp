#include "model/classifier.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <functional>
#include <queue>
#include <set>
#include <unordered_map>

#include "common/histogram.hpp"
#include "common/units.hpp"
#include "model/incidental.hpp"

namespace iodiag::model {

using trace::AsyncRequest;
using trace::EventKind;
using trace::FileKind;
using trace::IoDir;
using trace::IoEvent;
using trace::OffsetKind;
using trace::Syscall;

namespace {

// Distinct IO sizes kept exactly per direction; past this, sizes are rounded to a power of two
// so a pathological workload cannot grow memory with the trace.
constexpr size_t kMaxDistinctSizes = 512;
// Distinct forward gaps remembered per stream for stride detection.
constexpr size_t kMaxDistinctGaps = 32;
constexpr size_t kSyscallSlots = 64;
// read .. pwritev2 are contiguous in trace::Syscall.
constexpr size_t kDataCalls = static_cast<size_t>(Syscall::pwritev2) - static_cast<size_t>(Syscall::read) + 1;
// A mapped file (a library, the executable) read by fewer calls than this is the dynamic loader
// or an interpreter starting up, not the workload.
constexpr uint64_t kLoaderOps = 64;
// A file a thread touched this few times, beside files it works on, is incidental (a locale or
// config file read at start-up) and would otherwise count as one of the job's files.
constexpr uint64_t kIncidentalOps = 16;
constexpr double kIncidentalShare = 0.02;
// A group below both of these is incidental IO, not part of the workload.
constexpr uint64_t kMinorGroupOps = 100;
constexpr double kMinorGroupShare = 0.005;
constexpr double kSetupReadShare = 0.25;  // a slow workload (a loaded machine) still outweighs it

// Share thresholds used to name a dimension.
constexpr double kDominantShare = 0.90;   // one IO size is "the" size
constexpr double kSequentialShare = 0.80; // consecutive share that makes a stream sequential
constexpr double kRandomShare = 0.20;     // at or below: random
constexpr double kOneDirectionShare = 0.98;

void bump_size(ValueCounts& sizes, uint64_t bytes) {
    if (sizes.size() >= kMaxDistinctSizes && !sizes.count(bytes))
        bytes = std::bit_ceil(std::max<uint64_t>(bytes, 1));
    ++sizes[bytes];
}

// Per (thread, file, direction): where the last IO ended, to tell consecutive from random.
struct DirectionStream {
    bool has_last = false;
    uint64_t last_end = 0;
    PatternEvidence pattern;
    std::map<uint64_t, uint64_t> gaps;  // forward gap -> times (bounded)

    void observe(uint64_t offset, uint64_t bytes) {
        if (has_last) {
            ++pattern.ops;
            if (offset == last_end) {
                ++pattern.consecutive;
                ++pattern.sequential;
            } else if (offset > last_end) {
                ++pattern.sequential;
                uint64_t gap = offset - last_end;
                if (gaps.size() < kMaxDistinctGaps || gaps.count(gap)) ++gaps[gap];
            } else {
                ++pattern.backward;
            }
        }
        has_last = true;
        last_end = offset + bytes;
    }
};

// Per (thread, file, direction) counts; summed per thread at the end, minus the files that are
// only program loading (see kLoaderOps).
struct StreamTotals {
    uint64_t ops = 0, bytes = 0, errors = 0, short_ops = 0;
    ValueCounts sizes;
};

struct FileStream {
    uint32_t file_id = 0;
    DirectionStream reads, writes;
    StreamTotals read_totals, write_totals;
    uint64_t direct_ops = 0, sync_ops = 0, dsync_ops = 0;
    std::array<uint64_t, kDataCalls> calls{};  // by data syscall, for naming the engine
    uint64_t ops = 0, bytes = 0;
    uint64_t writes_since_flush = 0;
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

struct DirectionTotals {
    uint64_t ops = 0, bytes = 0, errors = 0, short_ops = 0;
    ValueCounts sizes;
    LogHistogram latency_ns;
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
        completions.push(r.complete_ns ? r.complete_ns : UINT64_MAX);  // 0: in flight at the end
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
    uint64_t fsyncs = 0, fdatasyncs = 0, sync_file_ranges = 0;
    ValueCounts writes_per_flush;
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

bool is_data_file(FileKind kind) {
    return kind == FileKind::regular || kind == FileKind::block || kind == FileKind::unknown;
}

double share(uint64_t part, uint64_t whole) {
    return whole == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(whole);
}

}  // namespace

struct Classifier::Impl {
    ClassifierOptions options;
    std::unordered_map<int32_t, ThreadState> threads;
    ThreadState* last = nullptr;
    uint64_t io_events = 0;
    std::map<std::string, uint64_t> ignored;

    ThreadState& thread(int32_t tid, int32_t tgid) {
        if (last && last->tid == tid) return *last;
        auto [it, inserted] = threads.try_emplace(tid);
        if (inserted) it->second.tid = tid;
        if (tgid) it->second.tgid = tgid;
        last = &it->second;  // unordered_map references stay valid across inserts
        return it->second;
    }

    void time_call(ThreadState& t, uint64_t ts, uint64_t dur) {
        if (ts == 0) return;
        if (!t.has_timing) {
            t.has_timing = true;
            t.first_ts = ts;
        } else if (ts > t.last_end) {
            uint64_t gap = ts - t.last_end;
            if (gap >= options.min_idle_gap_ns) {
                t.idle_ns += gap;
                t.idle_gap_ns.record(gap);
            }
        }
        if (dur) t.has_durations = true;
        t.busy_ns += dur;
        t.last_end = std::max(t.last_end, ts + dur);
    }

    void on_data(ThreadState& t, const IoEvent& e) {
        FileStream& stream = t.stream(e.file_id);
        bool read = e.dir == IoDir::read;
        StreamTotals& totals = read ? stream.read_totals : stream.write_totals;
        if (e.failed()) {
            ++totals.errors;
            return;
        }
        ++(read ? t.read_ops : t.write_ops);
        ++totals.ops;
        totals.bytes += static_cast<uint64_t>(e.ret);
        if (static_cast<uint64_t>(e.ret) < e.bytes) ++totals.short_ops;
        bump_size(totals.sizes, e.bytes);
        if (e.dur_ns) (read ? t.read_latency_ns : t.write_latency_ns).record(e.dur_ns);
        count_flags(stream, e.open_flags, e.flags);
        if (auto slot = static_cast<size_t>(e.call) - static_cast<size_t>(Syscall::read); slot < kDataCalls)
            ++stream.calls[slot];
        ++stream.ops;
        stream.bytes += static_cast<uint64_t>(e.ret);
        if (e.dir == IoDir::write) ++stream.writes_since_flush;
        if (e.offset_kind != OffsetKind::unknown) {
            (e.dir == IoDir::read ? stream.reads : stream.writes).observe(e.offset, e.bytes);
            stream.touch(e.offset, e.bytes);
        }
    }

    static void count_flags(FileStream& s, uint32_t open_flags, uint32_t rwf_flags) {
        if (open_flags & trace::kOpenDirect) ++s.direct_ops;
        if (open_flags & trace::kOpenSync) ++s.sync_ops;
        else if ((open_flags & trace::kOpenDsync) || (rwf_flags & (trace::kRwfDsync | trace::kRwfSync)))
            ++s.dsync_ops;
    }

    void on_flush(ThreadState& t, const IoEvent& e) {
        if (e.failed()) return;
        if (e.call == Syscall::fsync) ++t.fsyncs;
        else if (e.call == Syscall::fdatasync) ++t.fdatasyncs;
        else ++t.sync_file_ranges;
        if (e.dur_ns) t.flush_latency_ns.record(e.dur_ns);
        FileStream& stream = t.stream(e.file_id);
        if (stream.writes_since_flush) ++t.writes_per_flush[stream.writes_since_flush];
        stream.writes_since_flush = 0;
    }

    void on_aio_submit(ThreadState& t, const IoEvent& e) {
        if (e.ret <= 0) return;
        auto accepted = static_cast<uint64_t>(e.ret);
        auto& ctx = t.aio[e.ctx];
        ctx.inflight += accepted;
        t.inflight[ctx.inflight] += accepted;
        ++t.submit_batch[accepted];
    }

    void on_aio_reap(ThreadState& t, const IoEvent& e) {
        if (e.ret < 0) return;
        auto reaped = static_cast<uint64_t>(e.ret);
        auto& ctx = t.aio[e.ctx];
        ctx.inflight -= std::min(ctx.inflight, reaped);
        ++t.complete_batch[reaped];
        ++t.complete_min[e.count];
    }

    void on_uring_enter(ThreadState& t, const IoEvent& e) {
        ++t.uring_enters;
        if (e.count > 0 && e.ret > 0) ++t.uring_submit[static_cast<uint64_t>(e.ret)];
        // A wait for completions: min_complete is what fio calls iodepth_batch_complete_min.
        if ((e.flags & trace::kUringEnterGetevents) && e.count2 > 0) ++t.complete_min[e.count2];
    }

    void on_open(ThreadState& t, const IoEvent& e) {
        if (e.failed() || !(e.open_flags & trace::kOpenFlagsKnown) || !is_data_file(e.file_kind)) return;
        if (e.open_flags & trace::kOpenDirect) t.opened_direct = true;
        if (e.open_flags & trace::kOpenWrite) t.opened_writable.insert(e.file_id);
        else t.opened_read_only.insert(e.file_id);
    }
};

Classifier::Classifier(ClassifierOptions options) : impl_(std::make_unique<Impl>()) {
    impl_->options = std::move(options);
}

Classifier::~Classifier() = default;

uint64_t Classifier::io_events() const { return impl_->io_events; }

void Classifier::on_event(const IoEvent& e) {
    ThreadState& t = impl_->thread(e.tid, e.tgid);
    auto slot = static_cast<size_t>(e.call);
    if (slot < kSyscallSlots) ++t.syscalls[slot];
    switch (e.kind) {
    case EventKind::data:
    case EventKind::flush:
        if (!is_data_file(e.file_kind)) {
            ++impl_->ignored["IO on pipes, sockets and pseudo files"];
            return;
        }
        if (e.file_id == 0 && e.fd <= 2) {
            ++impl_->ignored["IO on stdin/stdout/stderr"];
            return;
        }
        ++impl_->io_events;
        impl_->time_call(t, e.ts_ns, e.dur_ns);
        if (e.kind == EventKind::data) impl_->on_data(t, e);
        else impl_->on_flush(t, e);
        return;
    case EventKind::aio_submit:
        impl_->time_call(t, e.ts_ns, e.dur_ns);
        impl_->on_aio_submit(t, e);
        return;
    case EventKind::aio_reap:
        impl_->time_call(t, e.ts_ns, e.dur_ns);
        impl_->on_aio_reap(t, e);
        return;
    case EventKind::uring_setup:
        if (e.failed()) return;
        t.uring_entries = e.count;
        t.uring_setup_flags = e.flags;
        if (e.ctx) t.rings.try_emplace(e.ctx);
        return;
    case EventKind::uring_enter:
        impl_->time_call(t, e.ts_ns, e.dur_ns);
        impl_->on_uring_enter(t, e);
        return;
    case EventKind::open:
        impl_->on_open(t, e);
        return;
    case EventKind::mmap:
        if (!e.failed() && e.file_id) t.mmapped.insert(e.file_id);
        return;
    case EventKind::seek:
        // fio's sync engine (and many programs) seek before each read or write: that time is part
        // of doing IO, not think time. Seeks before the first IO are set-up, so they do not start
        // the thread's active time.
        if (t.has_timing && is_data_file(e.file_kind)) impl_->time_call(t, e.ts_ns, e.dur_ns);
        return;
    default:
        return;
    }
}

void Classifier::on_async(const AsyncRequest& r) {
    ThreadState& t = impl_->thread(r.tid, r.tgid);
    ++impl_->io_events;
    if (auto ring = t.rings.find(r.ctx); ring != t.rings.end()) {
        ++t.uring_requests;
        // Time in flight counts as busy, so idle gaps are the times nothing was in flight.
        if (ring->second.add(r, {t.inflight, t.uring_batches, t.complete_batch}) && r.submit_ns)
            impl_->time_call(t, r.submit_ns, r.complete_ns > r.submit_ns ? r.complete_ns - r.submit_ns : 0);
    } else {
        ++t.async_requests;
    }
    FileStream& stream = t.stream(r.file_id);
    if (r.is_flush) {
        if (stream.writes_since_flush) ++t.writes_per_flush[stream.writes_since_flush];
        stream.writes_since_flush = 0;
        ++t.fdatasyncs;
        return;
    }
    if (r.dir == IoDir::none) return;
    bool read = r.dir == IoDir::read;
    StreamTotals& totals = read ? stream.read_totals : stream.write_totals;
    ++(read ? t.read_ops : t.write_ops);
    ++totals.ops;
    totals.bytes += r.bytes;
    bump_size(totals.sizes, r.bytes);
    if (r.complete_ns > r.submit_ns)
        (read ? t.read_latency_ns : t.write_latency_ns).record(r.complete_ns - r.submit_ns);
    Impl::count_flags(stream, r.open_flags, 0);
    ++stream.ops;
    stream.bytes += r.bytes;
    if (r.dir == IoDir::write) ++stream.writes_since_flush;
    (r.dir == IoDir::read ? stream.reads : stream.writes).observe(r.offset, r.bytes);
    stream.touch(r.offset, r.bytes);
}

// ---------------------------------------------------------------------------------------------
// Building the model: per-thread profiles, grouped into job groups, each turned into fio options.

namespace {

struct ThreadSummary;

struct ThreadProfile {
    const ThreadSummary* summary = nullptr;
    std::string engine;
    std::string direction;   // read, write, readwrite, unknown
    double read_share = 0;
    std::string pattern;     // sequential, random, strided, mixed, unknown
    bool direct = false;
    std::string sync;        // none, sync, dsync
    std::string flush_call;  // fsync, fdatasync, sync_file_range or empty
    uint64_t writes_per_flush = 0;
    uint64_t iodepth = 1;
    uint64_t read_bs = 0, write_bs = 0;  // dominant sizes, 0 when none dominates
};

// A thread's IO once program-loading reads are set aside: what the model is built from.
struct ThreadSummary {
    const ThreadState* thread = nullptr;
    std::vector<const FileStream*> streams;
    DirectionTotals reads, writes;
    uint64_t direct_ops = 0, sync_ops = 0, dsync_ops = 0;
    std::array<uint64_t, kDataCalls> calls{};
    ValueCounts inflight, uring_batches, complete_batch;  // the thread's, with its rings' open batches
    uint64_t data_ops() const { return reads.ops + writes.ops; }
};

void add_stream_totals(DirectionTotals& into, const StreamTotals& from) {
    into.ops += from.ops;
    into.bytes += from.bytes;
    into.errors += from.errors;
    into.short_ops += from.short_ops;
    for (const auto& [size, count] : from.sizes) into.sizes[size] += count;
}

ThreadSummary summarize(const ThreadState& t, const std::set<uint32_t>& incidental,
                        std::map<std::string, uint64_t>& ignored) {
    ThreadSummary sum;
    sum.thread = &t;
    uint64_t thread_ops = 0;
    for (const auto& s : t.streams)
        if (!incidental.count(s.file_id)) thread_ops += s.ops;
    for (const auto& s : t.streams) {
        // Start-up and configuration reads, /proc, /sys (model/incidental.hpp has the rule).
        if (incidental.count(s.file_id)) {
            if (s.ops) ignored["incidental"] += s.ops;
            continue;
        }
        if (t.mmapped.count(s.file_id) && s.ops < kLoaderOps) {
            ignored["reads of mapped files (program loading)"] += s.ops;
            continue;
        }
        if (s.ops < kIncidentalOps && share(s.ops, thread_ops) < kIncidentalShare) {
            ignored["incidental file IO (a few calls beside the thread's main files)"] += s.ops;
            continue;
        }
        sum.streams.push_back(&s);
        add_stream_totals(sum.reads, s.read_totals);
        add_stream_totals(sum.writes, s.write_totals);
        sum.direct_ops += s.direct_ops;
        sum.sync_ops += s.sync_ops;
        sum.dsync_ops += s.dsync_ops;
        for (size_t i = 0; i < kDataCalls; ++i) sum.calls[i] += s.calls[i];
    }
    sum.reads.latency_ns = t.read_latency_ns;
    sum.writes.latency_ns = t.write_latency_ns;
    sum.inflight = t.inflight;
    sum.uring_batches = t.uring_batches;
    sum.complete_batch = t.complete_batch;
    for (const auto& [ctx, ring] : t.rings) ring.pending({sum.inflight, sum.uring_batches, sum.complete_batch});
    return sum;
}

std::string engine_of(const ThreadSummary& sum) {
    const ThreadState& t = *sum.thread;
    if (t.async_requests || !t.submit_batch.empty()) return "libaio";
    if (t.uring_requests || t.uring_enters || t.uring_entries) return "io_uring";
    struct Candidate { Syscall read, write; const char* engine; };
    static constexpr Candidate candidates[] = {
        {Syscall::pread64, Syscall::pwrite64, "psync"}, {Syscall::read, Syscall::write, "sync"},
        {Syscall::readv, Syscall::writev, "vsync"},     {Syscall::preadv, Syscall::pwritev, "pvsync"},
        {Syscall::preadv2, Syscall::pwritev2, "pvsync2"},
    };
    const char* best = nullptr;
    uint64_t best_calls = 0;
    auto calls_of = [&](Syscall call) { return sum.calls[static_cast<size_t>(call) - static_cast<size_t>(Syscall::read)]; };
    for (const auto& c : candidates) {
        uint64_t calls = calls_of(c.read) + calls_of(c.write);
        if (calls > best_calls) best_calls = calls, best = c.engine;
    }
    return best ? best : "unknown";
}

PatternEvidence merged_pattern(const ThreadSummary& sum, IoDir dir) {
    PatternEvidence total;
    std::map<uint64_t, uint64_t> gaps;
    for (const FileStream* s : sum.streams) {
        const DirectionStream& d = dir == IoDir::read ? s->reads : s->writes;
        total.ops += d.pattern.ops;
        total.consecutive += d.pattern.consecutive;
        total.sequential += d.pattern.sequential;
        total.backward += d.pattern.backward;
        for (const auto& [gap, times] : d.gaps) gaps[gap] += times;
    }
    for (const auto& [gap, times] : gaps)
        if (times > total.strided) total.strided = times, total.stride = static_cast<int64_t>(gap);
    return total;
}

PatternEvidence add_patterns(PatternEvidence a, const PatternEvidence& b) {
    a.ops += b.ops;
    a.consecutive += b.consecutive;
    a.sequential += b.sequential;
    a.backward += b.backward;
    if (b.strided > a.strided) a.strided = b.strided, a.stride = b.stride;
    return a;
}

std::string pattern_name(const PatternEvidence& p) {
    if (p.ops == 0) return "unknown";
    double consecutive = share(p.consecutive, p.ops);
    if (consecutive >= kSequentialShare) return "sequential";
    if (share(p.strided, p.ops) >= kSequentialShare && p.stride > 0) return "strided";
    if (consecutive <= kRandomShare) return "random";
    return "mixed";
}

uint64_t dominant_size(const ValueCounts& sizes) {
    uint64_t total = total_of(sizes);
    for (const auto& [size, count] : sizes)
        if (share(count, total) >= kDominantShare) return size;
    return 0;
}

std::string flush_call_of(const ThreadState& t) {
    uint64_t most = std::max({t.fsyncs, t.fdatasyncs, t.sync_file_ranges});
    if (most == 0) return {};
    if (most == t.fdatasyncs) return "fdatasync";
    if (most == t.fsyncs) return "fsync";
    return "sync_file_range";
}

ThreadProfile profile_of(const ThreadSummary& sum) {
    const ThreadState& t = *sum.thread;
    ThreadProfile p;
    p.summary = &sum;
    p.engine = engine_of(sum);
    uint64_t ops = sum.data_ops();
    p.read_share = share(sum.reads.ops, ops);
    if (ops == 0) p.direction = "unknown";
    else if (p.read_share >= kOneDirectionShare) p.direction = "read";
    else if (p.read_share <= 1 - kOneDirectionShare) p.direction = "write";
    else p.direction = "readwrite";
    p.pattern = pattern_name(add_patterns(merged_pattern(sum, IoDir::read), merged_pattern(sum, IoDir::write)));
    p.direct = share(sum.direct_ops, ops) >= 0.5;
    p.sync = share(sum.sync_ops, sum.writes.ops) >= 0.5    ? "sync"
             : share(sum.dsync_ops, sum.writes.ops) >= 0.5 ? "dsync"
                                                           : "none";
    p.flush_call = flush_call_of(t);
    p.writes_per_flush = quantile_of(t.writes_per_flush, 0.5);
    p.read_bs = dominant_size(sum.reads.sizes);
    p.write_bs = dominant_size(sum.writes.sizes);
    if (!sum.inflight.empty()) p.iodepth = quantile_of(sum.inflight, 0.99);
    else if (p.engine == "io_uring" && t.uring_entries) p.iodepth = t.uring_entries;
    return p;
}

bool same_job(const ThreadProfile& a, const ThreadProfile& b) {
    auto near = [](uint64_t x, uint64_t y) {
        return x == y || (std::max(x, y) - std::min(x, y)) * 4 <= std::max(x, y);  // within 25%
    };
    return a.engine == b.engine && a.direction == b.direction && a.pattern == b.pattern &&
           a.direct == b.direct && a.sync == b.sync && a.flush_call == b.flush_call &&
           near(a.writes_per_flush, b.writes_per_flush) && near(a.iodepth, b.iodepth) &&
           a.read_bs == b.read_bs && a.write_bs == b.write_bs &&
           std::abs(a.read_share - b.read_share) <= 0.10;
}

// What a group accumulates from its threads.
struct GroupTotals {
    DirectionTotals reads, writes;
    PatternEvidence read_pattern, write_pattern;
    uint64_t fsyncs = 0, fdatasyncs = 0, sync_file_ranges = 0;
    ValueCounts writes_per_flush;
    LogHistogram flush_latency_ns;
    uint64_t direct_ops = 0, sync_ops = 0, dsync_ops = 0;
    ValueCounts inflight, submit_batch, complete_batch, complete_min, uring_submit, uring_batches;
    std::map<std::string, uint64_t> syscalls;
    LogHistogram idle_gap_ns;
    uint64_t busy_ns = 0, idle_ns = 0, first_ts = UINT64_MAX, last_end = 0, thread_active_ns = 0;
    bool has_timing = false, has_durations = false;
    uint32_t uring_entries = 0, uring_setup_flags = 0;
    std::map<uint32_t, FileUse> files;
    std::vector<uint64_t> files_per_thread;
    std::vector<uint64_t> range_per_thread;
    uint64_t offset_min = UINT64_MAX, offset_max = 0;
    bool opened_read_only = false, opened_writable = false, opened_direct = false;
};

void add_direction(DirectionTotals& into, const DirectionTotals& from) {
    into.ops += from.ops;
    into.bytes += from.bytes;
    into.errors += from.errors;
    into.short_ops += from.short_ops;
    for (const auto& [size, count] : from.sizes) into.sizes[size] += count;
    into.latency_ns.merge(from.latency_ns);
}

void add_counts(ValueCounts& into, const ValueCounts& from) {
    for (const auto& [value, count] : from) into[value] += count;
}

void add_thread(GroupTotals& g, const ThreadSummary& sum, const trace::FileTable& files) {
    const ThreadState& t = *sum.thread;
    add_direction(g.reads, sum.reads);
    add_direction(g.writes, sum.writes);
    g.read_pattern = add_patterns(g.read_pattern, merged_pattern(sum, IoDir::read));
    g.write_pattern = add_patterns(g.write_pattern, merged_pattern(sum, IoDir::write));
    g.fsyncs += t.fsyncs;
    g.fdatasyncs += t.fdatasyncs;
    g.sync_file_ranges += t.sync_file_ranges;
    add_counts(g.writes_per_flush, t.writes_per_flush);
    g.flush_latency_ns.merge(t.flush_latency_ns);
    g.direct_ops += sum.direct_ops;
    g.sync_ops += sum.sync_ops;
    g.dsync_ops += sum.dsync_ops;
    add_counts(g.inflight, sum.inflight);
    add_counts(g.submit_batch, t.submit_batch);
    add_counts(g.complete_batch, sum.complete_batch);
    add_counts(g.complete_min, t.complete_min);
    add_counts(g.uring_submit, t.uring_submit);
    add_counts(g.uring_batches, sum.uring_batches);
    for (size_t i = 1; i < kSyscallSlots; ++i)  // 0: events with no syscall behind them
        if (t.syscalls[i]) g.syscalls[std::string(trace::syscall_name(static_cast<Syscall>(i)))] += t.syscalls[i];
    g.idle_gap_ns.merge(t.idle_gap_ns);
    g.busy_ns += t.busy_ns;
    g.idle_ns += t.idle_ns;
    if (t.has_timing) {
        g.has_timing = true;
        g.first_ts = std::min(g.first_ts, t.first_ts);
        g.last_end = std::max(g.last_end, t.last_end);
        g.thread_active_ns += t.last_end - t.first_ts;
    }
    g.has_durations |= t.has_durations;
    g.uring_entries = std::max(g.uring_entries, t.uring_entries);
    g.uring_setup_flags |= t.uring_setup_flags;
    g.opened_read_only |= !t.opened_read_only.empty();
    g.opened_writable |= !t.opened_writable.empty();
    g.opened_direct |= t.opened_direct;

    uint64_t thread_files = 0, thread_range = 0;
    auto use_file = [&](uint32_t id) -> FileUse& {
        FileUse& use = g.files[id];
        if (use.path.empty()) {
            const auto& info = files.get(id);
            use.path = id ? info.path : "(unknown file)";
            use.kind = info.kind == FileKind::block ? "block" : info.kind == FileKind::regular ? "regular" : "unknown";
            use.size = info.size;
        }
        return use;
    };
    for (const FileStream* s : sum.streams) {
        if (s->ops == 0) continue;
        FileUse& use = use_file(s->file_id);
        use.ops += s->ops;
        use.bytes += s->bytes;
        ++thread_files;
        if (s->has_range) {
            thread_range += s->offset_max - s->offset_min;
            g.offset_min = std::min(g.offset_min, s->offset_min);
            g.offset_max = std::max(g.offset_max, s->offset_max);
        }
    }
    // io_uring via strace: no per-file ops, but the files the thread opened are its files.
    if (thread_files == 0) {
        for (uint32_t id : t.opened_read_only) use_file(id), ++thread_files;
        for (uint32_t id : t.opened_writable) use_file(id), ++thread_files;
    }
    g.files_per_thread.push_back(thread_files);
    g.range_per_thread.push_back(thread_range);
}

DirectionEvidence direction_evidence(const DirectionTotals& d, const PatternEvidence& pattern) {
    DirectionEvidence e;
    e.ops = d.ops;
    e.bytes = d.bytes;
    e.errors = d.errors;
    e.short_ops = d.short_ops;
    e.sizes = d.sizes;
    e.pattern = pattern;
    e.latency_us = d.latency_ns.summary(1000.0);
    return e;
}

// fio's bssplit for one direction: "4k/60:64k/40" from sizes holding >= 1% of ops.
std::string bssplit_of(const ValueCounts& sizes) {
    uint64_t total = total_of(sizes);
    std::vector<std::pair<uint64_t, uint64_t>> kept;  // size, percent
    uint64_t kept_percent = 0;
    for (const auto& [size, count] : sizes) {
        auto percent = static_cast<uint64_t>(std::lround(100.0 * share(count, total)));
        if (percent >= 1) kept.emplace_back(size, percent), kept_percent += percent;
    }
    if (kept.empty()) return {};
    // Rounding can leave the sum off 100; give the difference to the biggest share.
    auto biggest = std::max_element(kept.begin(), kept.end(),
                                    [](const auto& a, const auto& b) { return a.second < b.second; });
    biggest->second = biggest->second + 100 - kept_percent;
    std::string text;
    for (const auto& [size, percent] : kept) {
        if (!text.empty()) text += ':';
        text += fio_size(size) + "/" + std::to_string(percent);
    }
    return text;
}

// Sets bs or bssplit: "bs": "4k" for one size, "bs": "4k,64k" for different read/write sizes,
// "bssplit" when no single size dominates.
void set_block_size(ordered_json& fio, const GroupTotals& g, const std::string& direction) {
    bool reads = direction != "write", writes = direction != "read";
    uint64_t rbs = reads ? dominant_size(g.reads.sizes) : 0;
    uint64_t wbs = writes ? dominant_size(g.writes.sizes) : 0;
    bool r_ok = !reads || rbs, w_ok = !writes || wbs;
    if (r_ok && w_ok) {
        if (reads && writes && rbs != wbs) fio["bs"] = fio_size(rbs) + "," + fio_size(wbs);
        else fio["bs"] = fio_size(reads ? rbs : wbs);
        return;
    }
    std::string rsplit = reads ? bssplit_of(g.reads.sizes) : "";
    std::string wsplit = writes ? bssplit_of(g.writes.sizes) : "";
    if (reads && writes) fio["bssplit"] = rsplit + "," + wsplit;
    else fio["bssplit"] = reads ? rsplit : wsplit;
}

uint64_t round_up(uint64_t value, uint64_t unit) { return unit ? (value + unit - 1) / unit * unit : value; }

std::string rw_value(const std::string& direction, const std::string& pattern, int64_t stride) {
    bool random = pattern == "random" || pattern == "mixed";
    std::string rw;
    if (direction == "read") rw = random ? "randread" : "read";
    else if (direction == "write") rw = random ? "randwrite" : "write";
    else rw = random ? "randrw" : "rw";
    if (pattern == "strided" && stride > 0) rw += ":" + fio_size(static_cast<uint64_t>(stride));
    return rw;
}

struct GroupBuilder {
    const ClassifierOptions& options;
    const trace::FileTable& files;

    JobGroup build(const std::vector<const ThreadProfile*>& members) const {
        const ThreadProfile& first = *members.front();
        GroupTotals g;
        JobGroup group;
        std::set<int32_t> processes;
        for (const auto* m : members) {
            add_thread(g, *m->summary, files);
            group.threads.push_back(m->summary->thread->tid);
            processes.insert(m->summary->thread->tgid);
        }
        group.processes.assign(processes.begin(), processes.end());
        for (auto& [id, use] : g.files) group.files.push_back(use);
        std::sort(group.files.begin(), group.files.end(),
                  [](const FileUse& a, const FileUse& b) { return a.path < b.path; });
        group.engine = first.engine;
        group.evidence = evidence_of(g);

        bool uring_blind = first.engine == "io_uring" && g.reads.ops + g.writes.ops == 0;
        if (uring_blind) {
            describe_blind_uring(group, g);
        } else {
            uint64_t ops = g.reads.ops + g.writes.ops;
            double read_share = share(g.reads.ops, ops);
            group.direction = first.direction;
            group.pattern = pattern_name(add_patterns(g.read_pattern, g.write_pattern));
            fio_pattern_options(group, g, read_share);
        }
        fio_common_options(group, g, members.size(), processes);
        group.name = group_name(group);
        return group;
    }

    Evidence evidence_of(const GroupTotals& g) const {
        Evidence e;
        e.reads = direction_evidence(g.reads, g.read_pattern);
        e.writes = direction_evidence(g.writes, g.write_pattern);
        e.fsyncs = g.fsyncs;
        e.fdatasyncs = g.fdatasyncs;
        e.sync_file_ranges = g.sync_file_ranges;
        e.writes_per_flush = g.writes_per_flush;
        e.flush_latency_us = g.flush_latency_ns.summary(1000.0);
        e.syscalls = g.syscalls;
        e.direct_ops = g.direct_ops;
        e.sync_ops = g.sync_ops;
        e.dsync_ops = g.dsync_ops;
        e.inflight = g.inflight;
        e.submit_batch = g.submit_batch;
        add_counts(e.submit_batch, uring_submit_batches(g));
        e.complete_batch = g.complete_batch;
        e.complete_min = g.complete_min;
        e.idle_gap_us = g.idle_gap_ns.summary(1000.0);
        if (g.has_timing && g.last_end > g.first_ts) {
            double active_s = static_cast<double>(g.last_end - g.first_ts) / 1e9;
            e.active_seconds = active_s;
            e.iops = static_cast<double>(g.reads.ops + g.writes.ops) / active_s;
            e.bandwidth_bytes_s = static_cast<double>(g.reads.bytes + g.writes.bytes) / active_s;
            if (g.thread_active_ns)
                e.busy_fraction = std::min(1.0, static_cast<double>(g.busy_ns) / static_cast<double>(g.thread_active_ns));
        }
        if (g.offset_max) {
            e.offset_min = g.offset_min;
            e.offset_max = g.offset_max;
        }
        return e;
    }

    void fio_pattern_options(JobGroup& group, const GroupTotals& g, double read_share) const {
        ordered_json& fio = group.fio;
        PatternEvidence both = add_patterns(g.read_pattern, g.write_pattern);
        fio["rw"] = rw_value(group.direction, group.pattern, both.stride);
        if (group.direction == "readwrite") fio["rwmixread"] = std::lround(read_share * 100);
        if (group.pattern == "mixed")
            fio["percentage_random"] = std::lround(100.0 * (1.0 - share(both.consecutive, both.ops)));
        if (group.pattern == "unknown")
            group.unknown["pattern"] = "no offsets were seen for this group's IO";
        set_block_size(fio, g, group.direction);
    }

    void describe_blind_uring(JobGroup& group, const GroupTotals& g) const {
        const std::string why =
            options.source_kind == "bpf"
                ? "no io_uring requests were seen: the bpf source ran without its io_uring tracer "
                  "(source.detail says why)"
                : options.source_kind + " cannot see the requests inside io_uring rings (opcode, offset, "
                                         "length); use --source bpf to see them";
        group.pattern = "unknown";
        group.unknown["rw"] = why;
        group.unknown["bs"] = why;
        group.unknown["pattern"] = why;
        group.unknown["latency"] = why;
        if (g.opened_read_only && !g.opened_writable) {
            group.direction = "read";
            group.notes.push_back("direction inferred: every file this group opened was opened read-only");
        } else {
            group.direction = "unknown";
        }
    }

    void fio_common_options(JobGroup& group, const GroupTotals& g, size_t jobs,
                            const std::set<int32_t>& processes) const {
        ordered_json& fio = group.fio;
        uint64_t ops = g.reads.ops + g.writes.ops;
        bool blind = ops == 0;
        fio["ioengine"] = group.engine;
        // Blind io_uring: the files' open flags still tell O_DIRECT.
        if (blind) fio["direct"] = g.opened_direct ? 1 : 0;
        else fio["direct"] = share(g.direct_ops, ops) >= 0.5 ? 1 : 0;
        if (share(g.sync_ops, g.writes.ops) >= 0.5) fio["sync"] = "sync";
        else if (share(g.dsync_ops, g.writes.ops) >= 0.5) fio["sync"] = "dsync";
        flush_options(group, g);
        depth_options(group, g);
        fio["numjobs"] = jobs;
        if (jobs > 1 && processes.size() == 1 && *processes.begin() != 0) fio["thread"] = 1;
        size_options(group, g);
        rate_options(group, g);
    }

    void flush_options(JobGroup& group, const GroupTotals& g) const {
        uint64_t flushes = g.fsyncs + g.fdatasyncs + g.sync_file_ranges;
        if (flushes == 0 || g.writes.ops == 0) return;
        std::string call = g.fdatasyncs >= g.fsyncs ? "fdatasync" : "fsync";
        if (g.sync_file_ranges > g.fsyncs + g.fdatasyncs) call = "sync_file_range";
        uint64_t intervals = total_of(g.writes_per_flush);
        if (intervals >= 3) {
            uint64_t every = quantile_of(g.writes_per_flush, 0.5);
            if (call == "sync_file_range") group.fio["sync_file_range"] = "write:" + std::to_string(every);
            else group.fio[call] = every;
            uint64_t at_median = g.writes_per_flush.count(every) ? g.writes_per_flush.at(every) : 0;
            if (share(at_median, intervals) < 0.8)
                group.notes.push_back(call + " cadence is irregular; " + std::to_string(every) +
                                      " writes per flush is the median");
        } else {
            group.fio["end_fsync"] = 1;
            group.notes.push_back("only " + std::to_string(flushes) + " flush call(s) seen, after many writes: "
                                  "modelled as a flush at the end (end_fsync)");
        }
    }

    void depth_options(JobGroup& group, const GroupTotals& g) const {
        ordered_json& fio = group.fio;
        if (group.engine == "libaio") {
            fio["iodepth"] = std::max<uint64_t>(1, quantile_of(g.inflight, 0.99));
            fio["iodepth_batch_submit"] = std::max<uint64_t>(1, quantile_of(g.submit_batch, 0.5));
            fio["iodepth_batch_complete_min"] = quantile_of(g.complete_min, 0.5);
            if (options.source_kind == "strace")
                group.unknown["latency"] = "strace cannot pair libaio completions with their requests; "
                                           "per-request latency needs --source bpf";
        } else if (group.engine == "io_uring") {
            if (!g.inflight.empty()) {
                fio["iodepth"] = std::max<uint64_t>(1, quantile_of(g.inflight, 0.99));
            } else if (g.uring_entries) {
                fio["iodepth"] = g.uring_entries;
                group.notes.push_back("iodepth is the io_uring ring size (" + std::to_string(g.uring_entries) +
                                      " entries), an upper bound: strace cannot see completions in the ring");
            }
            if (const ValueCounts& batches = uring_submit_batches(g); !batches.empty())
                fio["iodepth_batch_submit"] = quantile_of(batches, 0.5);
            if (!g.complete_min.empty()) fio["iodepth_batch_complete_min"] = quantile_of(g.complete_min, 0.5);
            if (g.uring_setup_flags & trace::kUringSetupSqpoll) fio["sqthread_poll"] = 1;
            if (g.uring_setup_flags & trace::kUringSetupIopoll) fio["hipri"] = 1;
        } else {
            fio["iodepth"] = 1;
        }
    }

    void size_options(JobGroup& group, const GroupTotals& g) const {
        ordered_json& fio = group.fio;
        uint64_t nrfiles = g.files_per_thread.empty()
                               ? 0
                               : *std::max_element(g.files_per_thread.begin(), g.files_per_thread.end());
        if (nrfiles > 1) fio["nrfiles"] = nrfiles;
        uint64_t range = g.range_per_thread.empty()
                             ? 0
                             : *std::max_element(g.range_per_thread.begin(), g.range_per_thread.end());
        if (range) {
            uint64_t offset = 0;
            if (group.files.size() == 1 && g.offset_min != UINT64_MAX) {
                // Random IO that never happened to hit the first blocks still covers the file
                // from its start: only a real gap before the range becomes fio's offset.
                offset = g.offset_min < g.offset_max / 64 ? 0 : g.offset_min / 4096 * 4096;
                range = g.offset_max - offset;
            }
            // Sizes read like a person wrote them: whole MiB once the range is large.
            uint64_t granule = range >= (16u << 20) ? (1u << 20) : 4096;
            fio["size"] = fio_size(round_up(range, granule));
            if (offset) fio["offset"] = fio_size(offset);
        } else {
            group.unknown["size"] = "no offsets were seen, so the range the workload touches is unknown";
        }
    }

    void rate_options(JobGroup& group, const GroupTotals& g) const {
        if (!g.has_timing) {
            group.unknown["rate"] = "the trace has no timestamps (strace -tt or -ttt gives them)";
            return;
        }
        if (!g.has_durations) group.unknown["latency"] = "the trace has no syscall durations (strace -T gives them)";
        if (g.thread_active_ns == 0) return;
        double idle = static_cast<double>(g.idle_ns) / static_cast<double>(g.thread_active_ns);
        if (idle < 1.0 - options.saturated_busy_fraction) return;  // saturated: no rate limit
        uint64_t gap_us = static_cast<uint64_t>(g.idle_gap_ns.quantile(0.5) / 1000.0);
        double regular = g.idle_gap_ns.quantile(0.9) / std::max(1.0, g.idle_gap_ns.quantile(0.5));
        if (regular <= 3.0) {
            group.fio["thinktime"] = gap_us;
            group.notes.push_back("not saturated: idle " + std::to_string(std::lround(idle * 100)) +
                                  "% of the time, gaps of about " + std::to_string(gap_us) + " µs between IOs");
        } else {
            uint64_t ops = g.reads.ops + g.writes.ops;
            double per_job_iops = static_cast<double>(ops) / (static_cast<double>(g.thread_active_ns) / 1e9);
            group.fio["rate_iops"] = std::max<int64_t>(1, std::lround(per_job_iops));
            group.notes.push_back("not saturated: idle " + std::to_string(std::lround(idle * 100)) +
                                  "% of the time at irregular gaps; modelled as a rate limit");
        }
    }

    // Batches counted from the requests (exact, also SQPOLL passes) beat io_uring_enter returns.
    static const ValueCounts& uring_submit_batches(const GroupTotals& g) {
        return g.uring_batches.empty() ? g.uring_submit : g.uring_batches;
    }

    static std::string group_name(const JobGroup& group) {
        std::string name;
        if (group.fio.contains("rw")) name = group.fio["rw"].get<std::string>();
        else name = group.direction == "unknown" ? "io" : group.direction;
        auto colon = name.find(':');
        if (colon != std::string::npos) name = name.substr(0, colon) + "-strided";
        if (group.fio.contains("bs")) name += "-" + group.fio["bs"].get<std::string>();
        name += "-" + group.engine;
        return name;
    }
};

// How much a group did: data ops, or submit calls when the source cannot see its requests.
uint64_t activity(const JobGroup& g) {
    return g.evidence.reads.ops + g.evidence.writes.ops + total_of(g.evidence.submit_batch);
}

// Start-up chatter (a config file read, a pid file written) would otherwise show as groups of a
// handful of ops beside the real workload; they are listed under `ignored` instead.
void drop_minor_groups(WorkloadModel& model) {
    uint64_t total = 0;
    for (const auto& g : model.groups) total += activity(g);
    std::erase_if(model.groups, [&](const JobGroup& g) {
        uint64_t ops = activity(g);
        uint64_t most_per_file = 0;
        for (const auto& f : g.files) most_per_file = std::max(most_per_file, f.ops);
        // Reading a few small files once each (a job file, locale data) is set-up, even beside
        // a workload that is itself small; a group that writes is never waved away this way.
        bool setup_reads = g.evidence.writes.ops == 0 && most_per_file < kIncidentalOps &&
                           share(ops, total) < kSetupReadShare;
        bool minor = ops < kMinorGroupOps && (share(ops, total) < kMinorGroupShare || setup_reads);
        if (minor) model.ignored["minor group " + g.name + " (ops)"] += ops;
        return minor;
    });
}

// Each file's IO over all threads, for the incidental rule (model/incidental.hpp): start-up and
// configuration reads are judged per file over the whole trace, not per thread.
std::set<uint32_t> incidental_file_ids(const std::unordered_map<int32_t, ThreadState>& threads,
                                       const trace::FileTable& files) {
    std::map<uint32_t, FileActivity> by_file;
    for (const auto& [tid, t] : threads) {
        for (const auto& s : t.streams) {
            FileActivity& f = by_file[s.file_id];
            f.file_id = s.file_id;
            f.ops += s.ops;
            f.bytes += s.bytes;
            f.written |= s.write_totals.ops > 0 || s.write_totals.errors > 0;
        }
    }
    std::vector<FileActivity> activity;
    activity.reserve(by_file.size());
    for (auto& [id, f] : by_file) {
        if (id) {
            const auto& info = files.get(id);
            f.path = info.path;
            f.kind = info.kind;
        }
        activity.push_back(std::move(f));
    }
    return incidental_files(activity);
}

}  // namespace

WorkloadModel Classifier::finish(const trace::FileTable& files, WorkloadModel base) const {
    const Impl& impl = *impl_;
    std::vector<const ThreadState*> ordered;
    for (const auto& [tid, t] : impl.threads) ordered.push_back(&t);
    std::sort(ordered.begin(), ordered.end(), [](auto* a, auto* b) { return a->tid < b->tid; });
    std::vector<ThreadSummary> summaries;
    summaries.reserve(ordered.size());  // profiles point into it
    const std::set<uint32_t> incidental = incidental_file_ids(impl.threads, files);
    for (const ThreadState* t : ordered) {
        ThreadSummary sum = summarize(*t, incidental, base.ignored);
        bool does_io = sum.data_ops() || t->async_requests || t->uring_requests || t->uring_enters ||
                       !t->submit_batch.empty();
        if (does_io) summaries.push_back(std::move(sum));
    }
    std::vector<ThreadProfile> profiles;
    profiles.reserve(summaries.size());
    for (const auto& sum : summaries) profiles.push_back(profile_of(sum));

    std::vector<std::vector<const ThreadProfile*>> clusters;
    for (const auto& p : profiles) {
        auto it = std::find_if(clusters.begin(), clusters.end(),
                               [&](const auto& c) { return same_job(*c.front(), p); });
        if (it == clusters.end()) clusters.push_back({&p});
        else it->push_back(&p);
    }

    GroupBuilder builder{impl.options, files};
    base.groups.clear();
    std::map<std::string, int> names;
    for (const auto& cluster : clusters) {
        JobGroup group = builder.build(cluster);
        if (int n = names[group.name]++; n > 0) group.name += "-" + std::to_string(n + 1);
        base.groups.push_back(std::move(group));
    }
    drop_minor_groups(base);
    // Biggest groups first: the reader looks at the top row.
    std::stable_sort(base.groups.begin(), base.groups.end(), [](const JobGroup& a, const JobGroup& b) {
        auto ops = [](const JobGroup& g) { return g.evidence.reads.ops + g.evidence.writes.ops; };
        return ops(a) > ops(b);
    });
    for (const auto& [what, count] : impl.ignored) base.ignored[what] += count;
    base.source.events = impl.io_events;
    return base;
}

}  // namespace iodiag::model
