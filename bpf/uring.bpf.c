// io_uring requests of the traced processes, from the io_uring tracepoints: submit_req fires once
// per SQE after prep (opcode, fd, offset and length are set) in the submitting task, which for
// SQPOLL rings is the ring's kernel thread, a thread of the owning process; complete fires when the
// CQE is filled. One record per request goes out at completion; exact counts stay in `totals`.
//
// Three attach variants of each program share one handler; user space loads only the one that
// probe_bpf_features() says works (tp_btf > raw_tp > classic tracepoint).
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "targets.h"
#include "uring.h"

char LICENSE[] SEC("license") = "GPL";

// UAPI values (stable): REQ_F_* mirrors the IOSQE_* bits at the bottom of req->flags.
#define IOSQE_FIXED_FILE (1U << 0)
#define IOSQE_CQE_SKIP_SUCCESS (1U << 6)
#define SETUP_SQPOLL (1U << 1)
#define S_IFMT 0170000
#define S_IFREG 0100000
#define S_IFBLK 0060000

// Shared with the other tracers (bpf_map__reuse_fd): tgid -> 1 for every traced process.
IODIAG_TARGETS_MAP(targets);

// Requests submitted and not yet completed, by io_kiocb address; the value is the record so far.
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16384);
    __type(key, __u64);
    __type(value, struct iodiag_uring_req);
} inflight SEC(".maps");

// Per ring: the submit sequence and the current submit and completion batches. A batch is told
// by the ring head the kernel publishes: rings->sq.head only moves when a submit pass commits,
// rings->cq.tail only when posted CQEs are committed, so every SQE of one pass sees the same head
// and every CQE of one commit the same tail.
struct ring_state {
    __u64 seq;
    __u64 submit_batch_ns;
    __u64 complete_batch_ns;
    __u32 sq_head;
    __u32 cq_tail;
    __u32 cq_head;  /* at the start of the current submit batch */
    __u8 have_sq;
    __u8 have_cq;
    __u8 pad[2];
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4096);
    __type(key, __u64);
    __type(value, struct ring_state);
} rings SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    /* ~150k records of 112 bytes: seconds of a fast ring's requests while the consumer classifies
     * the previous batch (4 MiB overflowed at qd32 under a sanitized, several times slower consumer). */
    __uint(max_entries, 16 << 20);
} events SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct iodiag_uring_totals);
} totals SEC(".maps");

// One field of a kernel struct: a plain load through the tp_btf program's trusted pointers, or a
// probe read (a helper call, ~30 ns on a virtual machine) in the other variants. `btf` is a
// constant in each program, so only one of the two is compiled into it.
#define LOAD(btf, ptr, field) ((btf) ? (ptr)->field : BPF_CORE_READ(ptr, field))

// Reinterprets a kernel address as a BTF type, for plain loads (6.2+; the verifier makes it a move):
// io_uring_complete passes its request as a void pointer.
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;

static __always_inline struct iodiag_uring_totals *totals_slot(void)
{
    __u32 zero = 0;
    return bpf_map_lookup_elem(&totals, &zero);
}

static __always_inline __u8 kind_of(__u8 op)
{
    switch (op) {
    case IORING_OP_READV:
    case IORING_OP_READ_FIXED:
    case IORING_OP_READ:
    case 60: /* IORING_OP_READV_FIXED (6.15+) */
        return IODIAG_URING_READ;
    case IORING_OP_WRITEV:
    case IORING_OP_WRITE_FIXED:
    case IORING_OP_WRITE:
    case 61: /* IORING_OP_WRITEV_FIXED */
        return IODIAG_URING_WRITE;
    case IORING_OP_FSYNC:
        return IODIAG_URING_FLUSH;
    default:
        return 0;
    }
}

static __always_inline int vectored(__u8 op)
{
    return op == IORING_OP_READV || op == IORING_OP_WRITEV || op == 60 || op == 61;
}

// Offset and length of a read/write: io_rw lives in the request's per-opcode command area.
static __always_inline struct io_rw *rw_of(struct io_kiocb *req, const int btf)
{
    struct io_rw *rw = (void *)&req->cmd;
    return btf ? bpf_rdonly_cast(rw, bpf_core_type_id_kernel(struct io_rw)) : rw;
}

