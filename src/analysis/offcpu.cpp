#include "analysis/offcpu.hpp"

#include <algorithm>
#include <map>
#include <tuple>

#include <fmt/format.h>

namespace iodiag::analysis {

Result<OffcpuReport> offcpu_from_json(const nlohmann::ordered_json& totals) {
    try {
        OffcpuReport report;
        report.switches = totals.value("switches", uint64_t{0});
        report.too_short = totals.value("too_short", uint64_t{0});
        report.lost = totals.value("lost", uint64_t{0});
        report.kernel_symbols = totals.value("kernel_symbols", true);
        for (const auto& s : totals.at("stacks")) {
            OffcpuStack stack;
            stack.tgid = s.at("tgid").get<uint32_t>();
            stack.tid = s.at("tid").get<uint32_t>();
            stack.comm = s.at("comm").get<std::string>();
            stack.state = s.at("state").get<std::string>();
            stack.total_ns = s.at("total_ns").get<uint64_t>();
            stack.count = s.at("count").get<uint64_t>();
            stack.kernel = s.at("kernel").get<std::vector<std::string>>();
            stack.user = s.at("user").get<std::vector<std::string>>();
            report.stacks.push_back(std::move(stack));
        }
        for (const auto& w : totals.value("wakeups", nlohmann::ordered_json::array())) {
            Wakeup wakeup;
            wakeup.woken = w.at("woken").get<bool>();
            wakeup.wakee_tgid = w.at("wakee_tgid").get<uint32_t>();
            wakeup.wakee_tid = w.at("wakee_tid").get<uint32_t>();
            wakeup.wakee_comm = w.at("wakee_comm").get<std::string>();
            wakeup.waker_tgid = w.at("waker_tgid").get<uint32_t>();
            wakeup.waker_tid = w.at("waker_tid").get<uint32_t>();
            wakeup.waker_comm = w.at("waker_comm").get<std::string>();
            wakeup.waited_ns = w.at("waited_ns").get<uint64_t>();
            wakeup.count = w.at("count").get<uint64_t>();
            wakeup.run_delay_ns = w.value("run_delay_ns", uint64_t{0});  // absent in older recordings
            wakeup.waker_kernel = w.at("waker_kernel").get<std::vector<std::string>>();
            wakeup.waker_user = w.at("waker_user").get<std::vector<std::string>>();
            report.wakeups.push_back(std::move(wakeup));
        }
        return report;
    } catch (const nlohmann::json::exception& e) {
        return fail(ErrorKind::internal, std::string("offcpu totals are not as expected: ") + e.what());
    }
}

namespace {

void most_time_first(std::vector<OffcpuStack>& stacks) {
    std::stable_sort(stacks.begin(), stacks.end(),
                     [](const OffcpuStack& a, const OffcpuStack& b) { return a.total_ns > b.total_ns; });
}

double seconds(uint64_t ns) { return static_cast<double>(ns) / 1e9; }

}  // namespace

std::vector<OffcpuStack> merge_threads(const std::vector<OffcpuStack>& stacks) {
    using Key = std::tuple<uint32_t, std::string, std::string, std::vector<std::string>, std::vector<std::string>>;
    std::map<Key, OffcpuStack> merged;
    for (const auto& s : stacks) {
        auto [it, fresh] = merged.try_emplace(Key{s.tgid, s.comm, s.state, s.kernel, s.user});
        OffcpuStack& m = it->second;
        if (fresh) {
            m = s;
            m.tid = 0;
            m.total_ns = 0;
            m.count = 0;
        }
        m.total_ns += s.total_ns;
        m.count += s.count;
    }
    std::vector<OffcpuStack> out;
    for (auto& [key, s] : merged) out.push_back(std::move(s));
    most_time_first(out);
    return out;
}

std::vector<OffcpuStack> in_state(const std::vector<OffcpuStack>& stacks, const std::string& state) {
    if (state == "all") return stacks;
    std::vector<OffcpuStack> out;
    std::copy_if(stacks.begin(), stacks.end(), std::back_inserter(out),
                 [&](const OffcpuStack& s) { return s.state == state; });
    return out;
}

std::string folded(const std::vector<OffcpuStack>& stacks) {
    std::string out;
    for (const auto& s : stacks) {
        std::string line = s.comm;
        for (auto it = s.user.rbegin(); it != s.user.rend(); ++it) line += ";" + *it;
        if (!s.user.empty() && !s.kernel.empty()) line += ";-";
        for (auto it = s.kernel.rbegin(); it != s.kernel.rend(); ++it) line += ";" + *it;
        out += fmt::format("{} {}\n", line, s.total_ns / 1000);
    }
    return out;
}

std::string render_top(const std::vector<OffcpuStack>& stacks, size_t top) {
    uint64_t all = 0;
    std::map<std::string, uint64_t> by_state;
    for (const auto& s : stacks) {
        all += s.total_ns;
        by_state[s.state] += s.total_ns;
    }
    std::string out = fmt::format("{:.3f} s off the CPU", seconds(all));
    std::string states;
    for (const auto& [state, ns] : by_state)
        states += fmt::format("{}{} {:.3f} s", states.empty() ? "" : ", ", state, seconds(ns));
    if (!states.empty()) out += " (" + states + ")";
    out += "\n";
    for (size_t i = 0; i < stacks.size() && i < top; ++i) {
        const auto& s = stacks[i];
        const double share = all ? 100.0 * static_cast<double>(s.total_ns) / static_cast<double>(all) : 0;
        out += fmt::format("\n#{}  {:.3f} s ({:.0f}%)  {}  {} [{}]{}  {} times, {:.1f} us each\n", i + 1,
                           seconds(s.total_ns), share, s.state, s.comm, s.tgid,
                           s.tid ? fmt::format(" thread {}", s.tid) : "", s.count,
                           s.count ? static_cast<double>(s.total_ns) / 1000.0 / static_cast<double>(s.count) : 0.0);
        for (const auto& frame : s.kernel) out += "    " + frame + "\n";
        if (!s.kernel.empty() && !s.user.empty()) out += "    --\n";
        for (const auto& frame : s.user) out += "    " + frame + "\n";
        if (s.kernel.empty() && s.user.empty()) out += "    (no stack)\n";
    }
    return out;
}

nlohmann::ordered_json to_json(const std::vector<OffcpuStack>& stacks) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& s : stacks) {
        nlohmann::ordered_json j = {{"pid", s.tgid}};
        if (s.tid) j["tid"] = s.tid;
        j["comm"] = s.comm;
        j["state"] = s.state;
        j["total_ms"] = static_cast<double>(s.total_ns) / 1e6;
        j["count"] = s.count;
        j["kernel"] = s.kernel;
        j["user"] = s.user;
        out.push_back(std::move(j));
    }
    return out;
}

