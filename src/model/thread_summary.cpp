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

// A file with fewer data ops than this shows too little of its behaviour to start a stream of its
// own (one read has no pattern): such files are judged together (split_files).
constexpr uint64_t kStreamOps = 32;

// The thread's files that are its workload: start-up, configuration and program-loading reads
// and files it barely touched are counted in `ignored` instead.
std::vector<const FileStream*> workload_files(const ThreadState& t, const std::set<uint32_t>& incidental,
                                              std::map<std::string, uint64_t>& ignored) {
    std::vector<const FileStream*> kept;
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
        kept.push_back(&s);
    }
    return kept;
}

// What the files alone tell: enough to profile a file or a pool of files.
StreamSummary of_files(const ThreadState& t, const std::vector<const FileStream*>& files) {
    StreamSummary sum;
    sum.thread = &t;
    sum.whole_thread = false;
    for (const FileStream* s : files) {
        sum.files.push_back(s);
        add_totals(sum.reads, s->read_totals);
        add_totals(sum.writes, s->write_totals);
        sum.direct_ops += s->direct_ops;
        sum.sync_ops += s->sync_ops;
        sum.dsync_ops += s->dsync_ops;
        for (size_t i = 0; i < kDataCalls; ++i) sum.calls[i] += s->calls[i];
        sum.flushes.fsyncs += s->flushes.fsyncs;
        sum.flushes.fdatasyncs += s->flushes.fdatasyncs;
        sum.flushes.sync_file_ranges += s->flushes.sync_file_ranges;
        add_counts(sum.flushes.writes_per_flush, s->flushes.writes_per_flush);
    }
    return sum;
}

// A thread with one kind of IO: the thread's own counts are its stream's.
StreamSummary whole_thread(const ThreadState& t, const std::vector<const FileStream*>& files) {
    StreamSummary sum = of_files(t, files);
    sum.whole_thread = true;
    sum.flushes = t.flushes;  // also flushes of files set aside, as the thread made them
    sum.flush_latency_ns = t.flush_latency_ns;
    sum.reads.latency_ns = t.read_latency_ns;
    sum.writes.latency_ns = t.write_latency_ns;
    sum.syscalls = t.syscalls;
    sum.inflight = t.inflight;
    sum.uring_batches = t.uring_batches;
    sum.complete_batch = t.complete_batch;
    for (const auto& [ctx, ring] : t.rings) ring.pending({sum.inflight, sum.uring_batches, sum.complete_batch});
    sum.submit_batch = t.submit_batch;
    sum.complete_min = t.complete_min;
    sum.uring_submit = t.uring_submit;
    sum.busy_ns = t.busy_ns;
    sum.idle_ns = t.idle_ns;
    sum.idle_gap_ns = t.idle_gap_ns;
    sum.opened_read_only = !t.opened_read_only.empty();
    sum.opened_writable = !t.opened_writable.empty();
    sum.opened_direct = t.opened_direct;
    return sum;
}

void record_coarse(LogHistogram& into, const ValueCounts& coarse) {
    for (const auto& [ns, calls] : coarse) into.record(ns, calls);
}

// One of several streams of a thread. Its calls are its files' (data and flush calls; the
// thread's other calls, open or lseek, name no stream). `work_share` is its part of the thread's
// working time (active minus idle gaps), by busy time: whatever else the thread did, its other
// streams and its idle gaps, is this stream's idle time, so a stream that shares its thread is
// not taken for saturated because the thread was.
StreamSummary split_stream(const ThreadState& t, const std::vector<const FileStream*>& files, double work_share) {
    StreamSummary sum = of_files(t, files);
    for (const FileStream* s : files) {
        record_coarse(sum.reads.latency_ns, s->read_latency_ns);
        record_coarse(sum.writes.latency_ns, s->write_latency_ns);
        record_coarse(sum.flush_latency_ns, s->flush_latency_ns);
        sum.busy_ns += s->busy_ns;
        sum.opened_read_only |= t.opened_read_only.count(s->file_id) > 0;
        sum.opened_writable |= t.opened_writable.count(s->file_id) > 0;
    }
    for (size_t i = 0; i < kDataCalls; ++i) sum.syscalls[static_cast<size_t>(Syscall::read) + i] += sum.calls[i];
    sum.syscalls[static_cast<size_t>(Syscall::fsync)] += sum.flushes.fsyncs;
    sum.syscalls[static_cast<size_t>(Syscall::fdatasync)] += sum.flushes.fdatasyncs;
    sum.syscalls[static_cast<size_t>(Syscall::sync_file_range)] += sum.flushes.sync_file_ranges;
    sum.opened_direct = t.opened_direct;
    if (t.has_timing) {
        const double working = static_cast<double>(t.last_end - t.first_ts - std::min(t.idle_ns, t.last_end - t.first_ts));
        sum.idle_ns = t.last_end - t.first_ts - static_cast<uint64_t>(std::llround(working * work_share));
    }
    return sum;
}

