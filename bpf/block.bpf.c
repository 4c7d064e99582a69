// Block-layer requests on the devices under the target's files: insert (into a scheduler queue),
// issue (to the driver) and completion, from the block_rq_* tracepoints (requeue and merge keep
// the bookkeeping right). Per device it keeps exact
// totals and the number of requests in the device, sampled at each issue; one record per request
// goes out at completion with its queue (insert -> issue) and device (issue -> complete) times.
//
// The device filter is the `devices` map (whole disks, kernel dev_t), filled and extended by user
// space as the target opens files. A request is charged to a traced process when one is current
// at insert or issue (direct IO and most buffered reads are issued from the submitting task).
//
// tp_btf and raw_tp variants key requests by their address; the classic tracepoint variant (no
// request pointer in its record) keys them by device and sector.
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "block.h"
#include "targets.h"

char LICENSE[] SEC("license") = "GPL";

IODIAG_TARGETS_MAP(targets);

// Whole disk -> totals; only devices in here are traced.
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, IODIAG_BLOCK_MAX_DEVICES);
    __type(key, __u32);
    __type(value, struct iodiag_block_totals);
} devices SEC(".maps");

struct rq_key {
    __u64 id;      // request address, or the device for the classic tracepoints
    __u64 sector;  // 0, or the sector for the classic tracepoints
};

struct pending {
    __u64 sector;
    __u64 bytes;
    __u64 insert_ns;
    __u64 issue_ns;
    __u32 tgid;
    __u32 in_device;
    __u8 op;
    __u8 pad[7];
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16384);
    __type(key, struct rq_key);
    __type(value, struct pending);
} inflight SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4 << 20);
} events SEC(".maps");

// What a tracepoint tells about a request, from either a struct request or a classic record.
struct rq_info {
    __u64 sector;
    __u64 bytes;
    __u32 dev;
    __u8 op;
};

// Before 5.18(ish) the disk hung off the request itself.
struct request___old {
    struct gendisk *rq_disk;
} __attribute__((preserve_access_index));

static __always_inline __u8 op_of(__u32 req_op)
{
    switch (req_op) {
    case REQ_OP_READ: return IODIAG_BLOCK_READ;
    case REQ_OP_WRITE: return IODIAG_BLOCK_WRITE;
    case REQ_OP_FLUSH: return IODIAG_BLOCK_FLUSH;
    case REQ_OP_DISCARD:
    case REQ_OP_SECURE_ERASE:
    case REQ_OP_WRITE_ZEROES: return IODIAG_BLOCK_DISCARD;
    default: return IODIAG_BLOCK_OTHER;
    }
}

// `btf` (a constant in each program) picks plain loads through the tp_btf program's trusted
// request pointer over probe-read helper calls, which cost ~30 ns each on a virtual machine.
static __always_inline void info_of_rq(struct request *rq, struct rq_info *i, const int btf)
{
    struct gendisk *disk = 0;
    if (bpf_core_field_exists(rq->q->disk))
        disk = btf ? rq->q->disk : BPF_CORE_READ(rq, q, disk);
    else
        disk = BPF_CORE_READ((struct request___old *)rq, rq_disk);
    if (btf) {
        i->dev = disk ? (disk->major << 20 | disk->first_minor) : 0;
        i->sector = rq->__sector;
        i->bytes = rq->__data_len;
        i->op = op_of(rq->cmd_flags & 0xff);  // REQ_OP_MASK
        return;
    }
    i->dev = disk ? (BPF_CORE_READ(disk, major) << 20 | BPF_CORE_READ(disk, first_minor)) : 0;
    i->sector = BPF_CORE_READ(rq, __sector);
    i->bytes = BPF_CORE_READ(rq, __data_len);
    i->op = op_of(BPF_CORE_READ(rq, cmd_flags) & 0xff);
}

// rwbs: [F]{R|W|D|F|N}[F][A][S][M]: a leading F before R/W/D/N is a preflush, not the operation.
static __always_inline void info_of_rwbs(const char *record_rwbs, struct rq_info *i)
{
    char rwbs[2] = {};
    bpf_probe_read_kernel(rwbs, sizeof(rwbs), record_rwbs);  // ctx bytes only at constant offsets
    char c = rwbs[0];
    if (c == 'F' && (rwbs[1] == 'R' || rwbs[1] == 'W' || rwbs[1] == 'D' || rwbs[1] == 'N'))
        c = rwbs[1];
    i->op = c == 'R' ? IODIAG_BLOCK_READ
          : c == 'W' ? IODIAG_BLOCK_WRITE
          : c == 'F' ? IODIAG_BLOCK_FLUSH
          : c == 'D' ? IODIAG_BLOCK_DISCARD
                     : IODIAG_BLOCK_OTHER;
}

static __always_inline __u32 current_target(void)
{
    __u32 tgid = bpf_get_current_pid_tgid() >> 32;
    return bpf_map_lookup_elem(&targets, &tgid) ? tgid : 0;
}

