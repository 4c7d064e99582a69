/* Off-CPU time of the traced processes' threads (bpf/offcpu.bpf.c), shared with
 * src/trace/bpf_offcpu.cpp: per thread, kernel stack, user stack and the state the thread left
 * the CPU in, the total time off the CPU and how many times. Plain fixed-width fields only. */
#ifndef IODIAG_BPF_OFFCPU_H
#define IODIAG_BPF_OFFCPU_H

#define IODIAG_OFFCPU_MAX_STACKS 16384
#define IODIAG_OFFCPU_MAX_DEPTH 127
#define IODIAG_OFFCPU_COMM_LEN 16

/* How the thread left the CPU. */
enum iodiag_offcpu_state {
    IODIAG_OFFCPU_PREEMPTED = 0,  /* still runnable: preempted or yielded */
    IODIAG_OFFCPU_SLEEPING = 1,   /* TASK_INTERRUPTIBLE: waiting for an event (poll, futex, ...) */
    IODIAG_OFFCPU_DISK = 2,       /* TASK_UNINTERRUPTIBLE: typically waiting for IO */
    IODIAG_OFFCPU_OTHER = 3,
};

struct iodiag_offcpu_key {
    __u32 tgid;
    __u32 tid;
    __s32 kernel_stack;  /* stack map id; negative: not captured (-errno) */
    __s32 user_stack;
    __u8 state;          /* enum iodiag_offcpu_state */
    __u8 pad[3];
    char comm[IODIAG_OFFCPU_COMM_LEN];
};

struct iodiag_offcpu_value {
    __u64 total_ns;
    __u64 count;
};

/* Who woke a traced thread (sched_waking, in the waker's context), and what the woken thread
 * had waited: the note's offwaketime. Also the threads the traced processes wake (time 0). */
struct iodiag_wakeup_key {
    __u32 wakee_tgid;
    __u32 wakee_tid;
    __u32 waker_tgid;
    __u32 waker_tid;
    __s32 waker_kernel_stack;  /* stack map id; negative: not captured */
    __s32 waker_user_stack;
    __u8 wakee_traced;         /* 1: a traced thread was woken; 0: a traced thread woke another */
    __u8 pad[3];
    char wakee_comm[IODIAG_OFFCPU_COMM_LEN];
    char waker_comm[IODIAG_OFFCPU_COMM_LEN];
};

struct iodiag_wakeup_value {
    __u64 waited_ns;  /* the woken thread's time off the CPU before it ran again (wakee_traced) */
    __u64 count;
    __u64 run_delay_ns; /* from the wakeup to the woken thread running: its wake-to-run latency */
};

struct iodiag_offcpu_counters {
    __u64 switches;       /* times a traced thread left the CPU */
    __u64 too_short;      /* off the CPU for less than the minimum: not recorded */
    __u64 lost_starts;    /* the start table was full */
    __u64 lost_stacks;    /* the aggregate table was full */
    __u64 lost_wakeups;   /* the waker tables were full */
};

#endif
