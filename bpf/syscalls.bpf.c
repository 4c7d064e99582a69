// Syscall IO events of the traced processes: one record per call at its exit (with the fd's file:
// inode, position, open flags), libaio iocbs at io_submit and their completions at io_getevents,
// and exact per-call totals in per-CPU maps that hold even when the ring buffer is full.
//
// Hot path (every syscall of every process): one rodata load decides whether the call is one of
// ours, then the tgid test (a rodata constant for a single process; with --children the shared
// targets map, looked up once per thread and the answer kept in task storage). Ids come from the
// task with plain loads: each helper call costs ~25 ns on a virtual machine. Enter keeps only
// the entry time, in task storage; exit finds that state (no state: not ours) and reads the
// arguments then, from the saved user registers. The tp_btf variant reads the fd's struct file
// with plain loads (one helper call instead of a dozen). Records are submitted without waking
// user space, which polls.
//
// Each hook exists as tp_btf and raw_tp; user space enables one of each pair before load.
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "syscalls.h"
#include "targets.h"

char LICENSE[] SEC("license") = "GPL";

// Set by user space before load.
const volatile __u32 target_tgid = 0;  // nonzero: trace only this process (no map lookup)
const volatile __u8 call_of_nr[IODIAG_SC_NR_MAX] = {};  // syscall number -> enum iodiag_sc_call

IODIAG_TARGETS_MAP(targets);

// Bumped whenever a process joins the targets map (fork hook; user space after its /proc walk):
// a thread found untraced asks the map again only once it has changed.
__u32 targets_gen = 0;

enum { THREAD_UNKNOWN, THREAD_TRACED, THREAD_UNTRACED };

struct enter_state {
    __u64 ts_ns;  // 0 = no call of ours in progress
    __u32 call;
    __u8 traced;  // THREAD_*: the targets map's answer for this thread (--children)
    __u8 pad[3];
    __u32 gen;    // targets_gen when `traced` was asked
    __u32 pad2;
};

struct {
    __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, int);
    __type(value, struct enter_state);
} enter_states SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 1 << 20);  // resized by user space before load
} events SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, IODIAG_SC_CALLS);
    __type(key, __u32);
    __type(value, struct iodiag_sc_totals);
} totals SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct iodiag_sc_counters);
} counters SEC(".maps");

// Reinterprets a kernel address as a BTF type, for plain loads (6.2+; the verifier makes it a move).
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;

// Kernel ABI values used below.
#define MAP_ANONYMOUS_ 0x20
#define IOCB_CMD_PREADV_ 7
#define IOCB_CMD_PWRITEV_ 8

struct user_iovec {
    __u64 base;
    __u64 len;
};

static __always_inline void count(__u32 counter, __u64 n)
{
    __u32 zero = 0;
    struct iodiag_sc_counters *c = bpf_map_lookup_elem(&counters, &zero);
    if (c && counter < IODIAG_CNT_MAX) c->value[counter] += n;
}

static __always_inline __u32 log2_bucket(__u64 v, __u32 buckets)
{
    // floor(log2(v)) + 1, 0 for 0: the bucket [2^(k-1), 2^k) of v.
    __u32 r = 0;
    if (v >> 32) { v >>= 32; r += 32; }
    if (v >> 16) { v >>= 16; r += 16; }
    if (v >> 8) { v >>= 8; r += 8; }
    if (v >> 4) { v >>= 4; r += 4; }
    if (v >> 2) { v >>= 2; r += 2; }
    if (v >> 1) { r += 1; }
    r += v ? 1 : 0;
    return r < buckets ? r : buckets - 1;
}

static __always_inline void *reserve(__u64 size)
{
    void *rec = bpf_ringbuf_reserve(&events, size, 0);
    count(rec ? IODIAG_CNT_RECORDS : IODIAG_CNT_DROPPED, 1);
    return rec;
}

static __always_inline void submit(void *rec)
{
    bpf_ringbuf_submit(rec, BPF_RB_NO_WAKEUP);  // user space polls
}

