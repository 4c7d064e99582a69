#include "trace/bpf_block.hpp"

#include <sys/sysmacros.h>
#include <time.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <string>

#include <spdlog/spdlog.h>

#include "stack/stack_inspector.hpp"
#include "trace/bpf_attach.hpp"
#include "trace/kernel_ids.hpp"

#if IODIAG_HAVE_BPF
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "block.h"
#include "block.skel.h"
#endif

namespace iodiag::trace {

#if IODIAG_HAVE_BPF

namespace {

static_assert(sizeof(iodiag_block_rq) == 64, "block.h record layout changed: update both sides");
static_assert(sizeof(iodiag_block_totals) == 14 * 8, "block.h totals are 64-bit counters only");

// Look for newly opened files twice a second; ten times a second in a trace's first seconds, when
// a launched command opens its files (its first requests would be missed until then).
constexpr uint64_t kRescanNs = 500'000'000;
constexpr uint64_t kEarlyRescanNs = 100'000'000;
constexpr uint64_t kEarlyNs = 3'000'000'000;

uint64_t monotonic_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

BlockRequest to_request(const iodiag_block_rq& r) {
    BlockRequest b;
    b.dev = r.dev;
    b.tgid = static_cast<int32_t>(r.tgid);
    b.dir = r.op == IODIAG_BLOCK_READ ? IoDir::read : r.op == IODIAG_BLOCK_WRITE ? IoDir::write : IoDir::none;
    b.is_flush = r.op == IODIAG_BLOCK_FLUSH;
    b.sector = r.sector;
    b.bytes = r.bytes;
    b.insert_ns = r.insert_ns;
    b.issue_ns = r.issue_ns;
    b.complete_ns = r.complete_ns;
    b.in_device = r.in_device;
    b.error = r.error;
    return b;
}

}  // namespace

struct BpfBlockTracer::Impl {
    iodiag_block* skel = nullptr;
    ring_buffer* events = nullptr;
    BpfLinks links;
    bool loaded = false;
    int32_t tgid = 0;
    std::set<uint32_t> devices;
    std::map<uint32_t, std::vector<uint32_t>> anonymous;  // st_dev -> the devices `iodiag stack` finds
    uint64_t last_scan_ns = 0;
    uint64_t loaded_ns = 0;

    EventSink* sink = nullptr;  // valid during poll()
    uint64_t delivered = 0;

    ~Impl() {
        links.destroy();
        if (events) ring_buffer__free(events);
        if (skel) iodiag_block__destroy(skel);
    }

    static int on_record(void* self, void* data, size_t size) {
        if (size < sizeof(iodiag_block_rq)) return 0;
        auto* impl = static_cast<Impl*>(self);
        impl->sink->on_block(to_request(*static_cast<const iodiag_block_rq*>(data)));
        ++impl->delivered;
        return 0;
    }

    Status add(uint32_t dev) {
        auto disk = whole_disk(dev);
        if (!disk) return fail(ErrorKind::not_found, "no block device " + std::to_string(dev >> 20) + ":" +
                                                          std::to_string(dev & 0xfffff) + " in /sys/dev/block");
        if (devices.count(*disk)) return {};
        if (devices.size() >= IODIAG_BLOCK_MAX_DEVICES)
            return fail(ErrorKind::unsupported, "block tracer: more than " + std::to_string(IODIAG_BLOCK_MAX_DEVICES) +
                                                    " devices; the rest are not traced");
        iodiag_block_totals zero{};
        uint32_t key = *disk;
        if (bpf_map__update_elem(skel->maps.devices, &key, sizeof key, &zero, sizeof zero, BPF_NOEXIST) &&
            errno != EEXIST)
            return fail(ErrorKind::internal, std::string("block tracer: cannot add a device: ") + std::strerror(errno));
        devices.insert(*disk);
        spdlog::debug("block tracer: tracing {}", block_device_name(*disk));
        return {};
    }

    // The devices under an open file: the device itself for block device files; for files, their
    // st_dev when it is a block device, else (btrfs's anonymous device numbers, overlay's) the
    // devices its stack names, looked up once per st_dev. None for tmpfs, proc, network file systems.
    std::vector<uint32_t> devices_under(int32_t pid, const OpenFileId& f) {
        if (f.kind == FileKind::block) return {f.rdev};
        if (f.kind != FileKind::regular || f.dev == 0) return {};
        if (f.dev >> 20) return {f.dev};
        if (auto known = anonymous.find(f.dev); known != anonymous.end()) return known->second;
        auto stack = stack::StackInspector(stack::SysRoot("/")).inspect_fd(pid, f.fd);
        if (!stack) {  // closed meanwhile: asked again at the next scan
            spdlog::debug("block tracer: the devices under {}: {}", f.path, stack.error().message);
            return {};
        }
        std::vector<uint32_t>& found = anonymous[f.dev];
        for (const stack::DevNumber& dev : stack::holding_devices(*stack))
            found.push_back(kernel_dev(makedev(dev.major, dev.minor)));
        return found;
    }

    void scan() {
        // The traced processes: the shared targets map (the bpf source adds descendants there).
        for (int32_t pid : traced_processes(skel->maps.targets, tgid))
            for (const OpenFileId& f : open_file_ids(pid))
                for (uint32_t dev : devices_under(pid, f))
                    if (auto ok = add(dev); !ok) spdlog::debug("block tracer: {}", ok.error().message);
    }

