#include "trace/bpf_offcpu.hpp"

#include <algorithm>
#include <cstring>
#include <tuple>
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "trace/bpf_attach.hpp"
#include "trace/symbols.hpp"

#if IODIAG_HAVE_BPF
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "offcpu.h"
#include "offcpu.skel.h"
#endif

namespace iodiag::trace {

#if IODIAG_HAVE_BPF

namespace {

static_assert(sizeof(iodiag_offcpu_key) == 36, "offcpu.h key layout changed: update both sides");
static_assert(sizeof(iodiag_offcpu_value) == 16, "offcpu.h value layout changed: update both sides");
static_assert(sizeof(iodiag_offcpu_counters) == 5 * 8, "offcpu.h counters are 64-bit only");
static_assert(sizeof(iodiag_wakeup_key) == 60, "offcpu.h wakeup key layout changed: update both sides");
static_assert(sizeof(iodiag_wakeup_value) == 24, "offcpu.h wakeup value layout changed: update both sides");

constexpr auto kMapsRefresh = std::chrono::seconds(1);  // new libraries get names within a second

const char* state_name(uint8_t state) {
    switch (state) {
    case IODIAG_OFFCPU_PREEMPTED: return "preempted";
    case IODIAG_OFFCPU_SLEEPING: return "sleeping";
    case IODIAG_OFFCPU_DISK: return "disk";
    default: return "other";
    }
}

// Every entry of a BPF hash map, in no particular order.
template <typename Key, typename Value>
std::vector<std::pair<Key, Value>> read_hash_map(const bpf_map* map) {
    std::vector<std::pair<Key, Value>> out;
    const int fd = bpf_map__fd(map);
    Key key{}, next{};
    void* prev = nullptr;
    while (bpf_map_get_next_key(fd, prev, &next) == 0) {
        Value value{};
        if (bpf_map_lookup_elem(fd, &next, &value) == 0) out.emplace_back(next, value);
        key = next;
        prev = &key;
    }
    return out;
}

// The kernel stack is taken inside our own program: its first frames are the program and the
// tracepoint's machinery, not where the thread waits.
void drop_tracing_frames(std::vector<std::string>& frames) {
    size_t skip = 0;
    for (const auto& f : frames) {
        if (f.rfind("bpf_", 0) != 0 && f.rfind("__bpf_", 0) != 0 && f.rfind("__traceiter_", 0) != 0 &&
            f.rfind("__probestub_", 0) != 0)
            break;
        ++skip;
    }
    frames.erase(frames.begin(), frames.begin() + static_cast<std::ptrdiff_t>(skip));
}

}  // namespace

struct BpfOffcpuTracer::Impl {
    uint64_t min_ns = 1000;
    bool wakers = false;
    iodiag_offcpu* skel = nullptr;
    BpfLinks links;
    bool loaded = false;
    int32_t tgid = 0;
    // Per traced process, its mapped files, read while it runs (a process's map is gone with it).
    mutable std::map<int32_t, std::unique_ptr<ProcessSymbols>> processes;
    std::chrono::steady_clock::time_point next_refresh{};

    ~Impl() {
        links.destroy();
        if (skel) iodiag_offcpu__destroy(skel);
    }

    void refresh_maps() {
        for (int32_t pid : traced_processes(skel->maps.targets, tgid)) {
            auto& symbols = processes[pid];
            if (!symbols) symbols = std::make_unique<ProcessSymbols>(pid);
            else symbols->refresh();
        }
    }

