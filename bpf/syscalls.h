/* Shared by syscalls.bpf.c and src/trace/bpf_syscalls.cpp: the records the syscall tracer sends
 * through its ring buffer and the exact totals it keeps in maps. Plain fixed-width fields with
 * explicit padding; the C++ side static_asserts the sizes. */
#ifndef IODIAG_BPF_SYSCALLS_H
#define IODIAG_BPF_SYSCALLS_H

#define IODIAG_SC_NR_MAX 512         /* syscall numbers below this are looked up in call_of_nr */
#define IODIAG_SC_CALLS 40           /* totals slots, one per enum iodiag_sc_call */
#define IODIAG_SC_PATH_MAX 256       /* open paths longer than this are cut (user space resolves) */
#define IODIAG_SC_IOV_MAX 16         /* iovecs summed per readv/writev */
#define IODIAG_SC_IOCB_MAX 64        /* iocbs read per io_submit */
#define IODIAG_SC_EVENTS_MAX 256     /* io_events read per io_getevents */
#define IODIAG_SC_SIZE_BUCKETS 40    /* bucket 0: 0 bytes; bucket k: [2^(k-1), 2^k) */
#define IODIAG_SC_LATENCY_BUCKETS 48 /* the same in nanoseconds */

/* The calls the tracer follows. Values equal iodiag::trace::Syscall's (static_asserted there). */
enum iodiag_sc_call {
    IODIAG_SC_READ = 1,
    IODIAG_SC_WRITE = 2,
    IODIAG_SC_PREAD64 = 3,
    IODIAG_SC_PWRITE64 = 4,
    IODIAG_SC_READV = 5,
    IODIAG_SC_WRITEV = 6,
    IODIAG_SC_PREADV = 7,
    IODIAG_SC_PWRITEV = 8,
    IODIAG_SC_PREADV2 = 9,
    IODIAG_SC_PWRITEV2 = 10,
    IODIAG_SC_LSEEK = 11,
    IODIAG_SC_FSYNC = 12,
    IODIAG_SC_FDATASYNC = 13,
    IODIAG_SC_SYNC_FILE_RANGE = 14,
    IODIAG_SC_OPEN = 15,
    IODIAG_SC_OPENAT = 16,
    IODIAG_SC_OPENAT2 = 17,
    IODIAG_SC_CREAT = 18,
    IODIAG_SC_CLOSE = 19,
    IODIAG_SC_DUP = 20,
    IODIAG_SC_DUP2 = 21,
    IODIAG_SC_DUP3 = 22,
    IODIAG_SC_IO_SETUP = 24,
    IODIAG_SC_IO_SUBMIT = 26,
    IODIAG_SC_IO_GETEVENTS = 27,
    IODIAG_SC_IO_PGETEVENTS = 28,
    IODIAG_SC_IO_URING_SETUP = 29,
    IODIAG_SC_IO_URING_ENTER = 30,
    IODIAG_SC_MMAP = 32,
};

enum iodiag_sc_record_type {
    IODIAG_REC_CALL = 1,     /* struct iodiag_sc_call_rec */
    IODIAG_REC_OPEN = 2,     /* struct iodiag_sc_open_rec */
    IODIAG_REC_IOCB = 3,     /* struct iodiag_sc_iocb_rec, one per iocb io_submit accepted */
    IODIAG_REC_AIO_DONE = 4, /* struct iodiag_sc_done_rec, one per io_event io_getevents returned
                              * or the process took from the aio ring in user space */
    IODIAG_REC_PROC = 5,     /* struct iodiag_sc_proc_rec */
};

/* The open file behind an fd, read from the kernel's struct file at the call's exit. */
struct iodiag_sc_file {
    __u64 ino;
    __u64 pos;     /* f_pos after the call */
    __u32 dev;     /* i_sb->s_dev, kernel encoding (major << 20 | minor) */
    __u32 flags;   /* f_flags: the kernel's O_* bits */
    __u16 mode;    /* i_mode; 0 = no open file behind the fd */
    __u8 pad[6];
};