// The open file behind fd in the current process, or mode 0 when there is none. `btf` (a
// constant at each call site) picks plain loads through BTF pointers over probe reads.
static __always_inline void read_file(struct iodiag_sc_file *out, int fd, const int btf)
{
    out->mode = 0;
    if (fd < 0) return;
    if (btf) {
        struct task_struct *task = bpf_get_current_task_btf();
        struct fdtable *fdt = task->files->fdt;
        if ((unsigned int)fd >= fdt->max_fds) return;
        struct file *ptr = 0;
        bpf_probe_read_kernel(&ptr, sizeof(ptr), (void *)fdt->fd + fd * sizeof(ptr));
        if (!ptr) return;
        struct file *file = bpf_rdonly_cast(ptr, bpf_core_type_id_kernel(struct file));
        struct inode *inode = file->f_inode;
        out->pos = file->f_pos;
        out->flags = file->f_flags;
        out->ino = inode->i_ino;
        out->dev = inode->i_sb->s_dev;
        out->mode = inode->i_mode;
        return;
    }
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
    if (!fdt) return;
    if ((unsigned int)fd >= BPF_CORE_READ(fdt, max_fds)) return;
    struct file **fds = BPF_CORE_READ(fdt, fd);
    struct file *file = 0;
    bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]);
    if (!file) return;
    struct inode *inode = BPF_CORE_READ(file, f_inode);
    out->pos = BPF_CORE_READ(file, f_pos);
    out->flags = BPF_CORE_READ(file, f_flags);
    out->ino = BPF_CORE_READ(inode, i_ino);
    out->dev = BPF_CORE_READ(inode, i_sb, s_dev);
    out->mode = BPF_CORE_READ(inode, i_mode);
}

static __always_inline __u64 iov_bytes(__u64 iov, __u64 iovcnt)
{
    __u64 sum = 0;
    for (int i = 0; i < IODIAG_SC_IOV_MAX; i++) {
        if (i >= iovcnt) break;
        struct user_iovec v = {};
        if (bpf_probe_read_user(&v, sizeof(v), (void *)(iov + i * sizeof(v)))) break;
        sum += v.len;
    }
    return sum;
}

static __always_inline int is_data_call(__u32 call)
{
    return call >= IODIAG_SC_READ && call <= IODIAG_SC_PWRITEV2;
}

static __always_inline void add_totals(__u32 call, __s64 ret, __u64 dur, __u64 requested)
{
    struct iodiag_sc_totals *t = bpf_map_lookup_elem(&totals, &call);
    if (!t) return;
    t->calls++;
    t->latency_ns += dur;
    __u32 lat = log2_bucket(dur, IODIAG_SC_LATENCY_BUCKETS);
    t->latency_log2[lat]++;
    if (ret < 0) {
        t->errors++;
        return;
    }
    if (is_data_call(call)) {
        t->bytes += ret;
        __u32 size = log2_bucket(requested, IODIAG_SC_SIZE_BUCKETS);
        t->size_log2[size]++;
    }
}

// ---- libaio ----

// The iocb read_iocb is at, per CPU rather than on the stack: the raw_tp sys_exit program's frame
// plus its deepest bpf_loop callback's must stay within the verifier's 512 bytes.
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct iocb);
} iocb_scratch SEC(".maps");

struct iocb_loop {
    __u64 iocbpp;  // the io_submit array of iocb pointers
    __u64 ctx;
    __u64 ts_ns;
    __u64 pid_tgid;
    __u32 read;
    __s32 last_fd;  // the iocbs of one call mostly share an fd: its file is read once
    struct iodiag_sc_file last_file;
};

