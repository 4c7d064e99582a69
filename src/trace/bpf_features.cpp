#include "trace/bpf_features.hpp"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>

#include <spdlog/spdlog.h>

#include "feature_probe.h"

#if IODIAG_HAVE_BPF
#include <bpf/libbpf.h>

#include "feature_probe.skel.h"
#endif

namespace iodiag::trace {

namespace {

// Per BpfVariant, in its order: its name, its probe bit, its BpfFeatures flag.
struct VariantInfo {
    std::string_view name;
    uint32_t attach_bit;
    bool BpfFeatures::*flag;
};
constexpr VariantInfo kVariantInfo[] = {
    {"tp_btf", IODIAG_ATTACH_TP_BTF, &BpfFeatures::tp_btf},
    {"raw_tp", IODIAG_ATTACH_RAW_TP, &BpfFeatures::raw_tp},
    {"tracepoint", IODIAG_ATTACH_TRACEPOINT, &BpfFeatures::tracepoint},
};

const VariantInfo& info(BpfVariant variant) { return kVariantInfo[static_cast<size_t>(variant)]; }

}  // namespace

std::string_view variant_name(BpfVariant variant) { return info(variant).name; }

bool BpfFeatures::has(BpfVariant variant) const { return this->*info(variant).flag; }

bool BpfFeatures::probed_variant(BpfVariant variant) const { return (probed & info(variant).attach_bit) != 0; }

BpfFeatures BpfFeatures::only(BpfVariant variant) const {
    BpfFeatures one = *this;
    for (const VariantInfo& v : kVariantInfo) one.*v.flag = false;
    one.*info(variant).flag = true;
    one.probed |= info(variant).attach_bit;
    return one;
}

std::string BpfFeatures::summary() const {
    std::string have, lack, unknown;
    auto add = [&](bool ok, uint32_t bit, const char* name) {
        std::string& list = ok ? have : (probed & bit) ? lack : unknown;
        list += list.empty() ? name : std::string(" ") + name;
    };
    add(tp_btf, IODIAG_ATTACH_TP_BTF, "tp_btf");
    add(raw_tp, IODIAG_ATTACH_RAW_TP, "raw_tp");
    add(tracepoint, IODIAG_ATTACH_TRACEPOINT, "tracepoint");
    add(kprobe, IODIAG_ATTACH_KPROBE, "kprobe");
    add(fentry, IODIAG_ATTACH_FENTRY, "fentry");
    std::string text = have.empty() ? "nothing attaches" : have;
    std::string notes;
    if (!lack.empty()) notes = "not: " + lack;
    if (!unknown.empty()) notes += (notes.empty() ? "" : "; ") + std::string("not probed: ") + unknown;
    return notes.empty() ? text : text + " (" + notes + ")";
}

Status ensure_tracefs() {
    struct stat st {};
    if (::stat("/sys/kernel/tracing/events", &st) == 0 || ::stat("/sys/kernel/debug/tracing/events", &st) == 0)
        return {};
    if (::mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, nullptr) != 0)
        return fail(ErrorKind::unsupported, std::string("cannot mount tracefs: ") + std::strerror(errno),
                    "mount it by hand: mount -t tracefs tracefs /sys/kernel/tracing");
    spdlog::debug("mounted tracefs at /sys/kernel/tracing");
    return {};
}

#if IODIAG_HAVE_BPF