    std::vector<std::string> frames(int32_t stack_id, bool user, int32_t pid, const KernelSymbols& kernel) const {
        std::vector<std::string> out;
        if (stack_id < 0) return out;
        uint64_t ips[IODIAG_OFFCPU_MAX_DEPTH] = {};
        if (bpf_map__lookup_elem(skel->maps.stacks, &stack_id, sizeof stack_id, ips, sizeof ips, 0) != 0) return out;
        const ProcessSymbols* symbols = nullptr;
        if (user) {
            auto it = processes.find(pid);
            if (it == processes.end()) it = processes.emplace(pid, std::make_unique<ProcessSymbols>(pid)).first;
            symbols = it->second.get();
        }
        for (uint64_t ip : ips) {
            if (!ip) break;
            std::string frame = user ? symbols->name(ip) : kernel.name(ip);
            // Programs built without frame pointers (most distributions' binaries) leave a user
            // stack that is only right up to the first frame no function claims; what follows
            // is stack contents read as return addresses.
            if (user && frame.rfind("0x", 0) == 0) {
                out.push_back("[...]");
                break;
            }
            out.push_back(std::move(frame));
        }
        if (!user) drop_tracing_frames(out);
        return out;
    }

    // Who woke the traced threads (and whom they woke), most waited time first, then most often.
    std::vector<WakeupTotals> wakeups(const KernelSymbols& kernel) const {
        auto entries = read_hash_map<iodiag_wakeup_key, iodiag_wakeup_value>(skel->maps.wakeups);
        std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
            return std::tie(a.second.waited_ns, a.second.count) > std::tie(b.second.waited_ns, b.second.count);
        });
        std::vector<WakeupTotals> out;
        for (const auto& [key, value] : entries) {
            const auto comm = [](const char* text) { return std::string(text, strnlen(text, IODIAG_OFFCPU_COMM_LEN)); };
            WakeupTotals w;
            w.woken = key.wakee_traced == 1;
            w.wakee_tgid = key.wakee_tgid;
            w.wakee_tid = key.wakee_tid;
            w.wakee_comm = comm(key.wakee_comm);
            w.waker_tgid = key.waker_tgid;
            w.waker_tid = key.waker_tid;
            w.waker_comm = comm(key.waker_comm);
            w.waited_ns = value.waited_ns;
            w.count = value.count;
            w.run_delay_ns = value.run_delay_ns;
            w.waker_kernel = frames(key.waker_kernel_stack, false, 0, kernel);
            w.waker_user = frames(key.waker_user_stack, true, static_cast<int32_t>(key.waker_tgid), kernel);
            out.push_back(std::move(w));
        }
        return out;
    }
};

BpfOffcpuTracer::BpfOffcpuTracer(uint64_t min_ns, bool wakers) : impl_(std::make_unique<Impl>()) {
    impl_->min_ns = min_ns;
    impl_->wakers = wakers;
}
BpfOffcpuTracer::~BpfOffcpuTracer() { detach(); }

Status BpfOffcpuTracer::load(const BpfTarget& target, const BpfFeatures& features) {
    if (impl_->skel) return fail(ErrorKind::internal, "offcpu tracer loaded twice");
    auto variant = pick_variant(features, name());
    if (!variant) return tl::unexpected(variant.error());
    if (*variant == BpfVariant::tracepoint)
        return fail(ErrorKind::unsupported, "offcpu tracer: needs tp_btf or raw_tp programs on sched_switch");
    route_libbpf_logs_to_spdlog();
    impl_->tgid = static_cast<int32_t>(target.tgid);
    impl_->skel = iodiag_offcpu__open();
    if (!impl_->skel) return fail(ErrorKind::internal, "offcpu tracer: cannot open the BPF object");
    impl_->skel->rodata->target_tgid = target.children ? 0 : target.tgid;
    impl_->skel->rodata->min_ns = impl_->min_ns;
    impl_->skel->rodata->track_wakers = impl_->wakers ? 1 : 0;
    select_variant(impl_->skel->obj, *variant);
    if (auto ok = share_targets(impl_->skel->maps.targets, target); !ok) return ok;
    if (int err = iodiag_offcpu__load(impl_->skel)) return tl::unexpected(load_error(name(), err));
    impl_->loaded = true;
    if (auto ok = fill_own_targets(impl_->skel->maps.targets, target); !ok) return ok;
    impl_->refresh_maps();
    impl_->next_refresh = std::chrono::steady_clock::now() + kMapsRefresh;
    spdlog::debug("offcpu tracer loaded ({})", variant_name(*variant));
    return {};
}