static __always_inline int read_iocb(__u32 i, struct iocb_loop *loop, const int btf)
{
    __u64 addr = 0;
    __u32 zero = 0;
    struct iocb *cb = bpf_map_lookup_elem(&iocb_scratch, &zero);
    if (!cb || bpf_probe_read_user(&addr, sizeof(addr), (void *)(loop->iocbpp + i * sizeof(addr))) ||
        bpf_probe_read_user(cb, sizeof(*cb), (void *)addr))
        return 1;
    struct iodiag_sc_iocb_rec *rec = reserve(sizeof(*rec));
    loop->read++;
    if (!rec) return 0;
    __builtin_memset(rec, 0, sizeof(*rec));
    rec->type = IODIAG_REC_IOCB;
    rec->opcode = cb->aio_lio_opcode;
    rec->tid = (__u32)loop->pid_tgid;
    rec->tgid = loop->pid_tgid >> 32;
    rec->fd = cb->aio_fildes;
    rec->ts_ns = loop->ts_ns;
    rec->ctx = loop->ctx;
    rec->iocb = addr;
    rec->offset = cb->aio_offset;
    rec->rw_flags = cb->aio_rw_flags;
    rec->bytes = cb->aio_nbytes;
    if (cb->aio_lio_opcode == IOCB_CMD_PREADV_ || cb->aio_lio_opcode == IOCB_CMD_PWRITEV_)
        rec->bytes = iov_bytes(cb->aio_buf, cb->aio_nbytes);
    if (rec->fd != loop->last_fd) {
        read_file(&loop->last_file, rec->fd, btf);
        loop->last_fd = rec->fd;
    }
    rec->file = loop->last_file;
    submit(rec);
    return 0;
}

// bpf_loop callbacks, one per variant (the tp_btf one reads the file with plain loads).
static int read_iocb_btf(__u32 i, void *loop) { return read_iocb(i, loop, 1); }
static int read_iocb_raw(__u32 i, void *loop) { return read_iocb(i, loop, 0); }

struct done_loop {
    __u64 events;  // the io_getevents result array
    __u64 ctx;
    __u64 ts_ns;
    __u64 pid_tgid;
};

static int read_done(__u32 i, void *data)
{
    struct done_loop *loop = data;
    struct io_event ev = {};
    if (bpf_probe_read_user(&ev, sizeof(ev), (void *)(loop->events + i * sizeof(ev)))) return 1;
    struct iodiag_sc_done_rec *rec = reserve(sizeof(*rec));
    if (!rec) return 0;
    __builtin_memset(rec, 0, sizeof(*rec));
    rec->type = IODIAG_REC_AIO_DONE;
    rec->tid = (__u32)loop->pid_tgid;
    rec->tgid = loop->pid_tgid >> 32;
    rec->ts_ns = loop->ts_ns;
    rec->ctx = loop->ctx;
    rec->iocb = ev.obj;
    rec->res = ev.res;
    submit(rec);
    return 0;
}

// ---- libaio completions taken from the ring in user space ----
//
// The aio context id is the user address of the kernel's completion ring. io_getevents takes
// io_events from its head; an application may instead read them there itself and move the head
// (qemu does, and fio with userspace_reap), so no call returns them. At each io_submit and
// io_getevents the head is compared with where it was at the process's last such call on the
// context: the io_events in between were taken in user space. They are still in the ring: no
// request is submitted between two of these calls, and the kernel keeps no more requests in
// flight than the ring has slots, so the tail cannot have come round to them. Their completion
// time is the entry of the call that saw the head moved: an upper bound on when the process took
// them. Completions taken after the last call (before io_destroy) are not seen.

#define AIO_RING_MAGIC_ 0xa10a10a1

struct user_aio_ring {  // include/linux/aio.h's struct aio_ring header; io_events follow it
    __u32 id, nr, head, tail, magic, compat_features, incompat_features, header_length;
};

struct ring_key {
    __u32 tgid;
    __u32 pad;
    __u64 ctx;
};

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 4096);
    __type(key, struct ring_key);
    __type(value, __u32);  // the ring's head at the process's last call on it
} aio_heads SEC(".maps");

struct ring_loop {
    __u64 ctx;
    __u64 ts_ns;
    __u64 pid_tgid;
    __u32 first;  // ring slot of the first io_event taken
    __u32 nr;
};

static int read_ring_event(__u32 i, void *data)
{
    struct ring_loop *loop = data;
    __u32 slot = loop->first + i;
    if (slot >= loop->nr) slot -= loop->nr;
    struct io_event ev = {};
    if (bpf_probe_read_user(&ev, sizeof(ev),
                            (void *)(loop->ctx + sizeof(struct user_aio_ring) + (__u64)slot * sizeof(ev))))
        return 1;
    struct iodiag_sc_done_rec *rec = reserve(sizeof(*rec));
    if (!rec) return 0;
    __builtin_memset(rec, 0, sizeof(*rec));
    rec->type = IODIAG_REC_AIO_DONE;
    rec->from_ring = 1;
    rec->tid = (__u32)loop->pid_tgid;
    rec->tgid = loop->pid_tgid >> 32;
    rec->ts_ns = loop->ts_ns;
    rec->ctx = loop->ctx;
    rec->iocb = ev.obj;
    rec->res = ev.res;
    submit(rec);
    return 0;
}

