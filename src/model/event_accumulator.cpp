#include "model/event_accumulator.hpp"

#include <algorithm>
#include <bit>

namespace iodiag::model::classify {

using trace::EventKind;
using trace::OffsetKind;

namespace {

// Distinct IO sizes kept exactly per direction; past this, sizes are rounded to a power of two
// so a pathological workload cannot grow memory with the trace.
constexpr size_t kMaxDistinctSizes = 512;

void bump_size(ValueCounts& sizes, uint64_t bytes) {
    if (sizes.size() >= kMaxDistinctSizes && !sizes.count(bytes))
        bytes = std::bit_ceil(std::max<uint64_t>(bytes, 1));
    ++sizes[bytes];
}

void count_flags(FileStream& s, uint32_t open_flags, uint32_t rwf_flags) {
    if (open_flags & trace::kOpenDirect) ++s.direct_ops;
    if (open_flags & trace::kOpenSync) ++s.sync_ops;
    else if ((open_flags & trace::kOpenDsync) || (rwf_flags & (trace::kRwfDsync | trace::kRwfSync)))
        ++s.dsync_ops;
}

}  // namespace

ThreadState& EventAccumulator::thread(int32_t tid, int32_t tgid) {
    if (last_ && last_->tid == tid) return *last_;
    auto [it, inserted] = threads_.try_emplace(tid);
    if (inserted) it->second.tid = tid;
    if (tgid) it->second.tgid = tgid;
    last_ = &it->second;  // unordered_map references stay valid across inserts
    return it->second;
}

void EventAccumulator::time_call(ThreadState& t, uint64_t ts, uint64_t dur) {
    if (ts == 0) return;
    if (!t.has_timing) {
        t.has_timing = true;
        t.first_ts = ts;
    } else if (ts > t.last_end) {
        uint64_t gap = ts - t.last_end;
        if (gap >= options_.min_idle_gap_ns) {
            t.idle_ns += gap;
            t.idle_gap_ns.record(gap);
        }
    }
    if (dur) t.has_durations = true;
    t.busy_ns += dur;
    t.last_end = std::max(t.last_end, ts + dur);
}

void EventAccumulator::on_data(ThreadState& t, const IoEvent& e) {
    FileStream& stream = t.stream(e.file_id);
    bool read = e.dir == IoDir::read;
    StreamTotals& totals = read ? stream.read_totals : stream.write_totals;
    if (e.failed()) {
        ++totals.errors;
        return;
    }
    ++(read ? t.read_ops : t.write_ops);
    ++totals.ops;
    totals.bytes += static_cast<uint64_t>(e.ret);
    if (static_cast<uint64_t>(e.ret) < e.bytes) ++totals.short_ops;
    bump_size(totals.sizes, e.bytes);
    if (e.dur_ns) {
        (read ? t.read_latency_ns : t.write_latency_ns).record(e.dur_ns);
        ++(read ? stream.read_latency_ns : stream.write_latency_ns)[coarse_ns(e.dur_ns)];
        stream.busy_ns += e.dur_ns;
    }
    count_flags(stream, e.open_flags, e.flags);
    if (auto slot = static_cast<size_t>(e.call) - static_cast<size_t>(Syscall::read); slot < kDataCalls)
        ++stream.calls[slot];
    ++stream.ops;
    stream.bytes += static_cast<uint64_t>(e.ret);
    if (e.dir == IoDir::write) ++stream.writes_since_flush;
    if (e.offset_kind != OffsetKind::unknown) {
        (read ? stream.reads : stream.writes).observe(e.offset, e.bytes, !read);
        stream.touch(e.offset, e.bytes);
    }
}

void EventAccumulator::on_flush(ThreadState& t, const IoEvent& e) {
    if (e.failed()) return;
    // The flush belongs to the file its fd names: a thread split into streams gives it to the
    // stream of that file (model/thread_summary.hpp).
    FileStream& stream = t.stream(e.file_id);
    t.flushes.add(e.call, stream.writes_since_flush);
    stream.flushes.add(e.call, stream.writes_since_flush);
    stream.writes_since_flush = 0;
    if (e.dur_ns) {
        t.flush_latency_ns.record(e.dur_ns);
        ++stream.flush_latency_ns[coarse_ns(e.dur_ns)];
        stream.busy_ns += e.dur_ns;
    }
}

// Completions taken from the aio ring in user space since the thread's last call on the ctx
// (bpf only): they left the application's depth before this call.
static void take_ring_reaped(ThreadState& t, AioContextState& ctx, const IoEvent& e) {
    if (!e.ring_reaped) return;
    ctx.inflight -= std::min<uint64_t>(ctx.inflight, e.ring_reaped);
    ++t.complete_batch[e.ring_reaped];
}

void EventAccumulator::on_aio_submit(ThreadState& t, const IoEvent& e) {
    auto& ctx = t.aio[e.ctx];
    take_ring_reaped(t, ctx, e);
    if (e.ret <= 0) return;
    auto accepted = static_cast<uint64_t>(e.ret);
    ctx.inflight += accepted;
    t.inflight[ctx.inflight] += accepted;
    ++t.submit_batch[accepted];
}

void EventAccumulator::on_aio_reap(ThreadState& t, const IoEvent& e) {
    auto& ctx = t.aio[e.ctx];
    take_ring_reaped(t, ctx, e);
    if (e.ret < 0) return;
    auto reaped = static_cast<uint64_t>(e.ret);
    ctx.inflight -= std::min(ctx.inflight, reaped);
    ++t.complete_batch[reaped];
    ++t.complete_min[e.count];
}

void EventAccumulator::on_uring_enter(ThreadState& t, const IoEvent& e) {
    ++t.uring_enters;
    if (e.count > 0 && e.ret > 0) ++t.uring_submit[static_cast<uint64_t>(e.ret)];
    // A wait for completions: min_complete is what fio calls iodepth_batch_complete_min.
    if ((e.flags & trace::kUringEnterGetevents) && e.count2 > 0) ++t.complete_min[e.count2];
}

void EventAccumulator::on_open(ThreadState& t, const IoEvent& e) {
    if (e.failed() || !(e.open_flags & trace::kOpenFlagsKnown) || !is_data_file(e.file_kind)) return;
    if (e.open_flags & trace::kOpenDirect) t.opened_direct = true;
    if (e.open_flags & trace::kOpenWrite) t.opened_writable.insert(e.file_id);
    else t.opened_read_only.insert(e.file_id);
}

void EventAccumulator::on_event(const IoEvent& e) {
    ThreadState& t = thread(e.tid, e.tgid);
    auto slot = static_cast<size_t>(e.call);
    if (slot < kSyscallSlots) ++t.syscalls[slot];
    switch (e.kind) {
    case EventKind::data:
    case EventKind::flush:
        if (!is_data_file(e.file_kind)) {
            ++ignored_["IO on pipes, sockets and pseudo files"];
            return;
        }
        if (e.file_id == 0 && e.fd <= 2) {
            ++ignored_["IO on stdin/stdout/stderr"];
            return;
        }
        ++io_events_;
        time_call(t, e.ts_ns, e.dur_ns);
        if (e.kind == EventKind::data) on_data(t, e);
        else on_flush(t, e);
        return;
    case EventKind::aio_submit:
        time_call(t, e.ts_ns, e.dur_ns);
        on_aio_submit(t, e);
        return;
    case EventKind::aio_reap:
        time_call(t, e.ts_ns, e.dur_ns);
        on_aio_reap(t, e);
        return;
    case EventKind::uring_setup:
        if (e.failed()) return;
        t.uring_entries = e.count;
        t.uring_setup_flags = e.flags;
        if (e.ctx) t.rings.try_emplace(e.ctx);
        return;
    case EventKind::uring_enter:
        time_call(t, e.ts_ns, e.dur_ns);
        on_uring_enter(t, e);
        return;
    case EventKind::open:
        on_open(t, e);
        return;
    case EventKind::mmap:
        if (!e.failed() && e.file_id) t.mmapped.insert(e.file_id);
        return;
    case EventKind::seek:
        // fio's sync engine (and many programs) seek before each read or write: that time is part
        // of doing IO, not think time. Seeks before the first IO are set-up, so they do not start
        // the thread's active time.
        if (t.has_timing && is_data_file(e.file_kind)) time_call(t, e.ts_ns, e.dur_ns);
        return;
    default:
        return;
    }
}

void EventAccumulator::on_async(const AsyncRequest& r) {
    ThreadState& t = thread(r.tid, r.tgid);
    ++io_events_;
    if (auto ring = t.rings.find(r.ctx); ring != t.rings.end()) {
        ++t.uring_requests;
        // Time in flight counts as busy, so idle gaps are the times nothing was in flight.
        if (ring->second.add(r, {t.inflight, t.uring_batches, t.complete_batch}) && r.submit_ns)
            time_call(t, r.submit_ns, r.complete_ns > r.submit_ns ? r.complete_ns - r.submit_ns : 0);
    } else {
        ++t.async_requests;
    }
    FileStream& stream = t.stream(r.file_id);
    if (r.is_flush) {
        t.flushes.add(Syscall::fdatasync, stream.writes_since_flush);
        stream.flushes.add(Syscall::fdatasync, stream.writes_since_flush);
        stream.writes_since_flush = 0;
        return;
    }
    if (r.dir == IoDir::none) return;
    bool read = r.dir == IoDir::read;
    StreamTotals& totals = read ? stream.read_totals : stream.write_totals;
    ++(read ? t.read_ops : t.write_ops);
    ++totals.ops;
    totals.bytes += r.bytes;
    bump_size(totals.sizes, r.bytes);
    if (r.complete_ns > r.submit_ns)
        (read ? t.read_latency_ns : t.write_latency_ns).record(r.complete_ns - r.submit_ns);
    count_flags(stream, r.open_flags, 0);
    ++stream.ops;
    stream.bytes += r.bytes;
    if (r.dir == IoDir::write) ++stream.writes_since_flush;
    (read ? stream.reads : stream.writes).observe(r.offset, r.bytes, !read);
    stream.touch(r.offset, r.bytes);
}

}  // namespace iodiag::model::classify
