#include "analysis/slow_ops.hpp"

namespace iodiag::analysis {

SlowOps::SlowOps(uint64_t min_latency_ns, const trace::FileTable& files,
                 std::function<std::string(uint32_t)> device_name, std::function<void(const SlowOp&)> on_slow)
    : min_latency_ns_(min_latency_ns),
      files_(files),
      devices_(std::move(device_name)),
      on_slow_(std::move(on_slow)) {}

bool SlowOps::counts_as_slow(LatencyLayer layer, uint64_t latency_ns) {
    SlowCounts& c = counts_[layer];
    ++c.seen;
    if (latency_ns < min_latency_ns_) return false;
    ++c.slow;
    return true;
}

std::string SlowOps::path(uint32_t file_id) const {
    if (file_id == 0 || file_id >= files_.size()) return "?";
    return files_.get(file_id).path;
}

void SlowOps::on_event(const trace::IoEvent& e) {
    using trace::EventKind;
    engines_.observe(e);
    // The calls that wait for IO; io_getevents and io_uring_enter wait for requests, which are
    // listed themselves.
    if (e.kind != EventKind::data && e.kind != EventKind::flush && e.kind != EventKind::open) return;
    if (e.dur_ns == 0) return;  // no duration from this source
    if (e.kind == EventKind::data && e.file_kind != trace::FileKind::regular &&
        e.file_kind != trace::FileKind::block && e.file_kind != trace::FileKind::unknown)
        return;  // pipes, sockets and pseudo files wait for someone else
    if (!counts_as_slow(LatencyLayer::syscall, e.dur_ns)) return;
    SlowOp op;
    op.start_ns = e.ts_ns;
    op.tgid = e.tgid;
    op.tid = e.tid;
    op.layer = LatencyLayer::syscall;
    op.op = std::string(trace::syscall_name(e.call));
    op.file = path(e.file_id);
    op.has_offset = e.kind != EventKind::open && e.offset_kind == trace::OffsetKind::absolute;
    op.offset = e.offset;
    op.bytes = e.kind == EventKind::open ? 0 : e.bytes;
    op.latency_ns = e.dur_ns;
    op.result = e.ret;
    on_slow_(op);
}

void SlowOps::on_async(const trace::AsyncRequest& r) {
    if (r.complete_ns == 0 || r.complete_ns < r.submit_ns) return;
    const uint64_t latency = r.complete_ns - r.submit_ns;
    if (!counts_as_slow(LatencyLayer::async, latency)) return;
    SlowOp op;
    op.start_ns = r.submit_ns;
    op.tgid = r.tgid;
    op.tid = r.tid;
    op.layer = LatencyLayer::async;
    op.op = engines_.name(r);
    op.file = path(r.file_id);
    op.has_offset = !r.is_flush;
    op.offset = r.offset;
    op.bytes = r.bytes;
    op.latency_ns = latency;
    op.result = r.res;
    on_slow_(op);
}

void SlowOps::on_block(const trace::BlockRequest& r) {
    const uint64_t start = r.insert_ns ? r.insert_ns : r.issue_ns;
    if (start == 0 || r.complete_ns < start) return;
    const uint64_t latency = r.complete_ns - start;
    if (!counts_as_slow(LatencyLayer::block_device, latency)) return;
    SlowOp op;
    op.start_ns = start;
    op.tgid = r.tgid;
    op.layer = LatencyLayer::block_device;
    op.file = devices_(r.dev);
    op.op = op.file + " " + request_op(r.is_flush, r.dir);
    op.has_offset = !r.is_flush;
    op.offset = r.sector * 512;
    op.bytes = r.bytes;
    op.latency_ns = latency;
    op.queue_ns = r.insert_ns && r.issue_ns >= r.insert_ns ? r.issue_ns - r.insert_ns : 0;
    op.result = r.error;
    on_slow_(op);
}

}  // namespace iodiag::analysis
