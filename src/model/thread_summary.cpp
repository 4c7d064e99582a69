#include "model/thread_summary.hpp"

#include <algorithm>
#include <cmath>

#include "model/incidental.hpp"

namespace iodiag::model::classify {

namespace {

// A mapped file (a library, the executable) read by fewer calls than this is the dynamic loader
// or an interpreter starting up, not the workload.
constexpr uint64_t kLoaderOps = 64;
constexpr double kIncidentalShare = 0.02;

// Share thresholds used to name a dimension.
constexpr double kDominantShare = 0.90;   // one IO size is "the" size
constexpr double kSequentialShare = 0.80; // consecutive share that makes a stream sequential
constexpr double kRandomShare = 0.20;     // at or below: random
constexpr double kOneDirectionShare = 0.98;

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
        add_totals(sum.reads, s.read_totals);
        add_totals(sum.writes, s.write_totals);
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

std::string flush_call_of(const ThreadState& t) {
    uint64_t most = std::max({t.fsyncs, t.fdatasyncs, t.sync_file_ranges});
    if (most == 0) return {};
    if (most == t.fdatasyncs) return "fdatasync";
    if (most == t.fsyncs) return "fsync";
    return "sync_file_range";
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

void add_totals(StreamTotals& into, const StreamTotals& from) {
    into.ops += from.ops;
    into.bytes += from.bytes;
    into.errors += from.errors;
    into.short_ops += from.short_ops;
    for (const auto& [size, count] : from.sizes) into.sizes[size] += count;
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

std::vector<ThreadSummary> summarize_threads(const std::unordered_map<int32_t, ThreadState>& threads,
                                             const trace::FileTable& files,
                                             std::map<std::string, uint64_t>& ignored) {
    std::vector<const ThreadState*> ordered;
    for (const auto& [tid, t] : threads) ordered.push_back(&t);
    std::sort(ordered.begin(), ordered.end(), [](auto* a, auto* b) { return a->tid < b->tid; });
    std::vector<ThreadSummary> summaries;
    summaries.reserve(ordered.size());
    const std::set<uint32_t> incidental = incidental_file_ids(threads, files);
    for (const ThreadState* t : ordered) {
        ThreadSummary sum = summarize(*t, incidental, ignored);
        bool does_io = sum.data_ops() || t->async_requests || t->uring_requests || t->uring_enters ||
                       !t->submit_batch.empty();
        if (does_io) summaries.push_back(std::move(sum));
    }
    return summaries;
}

std::vector<std::vector<const ThreadProfile*>> cluster_threads(const std::vector<ThreadProfile>& profiles) {
    std::vector<std::vector<const ThreadProfile*>> clusters;
    for (const auto& p : profiles) {
        auto it = std::find_if(clusters.begin(), clusters.end(),
                               [&](const auto& c) { return same_job(*c.front(), p); });
        if (it == clusters.end()) clusters.push_back({&p});
        else it->push_back(&p);
    }
    return clusters;
}

}  // namespace iodiag::model::classify
