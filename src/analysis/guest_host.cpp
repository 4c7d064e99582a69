#include "analysis/guest_host.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <random>

#include <fmt/format.h>

namespace iodiag::analysis {
namespace {

std::string lower(std::string text) {
    for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
}

// fio's size syntax ("4k", "4KiB", "1m", "4096") in bytes, binary units; nullopt otherwise.
std::optional<uint64_t> size_bytes(const std::string& text) {
    std::string t = lower(text);
    size_t digits = 0;
    while (digits < t.size() && std::isdigit(static_cast<unsigned char>(t[digits]))) ++digits;
    if (digits == 0 || digits > 15) return std::nullopt;
    uint64_t value = std::stoull(t.substr(0, digits));
    std::string unit = t.substr(digits);
    if (!unit.empty() && unit.back() == 'b') unit.pop_back();
    if (!unit.empty() && unit.back() == 'i') unit.pop_back();
    if (unit.empty()) return value;
    if (unit.size() != 1) return std::nullopt;
    switch (unit[0]) {
        case 'k': return value << 10;
        case 'm': return value << 20;
        case 'g': return value << 30;
        case 't': return value << 40;
        default: return std::nullopt;
    }
}

std::string flag_value(const std::string& value) {
    std::string v = lower(value);
    if (v.empty() || v == "1" || v == "true" || v == "on" || v == "yes") return "1";
    if (v == "0" || v == "false" || v == "off" || v == "no" || v == "none") return "0";
    return v;
}

std::string format_us(double us) {
    if (std::fabs(us) >= 100) return fmt::format("{:.0f} us", us);
    return fmt::format("{:.1f} us", us);
}

std::string percent(double share) { return fmt::format("{:.0f}%", share * 100.0); }

constexpr double kQuantiles[] = {0.50, 0.90, 0.99, 0.999};

std::array<double, kStatCount> stats_of(const std::vector<double>& values, const std::vector<uint64_t>& counts) {
    std::array<double, kStatCount> out{};
    uint64_t total = 0;
    double sum = 0;
    for (size_t i = 0; i < values.size(); ++i) {
        total += counts[i];
        sum += values[i] * static_cast<double>(counts[i]);
    }
    if (total == 0) return out;
    out[0] = sum / static_cast<double>(total);
    size_t next = 0;
    uint64_t seen = 0;
    for (size_t i = 0; i < values.size() && next < std::size(kQuantiles); ++i) {
        seen += counts[i];
        while (next < std::size(kQuantiles) &&
               static_cast<double>(seen) >= kQuantiles[next] * static_cast<double>(total) - 1e-9)
            out[1 + next++] = values[i];
    }
    while (next < std::size(kQuantiles)) out[1 + next++] = values.back();
    return out;
}

// One multinomial resample of `counts` (as many draws as they hold) into `into`.
void resample(const std::vector<uint64_t>& counts, uint64_t total, std::mt19937_64& rng, std::vector<uint64_t>& into) {
    uint64_t left = total;
    uint64_t mass = total;
    for (size_t i = 0; i < counts.size(); ++i) {
        if (left == 0 || mass == 0) {
            into[i] = 0;
            continue;
        }
        if (i + 1 == counts.size() || counts[i] >= mass) {
            into[i] = left;
        } else {
            std::binomial_distribution<uint64_t> draw(left, static_cast<double>(counts[i]) / static_cast<double>(mass));
            into[i] = draw(rng);
        }
        left -= into[i];
        mass -= counts[i];
    }
}

bool is_sync_write(const std::map<std::string, std::string>& job) {
    auto get = [&](const char* key) {
        auto it = job.find(key);
        return it == job.end() ? std::string() : it->second;
    };
    std::string rw = get("rw");
    bool writes = rw == "write" || rw == "randwrite";
    bool synced = (!get("sync").empty() && get("sync") != "0") || (!get("fdatasync").empty() && get("fdatasync") != "0");
    return writes && synced && get("iodepth") == "1";
}

}  // namespace

std::map<std::string, std::string> normalize_job_options(const std::map<std::string, std::string>& raw) {
    auto get = [&](const char* key) -> std::optional<std::string> {
        auto it = raw.find(key);
        if (it == raw.end()) return std::nullopt;
        return it->second;
    };
    std::map<std::string, std::string> job;
    // rw (alias readwrite): fio's default is read; "randrw" and "readwrite" spellings.
    std::string rw = lower(get("rw").value_or(get("readwrite").value_or("read")));
    if (size_t colon = rw.find(':'); colon != std::string::npos) rw.resize(colon);
    if (rw == "readwrite") rw = "rw";
    if (rw == "randreadwrite") rw = "randrw";
    if (rw == "writes" || rw == "wr") rw = "write";
    job["rw"] = rw;
    // bs (alias blocksize): bytes when it is a plain size, else as given.
    std::string bs = get("bs").value_or(get("blocksize").value_or("4k"));
    if (auto bytes = size_bytes(bs)) job["bs"] = std::to_string(*bytes);
    else job["bs"] = lower(bs);
    // direct, or its inverse buffered.
    if (auto direct = get("direct")) job["direct"] = flag_value(*direct);
    else if (auto buffered = get("buffered")) job["direct"] = flag_value(*buffered) == "1" ? "0" : "1";
    else job["direct"] = "0";
    // sync: 0/none, 1/sync (O_SYNC), dsync (O_DSYNC).
    std::string sync = flag_value(get("sync").value_or("0"));
    if (sync == "sync") sync = "1";
    job["sync"] = sync;
    job["fdatasync"] = get("fdatasync").value_or("0");
    job["iodepth"] = get("iodepth").value_or("1");
    job["ioengine"] = lower(get("ioengine").value_or("psync"));
    return job;
}

std::vector<OptionMismatch> job_mismatches(const std::map<std::string, std::string>& guest,
                                           const std::map<std::string, std::string>& host) {
    std::vector<OptionMismatch> out;
    for (const char* name : kJobOptionNames) {
        auto g = guest.find(name);
        auto h = host.find(name);
        std::string gv = g == guest.end() ? "(unset)" : g->second;
        std::string hv = h == host.end() ? "(unset)" : h->second;
        if (gv != hv) out.push_back({name, gv, hv});
    }
    return out;
}

std::string describe_mismatches(const std::vector<OptionMismatch>& mismatches) {
    std::string text;
    for (const auto& m : mismatches)
        text += fmt::format("{}{} (guest {}, host {})", text.empty() ? "" : ", ", m.option, m.guest, m.host);
    return text;
}

std::array<double, kStatCount> bins_stats(const LatencyBins& bins) {
    std::vector<double> values;
    std::vector<uint64_t> counts;
    for (const auto& [value, count] : bins) {
        values.push_back(value);
        counts.push_back(count);
    }
    return stats_of(values, counts);
}

std::vector<Interval> bootstrap_differences(const LatencyBins& guest, const LatencyBins& host,
                                            const CompareSettings& settings) {
    struct Side {
        std::vector<double> values;
        std::vector<uint64_t> counts, drawn;
        uint64_t total = 0;
    };
    auto side_of = [](const LatencyBins& bins) {
        Side s;
        for (const auto& [value, count] : bins) {
            if (count == 0) continue;
            s.values.push_back(value);
            s.counts.push_back(count);
            s.total += count;
        }
        s.drawn.resize(s.counts.size());
        return s;
    };
    Side g = side_of(guest), h = side_of(host);
    if (g.total == 0 || h.total == 0 || settings.resamples < 2) return {};
    std::mt19937_64 rng(settings.seed);
    std::vector<std::vector<double>> diffs(kStatCount);
    for (auto& d : diffs) d.reserve(static_cast<size_t>(settings.resamples));
    for (int r = 0; r < settings.resamples; ++r) {
        resample(g.counts, g.total, rng, g.drawn);
        resample(h.counts, h.total, rng, h.drawn);
        auto gs = stats_of(g.values, g.drawn);
        auto hs = stats_of(h.values, h.drawn);
        for (size_t i = 0; i < kStatCount; ++i) diffs[i].push_back(gs[i] - hs[i]);
    }
    double tail = (1.0 - settings.level) / 2.0;
    std::vector<Interval> out;
    for (auto& d : diffs) {
        std::sort(d.begin(), d.end());
        auto at = [&](double q) {
            size_t index = static_cast<size_t>(std::floor(q * static_cast<double>(d.size() - 1) + 0.5));
            return d[std::min(index, d.size() - 1)];
        };
        out.push_back({at(tail), at(1.0 - tail)});
    }
    return out;
}

GuestHostComparison compare_guest_host(const LatencySide& guest, const LatencySide& host,
                                       const CompareSettings& settings) {
    GuestHostComparison c;
    c.world_switch = guest.probe == "syncwrite" || is_sync_write(guest.job);
    c.cost_name = c.world_switch ? "world switch cost" : "virtualisation cost per IO";
    c.guest_iops = guest.iops;
    c.host_iops = host.iops;
    if (host.iops > 0) c.iops_ratio = guest.iops / host.iops;

    std::vector<Interval> intervals;
    if (!guest.bins.empty() && !host.bins.empty()) intervals = bootstrap_differences(guest.bins, host.bins, settings);
    c.uncertainty_known = !intervals.empty();
    c.resamples = c.uncertainty_known ? settings.resamples : 0;
    c.level = settings.level;
    if (c.uncertainty_known) {
        c.uncertainty = fmt::format("{:.0f}% bootstrap interval: fio's json+ latency bins of both sides resampled {} times",
                                    settings.level * 100.0, settings.resamples);
    } else {
        std::string missing = guest.bins.empty() && host.bins.empty() ? "neither side has a"
                              : guest.bins.empty()                    ? "the guest's side has no"
                                                                      : "the host's side has no";
        c.uncertainty = "unknown: " + missing +
                        " latency histogram; run fio with --output-format=json+ (iodiag probe --json includes it), "
                        "or repeat each run a few times and compare the spread";
    }

    bool latency = guest.latency_known && host.latency_known;
    if (latency) {
        for (size_t i = 0; i < kStatCount; ++i) {
            StatDifference d;
            d.name = kStatNames[i];
            d.guest_us = guest.clat_us[i];
            d.host_us = host.clat_us[i];
            d.cost_us = d.guest_us - d.host_us;
            if (c.uncertainty_known) d.interval = intervals[i];
            c.stats.push_back(d);
        }
    }

    std::string verdict;
    if (!latency) {
        verdict = std::string("no completion latency on ") + (guest.latency_known ? "the host's" : "the guest's") +
                  " side: only the IOPS can be compared";
    } else {
        const StatDifference& mean = c.stats[0];
        const StatDifference& p50 = c.stats[1];
        if (p50.guest_us > 0) c.share_p50 = p50.cost_us / p50.guest_us;
        if (mean.guest_us > 0) c.share_mean = mean.cost_us / mean.guest_us;
        std::string layer = c.world_switch ? "the world switch (lat_vm - lat_host)" : "the virtualisation layer";
        if (p50.cost_us >= 0 && c.share_p50) {
            verdict = fmt::format("{} adds {} of the guest's median latency ({} of {})", layer, percent(*c.share_p50),
                                  format_us(p50.cost_us), format_us(p50.guest_us));
            if (c.share_mean && mean.cost_us >= 0)
                verdict += fmt::format(" and {} of its mean latency ({} of {})", percent(*c.share_mean),
                                       format_us(mean.cost_us), format_us(mean.guest_us));
            verdict += ".";
        } else {
            verdict = fmt::format("the guest's median latency is {} below the host's ({} vs {}): the two runs are not "
                                  "comparable; run the host side on the storage that holds the guest's image.",
                                  format_us(-p50.cost_us), format_us(p50.guest_us), format_us(p50.host_us));
        }
        if (p50.interval && p50.interval->low <= 0 && p50.interval->high >= 0)
            verdict += fmt::format(" The median difference is within the noise ({:.0f}% interval {:.1f} .. {:.1f} us).",
                                   c.level * 100.0, p50.interval->low, p50.interval->high);
    }
    if (c.iops_ratio)
        verdict += fmt::format("{}The guest reaches {} of the host's IOPS ({:.0f} vs {:.0f}).", verdict.empty() ? "" : " ",
                               percent(*c.iops_ratio), guest.iops, host.iops);
    c.verdict = verdict;
    return c;
}

}  // namespace iodiag::analysis