static __always_inline void read_rw(struct io_kiocb *req, struct iodiag_uring_req *r, const int btf)
{
    if (!bpf_core_field_exists(req->cmd))
        return;
    struct io_rw *rw = rw_of(req, btf);
    r->offset = LOAD(btf, rw, kiocb.ki_pos);
    r->bytes = LOAD(btf, rw, len);
    // For readv/writev len counts iovecs; prep already imported them into the request's iter.
    if (vectored(r->opcode)) {
        r->bytes = 0;
        if (bpf_core_type_exists(struct io_async_rw)) {
            struct io_async_rw *io = BPF_CORE_READ(req, async_data);
            if (io)
                r->bytes = BPF_CORE_READ(io, iter.count);
        }
    }
}

static __always_inline void on_submit(struct io_kiocb *req, const int btf)
{
    __u64 id = bpf_get_current_pid_tgid();
    __u32 tgid = id >> 32;
    if (!bpf_map_lookup_elem(&targets, &tgid))
        return;
    struct iodiag_uring_totals *t = totals_slot();
    if (!t)
        return;
    __u8 op = LOAD(btf, req, opcode);
    t->opcodes[op & (IODIAG_URING_MAX_OPCODES - 1)]++;
    __u8 kind = kind_of(op);
    __u64 req_flags = LOAD(btf, req, flags);
    // Without a CQE there is no completion to pair with.
    if (!kind || (req_flags & IOSQE_CQE_SKIP_SUCCESS))
        return;

    struct io_ring_ctx *ctx = LOAD(btf, req, ctx);
    __u64 ring = (__u64)ctx;
    struct ring_state *rs = bpf_map_lookup_elem(&rings, &ring);
    if (!rs) {
        struct ring_state fresh = {};
        bpf_map_update_elem(&rings, &ring, &fresh, BPF_NOEXIST);
        rs = bpf_map_lookup_elem(&rings, &ring);
        if (!rs) {
            t->untracked++;
            return;
        }
    }
    __u64 now = bpf_ktime_get_ns();
    struct io_rings *rings = LOAD(btf, ctx, rings);
    __u32 head = LOAD(btf, rings, sq.head);
    if (!rs->have_sq || head != rs->sq_head) {
        rs->have_sq = 1;
        rs->sq_head = head;
        rs->submit_batch_ns = now;
        rs->cq_head = LOAD(btf, rings, cq.head);
        t->submit_batches++;
    }

    struct iodiag_uring_req r = {};
    r.ring = ring;
    r.seq = rs->seq + 1;
    r.submit_ns = rs->submit_batch_ns;
    r.cq_head = rs->cq_head;
    r.tgid = tgid;
    r.tid = (__u32)id;
    r.opcode = op;
    r.kind = kind;
    r.fixed_file = (req_flags & IOSQE_FIXED_FILE) ? 1 : 0;
    r.fd = bpf_core_field_exists(req->cqe.fd) ? LOAD(btf, req, cqe.fd) : -1;
    r.ring_flags = LOAD(btf, ctx, flags);
    r.sq_entries = LOAD(btf, ctx, sq_entries);
    // SQPOLL: the kernel thread submits; charge the thread that created the ring.
    if (r.ring_flags & SETUP_SQPOLL) {
        struct io_sq_data *sqd = BPF_CORE_READ(ctx, sq_data);
        if (sqd && bpf_core_field_exists(sqd->task_pid)) {
            __u32 owner = BPF_CORE_READ(sqd, task_pid);
            if (owner)
                r.tid = owner;
        }
    }
    if (kind != IODIAG_URING_FLUSH)
        read_rw(req, &r, btf);

    __u64 key = (__u64)req;
    if (bpf_map_update_elem(&inflight, &key, &r, BPF_ANY)) {
        t->untracked++;
        return;
    }
    rs->seq = r.seq;  // submits to one ring are serialised by its uring_lock
}