bool uses_async(const ThreadState& t) {
    return t.async_requests || !t.submit_batch.empty() || t.uring_requests || t.uring_enters || t.uring_entries;
}

bool same_job(const StreamProfile& a, const StreamProfile& b);

// A thread's files in streams: files whose own profiles match (same_job) are one stream. Files
// with fewer than kStreamOps ops are profiled together as one pool, which joins a stream it
// matches, else stands alone if it has kStreamOps ops. A pool too small for either is a few
// calls beside the thread's streams (sqlite3 reading its script): it joins a thread's only
// stream, as before streams, and is left out of a split thread's (its ops in `left_out`) rather
// than adding a foreign file to one. A thread using libaio or io_uring stays whole: its depth
// and batches belong to its contexts and rings, not to files.
std::vector<std::vector<const FileStream*>> split_files(const ThreadState& t, std::vector<const FileStream*> files,
                                                        uint64_t& left_out) {
    if (files.size() < 2 || uses_async(t)) return {files};
    std::stable_sort(files.begin(), files.end(), [](auto* a, auto* b) { return a->ops > b->ops; });
    struct Part {
        StreamProfile profile;
        std::vector<const FileStream*> files;
    };
    std::vector<Part> parts;
    // False when `these` match no stream and may not start one.
    auto place = [&](const std::vector<const FileStream*>& these, bool may_stand_alone) {
        StreamProfile p = profile_of(of_files(t, these));
        p.summary = nullptr;  // the summary was a temporary
        auto it = std::find_if(parts.begin(), parts.end(), [&](const Part& part) { return same_job(part.profile, p); });
        if (it == parts.end() && !may_stand_alone) return false;
        if (it == parts.end()) it = parts.insert(parts.end(), Part{p, {}});
        it->files.insert(it->files.end(), these.begin(), these.end());
        return true;
    };
    std::vector<const FileStream*> small;
    uint64_t small_ops = 0;
    for (const FileStream* f : files) {
        if (f->ops >= kStreamOps) place({f}, true);
        else small.push_back(f), small_ops += f->ops;
    }
    if (!small.empty() && !place(small, parts.empty() || small_ops >= kStreamOps)) {
        if (parts.size() == 1) parts.front().files.insert(parts.front().files.end(), small.begin(), small.end());
        else left_out += small_ops;
    }
    std::vector<std::vector<const FileStream*>> streams;
    for (auto& part : parts) streams.push_back(std::move(part.files));
    return streams;
}

// The thread's streams, with each split stream's share of the thread's working time: by busy time
// when the source gave durations, else by ops.
void summarize_thread(const ThreadState& t, std::vector<const FileStream*> files, std::vector<StreamSummary>& out,
                      std::map<std::string, uint64_t>& ignored) {
    uint64_t left_out = 0;
    auto parts = split_files(t, std::move(files), left_out);
    if (left_out) ignored["incidental file IO (a few calls beside the thread's main files)"] += left_out;
    if (parts.size() == 1) {
        StreamSummary sum = whole_thread(t, parts.front());
        bool does_io = sum.data_ops() || uses_async(t);
        if (does_io) out.push_back(std::move(sum));
        return;
    }
    auto weight = [&](const std::vector<const FileStream*>& part) {
        uint64_t w = 0;
        for (const FileStream* s : part) w += t.busy_ns ? s->busy_ns : s->ops;
        return w;
    };
    uint64_t total = 0;
    for (const auto& part : parts) total += weight(part);
    for (const auto& part : parts) out.push_back(split_stream(t, part, share(weight(part), total)));
}