std::vector<Wakeup> merge_threads(const std::vector<Wakeup>& wakeups) {
    using Key = std::tuple<bool, uint32_t, std::string, uint32_t, std::string, std::vector<std::string>,
                           std::vector<std::string>>;
    std::map<Key, Wakeup> merged;
    for (const auto& w : wakeups) {
        auto [it, fresh] = merged.try_emplace(
            Key{w.woken, w.wakee_tgid, w.wakee_comm, w.waker_tgid, w.waker_comm, w.waker_kernel, w.waker_user});
        Wakeup& m = it->second;
        if (fresh) {
            m = w;
            m.wakee_tid = m.waker_tid = 0;
            m.waited_ns = m.count = m.run_delay_ns = 0;
        }
        m.waited_ns += w.waited_ns;
        m.run_delay_ns += w.run_delay_ns;
        m.count += w.count;
    }
    std::vector<Wakeup> out;
    for (auto& [key, w] : merged) out.push_back(std::move(w));
    std::stable_sort(out.begin(), out.end(), [](const Wakeup& a, const Wakeup& b) {
        return std::tie(a.waited_ns, a.count) > std::tie(b.waited_ns, b.count);
    });
    return out;
}

namespace {

std::string who(uint32_t tgid, uint32_t tid, const std::string& comm) {
    return fmt::format("{} [{}{}]", comm, tgid, tid && tid != tgid ? fmt::format(" thread {}", tid) : "");
}

void append_frames(std::string& out, const std::vector<std::string>& kernel, const std::vector<std::string>& user) {
    for (const auto& frame : kernel) out += "    " + frame + "\n";
    if (!kernel.empty() && !user.empty()) out += "    --\n";
    for (const auto& frame : user) out += "    " + frame + "\n";
}

}  // namespace

std::string render_wakeups(const std::vector<Wakeup>& wakeups, size_t top) {
    std::string out = "who woke the target's threads (the time they had waited off the CPU):\n";
    size_t shown = 0;
    for (const auto& w : wakeups) {
        if (!w.woken || shown == top) continue;
        ++shown;
        const auto per_wakeup_us = [&](uint64_t ns) {
            return w.count ? static_cast<double>(ns) / 1000.0 / static_cast<double>(w.count) : 0.0;
        };
        out += fmt::format("\n#{}  {:.3f} s waited, {} wakeups, {:.1f} us each, {:.1f} us wake-to-run: {} woken by {}\n",
                           shown, seconds(w.waited_ns), w.count, per_wakeup_us(w.waited_ns),
                           per_wakeup_us(w.run_delay_ns),
                           who(w.wakee_tgid, w.wakee_tid, w.wakee_comm), who(w.waker_tgid, w.waker_tid, w.waker_comm));
        append_frames(out, w.waker_kernel, w.waker_user);
    }
    if (shown == 0) out += "  (none seen)\n";
    out += "\nwhom the target's threads woke:\n";
    shown = 0;
    for (const auto& w : wakeups) {
        if (w.woken || shown == top) continue;
        ++shown;
        out += fmt::format("  {} woke {}  {} times\n", who(w.waker_tgid, w.waker_tid, w.waker_comm),
                           who(w.wakee_tgid, w.wakee_tid, w.wakee_comm), w.count);
    }
    if (shown == 0) out += "  (none seen)\n";
    return out;
}

nlohmann::ordered_json to_json(const std::vector<Wakeup>& wakeups) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& w : wakeups) {
        nlohmann::ordered_json j = {{"woken", w.woken},
                                    {"wakee", {{"pid", w.wakee_tgid}, {"comm", w.wakee_comm}}},
                                    {"waker", {{"pid", w.waker_tgid}, {"comm", w.waker_comm}}},
                                    {"count", w.count}};
        if (w.wakee_tid) j["wakee"]["tid"] = w.wakee_tid;
        if (w.waker_tid) j["waker"]["tid"] = w.waker_tid;
        if (w.woken) {
            j["waited_ms"] = static_cast<double>(w.waited_ns) / 1e6;
            j["run_delay_ms"] = static_cast<double>(w.run_delay_ns) / 1e6;
        }
        j["waker_kernel"] = w.waker_kernel;
        j["waker_user"] = w.waker_user;
        out.push_back(std::move(j));
    }
    return out;
}

}  // namespace iodiag::analysis
