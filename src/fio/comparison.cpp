#include "fio/comparison.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "common/histogram.hpp"
#include "common/table.hpp"
#include "common/units.hpp"

namespace iodiag::fio {
namespace {

using model::JobGroup;

bool is_sync_engine(const std::string& engine) {
    return engine == "psync" || engine == "sync" || engine == "vsync" || engine == "pvsync" || engine == "pvsync2";
}

Metric metric(std::string name, std::string unit, std::optional<double> observed, std::optional<double> reproduced,
              const std::string& unknown_why = {}) {
    Metric m{std::move(name), std::move(unit), observed, reproduced, std::nullopt, {}, {}};
    if (observed && reproduced && *observed > 0) {
        m.relative = (*reproduced - *observed) / *observed;
        m.verdict = verdict_of(*m.relative);
    } else if (!observed) {
        m.verdict = "unknown";
        m.why = unknown_why.empty() ? std::string("not observed") : unknown_why;
    } else if (!reproduced) {
        m.verdict = "fio reported none";
    } else {
        m.verdict = *reproduced > 0 ? "observed none" : "both none";
    }
    return m;
}

std::string latency_unknown(const JobGroup& g) {
    auto it = g.unknown.find("latency");
    return it != g.unknown.end() ? it->second : "the trace has no per-IO latency for this group";
}

void latency_rows(GroupComparison& out, const JobGroup& g, const char* direction, const model::DirectionEvidence& seen,
                  const DirectionStats& fio_dir) {
    if (seen.ops == 0 && fio_dir.ios == 0) return;
    bool observed = seen.latency_us.count > 0;
    bool reproduced = fio_dir.clat_us.known;
    auto row = [&](const char* which, double obs, double rep) {
        out.metrics.push_back(metric(fmt::format("{} lat {}", direction, which), "us",
                                     observed ? std::optional<double>(obs) : std::nullopt,
                                     reproduced ? std::optional<double>(rep) : std::nullopt, latency_unknown(g)));
    };
    row("p50", seen.latency_us.p50, fio_dir.clat_us.p50);
    row("p99", seen.latency_us.p99, fio_dir.clat_us.p99);
    row("p99.9", seen.latency_us.p999, fio_dir.clat_us.p999);
}

// Depth in flight per job: from the trace for async engines, 1 for synchronous ones.
std::optional<double> observed_depth(const JobGroup& g, double q) {
    if (!g.evidence.inflight.empty()) return static_cast<double>(quantile_of(g.evidence.inflight, q));
    if (is_sync_engine(g.engine)) return 1.0;
    return std::nullopt;
}

void depth_rows(GroupComparison& out, const JobGroup& g, const JobStats& job) {
    for (auto [name, q] : {std::pair{"depth p50", 0.5}, std::pair{"depth p99", 0.99}}) {
        std::optional<double> reproduced;
        if (uint64_t d = depth_quantile(job.depth_levels, q)) reproduced = static_cast<double>(d);
        Metric m = metric(name, "", observed_depth(g, q), reproduced,
                          "strace cannot see how many io_uring requests are in flight");
        // fio logs depth in power-of-two buckets: a depth inside the bucket matches.
        if (m.observed && m.reproduced && *m.observed >= *m.reproduced && *m.observed < 2 * *m.reproduced)
            m.verdict = "matches";
        out.metrics.push_back(std::move(m));
    }
}

std::string group_verdict(const GroupComparison& c, const model::WorkloadModel& model) {
    const Metric* iops = c.find("IOPS");
    if (!iops || !iops->relative) return "no IOPS to compare";
    if (std::fabs(*iops->relative) <= kMatchTolerance)
        return fmt::format("faithful: IOPS within ±{:.0f}% of what was observed", kMatchTolerance * 100);
    double ratio = *iops->reproduced / *iops->observed;
    if (ratio > 1) {
        std::string text = fmt::format("reproduction {:.1f}x faster than observed", ratio);
        if (model.source.kind == "strace") text += " (expected: strace slowed the traced run)";
        return text;
    }
    return fmt::format("reproduction {:.1f}x slower than observed", 1 / ratio);
}

std::string value_cell(const Metric& m, const std::optional<double>& v) {
    if (!v) return "-";
    if (m.unit == "B/s") return human_bytes(static_cast<uint64_t>(std::llround(*v))) + "/s";
    if (m.unit == "us") return fmt::format("{:.1f} us", *v);
    return fmt::format("{:.0f}", *v);
}

model::ordered_json optional_json(const std::optional<double>& v) {
    return v ? model::ordered_json(*v) : model::ordered_json();
}

}  // namespace

const Metric* GroupComparison::find(const std::string& name) const {
    for (const auto& m : metrics)
        if (m.name == name) return &m;
    return nullptr;
}

std::string verdict_of(double relative) {
    if (std::fabs(relative) <= kMatchTolerance) return "matches";
    double ratio = 1.0 + relative;
    if (ratio <= 0) return "none reproduced";
    return ratio > 1 ? fmt::format("{:.1f}x higher", ratio) : fmt::format("{:.1f}x lower", 1 / ratio);
}

Comparison compare(const model::WorkloadModel& model, const std::vector<std::string>& sections, const FioReport& report) {
    Comparison out;
    for (size_t i = 0; i < model.groups.size() && i < sections.size(); ++i) {
        const JobGroup& g = model.groups[i];
        GroupComparison c;
        c.group = g.name;
        c.section = sections[i];
        const JobStats* job = report.find(sections[i]);
        if (!job) {
            c.verdict = "fio reported no result for section " + sections[i];
            out.groups.push_back(std::move(c));
            continue;
        }
        const model::Evidence& e = g.evidence;
        bool has_rate = e.iops > 0;
        c.metrics.push_back(metric("IOPS", "", has_rate ? std::optional(e.iops) : std::nullopt, job->iops(),
                                   "the trace has no timestamps"));
        c.metrics.push_back(metric("bandwidth", "B/s", has_rate ? std::optional(e.bandwidth_bytes_s) : std::nullopt,
                                   job->bw_bytes(), "the trace has no timestamps"));
        latency_rows(c, g, "read", e.reads, job->read);
        latency_rows(c, g, "write", e.writes, job->write);
        if (e.flush_latency_us.count || job->syncs) {
            auto obs = [&](double v) { return e.flush_latency_us.count ? std::optional(v) : std::nullopt; };
            auto rep = [&](double v) { return job->sync_us.known ? std::optional(v) : std::nullopt; };
            c.metrics.push_back(metric("flush lat p50", "us", obs(e.flush_latency_us.p50), rep(job->sync_us.p50)));
            c.metrics.push_back(metric("flush lat p99", "us", obs(e.flush_latency_us.p99), rep(job->sync_us.p99)));
        }
        depth_rows(c, g, *job);
        c.verdict = group_verdict(c, model);
        out.groups.push_back(std::move(c));
    }
    if (model.source.kind == "strace")
        out.notes.push_back("observed figures were measured under strace, which adds tens of µs to every "
                            "system call: an untraced reproduction runs faster with lower latency; compare it "
                            "with an untraced run of the workload when you can");
    return out;
}

std::string render_comparison(const Comparison& comparison) {
    using Align = Table::Align;
    Table table({{"group", Align::left}, {"metric", Align::left}, {"observed", Align::right},
                 {"reproduced", Align::right}, {"diff", Align::right}, {"verdict", Align::left}});
    for (const auto& c : comparison.groups) {
        bool first = true;
        for (const auto& m : c.metrics) {
            std::string diff = m.relative ? fmt::format("{:+.0f}%", *m.relative * 100) : "-";
            table.add_row({first ? c.group : "", m.name, value_cell(m, m.observed), value_cell(m, m.reproduced), diff,
                           m.verdict});
            first = false;
        }
        if (c.metrics.empty()) table.add_row({c.group, "-", "-", "-", "-", c.verdict});
    }
    std::string text = table.render() + "\n";
    for (const auto& c : comparison.groups) {
        text += c.group + ": " + c.verdict + "\n";
        std::vector<std::string> reasons;  // each reason once, with the metrics it covers
        std::vector<std::string> metrics;
        for (const auto& m : c.metrics) {
            if (m.why.empty()) continue;
            auto it = std::find(reasons.begin(), reasons.end(), m.why);
            if (it == reasons.end()) {
                reasons.push_back(m.why);
                metrics.push_back(m.name);
            } else {
                metrics[static_cast<size_t>(it - reasons.begin())] += ", " + m.name;
            }
        }
        for (size_t i = 0; i < reasons.size(); ++i) text += "  unknown " + metrics[i] + ": " + reasons[i] + "\n";
    }
    for (const auto& note : comparison.notes) text += "note: " + note + "\n";
    return text;
}

model::ordered_json comparison_json(const Comparison& comparison) {
    model::ordered_json out;
    out["groups"] = model::ordered_json::array();
    for (const auto& c : comparison.groups) {
        model::ordered_json g;
        g["group"] = c.group;
        g["section"] = c.section;
        g["verdict"] = c.verdict;
        g["metrics"] = model::ordered_json::array();
        for (const auto& m : c.metrics)
            g["metrics"].push_back({{"metric", m.name},
                                    {"unit", m.unit},
                                    {"observed", optional_json(m.observed)},
                                    {"reproduced", optional_json(m.reproduced)},
                                    {"relative_difference", optional_json(m.relative)},
                                    {"verdict", m.verdict},
                                    {"why", m.why}});
        out["groups"].push_back(std::move(g));
    }
    out["notes"] = comparison.notes;
    return out;
}

}  // namespace iodiag::fio
