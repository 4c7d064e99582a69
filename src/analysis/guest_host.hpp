// The note's "compare workload performance data between guest and host" and "estimate
// host<->guest world switch cost": the same fio job measured in a VM (lat_vm) and on the host's
// storage under the VM's image (lat_host); lat_vm - lat_host per percentile is what the
// virtualisation layer adds to each IO (for a synchronous write at depth 1, the world switch
// cost). Pure code: the two sides in, a typed comparison out.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace iodiag::analysis {

// The fio options that make two runs the same job, normalised so that fio's spellings compare
// equal ("4k" == "4096", "sync=1" == "sync=sync", missing == fio's default).
inline constexpr const char* kJobOptionNames[] = {"rw", "bs", "direct", "sync", "fdatasync", "iodepth", "ioengine"};

// Raw fio options (fio's names and value syntax) -> the options above, normalised.
std::map<std::string, std::string> normalize_job_options(const std::map<std::string, std::string>& raw);

struct OptionMismatch {
    std::string option;
    std::string guest;
    std::string host;
};

// The options (from kJobOptionNames) whose normalised values differ.
std::vector<OptionMismatch> job_mismatches(const std::map<std::string, std::string>& guest,
                                           const std::map<std::string, std::string>& host);

// One comma-separated line: "bs (guest 4096, host 8192), sync (guest 1, host 0)".
std::string describe_mismatches(const std::vector<OptionMismatch>& mismatches);

// A latency histogram: (bin value in microseconds, count), ascending by value, as fio's json+
// "bins" hold it (fio reports a percentile as the value of the bin where it falls).
using LatencyBins = std::vector<std::pair<double, uint64_t>>;

// The statistics compared, in this order.
inline constexpr const char* kStatNames[] = {"mean", "p50", "p90", "p99", "p99.9"};
inline constexpr size_t kStatCount = 5;

// mean, p50, p90, p99, p99.9 of a histogram, fio's way (the first bin whose running count reaches
// q * N); all 0 for an empty histogram.
std::array<double, kStatCount> bins_stats(const LatencyBins& bins);

struct LatencySide {
    std::string source;             // what was read, for the report: "iodiag probe syncwrite", "fio json+"
    std::string probe;              // the iodiag probe's name, empty for fio's report
    std::map<std::string, std::string> job;   // normalised job options (normalize_job_options)
    double iops = 0;
    uint64_t ios = 0;
    bool latency_known = false;
    std::array<double, kStatCount> clat_us{};   // fio's completion latency: mean, p50, p90, p99, p99.9
    LatencyBins bins;               // empty: no json+ histogram
};

struct CompareSettings {
    int resamples = 1000;           // bootstrap resamples
    double level = 0.90;            // the interval's coverage
    uint64_t seed = 20261204;       // fixed, so a comparison prints the same interval every time
};

struct Interval {
    double low = 0;
    double high = 0;
};

struct StatDifference {
    std::string name;               // mean, p50, ...
    double guest_us = 0;            // lat_vm
    double host_us = 0;             // lat_host
    double cost_us = 0;             // lat_vm - lat_host
    std::optional<Interval> interval;   // bootstrap interval of cost_us; nullopt: unknown
};

struct GuestHostComparison {
    bool world_switch = false;      // a synchronous write at depth 1: the note's world switch cost
    std::string cost_name;          // "world switch cost" or "virtualisation cost per IO"
    std::vector<StatDifference> stats;
    bool uncertainty_known = false;
    int resamples = 0;
    double level = 0;
    std::string uncertainty;        // how the interval was found, or why it is unknown and what to do
    std::optional<double> iops_ratio;   // guest / host; nullopt when the host's IOPS is 0
    double guest_iops = 0, host_iops = 0;
    std::optional<double> share_p50;    // cost / guest latency at p50 (0..1, may be < 0)
    std::optional<double> share_mean;
    std::string verdict;            // one plain sentence or two
};

// The bootstrap interval of (statistic(guest) - statistic(host)) for each of kStatNames: both
// histograms resampled (multinomially, as many IOs as each holds) `settings.resamples` times.
// Empty when either histogram is.
std::vector<Interval> bootstrap_differences(const LatencyBins& guest, const LatencyBins& host,
                                            const CompareSettings& settings = {});

// The comparison. The caller has checked that the jobs match (job_mismatches is empty).
GuestHostComparison compare_guest_host(const LatencySide& guest, const LatencySide& host,
                                       const CompareSettings& settings = {});

}  // namespace iodiag::analysis
