// What this kernel lets iodiag's BPF tracers use, probed once by loading and attaching one tiny
// program per attach kind (bpf/feature_probe.bpf.c). Tracers ask here which variant to enable
// before loading (tp_btf > raw_tp > classic tracepoint; fentry/kprobe only where they attach).
#pragma once

#include <string>

#include "common/result.hpp"

namespace iodiag::trace {

struct BpfFeatures {
    bool tp_btf = false;
    bool raw_tp = false;
    bool tracepoint = false;  // classic tracepoints (needs tracefs)
    bool kprobe = false;
    bool fentry = false;
    std::string summary() const;  // e.g. "tp_btf raw_tp tracepoint (no kprobe, no fentry)"
};

// Fails (unsupported / permission) when BPF cannot be used at all: built without BPF, not root
// and no CAP_BPF, no kernel BTF, a locked-down kernel. The result is cached.
Result<BpfFeatures> probe_bpf_features();

// Sends libbpf's own messages to spdlog (warnings at debug level unless -vv), once.
void route_libbpf_logs_to_spdlog();

// Mounts tracefs at /sys/kernel/tracing when neither it nor debugfs' tracing dir is there.
Status ensure_tracefs();

}  // namespace iodiag::trace
