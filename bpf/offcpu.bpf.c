// Off-CPU time of the traced processes' threads, as bcc's offcputime measures it: at each
// sched_switch a traced thread leaving the CPU gets its time, state and kernel and user stacks
// noted (the stacks are taken while it is still current); when it comes back on a CPU the time
// it was away is added to its (thread, stacks, state) entry. Everything stays in maps, read at the
// end: no ring buffer, no per-switch record.
//
// tp_btf and raw_tp variants share the handlers; user space enables one before load.
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "offcpu.h"
#include "targets.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 target_tgid = 0;  // nonzero: only this process (no map lookup)
const volatile __u64 min_ns = 1000;    // shorter absences are counted, not recorded
const volatile __u8 track_wakers = 0;  // also who wakes the traced threads, and whom they wake

IODIAG_TARGETS_MAP(targets);

struct start {
    __u64 ts_ns;
    struct iodiag_offcpu_key key;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16384);
    __type(key, __u32);
    __type(value, struct start);
} starts SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_STACK_TRACE);
    __uint(max_entries, IODIAG_OFFCPU_MAX_STACKS);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, IODIAG_OFFCPU_MAX_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, IODIAG_OFFCPU_MAX_STACKS);
    __type(key, struct iodiag_offcpu_key);
    __type(value, struct iodiag_offcpu_value);
} offcpu SEC(".maps");

// The last waker of each traced thread that is off the CPU, and when it woke it, until it runs.
struct waker {
    __u64 ts_ns;
    struct iodiag_wakeup_key key;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16384);
    __type(key, __u32);
    __type(value, struct waker);
} wakers SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, IODIAG_OFFCPU_MAX_STACKS);
    __type(key, struct iodiag_wakeup_key);
    __type(value, struct iodiag_wakeup_value);
} wakeups SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct iodiag_offcpu_counters);
} counters SEC(".maps");

// Before 5.14 the state field was called state.
struct task_struct___old {
    long state;
} __attribute__((preserve_access_index));

static __always_inline struct iodiag_offcpu_counters *counters_slot(void)
{
    __u32 zero = 0;
    return bpf_map_lookup_elem(&counters, &zero);
}

static __always_inline int traced(__u32 tgid)
{
    if (target_tgid) return tgid == target_tgid;
    return bpf_map_lookup_elem(&targets, &tgid) != 0;
}

static __always_inline __u8 state_of(long state)
{
    if (state == 0) return IODIAG_OFFCPU_PREEMPTED;
    if (state & 1) return IODIAG_OFFCPU_SLEEPING;  // TASK_INTERRUPTIBLE
    if (state & 2) return IODIAG_OFFCPU_DISK;      // TASK_UNINTERRUPTIBLE
    return IODIAG_OFFCPU_OTHER;
}

static __always_inline void add_wakeup(struct iodiag_wakeup_key *key, __u64 waited_ns, __u64 run_delay_ns)
{
    struct iodiag_wakeup_value *v = bpf_map_lookup_elem(&wakeups, key);
    if (!v) {
        struct iodiag_wakeup_value fresh = {};
        if (bpf_map_update_elem(&wakeups, key, &fresh, BPF_NOEXIST)) {
            struct iodiag_offcpu_counters *c = counters_slot();
            if (c) c->lost_wakeups++;
        }
        v = bpf_map_lookup_elem(&wakeups, key);
        if (!v) return;
    }
    __sync_fetch_and_add(&v->waited_ns, waited_ns);
    __sync_fetch_and_add(&v->run_delay_ns, run_delay_ns);
    __sync_fetch_and_add(&v->count, 1);
}