// The io_events taken from ctx's ring in user space since the last call (records sent before
// the call's own, so a reused iocb's completion precedes its next submit). `kernel_taken`: what
// this call itself took from the head (io_getevents' result), at its exit.
static __always_inline __u32 ring_reaped(__u64 ctx, long kernel_taken, __u64 ts_ns, __u64 pid_tgid)
{
    struct user_aio_ring ring = {};
    if (!ctx || bpf_probe_read_user(&ring, sizeof(ring), (void *)ctx)) return 0;
    if (ring.magic != AIO_RING_MAGIC_ || !ring.nr || ring.head >= ring.nr) return 0;
    __u32 taken = kernel_taken > 0 ? (__u64)kernel_taken % ring.nr : 0;
    __u32 before = ring.head >= taken ? ring.head - taken : ring.head + ring.nr - taken;
    struct ring_key key = {.tgid = pid_tgid >> 32, .ctx = ctx};
    __u32 *last = bpf_map_lookup_elem(&aio_heads, &key);
    __u32 n = 0;
    if (last && *last < ring.nr) {
        n = before >= *last ? before - *last : before + ring.nr - *last;
        if (n) {
            struct ring_loop loop = {
                .ctx = ctx, .ts_ns = ts_ns, .pid_tgid = pid_tgid, .first = *last, .nr = ring.nr};
            bpf_loop(n < IODIAG_SC_EVENTS_MAX ? n : IODIAG_SC_EVENTS_MAX, read_ring_event, &loop, 0);
            count(IODIAG_CNT_RING_REAPED, n);
        }
    }
    __u32 head = ring.head;
    bpf_map_update_elem(&aio_heads, &key, &head, BPF_ANY);
    return n;
}

// ---- enter / exit ----

