#include "trace/bpf_uring.hpp"

#include <time.h>

#include <algorithm>
#include <array>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>

#include <spdlog/spdlog.h>

#include "trace/bpf_attach.hpp"
#include "trace/kernel_ids.hpp"
#include "trace/open_flags.hpp"

#if IODIAG_HAVE_BPF
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "uring.h"
#include "uring.skel.h"
#endif

namespace iodiag::trace {

// ---------------------------------------------------------------------------------------------
// SubmitOrder

void SubmitOrder::add(uint64_t seq, const AsyncRequest& request, uint64_t now_ns, std::vector<AsyncRequest>& out) {
    hold(seq, Held{request, now_ns, true}, out);
}

void SubmitOrder::pass(uint64_t seq, uint64_t now_ns, std::vector<AsyncRequest>& out) {
    hold(seq, Held{AsyncRequest{}, now_ns, false}, out);
}

void SubmitOrder::hold(uint64_t seq, Held held, std::vector<AsyncRequest>& out) {
    if (seq < next_) {
        ++late_;
        if (held.deliver) out.push_back(held.request);
        return;
    }
    held_.try_emplace(seq, std::move(held));
    release_ready(out);
    while (held_.size() > limits_.max_held) skip_gap(out);
}

void SubmitOrder::expire(uint64_t now_ns, std::vector<AsyncRequest>& out) {
    // The first held request waits only for the gap before it; once that is too old, give up.
    while (!held_.empty() && now_ns - std::min(now_ns, held_.begin()->second.arrived_ns) >= limits_.max_wait_ns)
        skip_gap(out);
}

void SubmitOrder::flush(std::vector<AsyncRequest>& out) {
    while (!held_.empty()) skip_gap(out);
}

void SubmitOrder::release_ready(std::vector<AsyncRequest>& out) {
    while (!held_.empty() && held_.begin()->first == next_) {
        if (held_.begin()->second.deliver) out.push_back(held_.begin()->second.request);
        held_.erase(held_.begin());
        ++next_;
    }
}

void SubmitOrder::skip_gap(std::vector<AsyncRequest>& out) {
    if (held_.empty()) return;
    skipped_ += held_.begin()->first - next_;
    next_ = held_.begin()->first;
    release_ready(out);
}

// ---------------------------------------------------------------------------------------------
// ReapTimes

void ReapTimes::add(const AsyncRequest& request, uint64_t now_ns, std::vector<AsyncRequest>& out) {
    if (request.submit_ns > batch_ns_) {  // a new submit batch: its head says which CQEs were taken
        batch_ns_ = request.submit_ns;
        for (Waiting& w : waiting_)
            if (!w.known && static_cast<int32_t>(request.cq_head - w.request.cqe_end) >= 0) {
                w.request.reaped_ns = request.submit_ns;
                w.known = true;
            }
    }
    // Still in flight at the end, or behind the order: no later batch can tell.
    bool known = request.complete_ns == 0 || request.submit_ns < batch_ns_;
    waiting_.push_back({request, now_ns, known});
    release(out);
    while (waiting_.size() > limits_.max_held) give_up_front(out);
}

void ReapTimes::expire(uint64_t now_ns, std::vector<AsyncRequest>& out) {
    while (!waiting_.empty() && now_ns - std::min(now_ns, waiting_.front().arrived_ns) >= limits_.max_wait_ns)
        give_up_front(out);
}

void ReapTimes::flush(std::vector<AsyncRequest>& out) {
    while (!waiting_.empty()) give_up_front(out);
}

void ReapTimes::release(std::vector<AsyncRequest>& out) {
    while (!waiting_.empty() && waiting_.front().known) {
        out.push_back(waiting_.front().request);
        waiting_.pop_front();
    }
}

void ReapTimes::give_up_front(std::vector<AsyncRequest>& out) {
    if (waiting_.empty()) return;
    if (!waiting_.front().known && waiting_.front().request.complete_ns) ++unseen_;
    waiting_.front().known = true;
    release(out);
}

#if IODIAG_HAVE_BPF

namespace {

static_assert(sizeof(iodiag_uring_req) == 104, "uring.h record layout changed: update both sides");
static_assert(sizeof(iodiag_uring_totals) % 8 == 0 && sizeof(iodiag_uring_totals) == (IODIAG_URING_MAX_OPCODES + 11) * 8,
              "uring.h totals are u64 counters only");

constexpr uint64_t kRescanNs = 100'000'000;  // at most one /proc scan per process per 100 ms

uint64_t monotonic_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);  // bpf_ktime_get_ns()'s clock
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// IORING_OP_* names (UAPI, stable), for the counts of opcodes the model does not use.
constexpr std::array<const char*, 63> kOpNames = {
    "NOP", "READV", "WRITEV", "FSYNC", "READ_FIXED", "WRITE_FIXED", "POLL_ADD", "POLL_REMOVE",
    "SYNC_FILE_RANGE", "SENDMSG", "RECVMSG", "TIMEOUT", "TIMEOUT_REMOVE", "ACCEPT", "ASYNC_CANCEL",
    "LINK_TIMEOUT", "CONNECT", "FALLOCATE", "OPENAT", "CLOSE", "FILES_UPDATE", "STATX", "READ", "WRITE",
    "FADVISE", "MADVISE", "SEND", "RECV", "OPENAT2", "EPOLL_CTL", "SPLICE", "PROVIDE_BUFFERS",
    "REMOVE_BUFFERS", "TEE", "SHUTDOWN", "RENAMEAT", "UNLINKAT", "MKDIRAT", "SYMLINKAT", "LINKAT",
    "MSG_RING", "FSETXATTR", "SETXATTR", "FGETXATTR", "GETXATTR", "SOCKET", "URING_CMD", "SEND_ZC",
    "SENDMSG_ZC", "READ_MULTISHOT", "WAITID", "FUTEX_WAIT", "FUTEX_WAKE", "FUTEX_WAITV",
    "FIXED_FD_INSTALL", "FTRUNCATE", "BIND", "LISTEN", "RECV_ZC", "EPOLL_WAIT", "READV_FIXED",
    "WRITEV_FIXED", "PIPE",
};

std::string op_name(size_t op) {
    return op < kOpNames.size() ? kOpNames[op] : "op " + std::to_string(op);
}

// The file behind a request: by inode (what the kernel saw at completion; also works for
// registered files) against the process's open fds, by fd when the request never got a file.
class FileResolver {
public:
    // {FileTable id, OpenFlag bits}; id 0 when the file cannot be named.
    std::pair<uint32_t, uint32_t> resolve(const iodiag_uring_req& r, FileTable& files, uint64_t now_ns) {
        uint32_t flags = r.ino ? open_flags_from_kernel(r.f_flags) : 0;
        uint32_t id = lookup(r);
        if (!id && now_ns - std::min(now_ns, last_scan_ns_[r.tgid]) >= kRescanNs) {
            scan(r.tgid, files);
            last_scan_ns_[r.tgid] = now_ns;
            id = lookup(r);
        }
        if (!id && r.fixed_file) id = files.intern("fixed file " + std::to_string(r.fd), FileKind::unknown);
        return {id, flags};
    }

private:
    struct Known {
        uint32_t dev = 0;
        uint32_t file_id = 0;
    };

