// What this kernel lets iodiag's BPF tracers use, probed by loading and attaching one tiny program
// per attach kind (bpf/feature_probe.bpf.c). Tracers ask here which variant to enable before
// loading (tp_btf > raw_tp > classic tracepoint; fentry/kprobe only where they attach).
//
// Each probe is a program load (~30 ms with the kernel BTF parse), so only what is needed is
// probed: the tracepoint kinds in order of preference until one works, kprobe and fentry only
// when a tracer asks for them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace iodiag::trace {

// How a tracer's programs hook the kernel's tracepoints; every tracer object carries its programs
// once per variant it has (bpf_program section prefixes tp_btf/, raw_tp/, tracepoint/).
enum class BpfVariant : uint8_t { tp_btf, raw_tp, tracepoint };

inline constexpr BpfVariant kAllVariants[] = {BpfVariant::tp_btf, BpfVariant::raw_tp, BpfVariant::tracepoint};
// The variants of a tracer that carries no classic tracepoint programs (syscalls, offcpu).
inline constexpr BpfVariant kBtfAndRawVariants[] = {BpfVariant::tp_btf, BpfVariant::raw_tp};

std::string_view variant_name(BpfVariant variant);

// true = loads and attaches here; false = does not, or was not probed (see `probed`).
struct BpfFeatures {
    bool tp_btf = false;
    bool raw_tp = false;
    bool tracepoint = false;  // classic tracepoints (needs tracefs)
    bool kprobe = false;
    bool fentry = false;
    uint32_t probed = 0;      // IODIAG_ATTACH_* bits of the kinds actually tried
    std::string summary() const;  // e.g. "tp_btf (not: kprobe; not probed: raw_tp tracepoint fentry)"
    // Whether `variant` attaches here; false also when it was not probed (the probe stops at the
    // first kind that works), which probed_variant tells apart.
    bool has(BpfVariant variant) const;
    bool probed_variant(BpfVariant variant) const;
    // These features with only `variant` on: what a tracer is given to load that variant.
    BpfFeatures only(BpfVariant variant) const;
};

// Fails (unsupported / permission) when BPF cannot be used at all: built without BPF, not root
// and no CAP_BPF, no kernel BTF, a locked-down kernel. Probes tp_btf, then raw_tp, then classic
// tracepoints, stopping at the first that works. The result is cached.
Result<BpfFeatures> probe_bpf_features();

// Sends libbpf's own messages to spdlog (warnings at debug level unless -vv), once.
void route_libbpf_logs_to_spdlog();

// Mounts tracefs at /sys/kernel/tracing when neither it nor debugfs' tracing dir is there.
Status ensure_tracefs();

}  // namespace iodiag::trace
