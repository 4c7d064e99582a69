#include "fio/fio_report.hpp"

#include <algorithm>
#include <iterator>
#include <sstream>
#include <utility>

#include <nlohmann/json.hpp>

namespace iodiag::fio {
namespace {

using json = nlohmann::json;

double number_at(const json& j, const char* key) {
    if (!j.is_object() || !j.contains(key) || !j.at(key).is_number()) return 0.0;
    return j.at(key).get<double>();
}

// fio's percentile keys are "50.000000", "99.900000", ...; values in ns.
Percentiles percentiles_of(const json& stats) {
    Percentiles p;
    if (!stats.is_object() || !stats.contains("percentile") || !stats.at("percentile").is_object()) return p;
    const json& table = stats.at("percentile");
    auto at = [&](const char* key, double& into) {
        if (table.contains(key) && table.at(key).is_number()) {
            into = table.at(key).get<double>() / 1000.0;
            p.known = true;
        }
    };
    at("50.000000", p.p50);
    at("90.000000", p.p90);
    at("99.000000", p.p99);
    at("99.900000", p.p999);
    at("99.990000", p.p9999);
    return p;
}

// json+'s "bins": {"<ns>": count}; entries that are not a count of a plain number are skipped.
std::vector<std::pair<uint64_t, uint64_t>> bins_of(const json& stats) {
    std::vector<std::pair<uint64_t, uint64_t>> bins;
    if (!stats.is_object() || !stats.contains("bins") || !stats.at("bins").is_object()) return bins;
    for (const auto& [key, count] : stats.at("bins").items()) {
        if (!count.is_number_unsigned() && !count.is_number_integer()) continue;
        if (key.empty() || key.find_first_not_of("0123456789") != std::string::npos || key.size() > 19) continue;
        int64_t n = count.get<int64_t>();
        if (n <= 0) continue;
        bins.emplace_back(std::stoull(key), static_cast<uint64_t>(n));
    }
    std::sort(bins.begin(), bins.end());
    return bins;
}

// fio's option tables ({"bs": "4k", ...}) as strings; numbers and booleans as fio would print them.
void options_into(const json& table, std::map<std::string, std::string>& into) {
    if (!table.is_object()) return;
    for (const auto& [key, value] : table.items()) {
        if (value.is_string()) into[key] = value.get<std::string>();
        else if (value.is_number_integer() || value.is_number_unsigned()) into[key] = std::to_string(value.get<int64_t>());
        else if (value.is_boolean()) into[key] = value.get<bool>() ? "1" : "0";
    }
}

DirectionStats direction_of(const json& j) {
    DirectionStats d;
    if (!j.is_object()) return d;
    d.ios = static_cast<uint64_t>(number_at(j, "total_ios"));
    d.bytes = static_cast<uint64_t>(number_at(j, "io_bytes"));
    d.iops = number_at(j, "iops");
    d.bw_bytes = number_at(j, "bw_bytes");
    if (j.contains("clat_ns")) {
        d.clat_mean_us = number_at(j.at("clat_ns"), "mean") / 1000.0;
        if (d.ios) d.clat_us = percentiles_of(j.at("clat_ns"));
        d.clat_bins_ns = bins_of(j.at("clat_ns"));
    }
    return d;
}

// fio's bucket label -> its lower edge ("1" -> 1, ">=64" -> 64).
uint64_t level_value(const std::string& label) {
    std::string digits;
    for (char c : label)
        if (c >= '0' && c <= '9') digits += c;
    return digits.empty() ? 0 : std::stoull(digits);
}

}  // namespace

const JobStats* FioReport::find(std::string_view name) const {
    for (const auto& job : jobs)
        if (job.name == name) return &job;
    return nullptr;
}

Result<FioReport> parse_fio_json(std::string_view text) {
    size_t brace = text.find('{');
    if (brace == std::string_view::npos)
        return fail(ErrorKind::bad_input, "fio's report holds no JSON", "fio may have failed before it ran a job");
    json root;
    // One JSON value, not the whole text: fio may write notices to its --output file after the
    // report ("fio: ..." lines, seen with a PostgreSQL model's jobs).
    std::istringstream in{std::string(text.substr(brace))};
    try {
        in >> root;
    } catch (const json::exception& e) {
        return fail(ErrorKind::bad_input, std::string("fio's JSON report is unreadable: ") + e.what());
    }
    std::string after{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (!root.is_object() || !root.contains("jobs") || !root.at("jobs").is_array())
        return fail(ErrorKind::bad_input, "fio's JSON report has no jobs");
    FioReport report;
    report.notices = std::string(text.substr(0, brace)) + after;
    report.notices.erase(0, report.notices.find_first_not_of(" \t\r\n"));
    report.notices.erase(report.notices.find_last_not_of(" \t\r\n") + 1);
    if (root.contains("fio version") && root.at("fio version").is_string())
        report.fio_version = root.at("fio version").get<std::string>();
    std::map<std::string, std::string> global_options;
    if (root.contains("global options")) options_into(root.at("global options"), global_options);
    for (const json& j : root.at("jobs")) {
        JobStats job;
        job.options = global_options;
        if (j.contains("job options")) options_into(j.at("job options"), job.options);
        if (j.contains("jobname") && j.at("jobname").is_string()) job.name = j.at("jobname").get<std::string>();
        job.error = static_cast<int>(number_at(j, "error"));
        job.runtime_s = number_at(j, "job_runtime") / 1000.0;
        if (j.contains("read")) job.read = direction_of(j.at("read"));
        if (j.contains("write")) job.write = direction_of(j.at("write"));
        if (j.contains("sync") && j.at("sync").is_object()) {
            const json& sync = j.at("sync");
            if (sync.contains("lat_ns")) {
                job.syncs = static_cast<uint64_t>(number_at(sync.at("lat_ns"), "N"));
                if (job.syncs) job.sync_us = percentiles_of(sync.at("lat_ns"));
            }
        }
        if (j.contains("iodepth_level") && j.at("iodepth_level").is_object())
            for (const auto& [label, share] : j.at("iodepth_level").items())
                if (share.is_number()) job.depth_levels[label] = share.get<double>();
        report.jobs.push_back(std::move(job));
    }
    return report;
}

uint64_t depth_quantile(const std::map<std::string, double>& levels, double q) {
    std::vector<std::pair<uint64_t, double>> ordered;
    double total = 0;
    for (const auto& [label, share] : levels) {
        ordered.emplace_back(level_value(label), share);
        total += share;
    }
    if (total <= 0) return 0;
    std::sort(ordered.begin(), ordered.end());
    double seen = 0;
    for (const auto& [depth, share] : ordered) {
        seen += share;
        if (seen >= q * total - 1e-9) return depth;
    }
    return ordered.back().first;
}

}  // namespace iodiag::fio
