#include "analysis/latency.hpp"

#include <algorithm>
#include <bit>

namespace iodiag::analysis {

std::string_view layer_name(LatencyLayer layer) {
    switch (layer) {
    case LatencyLayer::syscall: return "syscall";
    case LatencyLayer::async: return "async request";
    case LatencyLayer::block_queue: return "block queue (Q2D)";
    case LatencyLayer::block_device: return "block device (D2C)";
    }
    return "unknown";
}

const char* request_op(bool is_flush, trace::IoDir dir) {
    return is_flush ? "flush" : dir == trace::IoDir::read ? "read" : dir == trace::IoDir::write ? "write" : "other";
}

void AsyncEngines::observe(const trace::IoEvent& e) {
    using trace::EventKind;
    if (e.kind == EventKind::uring_setup || e.kind == EventKind::uring_enter) uring_processes_.insert(e.tgid);
    if (e.kind == EventKind::aio_setup || e.kind == EventKind::aio_submit) aio_processes_.insert(e.tgid);
}

std::string AsyncEngines::name(const trace::AsyncRequest& r) const {
    const bool uring = uring_processes_.count(r.tgid) > 0;
    const bool aio = aio_processes_.count(r.tgid) > 0;
    const std::string engine = uring && !aio ? "io_uring" : aio && !uring ? "libaio" : "async";
    return engine + " " + request_op(r.is_flush, r.dir);
}

LatencyStats::LatencyStats(std::function<std::string(uint32_t)> device_name)
    : devices_(std::move(device_name)) {}

void LatencyStats::Accumulator::add(uint64_t latency_ns, bool failed) {
    ns.record(latency_ns);
    total_ns += static_cast<long double>(latency_ns);
    if (failed) ++errors;
    const auto bucket = static_cast<size_t>(std::bit_width(latency_ns / 1000));
    ++log2_us[std::min(bucket, log2_us.size() - 1)];
}

LatencyStats::Accumulator& LatencyStats::row(LatencyLayer layer, const std::string& name) {
    return rows_[Key{layer, name}];
}

void LatencyStats::on_event(const trace::IoEvent& e) {
    using trace::EventKind;
    engines_.observe(e);
    // Calls that do no IO of their own (spawn, exit, dup, seeks) are not where IO time goes; a
    // source without durations (strace without -T) has nothing to give.
    switch (e.kind) {
    case EventKind::data:
    case EventKind::flush:
    case EventKind::open:
    case EventKind::close:
    case EventKind::aio_submit:
    case EventKind::aio_reap:
    case EventKind::uring_enter:
    case EventKind::mmap: break;
    default: return;
    }
    if (e.dur_ns == 0) return;
    // IO on pipes, sockets and pseudo files is someone else's latency.
    if (e.kind == EventKind::data && e.file_kind != trace::FileKind::regular &&
        e.file_kind != trace::FileKind::block && e.file_kind != trace::FileKind::unknown)
        return;
    row(LatencyLayer::syscall, std::string(trace::syscall_name(e.call))).add(e.dur_ns, e.failed());
}

void LatencyStats::on_async(const trace::AsyncRequest& r) {
    if (r.complete_ns == 0 || r.complete_ns < r.submit_ns) return;  // completion not seen
    row(LatencyLayer::async, engines_.name(r)).add(r.complete_ns - r.submit_ns, r.res < 0);
}

const std::string& DeviceNames::operator()(uint32_t dev) {
    auto it = names_.find(dev);
    if (it == names_.end()) it = names_.emplace(dev, name_of_(dev)).first;
    return it->second;
}

void LatencyStats::on_block(const trace::BlockRequest& r) {
    const std::string name = devices_(r.dev) + " " + request_op(r.is_flush, r.dir);
    if (r.insert_ns && r.issue_ns >= r.insert_ns)
        row(LatencyLayer::block_queue, name).add(r.issue_ns - r.insert_ns, false);
    if (r.issue_ns && r.complete_ns >= r.issue_ns)
        row(LatencyLayer::block_device, name).add(r.complete_ns - r.issue_ns, r.error != 0);
}

std::vector<LatencyRow> LatencyStats::rows() const {
    std::vector<LatencyRow> out;
    out.reserve(rows_.size());
    for (const auto& [key, acc] : rows_) {
        LatencyRow r;
        r.layer = std::get<0>(key);
        r.name = std::get<1>(key);
        r.errors = acc.errors;
        r.total_ns = static_cast<uint64_t>(acc.total_ns);
        r.us = acc.ns.summary(1000.0);
        r.log2_us = acc.log2_us;
        out.push_back(std::move(r));
    }
    std::stable_sort(out.begin(), out.end(), [](const LatencyRow& a, const LatencyRow& b) {
        if (a.layer != b.layer) return a.layer < b.layer;
        return a.total_ns > b.total_ns;
    });
    return out;
}

void LatencyStats::reset() { rows_.clear(); }

}  // namespace iodiag::analysis