    uint32_t lookup(const iodiag_uring_req& r) const {
        if (r.ino) {
            auto it = by_inode_.find({r.tgid, r.ino});
            if (it == by_inode_.end()) return 0;
            // btrfs reports a per-subvolume st_dev that differs from s_dev: the inode decides then.
            for (const Known& k : it->second)
                if (k.dev == r.dev) return k.file_id;
            return it->second.front().file_id;
        }
        if (r.fixed_file || r.fd < 0) return 0;
        auto it = by_fd_.find({r.tgid, r.fd});
        return it == by_fd_.end() ? 0 : it->second;
    }

    void scan(uint32_t tgid, FileTable& files) {
        for (const OpenFileId& f : open_file_ids(static_cast<int32_t>(tgid))) {
            if (f.kind != FileKind::regular && f.kind != FileKind::block) continue;
            uint32_t id = files.intern(f.path, f.kind);
            if (f.size && files.get(id).size == 0) files.get_mut(id).size = f.size;
            by_fd_[{tgid, f.fd}] = id;
            auto& known = by_inode_[{tgid, f.ino}];
            bool have = false;
            for (const Known& k : known) have |= k.file_id == id;
            if (!have) known.push_back({f.dev, id});
        }
    }

    std::map<std::pair<uint32_t, uint64_t>, std::vector<Known>> by_inode_;
    std::map<std::pair<uint32_t, int32_t>, uint32_t> by_fd_;
    std::unordered_map<uint32_t, uint64_t> last_scan_ns_;
};

}  // namespace

struct BpfUringTracer::Impl {
    iodiag_uring* skel = nullptr;
    ring_buffer* events = nullptr;
    BpfLinks links;
    bool loaded = false, detached = false, drained = false;

