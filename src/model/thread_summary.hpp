// The classifier's second stage (model/classifier.hpp): each thread's accumulated IO, with
// start-up and incidental files set aside, summarized and profiled; threads whose profiles match
// are one job group. Internal to the classifier.
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

// The threads that do IO, by tid, each without its incidental files (counted in `ignored`).
std::vector<ThreadSummary> summarize_threads(const std::unordered_map<int32_t, ThreadState>& threads,
                                             const trace::FileTable& files,
                                             std::map<std::string, uint64_t>& ignored);

ThreadProfile profile_of(const ThreadSummary& sum);

// Threads with matching profiles, in the order of their first member: one cluster per job group.
std::vector<std::vector<const ThreadProfile*>> cluster_threads(const std::vector<ThreadProfile>& profiles);

PatternEvidence merged_pattern(const ThreadSummary& sum, IoDir dir);
PatternEvidence add_patterns(PatternEvidence a, const PatternEvidence& b);
std::string pattern_name(const PatternEvidence& p);
// The size that holds most ops (kDominantShare), 0 when none does.
uint64_t dominant_size(const ValueCounts& sizes);

}  // namespace iodiag::model::classify
