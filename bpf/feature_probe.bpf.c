// One program per attach kind, each on a cheap, always-present hook. User space loads the object
// with one program enabled at a time and tries to attach it; what loads and attaches is what the
// tracers may use on this kernel (kprobes and fentry are missing on some, e.g. here).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "feature_probe.h"

char LICENSE[] SEC("license") = "GPL";

SEC("tp_btf/sys_enter")
int BPF_PROG(probe_tp_btf, struct pt_regs *regs, long id)
{
    return 0;
}

SEC("raw_tp/sys_enter")
int probe_raw_tp(struct bpf_raw_tracepoint_args *ctx)
{
    return 0;
}

SEC("tracepoint/raw_syscalls/sys_enter")
int probe_tracepoint(void *ctx)
{
    return 0;
}

SEC("kprobe/vfs_read")
int BPF_KPROBE(probe_kprobe)
{
    return 0;
}

SEC("fentry/vfs_read")
int BPF_PROG(probe_fentry)
{
    return 0;
}