static __always_inline void on_insert(struct rq_key *key, struct rq_info *i)
{
    if (!bpf_map_lookup_elem(&devices, &i->dev))
        return;
    struct pending p = {};
    p.sector = i->sector;
    p.bytes = i->bytes;
    p.insert_ns = bpf_ktime_get_ns();
    p.tgid = current_target();
    p.op = i->op;
    // The request's last use was issued but its completion never reached us (seen on a loop
    // device under load, ~8 requests a run, with no recursion misses): without this it would
    // count as in the device for the rest of the trace.
    struct pending *stale = bpf_map_lookup_elem(&inflight, key);
    if (stale && stale->issue_ns) {
        struct iodiag_block_totals *t = bpf_map_lookup_elem(&devices, &i->dev);
        if (t) {
            __sync_fetch_and_add(&t->in_flight, -1);
            __sync_fetch_and_add(&t->missed, 1);
        }
    }
    if (bpf_map_update_elem(&inflight, key, &p, BPF_ANY)) {
        struct iodiag_block_totals *t = bpf_map_lookup_elem(&devices, &i->dev);
        if (t)
            __sync_fetch_and_add(&t->untracked, 1);
    }
}

static __always_inline void on_issue(struct rq_key *key, struct rq_info *i)
{
    struct iodiag_block_totals *t = bpf_map_lookup_elem(&devices, &i->dev);
    if (!t)
        return;
    struct pending *p = bpf_map_lookup_elem(&inflight, key);
    if (!p) {
        // Issued without going through a scheduler queue.
        struct pending fresh = {};
        fresh.op = i->op;
        if (bpf_map_update_elem(&inflight, key, &fresh, BPF_ANY)) {
            __sync_fetch_and_add(&t->untracked, 1);
            return;
        }
        p = bpf_map_lookup_elem(&inflight, key);
        if (!p)
            return;
    }
    p->sector = i->sector;
    p->bytes = i->bytes;
    if (!p->tgid)
        p->tgid = current_target();
    if (!p->issue_ns)
        p->in_device = __sync_fetch_and_add(&t->in_flight, 1) + 1;
    p->issue_ns = bpf_ktime_get_ns();
}

static __always_inline void on_requeue(struct rq_key *key, struct rq_info *i)
{
    struct iodiag_block_totals *t = bpf_map_lookup_elem(&devices, &i->dev);
    if (!t)
        return;
    struct pending *p = bpf_map_lookup_elem(&inflight, key);
    if (p && p->issue_ns) {
        __sync_fetch_and_add(&t->in_flight, -1);
        p->issue_ns = 0;
    }
}

// Merged into another request in the scheduler queue: it will never be issued on its own.
static __always_inline void on_merge(struct rq_key *key)
{
    bpf_map_delete_elem(&inflight, key);
}

// `done` is the bytes this completion covers; a driver may complete a request in parts, and only
// the part that ends it (all that is left, i->bytes) completes it.
static __always_inline void on_complete(struct rq_key *key, struct rq_info *i, __s32 error, __u64 done)
{
    struct iodiag_block_totals *t = bpf_map_lookup_elem(&devices, &i->dev);
    if (!t)
        return;
    if (done < i->bytes)
        return;
    struct pending *p = bpf_map_lookup_elem(&inflight, key);
    __u8 op = p ? p->op : i->op;
    __u64 bytes = p ? p->bytes : i->bytes;
    __sync_fetch_and_add(&t->requests, 1);
    if (op == IODIAG_BLOCK_READ) {
        __sync_fetch_and_add(&t->reads, 1);
        __sync_fetch_and_add(&t->read_bytes, bytes);
    } else if (op == IODIAG_BLOCK_WRITE) {
        __sync_fetch_and_add(&t->writes, 1);
        __sync_fetch_and_add(&t->write_bytes, bytes);
    } else if (op == IODIAG_BLOCK_FLUSH) {
        __sync_fetch_and_add(&t->flushes, 1);
    } else if (op == IODIAG_BLOCK_DISCARD) {
        __sync_fetch_and_add(&t->discards, 1);
    } else {
        __sync_fetch_and_add(&t->others, 1);
    }
    if (error)
        __sync_fetch_and_add(&t->errors, 1);
    if (!p)
        return;  // issued before the trace started: counted, but its times are unknown
    if (p->tgid)
        __sync_fetch_and_add(&t->attributed, 1);
    if (p->issue_ns)
        __sync_fetch_and_add(&t->in_flight, -1);

    struct iodiag_block_rq *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (!e) {
        __sync_fetch_and_add(&t->dropped, 1);
        bpf_map_delete_elem(&inflight, key);
        return;
    }
    e->sector = p->sector;
    e->bytes = p->bytes;
    e->insert_ns = p->insert_ns;
    e->issue_ns = p->issue_ns;
    e->complete_ns = bpf_ktime_get_ns();
    e->dev = i->dev;
    e->tgid = p->tgid;
    e->in_device = p->in_device;
    e->error = error;
    e->op = p->op;
    __builtin_memset(e->pad, 0, sizeof(e->pad));
    bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
    bpf_map_delete_elem(&inflight, key);
}