static __always_inline void on_complete(struct io_ring_ctx *ctx, struct io_kiocb *req, __s64 res,
                                        const int btf)
{
    if (!req)
        return;
    __u64 key = (__u64)req;
    struct iodiag_uring_req *p = bpf_map_lookup_elem(&inflight, &key);
    if (!p)
        return;
    struct iodiag_uring_totals *t = totals_slot();
    if (!t)
        return;
    __u64 now = bpf_ktime_get_ns();
    __u64 complete_ns = now;
    __u64 ring = (__u64)ctx;
    struct ring_state *rs = bpf_map_lookup_elem(&rings, &ring);
    if (rs) {
        struct io_rings *rings = LOAD(btf, ctx, rings);
        __u32 tail = LOAD(btf, rings, cq.tail);
        if (!rs->have_cq || tail != rs->cq_tail) {
            rs->have_cq = 1;
            rs->cq_tail = tail;
            rs->complete_batch_ns = now;
            t->complete_batches++;
        }
        complete_ns = rs->complete_batch_ns;
    }

    if (res < 0)
        t->errors++;
    if (p->kind == IODIAG_URING_READ) {
        t->reads++;
        if (res > 0)
            t->read_bytes += res;
    } else if (p->kind == IODIAG_URING_WRITE) {
        t->writes++;
        if (res > 0)
            t->write_bytes += res;
    } else {
        t->flushes++;
    }

    struct iodiag_uring_req *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (!e) {
        t->dropped++;
        bpf_map_delete_elem(&inflight, &key);
        return;
    }
    __builtin_memcpy(e, p, sizeof(*e));
    e->complete_ns = complete_ns;
    e->res = res;
    // io_get_cqe() has moved the cached tail past this CQE before the tracepoint fires.
    e->cqe_end = LOAD(btf, ctx, cached_cq_tail);
    // The file is assigned at issue, after submit_req: read it now (also resolves fixed files).
    struct file *file = LOAD(btf, req, file);
    if (file) {
        struct inode *inode = LOAD(btf, file, f_inode);
        e->ino = LOAD(btf, inode, i_ino);
        struct super_block *sb = LOAD(btf, inode, i_sb);
        e->dev = LOAD(btf, sb, s_dev);
        e->f_flags = LOAD(btf, file, f_flags);
        __u32 mode = LOAD(btf, inode, i_mode) & S_IFMT;
        e->file_kind = mode == S_IFREG   ? IODIAG_URING_FILE_REGULAR
                       : mode == S_IFBLK ? IODIAG_URING_FILE_BLOCK
                                         : IODIAG_URING_FILE_OTHER;
        if (e->file_kind == IODIAG_URING_FILE_OTHER)
            t->not_files++;
    }
    // Offset -1 means "at the file position": the kiocb now holds the position after the IO.
    if (e->offset == (__u64)-1 && e->kind != IODIAG_URING_FLUSH && bpf_core_field_exists(req->cmd)) {
        __u64 pos = LOAD(btf, rw_of(req, btf), kiocb.ki_pos);
        e->offset = res > 0 && pos >= (__u64)res ? pos - res : pos;
    }
    bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
    bpf_map_delete_elem(&inflight, &key);
}

SEC("tp_btf/io_uring_submit_req")
int BPF_PROG(uring_submit_btf, struct io_kiocb *req)
{
    on_submit(req, 1);
    return 0;
}

SEC("tp_btf/io_uring_complete")
int BPF_PROG(uring_complete_btf, struct io_ring_ctx *ring, struct io_kiocb *req, struct io_uring_cqe *cqe)
{
    on_complete(ring, bpf_rdonly_cast(req, bpf_core_type_id_kernel(struct io_kiocb)), cqe->res, 1);
    return 0;
}

SEC("raw_tp/io_uring_submit_req")
int BPF_PROG(uring_submit_raw, struct io_kiocb *req)
{
    on_submit(req, 0);
    return 0;
}

SEC("raw_tp/io_uring_complete")
int BPF_PROG(uring_complete_raw, struct io_ring_ctx *ring, struct io_kiocb *req, struct io_uring_cqe *cqe)
{
    on_complete(ring, req, BPF_CORE_READ(cqe, res), 0);
    return 0;
}

SEC("tracepoint/io_uring/io_uring_submit_req")
int uring_submit_tp(struct trace_event_raw_io_uring_submit_req *args)
{
    on_submit(args->req, 0);
    return 0;
}

SEC("tracepoint/io_uring/io_uring_complete")
int uring_complete_tp(struct trace_event_raw_io_uring_complete *args)
{
    on_complete(args->ctx, args->req, args->res, 0);
    return 0;
}
