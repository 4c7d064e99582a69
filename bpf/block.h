/* Shared by block.bpf.c and src/trace/bpf_block.cpp: block-layer requests on the devices under
 * the target's files, one record each, and exact per-device totals. */
#ifndef IODIAG_BPF_BLOCK_H
#define IODIAG_BPF_BLOCK_H

#define IODIAG_BLOCK_MAX_DEVICES 64

enum iodiag_block_op {
    IODIAG_BLOCK_READ = 1,
    IODIAG_BLOCK_WRITE = 2,
    IODIAG_BLOCK_FLUSH = 3,
    IODIAG_BLOCK_DISCARD = 4,
    IODIAG_BLOCK_OTHER = 5,
};

/* One request, sent when it completes (its last completion, when a driver completes in parts). */
struct iodiag_block_rq {
    __u64 sector;        /* first sector (512 bytes) on the whole disk */
    __u64 bytes;
    __u64 insert_ns;     /* 0 = not inserted into a scheduler queue (issued directly) */
    __u64 issue_ns;      /* 0 = issued before the trace started */
    __u64 complete_ns;
    __u32 dev;           /* the whole disk, kernel dev_t encoding */
    __u32 tgid;          /* traced process current at insert or issue; 0 = none */
    __u32 in_device;     /* requests in flight on the device right after this one was issued */
    __s32 error;         /* blk_status_t at completion; 0 = ok */
    __u8 op;             /* enum iodiag_block_op */
    __u8 pad[7];
};

/* Per device (map value), counted at completion; in_flight at issue/completion. */
struct iodiag_block_totals {
    __u64 requests, reads, writes, flushes, discards, others;
    __u64 read_bytes, write_bytes;
    __u64 attributed;    /* completed requests charged to a traced process */
    __u64 errors;
    __u64 dropped;       /* records lost: ring buffer full */
    __u64 untracked;     /* no room in the in-flight map */
    __s64 in_flight;     /* requests issued and not completed (seen by this trace) */
    __u64 missed;        /* issued requests whose completion was never seen (found when the
                            request was reused): no record, left out of in_flight */
};

#endif
