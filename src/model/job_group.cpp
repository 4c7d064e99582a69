#include "model/job_group.hpp"

#include <algorithm>
#include <set>

#include "model/fio_mapping.hpp"

namespace iodiag::model::classify {

namespace {

void add_direction(DirectionTotals& into, const DirectionTotals& from) {
    add_totals(into, from);
    into.latency_ns.merge(from.latency_ns);
}

void add_stream(GroupTotals& g, const StreamSummary& sum, const trace::FileTable& files) {
    const ThreadState& t = *sum.thread;
    add_direction(g.reads, sum.reads);
    add_direction(g.writes, sum.writes);
    g.read_pattern = add_patterns(g.read_pattern, merged_pattern(sum, IoDir::read));
    g.write_pattern = add_patterns(g.write_pattern, merged_pattern(sum, IoDir::write));
    g.fsyncs += sum.flushes.fsyncs;
    g.fdatasyncs += sum.flushes.fdatasyncs;
    g.sync_file_ranges += sum.flushes.sync_file_ranges;
    add_counts(g.writes_per_flush, sum.flushes.writes_per_flush);
    g.flush_latency_ns.merge(sum.flush_latency_ns);
    g.direct_ops += sum.direct_ops;
    g.sync_ops += sum.sync_ops;
    g.dsync_ops += sum.dsync_ops;
    add_counts(g.inflight, sum.inflight);
    add_counts(g.submit_batch, sum.submit_batch);
    add_counts(g.complete_batch, sum.complete_batch);
    add_counts(g.complete_min, sum.complete_min);
    add_counts(g.uring_submit, sum.uring_submit);
    add_counts(g.uring_batches, sum.uring_batches);
    for (size_t i = 1; i < kSyscallSlots; ++i)  // 0: events with no syscall behind them
        if (sum.syscalls[i]) g.syscalls[std::string(trace::syscall_name(static_cast<Syscall>(i)))] += sum.syscalls[i];
    g.idle_gap_ns.merge(sum.idle_gap_ns);
    g.busy_ns += sum.busy_ns;
    g.idle_ns += sum.idle_ns;
    g.shares_threads |= !sum.whole_thread;
    if (t.has_timing) {
        g.has_timing = true;
        g.first_ts = std::min(g.first_ts, t.first_ts);
        g.last_end = std::max(g.last_end, t.last_end);
        g.thread_active_ns += t.last_end - t.first_ts;
    }
    g.has_durations |= t.has_durations;
    g.uring_entries = std::max(g.uring_entries, t.uring_entries);
    g.uring_setup_flags |= t.uring_setup_flags;
    g.opened_read_only |= sum.opened_read_only;
    g.opened_writable |= sum.opened_writable;
    g.opened_direct |= sum.opened_direct;

    uint64_t thread_files = 0, thread_range = 0;
    auto use_file = [&](uint32_t id) -> FileUse& {
        FileUse& use = g.files[id];
        if (use.path.empty()) {
            const auto& info = files.get(id);
            use.path = id ? info.path : "(unknown file)";
            use.kind = info.kind == FileKind::block ? "block" : info.kind == FileKind::regular ? "regular" : "unknown";
            use.size = info.size;
        }
        return use;
    };
    for (const FileStream* s : sum.files) {
        if (s->ops == 0) continue;
        FileUse& use = use_file(s->file_id);
        use.ops += s->ops;
        use.bytes += s->bytes;
        ++thread_files;
        if (s->has_range) {
            thread_range += s->offset_max - s->offset_min;
            g.offset_min = std::min(g.offset_min, s->offset_min);
            g.offset_max = std::max(g.offset_max, s->offset_max);
        }
    }
    // io_uring via strace: no per-file ops, but the files the thread opened are its files.
    if (thread_files == 0) {
        for (uint32_t id : t.opened_read_only) use_file(id), ++thread_files;
        for (uint32_t id : t.opened_writable) use_file(id), ++thread_files;
    }
    g.files_per_thread.push_back(thread_files);
    g.range_per_thread.push_back(thread_range);
}

DirectionEvidence direction_evidence(const DirectionTotals& d, const PatternEvidence& pattern) {
    DirectionEvidence e;
    e.ops = d.ops;
    e.bytes = d.bytes;
    e.errors = d.errors;
    e.short_ops = d.short_ops;
    e.sizes = d.sizes;
    e.pattern = pattern;
    e.latency_us = d.latency_ns.summary(1000.0);
    return e;
}

Evidence evidence_of(const GroupTotals& g) {
    Evidence e;
    e.reads = direction_evidence(g.reads, g.read_pattern);
    e.writes = direction_evidence(g.writes, g.write_pattern);
    e.fsyncs = g.fsyncs;
    e.fdatasyncs = g.fdatasyncs;
    e.sync_file_ranges = g.sync_file_ranges;
    e.writes_per_flush = g.writes_per_flush;
    e.flush_latency_us = g.flush_latency_ns.summary(1000.0);
    e.syscalls = g.syscalls;
    e.direct_ops = g.direct_ops;
    e.sync_ops = g.sync_ops;
    e.dsync_ops = g.dsync_ops;
    e.inflight = g.inflight;
    e.submit_batch = g.submit_batch;
    add_counts(e.submit_batch, uring_submit_batches(g));
    e.complete_batch = g.complete_batch;
    e.complete_min = g.complete_min;
    e.idle_gap_us = g.idle_gap_ns.summary(1000.0);
    if (g.has_timing && g.last_end > g.first_ts) {
        double active_s = static_cast<double>(g.last_end - g.first_ts) / 1e9;
        e.active_seconds = active_s;
        e.iops = static_cast<double>(g.reads.ops + g.writes.ops) / active_s;
        e.bandwidth_bytes_s = static_cast<double>(g.reads.bytes + g.writes.bytes) / active_s;
        if (g.thread_active_ns)
            e.busy_fraction = std::min(1.0, static_cast<double>(g.busy_ns) / static_cast<double>(g.thread_active_ns));
    }
    if (g.offset_max) {
        e.offset_min = g.offset_min;
        e.offset_max = g.offset_max;
    }
    return e;
}

}  // namespace

const ValueCounts& uring_submit_batches(const GroupTotals& g) {
    return g.uring_batches.empty() ? g.uring_submit : g.uring_batches;
}

JobGroup build_group(const std::vector<const StreamProfile*>& members, const trace::FileTable& files,
                     const ClassifierOptions& options) {
    const StreamProfile& first = *members.front();
    GroupTotals g;
    JobGroup group;
    std::set<int32_t> threads, processes;
    for (const auto* m : members) {
        add_stream(g, *m->summary, files);
        threads.insert(m->summary->thread->tid);
        processes.insert(m->summary->thread->tgid);
    }
    group.threads.assign(threads.begin(), threads.end());
    group.processes.assign(processes.begin(), processes.end());
    for (auto& [id, use] : g.files) group.files.push_back(use);
    std::sort(group.files.begin(), group.files.end(),
              [](const FileUse& a, const FileUse& b) { return a.path < b.path; });
    group.engine = first.engine;
    group.evidence = evidence_of(g);

    bool uring_blind = first.engine == "io_uring" && g.reads.ops + g.writes.ops == 0;
    if (uring_blind) {
        describe_blind_uring(group, g, options);
    } else {
        uint64_t ops = g.reads.ops + g.writes.ops;
        double read_share = share(g.reads.ops, ops);
        group.direction = first.direction;
        group.pattern = pattern_name(add_patterns(g.read_pattern, g.write_pattern));
        fio_pattern_options(group, g, read_share);
    }
    // One job per thread: a thread's streams in one group (possible when profiles match only
    // the group's first member) are one job.
    fio_common_options(group, g, threads.size(), processes, options);
    group.name = group_name(group);
    return group;
}

}  // namespace iodiag::model::classify