namespace {

int libbpf_to_spdlog(enum libbpf_print_level level, const char* format, va_list args) {
    char line[1024];
    int n = std::vsnprintf(line, sizeof line, format, args);
    std::string_view text(line, n > 0 ? std::min<size_t>(static_cast<size_t>(n), sizeof line - 1) : 0);
    while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
    // libbpf warns about every probe that fails on purpose; those are debug detail for us.
    spdlog::level::level_enum ours = level == LIBBPF_DEBUG ? spdlog::level::trace : spdlog::level::debug;
    spdlog::log(ours, "libbpf: {}", text);
    return n;
}

bool has_bpf_privilege() {
    if (::geteuid() == 0) return true;
    // CAP_BPF (39) + CAP_PERFMON (38) suffice on 5.8+: read the effective set.
    FILE* status = std::fopen("/proc/self/status", "r");
    if (!status) return false;
    char line[256];
    unsigned long long caps = 0;
    while (std::fgets(line, sizeof line, status))
        if (std::sscanf(line, "CapEff: %llx", &caps) == 1) break;
    std::fclose(status);
    return (caps >> 39 & 1) && (caps >> 38 & 1);
}

// Loads the probe object with only `program` enabled and tries to attach it.
bool attaches(bpf_program* (*pick)(iodiag_feature_probe*)) {
    iodiag_feature_probe* skel = iodiag_feature_probe__open();
    if (!skel) return false;
    bpf_program* chosen = pick(skel);
    bpf_program* program = nullptr;
    bpf_object__for_each_program(program, skel->obj) bpf_program__set_autoload(program, program == chosen);
    bool ok = false;
    if (iodiag_feature_probe__load(skel) == 0) {
        bpf_link* link = bpf_program__attach(chosen);
        ok = link != nullptr;
        if (link) bpf_link__destroy(link);
    }
    iodiag_feature_probe__destroy(skel);
    return ok;
}

Result<BpfFeatures> probe_uncached() {
    if (!has_bpf_privilege())
        return fail(ErrorKind::permission, "BPF tracing needs root (or CAP_BPF and CAP_PERFMON)",
                    "run iodiag as root, or use --source strace");
    struct stat st {};
    if (::stat("/sys/kernel/btf/vmlinux", &st) != 0)
        return fail(ErrorKind::unsupported, "this kernel has no BTF (/sys/kernel/btf/vmlinux is missing)",
                    "a kernel built with CONFIG_DEBUG_INFO_BTF=y is needed for the bpf source; use --source strace");
    route_libbpf_logs_to_spdlog();
    BpfFeatures f;
    // In order of preference; the first that works is what every tracer will use.
    f.probed |= IODIAG_ATTACH_TP_BTF;
    f.tp_btf = attaches([](iodiag_feature_probe* s) { return s->progs.probe_tp_btf; });
    if (!f.tp_btf) {
        f.probed |= IODIAG_ATTACH_RAW_TP;
        f.raw_tp = attaches([](iodiag_feature_probe* s) { return s->progs.probe_raw_tp; });
    }
    if (!f.tp_btf && !f.raw_tp && ensure_tracefs()) {
        f.probed |= IODIAG_ATTACH_TRACEPOINT;
        f.tracepoint = attaches([](iodiag_feature_probe* s) { return s->progs.probe_tracepoint; });
    }
    spdlog::debug("bpf features: {}", f.summary());
    if (!f.tp_btf && !f.raw_tp && !f.tracepoint) {
        bool locked = false;
        if (FILE* lockdown = std::fopen("/sys/kernel/security/lockdown", "r")) {
            char text[128] = {};
            locked = std::fgets(text, sizeof text, lockdown) && !std::strstr(text, "[none]");
            std::fclose(lockdown);
        }
        return fail(ErrorKind::unsupported,
                    locked ? "the kernel is locked down: BPF tracing programs cannot load"
                           : "no BPF tracing program could load and attach on this kernel",
                    "run with -vv to see libbpf's messages, or use --source strace");
    }
    return f;
}

std::mutex g_probe_mutex;
std::optional<Result<BpfFeatures>> g_features;  // guarded by g_probe_mutex

}  // namespace

void route_libbpf_logs_to_spdlog() {
    static std::once_flag once;
    std::call_once(once, [] { libbpf_set_print(libbpf_to_spdlog); });
}

Result<BpfFeatures> probe_bpf_features() {
    std::lock_guard lock(g_probe_mutex);
    if (!g_features) g_features = probe_uncached();
    return *g_features;
}

#else

void route_libbpf_logs_to_spdlog() {}

Result<BpfFeatures> probe_bpf_features() {
    return fail(ErrorKind::unsupported, "this iodiag was built without BPF support",
                "install clang, bpftool and libbpf-dev on a kernel with BTF and rebuild; use --source strace");
}

#endif

}  // namespace iodiag::trace