    std::vector<std::pair<uint32_t, iodiag_block_totals>> read_totals() const {
        std::vector<std::pair<uint32_t, iodiag_block_totals>> out;
        if (!loaded) return out;
        for (uint32_t dev : devices) {
            iodiag_block_totals t{};
            if (bpf_map__lookup_elem(skel->maps.devices, &dev, sizeof dev, &t, sizeof t, 0) == 0)
                out.emplace_back(dev, t);
        }
        return out;
    }
};

BpfBlockTracer::BpfBlockTracer() : impl_(std::make_unique<Impl>()) {}
BpfBlockTracer::~BpfBlockTracer() { detach(); }

Status BpfBlockTracer::load(const BpfTarget& target, const BpfFeatures& features) {
    if (impl_->skel) return fail(ErrorKind::internal, "block tracer loaded twice");
    auto variant = pick_variant(features, name());
    if (!variant) return tl::unexpected(variant.error());
    route_libbpf_logs_to_spdlog();
    impl_->tgid = static_cast<int32_t>(target.tgid);
    impl_->skel = iodiag_block__open();
    if (!impl_->skel) return fail(ErrorKind::internal, "block tracer: cannot open the BPF object");
    select_variant(impl_->skel->obj, *variant);
    if (auto ok = share_targets(impl_->skel->maps.targets, target); !ok) return ok;
    if (int err = iodiag_block__load(impl_->skel)) return tl::unexpected(load_error(name(), err));
    impl_->loaded = true;
    if (auto ok = fill_own_targets(impl_->skel->maps.targets, target); !ok) return ok;
    impl_->events = ring_buffer__new(bpf_map__fd(impl_->skel->maps.events), &Impl::on_record, impl_.get(), nullptr);
    if (!impl_->events) return fail(ErrorKind::internal, "block tracer: cannot set up the ring buffer");
    impl_->scan();
    impl_->last_scan_ns = impl_->loaded_ns = monotonic_ns();
    spdlog::debug("block tracer loaded ({}), {} device(s)", variant_name(*variant), impl_->devices.size());
    return {};
}

Status BpfBlockTracer::attach() {
    if (!impl_->loaded) return fail(ErrorKind::internal, "block tracer: attach before load");
    return impl_->links.attach(impl_->skel->obj, name());
}

uint64_t BpfBlockTracer::poll(EventSink& sink, FileTable&) {
    Impl& impl = *impl_;
    if (!impl.events) return 0;
    if (impl.links.attached()) {
        uint64_t now = monotonic_ns();
        const uint64_t every = now - impl.loaded_ns < kEarlyNs ? kEarlyRescanNs : kRescanNs;
        if (now - impl.last_scan_ns >= every) {
            impl.scan();
            impl.last_scan_ns = now;
        }
    }
    impl.sink = &sink;
    impl.delivered = 0;
    ring_buffer__consume(impl.events);
    impl.sink = nullptr;
    return impl.delivered;
}

Status BpfBlockTracer::add_device(uint32_t dev) {
    if (!impl_->loaded) return fail(ErrorKind::internal, "block tracer: add_device before load");
    return impl_->add(dev);
}

std::vector<uint32_t> BpfBlockTracer::devices() const {
    return {impl_->devices.begin(), impl_->devices.end()};
}

void BpfBlockTracer::collect_totals(TracerTotals& totals) const {
    if (!impl_->loaded) return;
    std::vector<BlockDeviceTotals> out;
    for (const auto& [dev, t] : impl_->read_totals()) {
        BlockDeviceTotals d;
        d.name = block_device_name(dev);
        d.dev = std::to_string(dev >> 20) + ":" + std::to_string(dev & 0xfffff);
        d.requests = t.requests;
        d.reads = t.reads;
        d.writes = t.writes;
        d.flushes = t.flushes;
        d.discards = t.discards;
        d.others = t.others;
        d.read_bytes = t.read_bytes;
        d.write_bytes = t.write_bytes;
        d.attributed = t.attributed;
        d.errors = t.errors;
        d.untracked = t.untracked;
        d.dropped = t.dropped;
        d.missed_completions = t.missed;
        d.in_flight_at_end = t.in_flight;
        out.push_back(std::move(d));
    }
    totals.block = std::move(out);
}

ProgramTime BpfBlockTracer::program_time() const { return impl_->links.program_time(); }

uint64_t BpfBlockTracer::dropped() const {
    uint64_t lost = 0;
    for (const auto& [dev, t] : impl_->read_totals()) lost += t.dropped + t.untracked;  // missed completions are the kernel's, shown in the totals
    return lost;
}

void BpfBlockTracer::detach() {
    impl_->links.destroy();
}

#else  // !IODIAG_HAVE_BPF

struct BpfBlockTracer::Impl {};
BpfBlockTracer::BpfBlockTracer() : impl_(std::make_unique<Impl>()) {}
BpfBlockTracer::~BpfBlockTracer() = default;
Status BpfBlockTracer::load(const BpfTarget&, const BpfFeatures&) {
    return fail(ErrorKind::unsupported, "this iodiag was built without BPF support");
}
Status BpfBlockTracer::attach() { return fail(ErrorKind::unsupported, "built without BPF support"); }
uint64_t BpfBlockTracer::poll(EventSink&, FileTable&) { return 0; }
void BpfBlockTracer::collect_totals(TracerTotals&) const {}
uint64_t BpfBlockTracer::dropped() const { return 0; }
ProgramTime BpfBlockTracer::program_time() const { return {}; }
void BpfBlockTracer::detach() {}
Status BpfBlockTracer::add_device(uint32_t) { return fail(ErrorKind::unsupported, "built without BPF support"); }
std::vector<uint32_t> BpfBlockTracer::devices() const { return {}; }

#endif

}  // namespace iodiag::trace