    struct RingInfo {
        uint32_t sq_entries = 0, flags = 0;
    };
    std::unordered_map<uint64_t, SubmitOrder> order;   // by ring
    std::unordered_map<uint64_t, ReapTimes> reaps;     // by ring, after `order`
    std::unordered_map<uint64_t, RingInfo> ring_info;
    std::set<std::pair<int32_t, uint64_t>> announced;  // (tid, ring) told to the sink
    FileResolver resolver;

    // Valid during poll().
    FileTable* files = nullptr;
    uint64_t now_ns = 0;
    std::vector<AsyncRequest> ordered;  // out of `order`, into `reaps`
    std::vector<AsyncRequest> ready;

    ~Impl() {
        links.destroy();
        if (events) ring_buffer__free(events);
        if (skel) iodiag_uring__destroy(skel);
    }

    static int on_record(void* self, void* data, size_t size) {
        if (size < sizeof(iodiag_uring_req)) return 0;
        static_cast<Impl*>(self)->take(*static_cast<const iodiag_uring_req*>(data));
        return 0;
    }

    void take(const iodiag_uring_req& r) {
        if (r.file_kind == IODIAG_URING_FILE_OTHER) {
            order[r.ring].pass(r.seq, now_ns, ordered);
            return;
        }
        AsyncRequest a;
        a.ctx = r.ring;
        a.tid = static_cast<int32_t>(r.tid);
        a.tgid = static_cast<int32_t>(r.tgid);
        a.opcode = r.opcode;
        a.dir = r.kind == IODIAG_URING_READ ? IoDir::read : r.kind == IODIAG_URING_WRITE ? IoDir::write : IoDir::none;
        a.is_flush = r.kind == IODIAG_URING_FLUSH;
        a.fd = r.fixed_file ? -1 : r.fd;
        std::tie(a.file_id, a.open_flags) = resolver.resolve(r, *files, now_ns);
        a.offset = a.is_flush ? 0 : r.offset;
        // readv/writev whose iovecs the kernel had not imported yet: what was done is what we know.
        a.bytes = r.bytes || a.is_flush ? r.bytes : static_cast<uint64_t>(std::max<int64_t>(r.res, 0));
        a.submit_ns = r.submit_ns;
        a.complete_ns = r.complete_ns;
        a.res = r.res;
        a.cq_head = r.cq_head;
        a.cqe_end = r.cqe_end;
        ring_info[r.ring] = {r.sq_entries, r.ring_flags};
        order[r.ring].add(r.seq, a, now_ns, ordered);
    }

    void reap_ordered() {
        for (const AsyncRequest& a : ordered) reaps[a.ctx].add(a, now_ns, ready);
        ordered.clear();
    }

    // Requests still in flight when tracing stopped: their place in the order, without completion.
    void drain_inflight() {
        int fd = bpf_map__fd(skel->maps.inflight);
        uint64_t key = 0, next = 0;
        void* prev = nullptr;
        iodiag_uring_req r{};
        while (bpf_map_get_next_key(fd, prev, &next) == 0) {
            key = next;
            prev = &key;
            if (bpf_map_lookup_elem(fd, &key, &r) == 0) {
                r.complete_ns = 0;
                r.res = 0;
                take(r);
            }
        }
    }

    uint64_t deliver(EventSink& sink) {
        uint64_t delivered = 0;
        for (const AsyncRequest& a : ready) {
            if (announced.emplace(a.tid, a.ctx).second) {
                const RingInfo& info = ring_info[a.ctx];
                IoEvent ring;
                ring.ts_ns = a.submit_ns;
                ring.tid = a.tid;
                ring.tgid = a.tgid;
                ring.kind = EventKind::uring_setup;
                ring.count = info.sq_entries;
                ring.flags = info.flags;
                ring.ctx = a.ctx;
                sink.on_event(ring);
                ++delivered;
            }
            sink.on_async(a);
            ++delivered;
        }
        ready.clear();
        return delivered;
    }

    iodiag_uring_totals read_totals() const {
        iodiag_uring_totals t{};
        if (skel && loaded) {
            if (auto ok = sum_percpu_u64(skel->maps.totals, reinterpret_cast<uint64_t*>(&t), sizeof t / 8); !ok)
                spdlog::debug("io_uring totals: {}", ok.error().message);
        }
        return t;
    }
};

BpfUringTracer::BpfUringTracer() : impl_(std::make_unique<Impl>()) {}
BpfUringTracer::~BpfUringTracer() { detach(); }

