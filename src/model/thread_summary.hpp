// The classifier's second stage (model/classifier.hpp): each thread's accumulated IO, with
// start-up and incidental files set aside, split into streams (its files whose IO behaves alike),
// each summarized and profiled; streams of all threads whose profiles match are one job group.
// Internal to the classifier.
#pragma once

#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "model/event_accumulator.hpp"

namespace iodiag::model::classify {

// A file a thread touched this few times, beside files it works on, is incidental (a locale or
// config file read at start-up) and would otherwise count as one of the job's files.
constexpr uint64_t kIncidentalOps = 16;

inline double share(uint64_t part, uint64_t whole) {
    return whole == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(whole);
}

// A thread's or group's totals for one direction: its streams' counts and the latencies.
struct DirectionTotals : StreamTotals {
    LogHistogram latency_ns;
};

void add_totals(StreamTotals& into, const StreamTotals& from);
void add_counts(ValueCounts& into, const ValueCounts& from);

struct StreamSummary;

struct StreamProfile {
    const StreamSummary* summary = nullptr;
    std::string engine;
    std::string direction;   // read, write, readwrite, unknown
    double read_share = 0;
    uint64_t ops = 0;        // data ops, for how far read_share may be off by chance
    std::string pattern;     // sequential, random, strided, mixed, unknown
    bool direct = false;
    std::string sync;        // none, sync, dsync
    std::string flush_call;  // fsync, fdatasync, sync_file_range or empty
    uint64_t writes_per_flush = 0;
    uint64_t iodepth = 1;
    uint64_t read_bs = 0, write_bs = 0;  // dominant sizes, 0 when none dominates
};

// One stream of a thread: its files whose IO behaves alike, once program-loading and incidental
// files are set aside. A thread with one kind of IO is one stream (whole_thread); a thread that
// does several (a database backend: WAL appends with fdatasync, random data-page reads and
// writes) is one stream per kind, each fed by the files of that kind.
struct StreamSummary {
    const ThreadState* thread = nullptr;
    // The thread's only stream: the thread's own counts (every syscall, async depth and batches,
    // latency, idle gaps) are the stream's. A split thread's streams take theirs from their files.
    bool whole_thread = true;
    std::vector<const FileStream*> files;
    DirectionTotals reads, writes;
    uint64_t direct_ops = 0, sync_ops = 0, dsync_ops = 0;
    std::array<uint64_t, kDataCalls> calls{};
    std::array<uint64_t, kSyscallSlots> syscalls{};
    FlushCounts flushes;
    LogHistogram flush_latency_ns;
    ValueCounts inflight, uring_batches, complete_batch;  // the thread's, with its rings' open batches
    ValueCounts submit_batch, complete_min, uring_submit;
    // Timing over the thread's active time. A split stream's idle time is the thread's time
    // outside its share of the work (see split_timing in thread_summary.cpp).
    uint64_t busy_ns = 0, idle_ns = 0;
    LogHistogram idle_gap_ns;
    bool opened_read_only = false, opened_writable = false, opened_direct = false;
    uint64_t data_ops() const { return reads.ops + writes.ops; }
};

// The streams of the threads that do IO, by tid, each without its incidental files (counted in
// `ignored`).
std::vector<StreamSummary> summarize_streams(const std::unordered_map<int32_t, ThreadState>& threads,
                                             const trace::FileTable& files,
                                             std::map<std::string, uint64_t>& ignored);

StreamProfile profile_of(const StreamSummary& sum);

// Streams with matching profiles, in the order of their first member: one cluster per job group.
std::vector<std::vector<const StreamProfile*>> cluster_streams(const std::vector<StreamProfile>& profiles);

PatternEvidence merged_pattern(const StreamSummary& sum, IoDir dir);
PatternEvidence add_patterns(PatternEvidence a, const PatternEvidence& b);
std::string pattern_name(const PatternEvidence& p);
// The size that holds most ops (kDominantShare), 0 when none does.
uint64_t dominant_size(const ValueCounts& sizes);

}  // namespace iodiag::model::classify
