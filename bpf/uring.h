/* Shared by uring.bpf.c and src/trace/bpf_uring.cpp: io_uring requests, one record each. */
#ifndef IODIAG_BPF_URING_H
#define IODIAG_BPF_URING_H

/* What a request does; other opcodes are only counted (totals.opcodes). */
enum iodiag_uring_kind {
    IODIAG_URING_READ = 1,
    IODIAG_URING_WRITE = 2,
    IODIAG_URING_FLUSH = 3,
};

#define IODIAG_URING_MAX_OPCODES 64

/* What the request's file is: only regular files and block devices are storage IO. */
enum iodiag_uring_file {
    IODIAG_URING_FILE_NONE = 0,   /* no file (yet): failed before issue, or still in flight */
    IODIAG_URING_FILE_REGULAR = 1,
    IODIAG_URING_FILE_BLOCK = 2,
    IODIAG_URING_FILE_OTHER = 3,  /* socket, pipe, char device, ... */
};

/* One request, sent when its CQE is posted. Per ring, `seq` numbers requests in submit order so
 * user space can restore that order; requests of one submit batch (one io_uring_enter, or one
 * SQPOLL pass) share submit_ns, requests whose CQEs were committed together share complete_ns.
 * cq_head and cqe_end tell when the application took the CQE: it reads the CQ ring in user space,
 * so only a later submit batch's cq_head at or past this cqe_end shows it had. */
struct iodiag_uring_req {
    __u64 ring;          /* the ring's kernel address, as an id */
    __u64 seq;           /* 1, 2, ... per ring, in submit order */
    __u64 submit_ns;     /* start of its submit batch (CLOCK_MONOTONIC) */
    __u64 complete_ns;   /* start of its completion batch */
    __u64 offset;        /* file offset */
    __u64 bytes;         /* bytes asked for (0 for flushes) */
    __u64 ino;           /* inode of the file at completion; 0 = no file */
    __s64 res;           /* cqe res: bytes done or -errno */
    __u32 tgid;
    __u32 tid;           /* submitting thread; for SQPOLL rings the thread that created the ring */
    __u32 dev;           /* the file's super block s_dev (kernel encoding) */
    __u32 f_flags;       /* the file's open flags (kernel O_* bits) */
    __s32 fd;            /* fd, or the index into the registered files when fixed_file */
    __u32 sq_entries;
    __u32 ring_flags;    /* IORING_SETUP_* */
    __u8 opcode;         /* IORING_OP_* */
    __u8 kind;           /* enum iodiag_uring_kind */
    __u8 fixed_file;     /* IOSQE_FIXED_FILE: fd is a registered-file index */
    __u8 file_kind;      /* enum iodiag_uring_file */
    __u32 cq_head;       /* rings->cq.head (CQEs the application had taken) at its submit batch */
    __u32 cqe_end;       /* CQ ring tail just past its CQE (ctx->cached_cq_tail), at completion */
};

/* Exact counts kept in a per-CPU array, immune to ring buffer overflow. */
struct iodiag_uring_totals {
    __u64 opcodes[IODIAG_URING_MAX_OPCODES]; /* submitted requests by IORING_OP_* (the target's) */
    __u64 reads, writes, flushes;            /* tracked requests completed */
    __u64 read_bytes, write_bytes;           /* res > 0 of those */
    __u64 errors;                            /* tracked requests completed with res < 0 */
    __u64 submit_batches, complete_batches;
    __u64 not_files;                         /* reads/writes on sockets, pipes, ... (not modelled) */
    __u64 untracked;                         /* tracked kind, but no room in the in-flight map */
    __u64 dropped;                           /* records lost: ring buffer full */
};

#endif
