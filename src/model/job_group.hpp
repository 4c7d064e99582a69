// The classifier's third stage (model/classifier.hpp): the streams of one cluster
// (model/thread_summary.hpp) added up into a JobGroup: its threads, files and evidence, then its
// fio options (model/fio_mapping.hpp). Internal to the classifier.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "model/thread_summary.hpp"

namespace iodiag::model::classify {

// What a group accumulates from its streams.
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
    bool shares_threads = false;  // a member thread also feeds other streams: paced by rate_iops
    uint32_t uring_entries = 0, uring_setup_flags = 0;
    std::map<uint32_t, FileUse> files;
    std::vector<uint64_t> files_per_thread;
    std::vector<uint64_t> range_per_thread;
    uint64_t offset_min = UINT64_MAX, offset_max = 0;
    bool opened_read_only = false, opened_writable = false, opened_direct = false;
};

// Batches counted from the requests (exact, also SQPOLL passes) beat io_uring_enter returns.
const ValueCounts& uring_submit_batches(const GroupTotals& g);

JobGroup build_group(const std::vector<const StreamProfile*>& members, const trace::FileTable& files,
                     const ClassifierOptions& options);

}  // namespace iodiag::model::classify
