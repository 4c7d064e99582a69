#include "model/fio_mapping.hpp"

#include <algorithm>
#include <cmath>

#include "common/units.hpp"

namespace iodiag::model::classify {

namespace {

// fio's bssplit for one direction: "4k/60:64k/40" from sizes holding >= 1% of ops.
std::string bssplit_of(const ValueCounts& sizes) {
    uint64_t total = total_of(sizes);
    std::vector<std::pair<uint64_t, uint64_t>> kept;  // size, percent
    uint64_t kept_percent = 0;
    for (const auto& [size, count] : sizes) {
        auto percent = static_cast<uint64_t>(std::lround(100.0 * share(count, total)));
        if (percent >= 1) kept.emplace_back(size, percent), kept_percent += percent;
    }
    if (kept.empty()) return {};
    // Rounding can leave the sum off 100; give the difference to the biggest share.
    auto biggest = std::max_element(kept.begin(), kept.end(),
                                    [](const auto& a, const auto& b) { return a.second < b.second; });
    biggest->second = biggest->second + 100 - kept_percent;
    std::string text;
    for (const auto& [size, percent] : kept) {
        if (!text.empty()) text += ':';
        text += fio_size(size) + "/" + std::to_string(percent);
    }
    return text;
}

// Sets bs or bssplit: "bs": "4k" for one size, "bs": "4k,64k" for different read/write sizes,
// "bssplit" when no single size dominates.
void set_block_size(ordered_json& fio, const GroupTotals& g, const std::string& direction) {
    bool reads = direction != "write", writes = direction != "read";
    uint64_t rbs = reads ? dominant_size(g.reads.sizes) : 0;
    uint64_t wbs = writes ? dominant_size(g.writes.sizes) : 0;
    bool r_ok = !reads || rbs, w_ok = !writes || wbs;
    if (r_ok && w_ok) {
        if (reads && writes && rbs != wbs) fio["bs"] = fio_size(rbs) + "," + fio_size(wbs);
        else fio["bs"] = fio_size(reads ? rbs : wbs);
        return;
    }
    std::string rsplit = reads ? bssplit_of(g.reads.sizes) : "";
    std::string wsplit = writes ? bssplit_of(g.writes.sizes) : "";
    if (reads && writes) fio["bssplit"] = rsplit + "," + wsplit;
    else fio["bssplit"] = reads ? rsplit : wsplit;
}

uint64_t round_up(uint64_t value, uint64_t unit) { return unit ? (value + unit - 1) / unit * unit : value; }

std::string rw_value(const std::string& direction, const std::string& pattern, int64_t stride) {
    bool random = pattern == "random" || pattern == "mixed";
    std::string rw;
    if (direction == "read") rw = random ? "randread" : "read";
    else if (direction == "write") rw = random ? "randwrite" : "write";
    else rw = random ? "randrw" : "rw";
    if (pattern == "strided" && stride > 0) rw += ":" + fio_size(static_cast<uint64_t>(stride));
    return rw;
}

void flush_options(JobGroup& group, const GroupTotals& g) {
    uint64_t flushes = g.fsyncs + g.fdatasyncs + g.sync_file_ranges;
    if (flushes == 0 || g.writes.ops == 0) return;
    std::string call = g.fdatasyncs >= g.fsyncs ? "fdatasync" : "fsync";
    if (g.sync_file_ranges > g.fsyncs + g.fdatasyncs) call = "sync_file_range";
    uint64_t intervals = total_of(g.writes_per_flush);
    if (intervals >= 3) {
        uint64_t every = quantile_of(g.writes_per_flush, 0.5);
        if (call == "sync_file_range") group.fio["sync_file_range"] = "write:" + std::to_string(every);
        else group.fio[call] = every;
        uint64_t at_median = g.writes_per_flush.count(every) ? g.writes_per_flush.at(every) : 0;
        if (share(at_median, intervals) < 0.8)
            group.notes.push_back(call + " cadence is irregular; " + std::to_string(every) +
                                  " writes per flush is the median");
    } else {
        group.fio["end_fsync"] = 1;
        group.notes.push_back("only " + std::to_string(flushes) + " flush call(s) seen, after many writes: "
                              "modelled as a flush at the end (end_fsync)");
    }
}

void depth_options(JobGroup& group, const GroupTotals& g, const ClassifierOptions& options) {
    ordered_json& fio = group.fio;
    if (group.engine == "libaio") {
        fio["iodepth"] = std::max<uint64_t>(1, quantile_of(g.inflight, 0.99));
        fio["iodepth_batch_submit"] = std::max<uint64_t>(1, quantile_of(g.submit_batch, 0.5));
        // Unseen when completions are taken from the ring in user space (qemu): fio's default
        // then, as 0 would make fio poll.
        if (!g.complete_min.empty()) fio["iodepth_batch_complete_min"] = quantile_of(g.complete_min, 0.5);
        if (options.source_kind == "strace")
            group.unknown["latency"] = "strace cannot pair libaio completions with their requests; "
                                       "per-request latency needs --source bpf";
        // qemu takes completions from the aio ring in user space: only the bpf source reads it.
        if (g.complete_batch.empty() && !g.inflight.empty())
            group.notes.push_back("no completion was seen reaped (no io_getevents returned any): the application "
                                  "takes them from the aio ring in user space, which only --source bpf reads, "
                                  "so iodepth counts every request submitted and is an upper bound");
    } else if (group.engine == "io_uring") {
        if (!g.inflight.empty()) {
            fio["iodepth"] = std::max<uint64_t>(1, quantile_of(g.inflight, 0.99));
        } else if (g.uring_entries) {
            fio["iodepth"] = g.uring_entries;
            group.notes.push_back("iodepth is the io_uring ring size (" + std::to_string(g.uring_entries) +
                                  " entries), an upper bound: strace cannot see completions in the ring");
        }
        if (const ValueCounts& batches = uring_submit_batches(g); !batches.empty())
            fio["iodepth_batch_submit"] = quantile_of(batches, 0.5);
        if (!g.complete_min.empty()) fio["iodepth_batch_complete_min"] = quantile_of(g.complete_min, 0.5);
        if (g.uring_setup_flags & trace::kUringSetupSqpoll) fio["sqthread_poll"] = 1;
        if (g.uring_setup_flags & trace::kUringSetupIopoll) fio["hipri"] = 1;
    } else {
        fio["iodepth"] = 1;
    }
}

void size_options(JobGroup& group, const GroupTotals& g) {
    ordered_json& fio = group.fio;
    uint64_t nrfiles = g.files_per_thread.empty()
                           ? 0
                           : *std::max_element(g.files_per_thread.begin(), g.files_per_thread.end());
    if (nrfiles > 1) fio["nrfiles"] = nrfiles;
    uint64_t range = g.range_per_thread.empty()
                         ? 0
                         : *std::max_element(g.range_per_thread.begin(), g.range_per_thread.end());
    if (range) {
        uint64_t offset = 0;
        if (group.files.size() == 1 && g.offset_min != UINT64_MAX) {
            // Random IO that never happened to hit the first blocks still covers the file
            // from its start: only a real gap before the range becomes fio's offset.
            offset = g.offset_min < g.offset_max / 64 ? 0 : g.offset_min / 4096 * 4096;
            range = g.offset_max - offset;
        }
        // Sizes read like a person wrote them: whole MiB once the range is large.
        uint64_t granule = range >= (16u << 20) ? (1u << 20) : 4096;
        fio["size"] = fio_size(round_up(range, granule));
        if (offset) fio["offset"] = fio_size(offset);
    } else {
        group.unknown["size"] = "no offsets were seen, so the range the workload touches is unknown";
    }
}

void rate_options(JobGroup& group, const GroupTotals& g, const ClassifierOptions& options) {
    if (!g.has_timing) {
        group.unknown["rate"] = "the trace has no timestamps (strace -tt or -ttt gives them)";
        return;
    }
    if (!g.has_durations) group.unknown["latency"] = "the trace has no syscall durations (strace -T gives them)";
    if (g.thread_active_ns == 0) return;
    double idle = static_cast<double>(g.idle_ns) / static_cast<double>(g.thread_active_ns);
    if (idle < 1.0 - options.saturated_busy_fraction) return;  // saturated: no rate limit
    uint64_t gap_us = static_cast<uint64_t>(g.idle_gap_ns.quantile(0.5) / 1000.0);
    double regular = g.idle_gap_ns.quantile(0.9) / std::max(1.0, g.idle_gap_ns.quantile(0.5));
    // fio thinks after every IO: that is the workload only when the typical IO is followed by an
    // idle gap (the median gap is long), not when a few long pauses (179 in 50000 IOs for qemu)
    // hold the idle time. Those are a lower average rate.
    const uint64_t ops = g.reads.ops + g.writes.ops;
    const bool typical = g.idle_gap_ns.count() * 2 >= ops;
    // A stream that shares its threads with others: the gaps between its IOs are the threads'
    // other streams at work, not think time. Each job runs at the stream's own average rate over
    // its thread's active time, beside the jobs of the thread's other streams.
    if (regular <= 3.0 && typical && !g.shares_threads) {
        group.fio["thinktime"] = gap_us;
        group.notes.push_back("not saturated: idle " + std::to_string(std::lround(idle * 100)) +
                              "% of the time, gaps of about " + std::to_string(gap_us) + " µs between IOs");
        return;
    }
    double per_job_iops = static_cast<double>(ops) / (static_cast<double>(g.thread_active_ns) / 1e9);
    group.fio["rate_iops"] = std::max<int64_t>(1, std::lround(per_job_iops));
    if (g.shares_threads)
        group.notes.push_back("its threads also feed other groups: each job paced at the group's own rate over its "
                              "thread's active time, idle " + std::to_string(std::lround(idle * 100)) + "% of it");
    else if (!typical)
        group.notes.push_back("not saturated: idle " + std::to_string(std::lround(idle * 100)) + "% of the time in " +
                              std::to_string(g.idle_gap_ns.count()) + " long pauses over " + std::to_string(ops) +
                              " IOs, not after each IO; modelled as a rate limit");
    else
        group.notes.push_back("not saturated: idle " + std::to_string(std::lround(idle * 100)) +
                              "% of the time at irregular gaps; modelled as a rate limit");
}

}  // namespace

void fio_pattern_options(JobGroup& group, const GroupTotals& g, double read_share) {
    ordered_json& fio = group.fio;
    PatternEvidence both = add_patterns(g.read_pattern, g.write_pattern);
    fio["rw"] = rw_value(group.direction, group.pattern, both.stride);
    if (group.direction == "readwrite") fio["rwmixread"] = std::lround(read_share * 100);
    if (group.pattern == "mixed")
        fio["percentage_random"] = std::lround(100.0 * (1.0 - share(both.consecutive, both.ops)));
    if (group.pattern == "unknown")
        group.unknown["pattern"] = "no offsets were seen for this group's IO";
    set_block_size(fio, g, group.direction);
}

void describe_blind_uring(JobGroup& group, const GroupTotals& g, const ClassifierOptions& options) {
    const std::string why =
        options.source_kind == "bpf"
            ? "no io_uring requests were seen: the bpf source ran without its io_uring tracer "
              "(source.detail says why)"
            : options.source_kind + " cannot see the requests inside io_uring rings (opcode, offset, "
                                     "length); use --source bpf to see them";
    group.pattern = "unknown";
    group.unknown["rw"] = why;
    group.unknown["bs"] = why;
    group.unknown["pattern"] = why;
    group.unknown["latency"] = why;
    if (g.opened_read_only && !g.opened_writable) {
        group.direction = "read";
        group.notes.push_back("direction inferred: every file this group opened was opened read-only");
    } else {
        group.direction = "unknown";
    }
}

void fio_common_options(JobGroup& group, const GroupTotals& g, size_t jobs,
                        const std::set<int32_t>& processes, const ClassifierOptions& options) {
    ordered_json& fio = group.fio;
    uint64_t ops = g.reads.ops + g.writes.ops;
    bool blind = ops == 0;
    fio["ioengine"] = group.engine;
    // Blind io_uring: the files' open flags still tell O_DIRECT.
    if (blind) fio["direct"] = g.opened_direct ? 1 : 0;
    else fio["direct"] = share(g.direct_ops, ops) >= 0.5 ? 1 : 0;
    if (share(g.sync_ops, g.writes.ops) >= 0.5) fio["sync"] = "sync";
    else if (share(g.dsync_ops, g.writes.ops) >= 0.5) fio["sync"] = "dsync";
    flush_options(group, g);
    depth_options(group, g, options);
    fio["numjobs"] = jobs;
    if (jobs > 1 && processes.size() == 1 && *processes.begin() != 0) fio["thread"] = 1;
    size_options(group, g);
    rate_options(group, g, options);
}

std::string group_name(const JobGroup& group) {
    std::string name;
    if (group.fio.contains("rw")) name = group.fio["rw"].get<std::string>();
    else name = group.direction == "unknown" ? "io" : group.direction;
    auto colon = name.find(':');
    if (colon != std::string::npos) name = name.substr(0, colon) + "-strided";
    if (group.fio.contains("bs")) name += "-" + group.fio["bs"].get<std::string>();
    name += "-" + group.engine;
    return name;
}

}  // namespace iodiag::model::classify