Status BpfOffcpuTracer::attach() {
    if (!impl_->loaded) return fail(ErrorKind::internal, "offcpu tracer: attach before load");
    return impl_->links.attach(impl_->skel->obj, name());
}

uint64_t BpfOffcpuTracer::poll(EventSink&, FileTable&) {
    if (!impl_->loaded) return 0;
    const auto now = std::chrono::steady_clock::now();
    if (now >= impl_->next_refresh) {
        impl_->refresh_maps();
        impl_->next_refresh = now + kMapsRefresh;
    }
    return 0;
}

void BpfOffcpuTracer::collect_totals(TracerTotals& totals) const {
    if (!impl_->loaded) return;
    iodiag_offcpu_counters c{};
    sum_percpu_u64(impl_->skel->maps.counters, reinterpret_cast<uint64_t*>(&c), 5);

    auto entries = read_hash_map<iodiag_offcpu_key, iodiag_offcpu_value>(impl_->skel->maps.offcpu);
    std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.second.total_ns > b.second.total_ns; });

    const KernelSymbols kernel;
    OffcpuTotals out;
    for (const auto& [key, value] : entries) {
        const auto pid = static_cast<int32_t>(key.tgid);
        OffcpuStackTotals stack;
        stack.tgid = key.tgid;
        stack.tid = key.tid;
        stack.comm = std::string(key.comm, strnlen(key.comm, sizeof key.comm));
        stack.state = state_name(key.state);
        stack.total_ns = value.total_ns;
        stack.count = value.count;
        stack.kernel = impl_->frames(key.kernel_stack, false, pid, kernel);
        stack.user = impl_->frames(key.user_stack, true, pid, kernel);
        out.stacks.push_back(std::move(stack));
    }
    out.switches = c.switches;
    out.too_short = c.too_short;
    out.lost = c.lost_starts + c.lost_stacks + c.lost_wakeups;
    out.kernel_symbols = kernel.size() > 0;
    if (impl_->wakers) out.wakeups = impl_->wakeups(kernel);
    totals.offcpu = std::move(out);
}

ProgramTime BpfOffcpuTracer::program_time() const { return impl_->links.program_time(); }

uint64_t BpfOffcpuTracer::dropped() const {
    if (!impl_->loaded) return 0;
    iodiag_offcpu_counters c{};
    if (!sum_percpu_u64(impl_->skel->maps.counters, reinterpret_cast<uint64_t*>(&c), 5)) return 0;
    return c.lost_starts + c.lost_stacks + c.lost_wakeups;
}

void BpfOffcpuTracer::detach() { impl_->links.destroy(); }

#else  // !IODIAG_HAVE_BPF

struct BpfOffcpuTracer::Impl {};
BpfOffcpuTracer::BpfOffcpuTracer(uint64_t, bool) : impl_(std::make_unique<Impl>()) {}
BpfOffcpuTracer::~BpfOffcpuTracer() = default;
Status BpfOffcpuTracer::load(const BpfTarget&, const BpfFeatures&) {
    return fail(ErrorKind::unsupported, "this iodiag was built without BPF support");
}
Status BpfOffcpuTracer::attach() { return fail(ErrorKind::unsupported, "built without BPF support"); }
uint64_t BpfOffcpuTracer::poll(EventSink&, FileTable&) { return 0; }
void BpfOffcpuTracer::collect_totals(TracerTotals&) const {}
uint64_t BpfOffcpuTracer::dropped() const { return 0; }
ProgramTime BpfOffcpuTracer::program_time() const { return {}; }
void BpfOffcpuTracer::detach() {}

#endif

}  // namespace iodiag::trace
