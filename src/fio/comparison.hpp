// Observed (the model's evidence) against reproduced (fio's report), per job group: IOPS,
// bandwidth, latency percentiles and in-flight depth, each with its relative difference and a
// plain verdict.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "fio/fio_report.hpp"
#include "model/workload_model.hpp"

namespace iodiag::fio {

// Within this relative difference a figure "matches".
inline constexpr double kMatchTolerance = 0.15;

struct Metric {
    std::string name;                    // "IOPS", "bandwidth", "read lat p99", "depth p50", ...
    std::string unit;                    // "", "B/s", "us"
    std::optional<double> observed;
    std::optional<double> reproduced;
    std::optional<double> relative;      // (reproduced - observed) / observed
    std::string verdict;                 // "matches", "2.3x higher", "unknown", ...
    std::string why;                     // when unknown: why the trace could not see it
};

struct GroupComparison {
    std::string group;
    std::string section;
    std::vector<Metric> metrics;
    std::string verdict;                 // one sentence on IOPS, the figure a reproduction is for
    const Metric* find(const std::string& name) const;
};

struct Comparison {
    std::vector<GroupComparison> groups;
    std::vector<std::string> notes;      // caveats that apply to every row (e.g. tracing overhead)
};

// `sections[i]` is the fio section generated for model.groups[i].
Comparison compare(const model::WorkloadModel& model, const std::vector<std::string>& sections,
                   const FioReport& report);

// The comparison as a text table, notes after it.
std::string render_comparison(const Comparison& comparison);

model::ordered_json comparison_json(const Comparison& comparison);

// "matches" within kMatchTolerance, else "2.3x higher" / "1.6x lower".
std::string verdict_of(double relative);

}  // namespace iodiag::fio