std::string engine_of(const StreamSummary& sum) {
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

std::string flush_call_of(const FlushCounts& f) {
    uint64_t most = std::max({f.fsyncs, f.fdatasyncs, f.sync_file_ranges});
    if (most == 0) return {};
    if (most == f.fdatasyncs) return "fdatasync";
    if (most == f.fsyncs) return "fsync";
    return "sync_file_range";
}

bool same_job(const StreamProfile& a, const StreamProfile& b) {
    auto near = [](uint64_t x, uint64_t y) {
        return x == y || (std::max(x, y) - std::min(x, y)) * 4 <= std::max(x, y);  // within 25%
    };
    // Read shares 10 points apart, or three standard errors of the smaller sample: a file of 40
    // ops of a 70/30 mix can show 55/45 by chance.
    const double mean_share = (a.read_share + b.read_share) / 2;
    const double few = static_cast<double>(std::max<uint64_t>(1, std::min(a.ops, b.ops)));
    const double share_slack = std::max(0.10, 3 * std::sqrt(mean_share * (1 - mean_share) / few));
    return a.engine == b.engine && a.direction == b.direction && a.pattern == b.pattern &&
           a.direct == b.direct && a.sync == b.sync && a.flush_call == b.flush_call &&
           near(a.writes_per_flush, b.writes_per_flush) && near(a.iodepth, b.iodepth) &&
           a.read_bs == b.read_bs && a.write_bs == b.write_bs &&
           std::abs(a.read_share - b.read_share) <= share_slack;
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

void add_counts(ValueCounts& into, const ValueCounts& from) {
    for (const auto& [value, count] : from) into[value] += count;
}

PatternEvidence merged_pattern(const StreamSummary& sum, IoDir dir) {
    PatternEvidence total;
    std::map<uint64_t, uint64_t> gaps;
    for (const FileStream* s : sum.files) {
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

StreamProfile profile_of(const StreamSummary& sum) {
    const ThreadState& t = *sum.thread;
    StreamProfile p;
    p.summary = &sum;
    p.engine = engine_of(sum);
    uint64_t ops = sum.data_ops();
    p.ops = ops;
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
    p.flush_call = flush_call_of(sum.flushes);
    p.writes_per_flush = quantile_of(sum.flushes.writes_per_flush, 0.5);
    p.read_bs = dominant_size(sum.reads.sizes);
    p.write_bs = dominant_size(sum.writes.sizes);
    if (!sum.inflight.empty()) p.iodepth = quantile_of(sum.inflight, 0.99);
    else if (p.engine == "io_uring" && t.uring_entries) p.iodepth = t.uring_entries;
    return p;
}

std::vector<StreamSummary> summarize_streams(const std::unordered_map<int32_t, ThreadState>& threads,
                                             const trace::FileTable& files,
                                             std::map<std::string, uint64_t>& ignored) {
    std::vector<const ThreadState*> ordered;
    for (const auto& [tid, t] : threads) ordered.push_back(&t);
    std::sort(ordered.begin(), ordered.end(), [](auto* a, auto* b) { return a->tid < b->tid; });
    std::vector<StreamSummary> summaries;
    const std::set<uint32_t> incidental = incidental_file_ids(threads, files);
    for (const ThreadState* t : ordered)
        summarize_thread(*t, workload_files(*t, incidental, ignored), summaries, ignored);
    return summaries;
}

std::vector<std::vector<const StreamProfile*>> cluster_streams(const std::vector<StreamProfile>& profiles) {
    std::vector<std::vector<const StreamProfile*>> clusters;
    for (const auto& p : profiles) {
        auto it = std::find_if(clusters.begin(), clusters.end(),
                               [&](const auto& c) { return same_job(*c.front(), p); });
        if (it == clusters.end()) clusters.push_back({&p});
        else it->push_back(&p);
    }
    return clusters;
}

}  // namespace iodiag::model::classify
