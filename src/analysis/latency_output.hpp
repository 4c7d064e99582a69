// Latency rows as JSON (for --json and later the report) and as text for a terminal: one table of
// every row, and on request a log2 histogram per row in the layout of bcc's *latency tools.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/latency.hpp"

namespace iodiag::analysis {

nlohmann::ordered_json to_json(const LatencyRow& row);
nlohmann::ordered_json to_json(const std::vector<LatencyRow>& rows);

// layer, what, count, errors, total ms, share of its layer's time, avg/p50/p90/p99/max µs.
std::string render_table(const std::vector<LatencyRow>& rows);

// "     usecs        : count    distribution" with a bar per power of two, from the first
// non-empty bucket to the last.
std::string render_histogram(const LatencyRow& row);

}  // namespace iodiag::analysis
