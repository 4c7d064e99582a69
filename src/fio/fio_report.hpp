// What fio measured: its --output-format=json(+) report, one entry per job (per section with
// group_reporting), reduced to what iodiag compares and prints.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace iodiag::fio {

struct Percentiles {
    bool known = false;
    double p50 = 0, p90 = 0, p99 = 0, p999 = 0, p9999 = 0;   // microseconds
};

struct DirectionStats {
    uint64_t ios = 0;
    uint64_t bytes = 0;
    double iops = 0;
    double bw_bytes = 0;          // bytes per second
    double clat_mean_us = 0;
    Percentiles clat_us;          // completion latency
    // json+ only: fio's completion latency histogram, (bin value in ns, count) ascending by value;
    // empty when the report is plain json.
    std::vector<std::pair<uint64_t, uint64_t>> clat_bins_ns;
};

struct JobStats {
    std::string name;
    int error = 0;                // fio's per-job error (errno), 0 = fine
    double runtime_s = 0;
    DirectionStats read, write;
    uint64_t syncs = 0;           // fsync/fdatasync calls fio issued
    Percentiles sync_us;          // their latency
    // Share of time (0..100) at each in-flight depth fio logs: "1", "2", "4", ... ">=64".
    std::map<std::string, double> depth_levels;
    // The job's options as fio reports them: the report's "global options" overlaid with the
    // job's own "job options" (fio's names and value syntax, e.g. "bs": "4k", "direct": "1").
    std::map<std::string, std::string> options;

    double iops() const { return read.iops + write.iops; }
    double bw_bytes() const { return read.bw_bytes + write.bw_bytes; }
};

struct FioReport {
    std::string fio_version;
    std::vector<JobStats> jobs;
    std::string notices;  // fio's own messages around the JSON (e.g. after it, with several jobs)
    const JobStats* find(std::string_view name) const;
};

// Parses fio's JSON report; fio's notices before the first '{' and after the JSON object are kept
// in `notices`, not parsed. bad_input when it is not fio's JSON.
Result<FioReport> parse_fio_json(std::string_view text);

// The depth at quantile q (0..1) of fio's iodepth_level distribution, as the lower edge of its
// bucket (1, 2, 4, ... 64); 0 when fio logged none.
uint64_t depth_quantile(const std::map<std::string, double>& levels, double q);

}  // namespace iodiag::fio