Status BpfUringTracer::load(const BpfTarget& target, const BpfFeatures& features) {
    if (impl_->skel) return fail(ErrorKind::internal, "io_uring tracer loaded twice");
    auto variant = pick_variant(features, name());
    if (!variant) return tl::unexpected(variant.error());
    route_libbpf_logs_to_spdlog();
    impl_->skel = iodiag_uring__open();
    if (!impl_->skel) return fail(ErrorKind::internal, "io_uring tracer: cannot open the BPF object");
    select_variant(impl_->skel->obj, *variant);
    if (auto ok = share_targets(impl_->skel->maps.targets, target); !ok) return ok;
    if (int err = iodiag_uring__load(impl_->skel)) return tl::unexpected(load_error(name(), err));
    impl_->loaded = true;
    if (auto ok = fill_own_targets(impl_->skel->maps.targets, target); !ok) return ok;
    impl_->events = ring_buffer__new(bpf_map__fd(impl_->skel->maps.events), &Impl::on_record, impl_.get(), nullptr);
    if (!impl_->events) return fail(ErrorKind::internal, "io_uring tracer: cannot set up the ring buffer");
    spdlog::debug("io_uring tracer loaded ({})", variant_name(*variant));
    return {};
}

Status BpfUringTracer::attach() {
    if (!impl_->loaded) return fail(ErrorKind::internal, "io_uring tracer: attach before load");
    return impl_->links.attach(impl_->skel->obj, name());
}

uint64_t BpfUringTracer::poll(EventSink& sink, FileTable& files) {
    Impl& impl = *impl_;
    if (!impl.events) return 0;
    impl.files = &files;
    impl.now_ns = monotonic_ns();
    ring_buffer__consume(impl.events);
    for (auto& [ring, order] : impl.order) order.expire(impl.now_ns, impl.ordered);
    impl.reap_ordered();
    for (auto& [ring, reaps] : impl.reaps) reaps.expire(impl.now_ns, impl.ready);
    if (impl.detached && !impl.drained) {
        impl.drain_inflight();
        for (auto& [ring, order] : impl.order) order.flush(impl.ordered);
        impl.reap_ordered();
        for (auto& [ring, reaps] : impl.reaps) reaps.flush(impl.ready);
        impl.drained = true;
    }
    uint64_t delivered = impl.deliver(sink);
    impl.files = nullptr;
    return delivered;
}

void BpfUringTracer::collect_totals(TracerTotals& totals) const {
    if (!impl_->loaded) return;
    const iodiag_uring_totals t = impl_->read_totals();
    UringTotals out;
    out.reads = t.reads;
    out.writes = t.writes;
    out.fsyncs = t.flushes;
    out.read_bytes = t.read_bytes;
    out.write_bytes = t.write_bytes;
    out.errors = t.errors;
    out.submit_batches = t.submit_batches;
    out.complete_batches = t.complete_batches;
    for (size_t op = 0; op < IODIAG_URING_MAX_OPCODES; ++op)
        if (t.opcodes[op]) out.submitted_by_opcode.emplace_back(op_name(op), t.opcodes[op]);
    out.not_files = t.not_files;
    out.untracked = t.untracked;
    out.dropped = t.dropped;
    for (const auto& [ring, order] : impl_->order) out.order_gaps_skipped += order.skipped(), out.late += order.late();
    for (const auto& [ring, reaps] : impl_->reaps) out.reap_unseen += reaps.unseen();
    totals.io_uring = std::move(out);
}

ProgramTime BpfUringTracer::program_time() const { return impl_->links.program_time(); }

uint64_t BpfUringTracer::dropped() const {
    const iodiag_uring_totals t = impl_->read_totals();
    return t.dropped + t.untracked;
}

void BpfUringTracer::detach() {
    impl_->links.destroy();
    if (impl_->loaded) impl_->detached = true;
}

#else  // !IODIAG_HAVE_BPF

struct BpfUringTracer::Impl {};
BpfUringTracer::BpfUringTracer() : impl_(std::make_unique<Impl>()) {}
BpfUringTracer::~BpfUringTracer() = default;
Status BpfUringTracer::load(const BpfTarget&, const BpfFeatures&) {
    return fail(ErrorKind::unsupported, "this iodiag was built without BPF support");
}
Status BpfUringTracer::attach() { return fail(ErrorKind::unsupported, "built without BPF support"); }
uint64_t BpfUringTracer::poll(EventSink&, FileTable&) { return 0; }
void BpfUringTracer::collect_totals(TracerTotals&) const {}
uint64_t BpfUringTracer::dropped() const { return 0; }
ProgramTime BpfUringTracer::program_time() const { return {}; }
void BpfUringTracer::detach() {}

#endif

}  // namespace iodiag::trace