// In the waker's context: who wakes a traced thread (kept until it runs), or whom a traced thread wakes.
static __always_inline void on_waking(void *ctx, __u32 wakee_tgid, __u32 wakee_pid, const char *wakee_comm)
{
    if (!track_wakers) return;
    __u64 id = bpf_get_current_pid_tgid();
    __u32 waker_tgid = id >> 32;
    const int wakee_traced = traced(wakee_tgid);
    const int waker_traced = traced(waker_tgid);
    if (!wakee_traced && !waker_traced) return;
    struct waker w = {};
    struct iodiag_wakeup_key key = {};
    key.wakee_tgid = wakee_tgid;
    key.wakee_tid = wakee_pid;
    key.waker_tgid = waker_tgid;
    key.waker_tid = (__u32)id;
    key.waker_kernel_stack = bpf_get_stackid(ctx, &stacks, 0);
    key.waker_user_stack = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
    key.wakee_traced = wakee_traced ? 1 : 0;
    bpf_probe_read_kernel_str(key.wakee_comm, sizeof(key.wakee_comm), wakee_comm);
    bpf_get_current_comm(key.waker_comm, sizeof(key.waker_comm));
    if (wakee_traced) {
        w.ts_ns = bpf_ktime_get_ns();
        w.key = key;
        if (bpf_map_update_elem(&wakers, &wakee_pid, &w, BPF_ANY)) {
            struct iodiag_offcpu_counters *c = counters_slot();
            if (c) c->lost_wakeups++;
        }
    } else {
        add_wakeup(&key, 0, 0);
    }
}

static __always_inline void on_switch(void *ctx, __u32 prev_tgid, __u32 prev_pid, long prev_state,
                                      __u32 next_pid)
{
    __u64 now = bpf_ktime_get_ns();
    if (prev_pid && traced(prev_tgid)) {
        struct start s = {};
        s.ts_ns = now;
        s.key.tgid = prev_tgid;
        s.key.tid = prev_pid;
        s.key.state = state_of(prev_state);
        s.key.kernel_stack = bpf_get_stackid(ctx, &stacks, 0);
        s.key.user_stack = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
        bpf_get_current_comm(s.key.comm, sizeof(s.key.comm));  // prev is still current here
        struct iodiag_offcpu_counters *c = counters_slot();
        if (c) c->switches++;
        if (bpf_map_update_elem(&starts, &prev_pid, &s, BPF_ANY) && c) c->lost_starts++;
    }
    struct start *s = bpf_map_lookup_elem(&starts, &next_pid);
    if (!s) return;
    __u64 delta = now - s->ts_ns;
    struct iodiag_offcpu_key key = s->key;
    bpf_map_delete_elem(&starts, &next_pid);
    if (track_wakers) {
        struct waker *w = bpf_map_lookup_elem(&wakers, &next_pid);
        if (w) {
            struct iodiag_wakeup_key wk = w->key;
            const __u64 run_delay = now > w->ts_ns ? now - w->ts_ns : 0;
            bpf_map_delete_elem(&wakers, &next_pid);
            add_wakeup(&wk, delta, run_delay);
        }
    }
    struct iodiag_offcpu_counters *c = counters_slot();
    if (delta < min_ns) {
        if (c) c->too_short++;
        return;
    }
    struct iodiag_offcpu_value *v = bpf_map_lookup_elem(&offcpu, &key);
    if (!v) {
        struct iodiag_offcpu_value fresh = {};
        if (bpf_map_update_elem(&offcpu, &key, &fresh, BPF_NOEXIST) && c) c->lost_stacks++;
        v = bpf_map_lookup_elem(&offcpu, &key);
        if (!v) return;
    }
    __sync_fetch_and_add(&v->total_ns, delta);
    __sync_fetch_and_add(&v->count, 1);
}

static __always_inline long task_state(struct task_struct *t)
{
    if (bpf_core_field_exists(t->__state)) return BPF_CORE_READ(t, __state);
    return BPF_CORE_READ((struct task_struct___old *)t, state);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(offcpu_switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next)
{
    on_switch(ctx, prev->tgid, prev->pid, preempt ? 0 : task_state(prev), next->pid);
    return 0;
}

SEC("tp_btf/sched_waking")
int BPF_PROG(offcpu_waking_btf, struct task_struct *p)
{
    on_waking(ctx, p->tgid, p->pid, p->comm);
    return 0;
}

SEC("raw_tp/sched_waking")
int BPF_PROG(offcpu_waking_raw, struct task_struct *p)
{
    on_waking(ctx, BPF_CORE_READ(p, tgid), BPF_CORE_READ(p, pid), (const char *)p + bpf_core_field_offset(p->comm));
    return 0;
}

SEC("raw_tp/sched_switch")
int BPF_PROG(offcpu_switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next)
{
    on_switch(ctx, BPF_CORE_READ(prev, tgid), BPF_CORE_READ(prev, pid), preempt ? 0 : task_state(prev),
              BPF_CORE_READ(next, pid));
    return 0;
}