// ---- tp_btf and raw_tp: the struct request itself ----

#define RQ_KEY(rq) struct rq_key key = {.id = (__u64)(rq), .sector = 0}

static __always_inline void rq_insert(struct request *rq, const int btf)
{
    struct rq_info i = {};
    info_of_rq(rq, &i, btf);
    RQ_KEY(rq);
    on_insert(&key, &i);
}

static __always_inline void rq_issue(struct request *rq, const int btf)
{
    struct rq_info i = {};
    info_of_rq(rq, &i, btf);
    RQ_KEY(rq);
    on_issue(&key, &i);
}

static __always_inline void rq_requeue(struct request *rq, const int btf)
{
    struct rq_info i = {};
    info_of_rq(rq, &i, btf);
    RQ_KEY(rq);
    on_requeue(&key, &i);
}

static __always_inline void rq_merge(struct request *rq)
{
    RQ_KEY(rq);
    on_merge(&key);
}

static __always_inline void rq_complete(struct request *rq, int error, unsigned int nr_bytes, const int btf)
{
    struct rq_info i = {};
    info_of_rq(rq, &i, btf);
    RQ_KEY(rq);
    on_complete(&key, &i, error, nr_bytes);
}

SEC("tp_btf/block_rq_insert")
int BPF_PROG(block_insert_btf, struct request *rq) { rq_insert(rq, 1); return 0; }
SEC("tp_btf/block_rq_issue")
int BPF_PROG(block_issue_btf, struct request *rq) { rq_issue(rq, 1); return 0; }
SEC("tp_btf/block_rq_requeue")
int BPF_PROG(block_requeue_btf, struct request *rq) { rq_requeue(rq, 1); return 0; }
SEC("tp_btf/block_rq_merge")
int BPF_PROG(block_merge_btf, struct request *rq) { rq_merge(rq); return 0; }
SEC("tp_btf/block_rq_complete")
int BPF_PROG(block_complete_btf, struct request *rq, int error, unsigned int nr_bytes)
{
    rq_complete(rq, error, nr_bytes, 1);
    return 0;
}

SEC("raw_tp/block_rq_insert")
int BPF_PROG(block_insert_raw, struct request *rq) { rq_insert(rq, 0); return 0; }
SEC("raw_tp/block_rq_issue")
int BPF_PROG(block_issue_raw, struct request *rq) { rq_issue(rq, 0); return 0; }
SEC("raw_tp/block_rq_requeue")
int BPF_PROG(block_requeue_raw, struct request *rq) { rq_requeue(rq, 0); return 0; }
SEC("raw_tp/block_rq_merge")
int BPF_PROG(block_merge_raw, struct request *rq) { rq_merge(rq); return 0; }
SEC("raw_tp/block_rq_complete")
int BPF_PROG(block_complete_raw, struct request *rq, int error, unsigned int nr_bytes)
{
    rq_complete(rq, error, nr_bytes, 0);
    return 0;
}

// ---- classic tracepoints: only the formatted record ----

SEC("tracepoint/block/block_rq_insert")
int block_insert_tp(struct trace_event_raw_block_rq *args)
{
    struct rq_info i = {.dev = args->dev, .sector = args->sector, .bytes = args->bytes};
    info_of_rwbs(args->rwbs, &i);
    struct rq_key key = {.id = args->dev, .sector = args->sector};
    on_insert(&key, &i);
    return 0;
}

SEC("tracepoint/block/block_rq_issue")
int block_issue_tp(struct trace_event_raw_block_rq *args)
{
    struct rq_info i = {.dev = args->dev, .sector = args->sector, .bytes = args->bytes};
    info_of_rwbs(args->rwbs, &i);
    struct rq_key key = {.id = args->dev, .sector = args->sector};
    on_issue(&key, &i);
    return 0;
}

SEC("tracepoint/block/block_rq_requeue")
int block_requeue_tp(struct trace_event_raw_block_rq_requeue *args)
{
    struct rq_info i = {.dev = args->dev, .sector = args->sector};
    struct rq_key key = {.id = args->dev, .sector = args->sector};
    on_requeue(&key, &i);
    return 0;
}

SEC("tracepoint/block/block_rq_merge")
int block_merge_tp(struct trace_event_raw_block_rq *args)
{
    struct rq_key key = {.id = args->dev, .sector = args->sector};
    on_merge(&key);
    return 0;
}

SEC("tracepoint/block/block_rq_complete")
int block_complete_tp(struct trace_event_raw_block_rq_completion *args)
{
    // The record has no request size: take the part it reports as all there was.
    __u64 done = (__u64)args->nr_sector << 9;
    struct rq_info i = {.dev = args->dev, .sector = args->sector, .bytes = done};
    info_of_rwbs(args->rwbs, &i);
    struct rq_key key = {.id = args->dev, .sector = args->sector};
    on_complete(&key, &i, args->error, done);
    return 0;
}
