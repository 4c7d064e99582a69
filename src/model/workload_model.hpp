// WorkloadModel: what the traced workload does, per job group, in fio's own language, with the
// evidence behind each value. Serialises to model.json (schema_version) and loads back unchanged.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/histogram.hpp"
#include "common/result.hpp"

namespace iodiag::model {

// 2 added `threads` (which groups each thread feeds); a version 1 model loads with it empty.
inline constexpr int kSchemaVersion = 2;

using ordered_json = nlohmann::ordered_json;

// Percentiles of a distribution (latency in microseconds, or a count such as depth).
using Percentiles = iodiag::Summary;

// Counts how often each exact value occurred (IO sizes, depths, batch sizes, writes per fsync).
using ValueCounts = std::map<uint64_t, uint64_t>;

struct PatternEvidence {
    uint64_t ops = 0;           // data ops with a known offset
    uint64_t consecutive = 0;   // offset == previous end (same thread, file and direction)
    uint64_t sequential = 0;    // offset > previous end (forward; includes consecutive)
    uint64_t backward = 0;      // offset < previous end
    uint64_t strided = 0;       // forward with the group's most common non-zero gap
    int64_t stride = 0;         // that gap in bytes (0 = none)
    bool operator==(const PatternEvidence&) const = default;
};

struct DirectionEvidence {
    uint64_t ops = 0;
    uint64_t bytes = 0;
    uint64_t errors = 0;
    uint64_t short_ops = 0;     // returned fewer bytes than asked
    ValueCounts sizes;          // requested bytes -> ops
    PatternEvidence pattern;
    Percentiles latency_us;     // per syscall (sync engines) or per request (async)
    bool operator==(const DirectionEvidence&) const = default;
};

struct Evidence {
    DirectionEvidence reads;
    DirectionEvidence writes;
    uint64_t fsyncs = 0;
    uint64_t fdatasyncs = 0;
    uint64_t sync_file_ranges = 0;
    ValueCounts writes_per_flush;         // writes between two flushes of the same file -> times
    Percentiles flush_latency_us;
    std::map<std::string, uint64_t> syscalls;  // syscall name -> calls
    uint64_t direct_ops = 0;              // data ops on an O_DIRECT fd
    uint64_t sync_ops = 0;                // on an O_SYNC fd
    uint64_t dsync_ops = 0;               // on an O_DSYNC fd (or RWF_DSYNC)
    ValueCounts inflight;                 // async: requests in flight right after each submit
    ValueCounts submit_batch;             // async: requests per submit call
    ValueCounts complete_batch;           // async: completions per reap call
    ValueCounts complete_min;             // async: min completions asked per reap call
    Percentiles idle_gap_us;              // per thread: end of one IO to start of the next
    double busy_fraction = 0;             // share of the traced time threads spent in IO calls
    double iops = 0;                      // data ops per second over the group's active time
    double bandwidth_bytes_s = 0;
    double active_seconds = 0;
    uint64_t offset_min = 0;
    uint64_t offset_max = 0;              // highest end offset touched
    bool operator==(const Evidence&) const = default;
};

struct FileUse {
    std::string path;
    std::string kind;        // regular, block, unknown
    uint64_t size = 0;       // known size in bytes, 0 = unknown
    uint64_t ops = 0;
    uint64_t bytes = 0;
    bool operator==(const FileUse&) const = default;
};

struct JobGroup {
    std::string name;                  // e.g. "randread-4k-psync"
    std::vector<int32_t> threads;      // tids
    std::vector<int32_t> processes;    // tgids (0 = unknown)
    std::vector<FileUse> files;
    std::string engine;                // psync, sync, vsync, pvsync, pvsync2, libaio, io_uring, mmap
    std::string pattern;               // sequential, random, strided, mixed, unknown
    std::string direction;             // read, write, readwrite, unknown
    ordered_json fio = ordered_json::object();       // fio option -> value, fio's names and syntax
    std::map<std::string, std::string> unknown;      // dimension -> why the source cannot see it
    std::vector<std::string> notes;                  // caveats for the reader
    Evidence evidence;
    bool operator==(const JobGroup&) const = default;
};

// A thread that feeds job groups. A thread whose IO is of several kinds (a database backend's WAL
// appends and data-page reads) feeds one group per kind; its tid is in each group's `threads`.
struct ThreadUse {
    int32_t tid = 0;
    int32_t tgid = 0;                  // 0 = unknown
    std::string comm;                  // empty when the source did not say
    std::vector<std::string> groups;   // the names of the groups it feeds
    bool operator==(const ThreadUse&) const = default;
};

struct TargetInfo {
    int32_t pid = 0;
    std::string comm;
    std::vector<std::string> cmdline;
    bool operator==(const TargetInfo&) const = default;
};

struct SourceInfo {
    std::string kind;             // strace, perf, bpf
    std::string detail;           // the command run, or the log file read
    std::string why;              // why this source (auto selection)
    uint64_t lines = 0;           // text sources: lines read
    uint64_t bad_lines = 0;
    uint64_t events = 0;          // IO events seen
    uint64_t dropped_events = 0;  // lost by the source (ring buffer overflow, ...)
    ordered_json totals = ordered_json::object();  // exact in-kernel counts (bpf source)
    bool operator==(const SourceInfo&) const = default;
};

// What the block layer saw on one device under the target's files (bpf source).
struct DeviceEvidence {
    std::string name;            // e.g. "vda", "loop0"
    uint32_t dev = 0;            // kernel dev_t
    uint64_t requests = 0, reads = 0, writes = 0, flushes = 0, bytes = 0;
    uint64_t attributed = 0;     // requests charged to the target's processes
    ValueCounts sizes;           // request bytes -> requests
    PatternEvidence pattern;     // by sector: consecutive = starts where the previous ended
    ValueCounts in_device;       // requests in flight on the device at each issue
    Percentiles q2d_us;          // insert -> issue (time queued in the block layer)
    Percentiles d2c_us;          // issue -> complete (time in the device)
    bool operator==(const DeviceEvidence&) const = default;
};

struct WorkloadModel {
    int schema_version = kSchemaVersion;
    std::string tool_version;
    std::string created;          // ISO-8601 UTC
    TargetInfo target;
    SourceInfo source;
    double duration_s = 0;        // traced time
    bool complete = true;         // false when the trace was cut short (Ctrl-C, target exit)
    std::string end_reason;       // duration, interrupted, target exited, end of log
    std::vector<JobGroup> groups;
    std::vector<ThreadUse> threads;            // by tid: the groups each thread feeds
    std::vector<DeviceEvidence> devices;       // block layer, when the source sees it
    std::map<std::string, uint64_t> ignored;   // what was seen but not modelled -> count
    bool operator==(const WorkloadModel&) const = default;
};

ordered_json to_json(const WorkloadModel& model);
Result<WorkloadModel> from_json(const ordered_json& json);

// File helpers: save writes a temp file beside `path` and renames it into place, so a reader
// never sees a half-written model.
Status save_model(const WorkloadModel& model, const std::string& path);
Result<WorkloadModel> load_model(const std::string& path);

}  // namespace iodiag::model
