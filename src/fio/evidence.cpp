#include "fio/evidence.hpp"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "common/histogram.hpp"
#include "common/units.hpp"

namespace iodiag::fio {
namespace {

using model::DirectionEvidence;
using model::JobGroup;
using model::PatternEvidence;
using model::ValueCounts;

double share(uint64_t part, uint64_t whole) {
    return whole ? static_cast<double>(part) / static_cast<double>(whole) : 0.0;
}

std::string count_word(uint64_t n, std::string_view one, std::string_view many) {
    return fmt::format("{} {}", n, n == 1 ? one : many);
}

// "98.7% of writes consecutive" for each direction that has offsets.
std::string pattern_text(const JobGroup& g) {
    std::vector<std::string> parts;
    auto add = [&](const DirectionEvidence& d, std::string_view what) {
        const PatternEvidence& p = d.pattern;
        if (p.ops == 0) return;
        std::string text = percent(share(p.consecutive, p.ops)) + " of " + std::string(what) + " consecutive";
        if (g.pattern == "strided" && p.stride > 0)
            text += ", " + percent(share(p.strided, p.ops)) + " " + fio_size(static_cast<uint64_t>(p.stride)) +
                    " apart";
        parts.push_back(text);
    };
    add(g.evidence.reads, "reads");
    add(g.evidence.writes, "writes");
    std::string text;
    for (const auto& p : parts) text += (text.empty() ? "" : "; ") + p;
    return text;
}

std::string direction_text(const JobGroup& g) {
    uint64_t reads = g.evidence.reads.ops, writes = g.evidence.writes.ops;
    if (reads && writes)
        return fmt::format("{} reads, {} writes ({} reads)", reads, writes, percent(share(reads, reads + writes)));
    return reads ? count_word(reads, "read", "reads") : count_word(writes, "write", "writes");
}

// "all 4325 reads 8k" / "99.1% of reads 4k".
std::string size_text(const DirectionEvidence& d, std::string_view what) {
    if (d.sizes.empty()) return {};
    auto top = std::max_element(d.sizes.begin(), d.sizes.end(),
                                [](const auto& a, const auto& b) { return a.second < b.second; });
    uint64_t total = total_of(d.sizes);
    if (top->second == total) return fmt::format("all {} {} {}", total, what, fio_size(top->first));
    return fmt::format("{} of {} {}", percent(share(top->second, total)), what, fio_size(top->first));
}

std::string sizes_text(const JobGroup& g) {
    std::string r = size_text(g.evidence.reads, "reads"), w = size_text(g.evidence.writes, "writes");
    if (!r.empty() && !w.empty()) return r + "; " + w;
    return r.empty() ? w : r;
}

std::string distribution_text(std::string_view what, const ValueCounts& counts) {
    return fmt::format("{}: p50 {}, p99 {} ({} samples)", what, quantile_of(counts, 0.5), quantile_of(counts, 0.99),
                       total_of(counts));
}

std::string engine_text(const JobGroup& g) {
    static constexpr std::string_view io_calls[] = {
        "read",     "write",    "pread64",  "pwrite64",     "readv",          "writev",
        "preadv",   "pwritev",  "preadv2",  "pwritev2",     "io_submit",      "io_getevents",
        "io_pgetevents", "io_uring_setup", "io_uring_enter",
    };
    std::vector<std::pair<std::string, uint64_t>> seen;
    for (const auto& [name, calls] : g.evidence.syscalls)
        if (std::find(std::begin(io_calls), std::end(io_calls), name) != std::end(io_calls)) seen.emplace_back(name, calls);
    std::sort(seen.begin(), seen.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    if (seen.empty()) return "the engine the model names";
    std::string text = "calls: ";
    for (size_t i = 0; i < seen.size() && i < 3; ++i)
        text += fmt::format("{}{} ×{}", i ? ", " : "", seen[i].first, seen[i].second);
    return text;
}

std::string flush_text(const JobGroup& g, std::string_view call) {
    uint64_t calls = call == "fsync" ? g.evidence.fsyncs
                     : call == "fdatasync" ? g.evidence.fdatasyncs
                                           : g.evidence.sync_file_ranges;
    std::string text = fmt::format("{} {} calls; median {} writes between flushes", calls, call,
                                   quantile_of(g.evidence.writes_per_flush, 0.5));
    if (g.evidence.flush_latency_us.count)
        text += fmt::format("; flush latency p50 {:.0f} µs", g.evidence.flush_latency_us.p50);
    return text;
}

std::string threads_text(const JobGroup& g) {
    std::string text = count_word(g.threads.size(), "thread", "threads") + " (tid";
    for (size_t i = 0; i < g.threads.size() && i < 4; ++i) text += (i ? ", " : " ") + std::to_string(g.threads[i]);
    if (g.threads.size() > 4) text += ", ...";
    text += ")";
    size_t processes = std::count_if(g.processes.begin(), g.processes.end(), [](int32_t p) { return p != 0; });
    if (processes > 1) text += " in " + std::to_string(processes) + " processes";
    return text;
}

}  // namespace

std::string percent(double value) {
    double pct = value * 100.0;
    if (pct <= 0.0) return "0%";
    if (pct >= 100.0) return "100%";
    if (pct > 99.95) return "99.9%";  // never round a part up to the whole
    return fmt::format("{:.1f}%", pct);
}

std::string evidence_for(const JobGroup& g, std::string_view key) {
    const model::Evidence& e = g.evidence;
    uint64_t ops = e.reads.ops + e.writes.ops;
    if (key == "rw") {
        std::string pattern = pattern_text(g);
        return direction_text(g) + (pattern.empty() ? "" : "; " + pattern);
    }
    if (key == "rwmixread") return direction_text(g);
    if (key == "percentage_random") {
        PatternEvidence p = e.reads.pattern;
        p.ops += e.writes.pattern.ops;
        p.consecutive += e.writes.pattern.consecutive;
        return percent(1.0 - share(p.consecutive, p.ops)) + " of ops did not follow on from the previous one";
    }
    if (key == "bs" || key == "bssplit") return sizes_text(g);
    if (key == "ioengine") return engine_text(g);
    if (key == "direct") {
        if (ops == 0) return "the files were opened with" + std::string(e.direct_ops ? "" : "out") + " O_DIRECT";
        return fmt::format("{} of {} ops on O_DIRECT fds", e.direct_ops, ops);
    }
    if (key == "sync") {
        bool full = e.sync_ops >= e.dsync_ops;
        return fmt::format("{} of {} writes on {} fds", full ? e.sync_ops : e.dsync_ops, e.writes.ops,
                           full ? "O_SYNC" : "O_DSYNC (or RWF_DSYNC)");
    }
    if (key == "fsync" || key == "fdatasync") return flush_text(g, key);
    if (key == "sync_file_range") return flush_text(g, "sync_file_range");
    if (key == "end_fsync") return fmt::format("{} flush call(s) in all", e.fsyncs + e.fdatasyncs + e.sync_file_ranges);
    if (key == "iodepth") {
        if (!e.inflight.empty()) return distribution_text("in flight", e.inflight);
        if (g.engine == "io_uring") return "the io_uring ring size: an upper bound (completions are not visible)";
        return "one call at a time per thread (" + g.engine + " is synchronous)";
    }
    if (key == "iodepth_batch_submit") return distribution_text("requests per submit call", e.submit_batch);
    if (key == "iodepth_batch_complete_min") return distribution_text("completions asked per reap", e.complete_min);
    if (key == "numjobs") return threads_text(g);
    if (key == "thread") return "the threads share one process";
    if (key == "nrfiles") return fmt::format("each thread used up to this many of the group's {} files", g.files.size());
    if (key == "size")
        return fmt::format("IO between offsets {} and {}", human_bytes(e.offset_min), human_bytes(e.offset_max));
    if (key == "offset") return "lowest offset touched: " + human_bytes(e.offset_min);
    if (key == "thinktime")
        return fmt::format("idle gaps between IOs: p50 {:.0f} µs, p90 {:.0f} µs; busy {}", e.idle_gap_us.p50,
                           e.idle_gap_us.p90, percent(e.busy_fraction));
    if (key == "rate_iops")
        return fmt::format("{:.0f} IOPS observed across {}; busy {}", e.iops,
                           count_word(g.threads.size(), "thread", "threads"), percent(e.busy_fraction));
    if (key == "sqthread_poll") return "io_uring set up with IORING_SETUP_SQPOLL";
    if (key == "hipri") return "io_uring set up with IORING_SETUP_IOPOLL";
    if (key == "random_distribution") return "access was skewed toward some offsets";
    return "from the model";
}

}  // namespace iodiag::fio
