/* Shared by feature_probe.bpf.c and src/trace/bpf_features.cpp. */
#ifndef IODIAG_BPF_FEATURE_PROBE_H
#define IODIAG_BPF_FEATURE_PROBE_H

/* Which attach kinds fired: one bit each, set by the probe programs. */
enum iodiag_attach_kind {
    IODIAG_ATTACH_TP_BTF = 1 << 0,
    IODIAG_ATTACH_RAW_TP = 1 << 1,
    IODIAG_ATTACH_TRACEPOINT = 1 << 2,
    IODIAG_ATTACH_KPROBE = 1 << 3,
    IODIAG_ATTACH_FENTRY = 1 << 4,
};

#endif
