#include "analysis/latency_output.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "common/table.hpp"

namespace iodiag::analysis {

nlohmann::ordered_json to_json(const LatencyRow& row) {
    nlohmann::ordered_json log2 = nlohmann::ordered_json::object();
    for (size_t k = 0; k < row.log2_us.size(); ++k)
        if (row.log2_us[k]) log2[std::to_string(k == 0 ? 0 : uint64_t{1} << (k - 1))] = row.log2_us[k];
    return {{"layer", std::string(layer_name(row.layer))},
            {"name", row.name},
            {"count", row.us.count},
            {"errors", row.errors},
            {"total_ms", static_cast<double>(row.total_ns) / 1e6},
            {"us",
             {{"min", row.us.min}, {"mean", row.us.mean}, {"p50", row.us.p50}, {"p90", row.us.p90},
              {"p99", row.us.p99}, {"p999", row.us.p999}, {"max", row.us.max}}},
            {"log2_us", std::move(log2)}};
}

nlohmann::ordered_json to_json(const std::vector<LatencyRow>& rows) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& row : rows) out.push_back(to_json(row));
    return out;
}

namespace {

std::string us_cell(double us) {
    return us >= 100 ? fmt::format("{:.0f}", us) : us >= 10 ? fmt::format("{:.1f}", us) : fmt::format("{:.2f}", us);
}

}  // namespace

std::string render_table(const std::vector<LatencyRow>& rows) {
    using Align = Table::Align;
    Table table({{"layer", Align::left},      {"what", Align::left},     {"count", Align::right},
                 {"errors", Align::right},    {"total ms", Align::right}, {"time%", Align::right},
                 {"avg us", Align::right},    {"p50 us", Align::right},  {"p90 us", Align::right},
                 {"p99 us", Align::right},    {"max us", Align::right}});
    std::map<LatencyLayer, long double> layer_total;
    for (const auto& row : rows) layer_total[row.layer] += static_cast<long double>(row.total_ns);
    for (const auto& row : rows) {
        const long double whole = layer_total[row.layer];
        const double share = whole > 0 ? static_cast<double>(100.0L * row.total_ns / whole) : 0.0;
        table.add_row({std::string(layer_name(row.layer)), row.name, std::to_string(row.us.count),
                       std::to_string(row.errors), fmt::format("{:.1f}", static_cast<double>(row.total_ns) / 1e6),
                       fmt::format("{:.0f}", share), us_cell(row.us.mean), us_cell(row.us.p50),
                       us_cell(row.us.p90), us_cell(row.us.p99), us_cell(row.us.max)});
    }
    return table.render();
}

std::string render_histogram(const LatencyRow& row) {
    constexpr int kBarWidth = 40;
    const auto& b = row.log2_us;
    size_t first = 0, last = 0;
    bool any = false;
    uint64_t peak = 0;
    for (size_t k = 0; k < b.size(); ++k) {
        if (!b[k]) continue;
        if (!any) first = k;
        any = true;
        last = k;
        peak = std::max(peak, b[k]);
    }
    std::string out = fmt::format("{} {} ({} in total)\n{:>23} : {:<10} distribution\n", layer_name(row.layer),
                                  row.name, row.us.count, "usecs", "count");
    if (!any) return out;
    for (size_t k = first; k <= last; ++k) {
        const uint64_t low = k == 0 ? 0 : uint64_t{1} << (k - 1);
        const uint64_t high = (uint64_t{1} << k) - 1;
        const auto stars = static_cast<int>(peak ? b[k] * kBarWidth / peak : 0);
        out += fmt::format("{:>10} -> {:<10} : {:<10} |{:<{}}|\n", low, high, b[k], std::string(stars, '*'),
                           kBarWidth);
    }
    return out;
}

}  // namespace iodiag::analysis
