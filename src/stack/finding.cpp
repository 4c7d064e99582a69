#include "stack/finding.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace iodiag::stack {
namespace {

// A workload counts as busy from this rate on: below it one thread keeps up with any placement.
constexpr double kBusyIops = 1000.0;
constexpr double kBusyFraction = 0.5;   // or when its threads spend half the time in IO calls
constexpr double kWriteHeavyShare = 0.5;

}  // namespace

std::string_view severity_name(Severity severity) {
    switch (severity) {
        case Severity::info: return "info";
        case Severity::warning: return "warning";
        case Severity::critical: return "critical";
    }
    return "info";
}

nlohmann::ordered_json to_json(const Finding& finding) {
    nlohmann::ordered_json evidence = nlohmann::ordered_json::object();
    for (const auto& [key, value] : finding.evidence) evidence[key] = value;
    return {{"id", finding.id},
            {"severity", std::string(severity_name(finding.severity))},
            {"title", finding.title},
            {"why", finding.why},
            {"note_section", finding.note_section},
            {"evidence", std::move(evidence)}};
}

nlohmann::ordered_json to_json(const std::vector<Finding>& findings) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& finding : findings) out.push_back(to_json(finding));
    return out;
}

std::string render_text(const std::vector<Finding>& findings) {
    if (findings.empty()) return "findings: none\n";
    std::string out = fmt::format("findings ({}):\n", findings.size());
    for (const auto& f : findings) {
        out += fmt::format("  [{}] {}  ({})\n", severity_name(f.severity), f.title, f.id);
        out += fmt::format("      why: {}\n", f.why);
        std::string evidence;
        for (const auto& [key, value] : f.evidence) evidence += (evidence.empty() ? "" : ", ") + key + "=" + value;
        if (!evidence.empty()) out += "      evidence: " + evidence + "\n";
        out += fmt::format("      note: {}\n", f.note_section);
    }
    return out;
}

WorkloadHint workload_hint(const model::WorkloadModel& model) {
    WorkloadHint hint;
    double iops = 0;
    double busy_fraction = 0;
    uint64_t read_bytes = 0, write_bytes = 0, syncs = 0;
    for (const auto& group : model.groups) {
        const auto& e = group.evidence;
        iops += e.iops;
        busy_fraction = std::max(busy_fraction, e.busy_fraction);
        read_bytes += e.reads.bytes;
        write_bytes += e.writes.bytes;
        syncs += e.fsyncs + e.fdatasyncs + e.sync_ops + e.dsync_ops;
    }
    hint.busy = iops >= kBusyIops || busy_fraction >= kBusyFraction;
    if (read_bytes + write_bytes)
        hint.write_heavy = static_cast<double>(write_bytes) >=
                           kWriteHeavyShare * static_cast<double>(read_bytes + write_bytes);
    hint.sync_writes = syncs > 0;
    hint.source = "model of pid " + std::to_string(model.target.pid) +
                  (model.target.comm.empty() ? "" : " (" + model.target.comm + ")");
    return hint;
}

}  // namespace iodiag::stack
