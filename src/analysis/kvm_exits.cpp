#include "analysis/kvm_exits.hpp"

#include <algorithm>
#include <charconv>
#include <vector>

namespace iodiag::analysis {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

// "reason X rip ..." (kvm_exit: X may hold spaces, "DE excp", "HLT FAILED_VMENTRY") or
// "reason KVM_EXIT_MMIO (6)" (kvm_userspace_exit).
std::string reason_of(std::string_view event, std::string_view body) {
    const auto at = body.find("reason ");
    if (at == std::string_view::npos) return {};
    std::string_view rest = body.substr(at + 7);
    const std::string_view end_marker = event == "kvm_exit" ? " rip " : " (";
    if (auto end = rest.find(end_marker); end != std::string_view::npos) rest = rest.substr(0, end);
    return std::string(trim(rest));
}

nlohmann::ordered_json ranked(const std::map<std::string, uint64_t>& counts, double seconds) {
    std::vector<std::pair<std::string, uint64_t>> rows(counts.begin(), counts.end());
    std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& [reason, count] : rows)
        out.push_back({{"reason", reason},
                       {"count", count},
                       {"per_s", seconds > 0 ? static_cast<double>(count) / seconds : 0.0}});
    return out;
}

}  // namespace

std::optional<KvmTraceLine> parse_kvm_trace_line(std::string_view line) {
    // "<comm>-<tid> [cpu] flags timestamp: event: body"; comm may hold spaces and dashes, so the
    // tid is the number before the last '-' ahead of " [".
    const auto cpu = line.find(" [");
    if (cpu == std::string_view::npos) return std::nullopt;
    const std::string_view task = trim(line.substr(0, cpu));
    const auto dash = task.rfind('-');
    if (dash == std::string_view::npos) return std::nullopt;
    KvmTraceLine out;
    const std::string_view tid = task.substr(dash + 1);
    if (std::from_chars(tid.data(), tid.data() + tid.size(), out.tid).ec != std::errc()) return std::nullopt;

    // The event is the word before ": " that starts with "kvm_", after the timestamp's ": ".
    const auto name_at = line.find(": kvm_", cpu);
    if (name_at == std::string_view::npos) return std::nullopt;
    std::string_view rest = line.substr(name_at + 2);
    const auto colon = rest.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    out.event = std::string(rest.substr(0, colon));
    if (out.event.find(' ') != std::string::npos) return std::nullopt;
    const std::string_view body = trim(rest.substr(colon + 1));
    if (out.event == "kvm_exit" || out.event == "kvm_userspace_exit") out.reason = reason_of(out.event, body);
    return out;
}

uint64_t lost_events(std::string_view line) {
    const auto at = line.find("[LOST ");
    if (at == std::string_view::npos) return 0;
    std::string_view n = line.substr(at + 6);
    uint64_t value = 0;
    std::from_chars(n.data(), n.data() + n.size(), value);
    return value;
}

void KvmExitCounts::add_line(std::string_view line) {
    if (const uint64_t lost = lost_events(line)) {
        lost_ += lost;
        return;
    }
    if (auto parsed = parse_kvm_trace_line(line)) add(*parsed);
}

void KvmExitCounts::add(const KvmTraceLine& line) {
    if (line.event == "kvm_exit") {
        ++exits_;
        ++exit_reasons_[line.reason.empty() ? "unknown" : line.reason];
        ++by_thread_[line.tid];
    } else if (line.event == "kvm_userspace_exit") {
        ++userspace_;
        ++userspace_reasons_[line.reason.empty() ? "unknown" : line.reason];
    } else if (line.event == "kvm_msi_set_irq") {
        ++msi_;
    }
}

nlohmann::ordered_json KvmExitCounts::to_json(double seconds) const {
    const auto rate = [seconds](uint64_t n) { return seconds > 0 ? static_cast<double>(n) / seconds : 0.0; };
    return {{"exits", exits_},
            {"exits_per_s", rate(exits_)},
            {"reasons", ranked(exit_reasons_, seconds)},
            {"userspace_exits", userspace_},
            {"userspace_reasons", ranked(userspace_reasons_, seconds)},
            {"interrupts", msi_},
            {"interrupts_per_s", rate(msi_)},
            {"lost", lost_}};
}

}  // namespace iodiag::analysis