static __always_inline int on_enter(long id)
{
    if ((unsigned long)id >= IODIAG_SC_NR_MAX) return 0;
    __u32 call = call_of_nr[id];
    if (!call) return 0;
    struct task_struct *task = bpf_get_current_task_btf();
    struct enter_state *st;
    if (target_tgid) {
        if (task->tgid != target_tgid) return 0;  // a plain load: cheaper than a helper call
        st = bpf_task_storage_get(&enter_states, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
        if (!st) return 0;
    } else {
        // Threads never change process, so a yes holds for the thread's life. A no holds only
        // until the map grows: a process forked while iodiag attached joins after its first calls.
        st = bpf_task_storage_get(&enter_states, task, 0, 0);
        if (!st || (st->traced == THREAD_UNTRACED && st->gen != targets_gen)) {
            __u32 gen = targets_gen;  // before the lookup: a join after it is seen next time
            __u32 tgid = task->tgid;
            __u8 traced = bpf_map_lookup_elem(&targets, &tgid) ? THREAD_TRACED : THREAD_UNTRACED;
            if (!st) st = bpf_task_storage_get(&enter_states, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
            if (!st) return 0;
            st->traced = traced;
            st->gen = gen;
        }
        if (st->traced != THREAD_TRACED) return 0;
    }
    st->call = call;
    st->ts_ns = bpf_ktime_get_ns();
    return 0;
}

// The call in progress on this thread, if it is one of ours (consumed), and the thread's ids.
static __always_inline int take_state(struct enter_state *out, __u64 *pid_tgid)
{
    struct task_struct *task = bpf_get_current_task_btf();
    struct enter_state *st = bpf_task_storage_get(&enter_states, task, 0, 0);
    if (!st || !st->ts_ns) return 0;
    *out = *st;
    st->ts_ns = 0;
    *pid_tgid = (__u64)task->tgid << 32 | (__u32)task->pid;
    return 1;
}

static __always_inline int on_exit(const struct enter_state *st, __u64 pid_tgid, const __u64 *a,
                                   long ret, const int btf)
{
    __u64 now = bpf_ktime_get_ns();
    __u64 dur = now - st->ts_ns;
    __u32 call = st->call;

    // What the totals count as requested bytes, and whether the call needs a record at all.
    __u64 requested = 0;
    switch (call) {
    case IODIAG_SC_READ:
    case IODIAG_SC_WRITE:
    case IODIAG_SC_PREAD64:
    case IODIAG_SC_PWRITE64: requested = a[2]; break;
    case IODIAG_SC_READV:
    case IODIAG_SC_WRITEV:
    case IODIAG_SC_PREADV:
    case IODIAG_SC_PWRITEV:
    case IODIAG_SC_PREADV2:
    case IODIAG_SC_PWRITEV2: requested = iov_bytes(a[1], a[2]); break;
    case IODIAG_SC_MMAP:
        add_totals(call, ret, dur, 0);
        if ((a[3] & MAP_ANONYMOUS_) || (int)a[4] < 0) return 0;  // only file mappings matter
        break;
    }
    add_totals(call, ret, dur, requested);

    // libaio: completions taken from the ring in user space before this call, the iocbs
    // io_submit accepted, the completions io_getevents returned.
    __u32 from_ring = 0;  // one call site: each inlined copy would take stack of its own
    if (call == IODIAG_SC_IO_SUBMIT || call == IODIAG_SC_IO_GETEVENTS || call == IODIAG_SC_IO_PGETEVENTS)
        from_ring = ring_reaped(a[0], call == IODIAG_SC_IO_SUBMIT ? 0 : ret, st->ts_ns, pid_tgid);
    if (call == IODIAG_SC_IO_SUBMIT && ret > 0) {
        struct iocb_loop loop = {
            .iocbpp = a[2], .ctx = a[0], .ts_ns = st->ts_ns, .pid_tgid = pid_tgid, .last_fd = -1};
        __u32 n = ret < IODIAG_SC_IOCB_MAX ? ret : IODIAG_SC_IOCB_MAX;
        if (btf)
            bpf_loop(n, read_iocb_btf, &loop, 0);
        else
            bpf_loop(n, read_iocb_raw, &loop, 0);
        count(IODIAG_CNT_IOCBS, ret);
        count(IODIAG_CNT_IOCBS_UNREAD, ret - loop.read);
    } else if ((call == IODIAG_SC_IO_GETEVENTS || call == IODIAG_SC_IO_PGETEVENTS) && ret > 0) {
        struct done_loop loop = {.events = a[3], .ctx = a[0], .ts_ns = now, .pid_tgid = pid_tgid};
        __u32 n = ret < IODIAG_SC_EVENTS_MAX ? ret : IODIAG_SC_EVENTS_MAX;
        bpf_loop(n, read_done, &loop, 0);
        count(IODIAG_CNT_COMPLETIONS, ret);
    }

    const int is_open = call == IODIAG_SC_OPEN || call == IODIAG_SC_OPENAT ||
                        call == IODIAG_SC_OPENAT2 || call == IODIAG_SC_CREAT;
    struct iodiag_sc_call_rec *rec =
        reserve(is_open ? sizeof(struct iodiag_sc_open_rec) : sizeof(struct iodiag_sc_call_rec));
    if (!rec) return 0;
    __builtin_memset(rec, 0, sizeof(*rec));
    rec->type = is_open ? IODIAG_REC_OPEN : IODIAG_REC_CALL;
    rec->call = call;
    rec->tid = (__u32)pid_tgid;
    rec->tgid = pid_tgid >> 32;
    rec->fd = -1;
    rec->ts_ns = st->ts_ns;
    rec->dur_ns = dur;
    rec->ret = ret;
    rec->bytes = requested;

    int file_fd = -1;  // whose struct file to describe
    __u64 path = 0;
    switch (call) {
    case IODIAG_SC_READ:
    case IODIAG_SC_WRITE:
    case IODIAG_SC_READV:
    case IODIAG_SC_WRITEV: file_fd = rec->fd = a[0]; break;
    case IODIAG_SC_PREAD64:
    case IODIAG_SC_PWRITE64:
    case IODIAG_SC_PREADV:
    case IODIAG_SC_PWRITEV:
        file_fd = rec->fd = a[0];
        rec->offset = a[3];
        rec->has_offset = 1;
        break;
    case IODIAG_SC_PREADV2:
    case IODIAG_SC_PWRITEV2:
        file_fd = rec->fd = a[0];
        rec->offset = a[3];
        rec->has_offset = (__s64)a[3] != -1;  // -1: at the file position
        rec->flags = a[5];
        break;
    case IODIAG_SC_LSEEK:
        file_fd = rec->fd = a[0];
        rec->offset = a[1];
        rec->has_offset = 1;
        rec->flags = a[2];
        break;
    case IODIAG_SC_FSYNC:
    case IODIAG_SC_FDATASYNC: file_fd = rec->fd = a[0]; break;
    case IODIAG_SC_SYNC_FILE_RANGE:
        file_fd = rec->fd = a[0];
        rec->offset = a[1];
        rec->has_offset = 1;
        rec->bytes = a[2];
        rec->flags = a[3];
        break;
    case IODIAG_SC_OPEN:
        path = a[0];
        rec->flags = a[1];
        break;
    case IODIAG_SC_CREAT:
        path = a[0];  // its implied flags are user space's (trace/io_flags.hpp creat_open_flags)
        break;
    case IODIAG_SC_OPENAT:
        rec->fd = a[0];
        path = a[1];
        rec->flags = a[2];
        break;
    case IODIAG_SC_OPENAT2: {
        __u64 how_flags = 0;  // struct open_how starts with its u64 flags
        bpf_probe_read_user(&how_flags, sizeof(how_flags), (void *)a[2]);
        rec->fd = a[0];
        path = a[1];
        rec->flags = how_flags;
        break;
    }
    case IODIAG_SC_CLOSE: rec->fd = a[0]; break;
    case IODIAG_SC_DUP:
    case IODIAG_SC_DUP2:
    case IODIAG_SC_DUP3: file_fd = rec->fd = a[0]; break;
    case IODIAG_SC_IO_SETUP:
        rec->count = a[0];
        if (ret == 0) bpf_probe_read_user(&rec->ctx, sizeof(rec->ctx), (void *)a[1]);
        break;
    case IODIAG_SC_IO_SUBMIT:
        rec->ctx = a[0];
        rec->count = a[1];
        rec->ring_reaped = from_ring;
        break;
    case IODIAG_SC_IO_GETEVENTS:
    case IODIAG_SC_IO_PGETEVENTS:
        rec->ctx = a[0];
        rec->count = a[1];
        rec->count2 = a[2];
        rec->ring_reaped = from_ring;
        break;
    case IODIAG_SC_IO_URING_SETUP:
        rec->count = a[0];
        // struct io_uring_params: sq_entries, cq_entries, flags, ...
        bpf_probe_read_user(&rec->flags, sizeof(rec->flags), (void *)(a[1] + 8));
        break;
    case IODIAG_SC_IO_URING_ENTER:
        rec->fd = a[0];
        rec->ctx = a[0];
        rec->count = a[1];
        rec->count2 = a[2];
        rec->flags = a[3];
        break;
    case IODIAG_SC_MMAP:
        file_fd = rec->fd = a[4];
        rec->bytes = a[1];
        rec->offset = a[5];
        rec->has_offset = 1;
        rec->flags = a[3];
        break;
    }
    if (is_open) {
        if (ret >= 0) file_fd = ret;  // describe the new fd's file
        struct iodiag_sc_open_rec *open = (struct iodiag_sc_open_rec *)rec;
        if (bpf_probe_read_user_str(open->path, sizeof(open->path), (void *)path) < 0)
            open->path[0] = 0;
    }
    read_file(&rec->file, file_fd, btf);
    submit(rec);
    return 0;
}

// Syscall arguments from the user registers the kernel saved at entry (libbpf 1.1 has no
// sixth-argument macro).
#ifndef PT_REGS_PARM6_SYSCALL
#if defined(__TARGET_ARCH_x86)
#define PT_REGS_PARM6_SYSCALL(x) ((x)->r9)
#elif defined(__TARGET_ARCH_arm64)
#define PT_REGS_PARM6_SYSCALL(x) (((const struct user_pt_regs *)(x))->regs[5])
#else
#define PT_REGS_PARM6_SYSCALL(x) 0
#endif
#endif
#define SYSCALL_ARGS(regs)                                                                    \
    {                                                                                          \
        PT_REGS_PARM1_SYSCALL(regs), PT_REGS_PARM2_SYSCALL(regs), PT_REGS_PARM3_SYSCALL(regs), \
            PT_REGS_PARM4_SYSCALL(regs), PT_REGS_PARM5_SYSCALL(regs),                         \
            PT_REGS_PARM6_SYSCALL(regs)                                                        \
    }

SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter_btf, struct pt_regs *regs, long id)
{
    return on_enter(id);
}

SEC("raw_tp/sys_enter")
int sys_enter_raw(struct bpf_raw_tracepoint_args *ctx)
{
    return on_enter(ctx->args[1]);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit_btf, struct pt_regs *regs, long ret)
{
    struct enter_state st;
    __u64 pid_tgid;
    if (!take_state(&st, &pid_tgid)) return 0;
    __u64 a[6] = SYSCALL_ARGS(regs);  // a trusted pointer here: plain loads
    return on_exit(&st, pid_tgid, a, ret, 1);
}

SEC("raw_tp/sys_exit")
int sys_exit_raw(struct bpf_raw_tracepoint_args *ctx)
{
    struct enter_state st;
    __u64 pid_tgid;
    if (!take_state(&st, &pid_tgid)) return 0;
    struct pt_regs regs;
    if (bpf_probe_read_kernel(&regs, sizeof(regs), (void *)ctx->args[0])) return 0;
    __u64 a[6] = SYSCALL_ARGS(&regs);
    return on_exit(&st, pid_tgid, a, ctx->args[1], 0);
}

// ---- processes: descendants join the targets map (--children); dead ones leave it ----

static __always_inline void emit_proc(__u8 event, __u32 tgid, __u32 parent)
{
    struct iodiag_sc_proc_rec *rec = reserve(sizeof(*rec));
    if (!rec) return;
    __builtin_memset(rec, 0, sizeof(*rec));
    rec->type = IODIAG_REC_PROC;
    rec->event = event;
    rec->tgid = tgid;
    rec->parent_tgid = parent;
    rec->ts_ns = bpf_ktime_get_ns();
    submit(rec);
}

static __always_inline int on_fork(__u32 parent_tgid, __u32 child_tgid)
{
    if (child_tgid == parent_tgid) return 0;  // a new thread
    if (!bpf_map_lookup_elem(&targets, &parent_tgid)) return 0;
    __u32 one = 1;
    if (bpf_map_update_elem(&targets, &child_tgid, &one, BPF_ANY)) return 0;
    __sync_fetch_and_add(&targets_gen, 1);
    count(IODIAG_CNT_FORKS, 1);
    emit_proc(IODIAG_PROC_FORK, child_tgid, parent_tgid);
    return 0;
}

static __always_inline int on_task_exit(struct task_struct *task)
{
    __u32 tgid = BPF_CORE_READ(task, tgid);
    if (!bpf_map_lookup_elem(&targets, &tgid)) return 0;
    if (BPF_CORE_READ(task, signal, live.counter) != 0) return 0;  // other threads live on
    bpf_map_delete_elem(&targets, &tgid);
    count(IODIAG_CNT_EXITS, 1);
    emit_proc(IODIAG_PROC_EXIT, tgid, 0);
    return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(fork_btf, struct task_struct *parent, struct task_struct *child)
{
    return on_fork(parent->tgid, child->tgid);
}

SEC("raw_tp/sched_process_fork")
int fork_raw(struct bpf_raw_tracepoint_args *ctx)
{
    struct task_struct *parent = (struct task_struct *)ctx->args[0];
    struct task_struct *child = (struct task_struct *)ctx->args[1];
    return on_fork(BPF_CORE_READ(parent, tgid), BPF_CORE_READ(child, tgid));
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(exit_btf, struct task_struct *task)
{
    return on_task_exit(task);
}

SEC("raw_tp/sched_process_exit")
int exit_raw(struct bpf_raw_tracepoint_args *ctx)
{
    return on_task_exit((struct task_struct *)ctx->args[0]);
}
