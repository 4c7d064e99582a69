/* The targets map every iodiag tracer filters on: tgid -> 1 for each traced process.
 *
 * src/trace/bpf_source.cpp creates it once per trace with exactly these sizes; each tracer's
 * .bpf.c declares it with IODIAG_TARGETS_MAP(targets) and its wrapper calls
 * bpf_map__reuse_fd(skel->maps.targets, target.targets_map_fd) before load, so all tracers (and
 * the fork/exit hooks of the syscalls tracer, which add and remove descendants) share one map. */
#ifndef IODIAG_BPF_TARGETS_H
#define IODIAG_BPF_TARGETS_H

#define IODIAG_TARGETS_MAX 8192

#define IODIAG_TARGETS_MAP(name)                                                                 \
    struct {                                                                                     \
        __uint(type, BPF_MAP_TYPE_HASH);                                                         \
        __uint(max_entries, IODIAG_TARGETS_MAX);                                                 \
        __type(key, __u32);                                                                      \
        __type(value, __u32);                                                                    \
    } name SEC(".maps")

#endif