struct iodiag_sc_call_rec {
    __u8 type;       /* IODIAG_REC_CALL or IODIAG_REC_OPEN */
    __u8 call;       /* enum iodiag_sc_call */
    __u8 has_offset; /* offset is an explicit argument (pread*, preadv2 != -1, lseek, ...) */
    __u8 pad0;
    __u32 tid;
    __u32 tgid;
    __s32 fd;        /* the fd argument; -1 when the call has none */
    __u64 ts_ns;     /* entry, bpf_ktime_get_ns() */
    __u64 dur_ns;
    __s64 ret;
    __u64 offset;
    __u64 bytes;     /* count, iovec sum, sync_file_range nbytes, mmap length */
    __u64 ctx;       /* aio context id, io_uring fd */
    __u32 count;     /* see iodiag::trace::EventKind */
    __u32 count2;
    __u32 flags;     /* RWF_*, IORING_*, open flags, mmap flags, sync_file_range flags, whence */
    __u32 ring_reaped; /* io_submit, io_getevents: io_events taken from ctx's ring in user space
                        * since the process's last such call on ctx */
    struct iodiag_sc_file file;
};

struct iodiag_sc_open_rec {
    struct iodiag_sc_call_rec call;
    char path[IODIAG_SC_PATH_MAX];  /* as the process wrote it: may be relative to its dfd/cwd */
};

struct iodiag_sc_iocb_rec {
    __u8 type;
    __u8 opcode;     /* IOCB_CMD_* */
    __u8 pad0[2];
    __u32 tid;
    __u32 tgid;
    __s32 fd;
    __u64 ts_ns;     /* io_submit entry */
    __u64 ctx;
    __u64 iocb;      /* the iocb's user address: io_event.obj names it at completion */
    __u64 offset;
    __u64 bytes;     /* aio_nbytes (PREADV/PWRITEV: the iovec count; see iov_bytes) */
    __u32 rw_flags;
    __u32 pad1;
    struct iodiag_sc_file file;
};

struct iodiag_sc_done_rec {
    __u8 type;
    __u8 from_ring;  /* taken from the aio ring in user space, not returned by io_getevents */
    __u8 pad0[2];
    __u32 tid;
    __u32 tgid;
    __u32 pad1;
    __u64 ts_ns;     /* io_getevents return: when the process learnt of the completion; from
                      * the ring: the entry of the call that saw the head moved (an upper bound) */
    __u64 ctx;
    __u64 iocb;
    __s64 res;
};

enum iodiag_sc_proc_event { IODIAG_PROC_FORK = 1, IODIAG_PROC_EXIT = 2 };

struct iodiag_sc_proc_rec {
    __u8 type;
    __u8 event;      /* enum iodiag_sc_proc_event */
    __u8 pad0[2];
    __u32 tgid;      /* the new process, or the one whose last thread exited */
    __u32 parent_tgid;
    __u32 pad1;
    __u64 ts_ns;
};

/* Exact per-call totals (per-CPU array indexed by enum iodiag_sc_call), kept whatever the ring
 * buffer drops. */
struct iodiag_sc_totals {
    __u64 calls;
    __u64 errors;
    __u64 bytes;       /* data calls: bytes returned */
    __u64 latency_ns;  /* sum */
    __u64 size_log2[IODIAG_SC_SIZE_BUCKETS];        /* data calls: bytes requested */
    __u64 latency_log2[IODIAG_SC_LATENCY_BUCKETS];
};

enum iodiag_sc_counter {
    IODIAG_CNT_RECORDS,      /* records written to the ring buffer */
    IODIAG_CNT_DROPPED,      /* records lost: the ring buffer was full */
    IODIAG_CNT_IOCBS,        /* iocbs io_submit accepted */
    IODIAG_CNT_IOCBS_UNREAD, /* ... beyond IODIAG_SC_IOCB_MAX per call, or unreadable */
    IODIAG_CNT_COMPLETIONS,  /* io_events io_getevents returned */
    IODIAG_CNT_RING_REAPED,  /* io_events taken from the aio ring in user space */
    IODIAG_CNT_FORKS,        /* descendants added to the targets map */
    IODIAG_CNT_EXITS,        /* traced processes whose last thread exited */
    IODIAG_CNT_MAX,
};

struct iodiag_sc_counters {
    __u64 value[IODIAG_CNT_MAX];
};

#endif
