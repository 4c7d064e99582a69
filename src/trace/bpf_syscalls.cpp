#include "trace/bpf_syscalls.hpp"

#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <string>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "trace/bpf_attach.hpp"
#include "trace/io_flags.hpp"
#include "trace/kernel_ids.hpp"
#include "trace/open_flags.hpp"
#include "trace/raw_syscall.hpp"

#if IODIAG_HAVE_BPF
#include <linux/types.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "syscalls.h"
#include "syscalls.skel.h"
#endif

namespace iodiag::trace {

#if IODIAG_HAVE_BPF

namespace {

static_assert(sizeof(iodiag_sc_file) == 32);
static_assert(sizeof(iodiag_sc_call_rec) == 112);
static_assert(sizeof(iodiag_sc_open_rec) == 112 + IODIAG_SC_PATH_MAX);
static_assert(sizeof(iodiag_sc_iocb_rec) == 96);
static_assert(sizeof(iodiag_sc_done_rec) == 48);
static_assert(sizeof(iodiag_sc_proc_rec) == 24);
static_assert(sizeof(iodiag_sc_totals) == 8 * (4 + IODIAG_SC_SIZE_BUCKETS + IODIAG_SC_LATENCY_BUCKETS));
static_assert(static_cast<int>(Syscall::exit_group) < IODIAG_SC_CALLS);

// The BPF side names calls by trace::Syscall's values.
#define IODIAG_SAME_CALL(ours, bpf) static_assert(static_cast<int>(Syscall::ours) == IODIAG_SC_##bpf)
IODIAG_SAME_CALL(read, READ);
IODIAG_SAME_CALL(write, WRITE);
IODIAG_SAME_CALL(pread64, PREAD64);
IODIAG_SAME_CALL(pwrite64, PWRITE64);
IODIAG_SAME_CALL(readv, READV);
IODIAG_SAME_CALL(writev, WRITEV);
IODIAG_SAME_CALL(preadv, PREADV);
IODIAG_SAME_CALL(pwritev, PWRITEV);
IODIAG_SAME_CALL(preadv2, PREADV2);
IODIAG_SAME_CALL(pwritev2, PWRITEV2);
IODIAG_SAME_CALL(lseek, LSEEK);
IODIAG_SAME_CALL(fsync, FSYNC);
IODIAG_SAME_CALL(fdatasync, FDATASYNC);
IODIAG_SAME_CALL(sync_file_range, SYNC_FILE_RANGE);
IODIAG_SAME_CALL(open, OPEN);
IODIAG_SAME_CALL(openat, OPENAT);
IODIAG_SAME_CALL(openat2, OPENAT2);
IODIAG_SAME_CALL(creat, CREAT);
IODIAG_SAME_CALL(close, CLOSE);
IODIAG_SAME_CALL(dup, DUP);
IODIAG_SAME_CALL(dup2, DUP2);
IODIAG_SAME_CALL(dup3, DUP3);
IODIAG_SAME_CALL(io_setup, IO_SETUP);
IODIAG_SAME_CALL(io_submit, IO_SUBMIT);
IODIAG_SAME_CALL(io_getevents, IO_GETEVENTS);
IODIAG_SAME_CALL(io_pgetevents, IO_PGETEVENTS);
IODIAG_SAME_CALL(io_uring_setup, IO_URING_SETUP);
IODIAG_SAME_CALL(io_uring_enter, IO_URING_ENTER);
IODIAG_SAME_CALL(mmap, MMAP);
#undef IODIAG_SAME_CALL

struct NrCall {
    long nr;
    Syscall call;
};

// This architecture's syscall numbers of the calls we follow (arm64 has no open/creat/dup2).
constexpr NrCall kNumbers[] = {
    {SYS_read, Syscall::read},
    {SYS_write, Syscall::write},
    {SYS_pread64, Syscall::pread64},
    {SYS_pwrite64, Syscall::pwrite64},
    {SYS_readv, Syscall::readv},
    {SYS_writev, Syscall::writev},
    {SYS_preadv, Syscall::preadv},
    {SYS_pwritev, Syscall::pwritev},
    {SYS_preadv2, Syscall::preadv2},
    {SYS_pwritev2, Syscall::pwritev2},
    {SYS_lseek, Syscall::lseek},
    {SYS_fsync, Syscall::fsync},
    {SYS_fdatasync, Syscall::fdatasync},
    {SYS_sync_file_range, Syscall::sync_file_range},
#ifdef SYS_open
    {SYS_open, Syscall::open},
#endif
#ifdef SYS_creat
    {SYS_creat, Syscall::creat},
#endif
#ifdef SYS_dup2
    {SYS_dup2, Syscall::dup2},
#endif
#ifdef SYS_openat2
    {SYS_openat2, Syscall::openat2},
#endif
#ifdef SYS_io_pgetevents
    {SYS_io_pgetevents, Syscall::io_pgetevents},
#endif
    {SYS_openat, Syscall::openat},
    {SYS_close, Syscall::close},
    {SYS_dup, Syscall::dup},
    {SYS_dup3, Syscall::dup3},
    {SYS_io_setup, Syscall::io_setup},
    {SYS_io_submit, Syscall::io_submit},
    {SYS_io_getevents, Syscall::io_getevents},
    {SYS_io_uring_setup, Syscall::io_uring_setup},
    {SYS_io_uring_enter, Syscall::io_uring_enter},
    {SYS_mmap, Syscall::mmap},
};

// Requests whose completion never shows (lost record) are handed over after this many newer ones.
constexpr size_t kMaxPendingAio = size_t(1) << 16;

struct InodeKey {
    uint32_t dev = 0;
    uint64_t ino = 0;
    bool operator==(const InodeKey&) const = default;
};
struct InodeHash {
    size_t operator()(const InodeKey& k) const { return (k.ino * 0x9E3779B97F4A7C15ull) ^ k.dev; }
};

struct AioKey {
    uint32_t tgid = 0;
    uint64_t iocb = 0;
    bool operator==(const AioKey&) const = default;
};
struct AioHash {
    size_t operator()(const AioKey& k) const { return (k.iocb * 0x9E3779B97F4A7C15ull) ^ k.tgid; }
};

struct FileRef {
    uint32_t id = 0;
    FileKind kind = FileKind::unknown;
};

FileKind kind_of_mode(uint16_t mode) {
    switch (mode & S_IFMT) {
        case S_IFREG: return FileKind::regular;
        case S_IFBLK: return FileKind::block;
        case S_IFIFO: return FileKind::pipe;
        case S_IFSOCK: return FileKind::socket;
        default: return FileKind::pseudo;  // char devices, directories, anon inodes
    }
}

std::string read_link(const std::string& path) {
    char buf[4096];
    ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
    std::string out = n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
    constexpr std::string_view kDeleted = " (deleted)";  // unlinked: still the same file
    if (std::string_view(out).ends_with(kDeleted)) out.resize(out.size() - kDeleted.size());
    return out;
}

bool names_inode(const std::string& path, uint64_t ino) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && st.st_ino == ino;
}

IoDir iocb_direction(uint8_t opcode) {
    switch (opcode) {
        case kIocbPread:
        case kIocbPreadv: return IoDir::read;
        case kIocbPwrite:
        case kIocbPwritev: return IoDir::write;
        default: return IoDir::none;
    }
}

bool is_read(Syscall call) {
    switch (call) {
        case Syscall::read:
        case Syscall::pread64:
        case Syscall::readv:
        case Syscall::preadv:
        case Syscall::preadv2: return true;
        default: return false;
    }
}

// One key of a per-CPU array, summed over CPUs (the struct is all u64 counters, 8-byte aligned).
iodiag_sc_totals summed_totals(int map_fd, uint32_t key) {
    iodiag_sc_totals sum{};
    const int cpus = libbpf_num_possible_cpus();
    std::vector<iodiag_sc_totals> values(cpus > 0 ? static_cast<size_t>(cpus) : 0);
    if (values.empty() || bpf_map_lookup_elem(map_fd, &key, values.data()) != 0) return sum;
    constexpr size_t kWords = sizeof(iodiag_sc_totals) / sizeof(__u64);
    auto* out = reinterpret_cast<__u64*>(&sum);
    for (const auto& cpu : values) {
        const auto* in = reinterpret_cast<const __u64*>(&cpu);
        for (size_t i = 0; i < kWords; ++i) out[i] += in[i];
    }
    return sum;
}

}  // namespace

struct BpfSyscalls::Impl {
    size_t ring_bytes;
    iodiag_syscalls* skel = nullptr;
    ring_buffer* ring = nullptr;
    BpfLinks links;
    bool detached = false;
    int32_t tgid = 0;

    // Set for the duration of one poll().
    EventSink* sink = nullptr;
    FileTable* files = nullptr;
    uint64_t delivered = 0;

    std::unordered_map<InodeKey, FileRef, InodeHash> by_inode;
    std::unordered_map<InodeKey, std::string, InodeHash> preloaded;  // names from /proc at attach

    struct PendingAio {
        AsyncRequest request;
        AioKey key;
        bool done = false;
    };
    std::deque<PendingAio> aio;  // in submit order: the classifier sees requests as issued
    uint64_t aio_first = 0;      // sequence number of aio.front()
    std::unordered_map<AioKey, uint64_t, AioHash> aio_by_iocb;
    // Completions whose submit the trace never saw (in flight when it started), per thread, until
    // that thread's io_getevents record (which follows its completions) takes them out of its count.
    std::unordered_map<uint32_t, uint64_t> unseen_by_tid;
    uint64_t unseen_completions = 0;

    explicit Impl(size_t bytes) : ring_bytes(bytes) {}

    ~Impl() {
        links.destroy();
        if (ring) ring_buffer__free(ring);
        if (skel) iodiag_syscalls__destroy(skel);
    }

    uint64_t counter(int which) const {
        uint64_t values[IODIAG_CNT_MAX] = {};
        if (!skel || !sum_percpu_u64(skel->maps.counters, values, IODIAG_CNT_MAX)) return 0;
        return values[which];
    }

    // ---- files ----

    // Names for the fds a process holds now, so files opened before the trace keep their path.
    void preload(int32_t pid) {
        for (const OpenFileId& fd : open_file_ids(pid)) preloaded[{fd.dev, fd.ino}] = fd.path;
    }

    FileRef intern(const InodeKey& key, std::string_view path, uint16_t mode) {
        FileKind kind = kind_of_mode(mode);
        if (kind == FileKind::regular && FileTable::kind_from_path(path) == FileKind::pseudo)
            kind = FileKind::pseudo;  // /proc, /sys, memfd
        FileRef ref{files->intern(path, kind), kind};
        by_inode[key] = ref;
        return ref;
    }

    // The file an event names, by its inode; the first sight of an inode resolves its path
    // through /proc while the fd is (most likely) still open.
    FileRef file_of(const iodiag_sc_file& f, uint32_t tgid, int32_t fd) {
        if (f.mode == 0) return {};
        const InodeKey key{f.dev, f.ino};
        if (auto it = by_inode.find(key); it != by_inode.end()) return it->second;
        std::string path;
        if (auto it = preloaded.find(key); it != preloaded.end()) path = it->second;
        if (path.empty() && fd >= 0) {
            path = read_link(fmt::format("/proc/{}/fd/{}", tgid, fd));
            // The fd may have been closed and reused since: a path must name the same inode.
            if (!path.empty() && path.front() == '/' && !names_inode(path, f.ino)) path.clear();
        }
        if (path.empty())
            path = fmt::format("(inode {} on {}:{})", f.ino, f.dev >> 20, f.dev & 0xfffff);
        return intern(key, path, f.mode);
    }

    // The absolute path an open*() named, as best known.
    std::string open_path(const iodiag_sc_open_rec& rec) {
        const iodiag_sc_call_rec& c = rec.call;
        std::string path(rec.path, strnlen(rec.path, sizeof rec.path));
        if (!path.empty() && path.front() == '/') return path;
        if (c.ret >= 0) {
            std::string by_fd = read_link(fmt::format("/proc/{}/fd/{}", c.tgid, c.ret));
            if (!by_fd.empty() && by_fd.front() == '/' && names_inode(by_fd, c.file.ino)) return by_fd;
        }
        const bool at_cwd = c.fd < 0;  // AT_FDCWD, or open()/creat()
        std::string dir = read_link(at_cwd ? fmt::format("/proc/{}/cwd", c.tgid)
                                           : fmt::format("/proc/{}/fd/{}", c.tgid, c.fd));
        if (dir.empty() || path.empty()) return path;
        return (std::filesystem::path(dir) / path).lexically_normal().string();
    }

    // ---- records ----

    static int on_record(void* ctx, void* data, size_t size) {
        auto* self = static_cast<Impl*>(ctx);
        const auto type = *static_cast<const uint8_t*>(data);
        switch (type) {
            case IODIAG_REC_CALL:
                if (size >= sizeof(iodiag_sc_call_rec))
                    self->call(*static_cast<const iodiag_sc_call_rec*>(data), nullptr);
                break;
            case IODIAG_REC_OPEN:
                if (size >= sizeof(iodiag_sc_open_rec)) {
                    const auto* rec = static_cast<const iodiag_sc_open_rec*>(data);
                    self->call(rec->call, rec);
                }
                break;
            case IODIAG_REC_IOCB:
                if (size >= sizeof(iodiag_sc_iocb_rec))
                    self->submitted(*static_cast<const iodiag_sc_iocb_rec*>(data));
                break;
            case IODIAG_REC_AIO_DONE:
                if (size >= sizeof(iodiag_sc_done_rec))
                    self->completed(*static_cast<const iodiag_sc_done_rec*>(data));
                break;
            case IODIAG_REC_PROC:
                if (size >= sizeof(iodiag_sc_proc_rec)) {
                    const auto* rec = static_cast<const iodiag_sc_proc_rec*>(data);
                    spdlog::debug("bpf: process {} {}", rec->tgid,
                                  rec->event == IODIAG_PROC_FORK ? "started" : "exited");
                }
                break;
            default: break;
        }
        return 0;
    }

    void emit(const IoEvent& e) {
        ++delivered;
        sink->on_event(e);
    }

    void call(const iodiag_sc_call_rec& c, const iodiag_sc_open_rec* open) {
        IoEvent e;
        e.ts_ns = c.ts_ns;
        e.dur_ns = c.dur_ns;
        e.tid = static_cast<int32_t>(c.tid);
        e.tgid = static_cast<int32_t>(c.tgid);
        e.call = static_cast<Syscall>(c.call);
        e.fd = c.fd;
        e.ret = c.ret;
        switch (e.call) {
            case Syscall::read:
            case Syscall::write:
            case Syscall::pread64:
            case Syscall::pwrite64:
            case Syscall::readv:
            case Syscall::writev:
            case Syscall::preadv:
            case Syscall::pwritev:
            case Syscall::preadv2:
            case Syscall::pwritev2: return data(c, e);
            case Syscall::lseek: return seek(c, e);
            case Syscall::fsync:
            case Syscall::fdatasync:
            case Syscall::sync_file_range: return flush(c, e);
            case Syscall::open:
            case Syscall::openat:
            case Syscall::openat2:
            case Syscall::creat:
                if (open) opened(*open, e);
                return;
            case Syscall::close: e.kind = EventKind::close; return emit(e);
            case Syscall::dup:
            case Syscall::dup2:
            case Syscall::dup3:
                e.kind = EventKind::dup;
                describe(e, c);
                return emit(e);
            case Syscall::io_setup:
                e.kind = EventKind::aio_setup;
                e.ctx = c.ctx;
                e.count = c.count;
                return emit(e);
            case Syscall::io_submit:
                e.kind = EventKind::aio_submit;
                e.ctx = c.ctx;
                e.count = c.count;
                e.ring_reaped = c.ring_reaped;
                if (auto it = unseen_by_tid.find(c.tid); it != unseen_by_tid.end()) {
                    e.ring_reaped -= static_cast<uint32_t>(std::min<uint64_t>(it->second, e.ring_reaped));
                    unseen_by_tid.erase(it);
                }
                return emit(e);
            case Syscall::io_getevents:
            case Syscall::io_pgetevents:
                e.kind = EventKind::aio_reap;
                e.ctx = c.ctx;
                e.count = c.count;
                e.count2 = c.count2;
                e.ring_reaped = c.ring_reaped;
                // Depth counts only requests whose submit was seen: reaping requests submitted
                // before the attach would otherwise hold the in-flight count at 0 and read as depth 1.
                // Those taken from the ring came first (their records precede the call's).
                if (auto it = unseen_by_tid.find(c.tid); it != unseen_by_tid.end()) {
                    const uint64_t from_ring = std::min<uint64_t>(it->second, e.ring_reaped);
                    e.ring_reaped -= static_cast<uint32_t>(from_ring);
                    const uint64_t rest = it->second - from_ring;
                    if (e.ret > 0) e.ret -= static_cast<int64_t>(std::min<uint64_t>(rest, static_cast<uint64_t>(e.ret)));
                    unseen_by_tid.erase(it);
                }
                return emit(e);
            case Syscall::io_uring_setup:
                e.kind = EventKind::uring_setup;
                e.fd = c.ret >= 0 ? static_cast<int32_t>(c.ret) : -1;
                e.ctx = c.ret >= 0 ? static_cast<uint64_t>(c.ret) : 0;
                e.count = c.count;
                e.flags = c.flags;
                return emit(e);
            case Syscall::io_uring_enter:
                e.kind = EventKind::uring_enter;
                e.ctx = c.ctx;
                e.count = c.count;
                e.count2 = c.count2;
                e.flags = c.flags;
                return emit(e);
            case Syscall::mmap: return mapped(c, e);
            default: return;
        }
    }

    // file_id, kind and open flags of the call's fd, as the kernel had them at the call.
    FileRef describe(IoEvent& e, const iodiag_sc_call_rec& c) {
        FileRef ref = file_of(c.file, c.tgid, c.fd);
        e.file_id = ref.id;
        e.file_kind = ref.kind;
        if (c.file.mode) e.open_flags = open_flags_from_kernel(c.file.flags);
        return ref;
    }

    void data(const iodiag_sc_call_rec& c, IoEvent& e) {
        e.kind = EventKind::data;
        e.dir = is_read(e.call) ? IoDir::read : IoDir::write;
        e.bytes = c.bytes;
        e.flags = c.flags;
        const FileRef ref = describe(e, c);
        e.open_flags = call_open_flags(e.call, e.open_flags, c.flags);
        if (ref.kind == FileKind::regular || ref.kind == FileKind::block) {
            const bool append = appends(e.call, e.dir, e.open_flags, c.flags);
            if (c.has_offset) {
                if (!append) {  // pwrite on O_APPEND appends anyway: where is not known
                    e.offset = c.offset;
                    e.offset_kind = OffsetKind::absolute;
                }
            } else {
                // The kernel's file position after the call, less what it moved.
                const uint64_t moved = c.ret > 0 ? static_cast<uint64_t>(c.ret) : 0;
                e.offset = c.file.pos >= moved ? c.file.pos - moved : 0;
                e.offset_kind = OffsetKind::absolute;
            }
        }
        emit(e);
    }

    void seek(const iodiag_sc_call_rec& c, IoEvent& e) {
        e.kind = EventKind::seek;
        e.flags = c.flags;
        describe(e, c);
        if (c.ret >= 0) {
            e.offset = static_cast<uint64_t>(c.ret);
            e.offset_kind = OffsetKind::absolute;
        } else if (c.flags == static_cast<uint32_t>(kSeekSet)) {
            e.offset = c.offset;
            e.offset_kind = OffsetKind::absolute;
        }
        emit(e);
    }

    void flush(const iodiag_sc_call_rec& c, IoEvent& e) {
        e.kind = EventKind::flush;
        describe(e, c);
        if (e.call == Syscall::sync_file_range) {
            e.offset = c.offset;
            e.offset_kind = OffsetKind::absolute;
            e.bytes = c.bytes;
            e.flags = c.flags;
        }
        emit(e);
    }

    void opened(const iodiag_sc_open_rec& rec, IoEvent& e) {
        const iodiag_sc_call_rec& c = rec.call;
        e.kind = EventKind::open;
        e.fd = -1;  // openat's fd argument is a directory; the event's fd is the new one
        if (c.ret >= 0 && c.file.mode) {
            e.fd = static_cast<int32_t>(c.ret);
            const FileRef ref = intern({c.file.dev, c.file.ino}, open_path(rec), c.file.mode);
            e.file_id = ref.id;
            e.file_kind = ref.kind;
            e.open_flags = e.call == Syscall::creat ? creat_open_flags() : open_flags_of_call(c.flags);
        }
        emit(e);
    }

    // Only file mappings matter: their IO turns into page faults that no syscall shows.
    void mapped(const iodiag_sc_call_rec& c, IoEvent& e) {
        e.kind = EventKind::mmap;
        const FileRef ref = describe(e, c);
        if (ref.kind != FileKind::regular && ref.kind != FileKind::block) return;
        e.offset = c.offset;
        e.offset_kind = OffsetKind::absolute;
        e.bytes = c.bytes;
        e.flags = c.flags;
        emit(e);
    }

    // ---- libaio: requests wait in submit order until their completion is seen ----

    void submitted(const iodiag_sc_iocb_rec& rec) {
        AsyncRequest r;
        r.ctx = rec.ctx;
        r.tid = static_cast<int32_t>(rec.tid);
        r.tgid = static_cast<int32_t>(rec.tgid);
        r.opcode = rec.opcode;
        r.dir = iocb_direction(rec.opcode);
        r.is_flush = (rec.opcode == kIocbFsync || rec.opcode == kIocbFdsync) ? 1 : 0;
        r.fd = rec.fd;
        r.offset = rec.offset;
        r.bytes = rec.bytes;
        r.submit_ns = rec.ts_ns;
        const FileRef ref = file_of(rec.file, rec.tgid, rec.fd);
        r.file_id = ref.id;
        if (rec.file.mode) r.open_flags = open_flags_from_kernel(rec.file.flags);

        const AioKey key{rec.tgid, rec.iocb};
        const uint64_t seq = aio_first + aio.size();
        if (auto [it, inserted] = aio_by_iocb.try_emplace(key, seq); !inserted) {
            aio[it->second - aio_first].done = true;  // reused before its completion showed
            it->second = seq;
        }
        aio.push_back({r, key, false});
        while (aio.size() > kMaxPendingAio) release_front();
        release_done();
    }

    void completed(const iodiag_sc_done_rec& rec) {
        auto it = aio_by_iocb.find({rec.tgid, rec.iocb});
        if (it == aio_by_iocb.end()) {  // submitted before the trace, or its record was lost
            ++unseen_by_tid[rec.tid];
            ++unseen_completions;
            return;
        }
        PendingAio& p = aio[it->second - aio_first];
        p.request.complete_ns = rec.ts_ns;
        p.request.res = rec.res;
        p.done = true;
        aio_by_iocb.erase(it);
        release_done();
    }

    void release_front() {
        PendingAio& p = aio.front();
        if (!p.done) {  // its completion never showed (yet): stop waiting for it
            auto it = aio_by_iocb.find(p.key);
            if (it != aio_by_iocb.end() && it->second == aio_first) aio_by_iocb.erase(it);
        }
        ++delivered;
        sink->on_async(p.request);
        aio.pop_front();
        ++aio_first;
    }

    void release_done() {
        while (!aio.empty() && aio.front().done) release_front();
    }

    void release_all() {
        aio_by_iocb.clear();
        while (!aio.empty()) release_front();
    }
};

BpfSyscalls::BpfSyscalls(size_t ring_bytes) : impl_(std::make_unique<Impl>(ring_bytes)) {}

BpfSyscalls::~BpfSyscalls() = default;

Status BpfSyscalls::load(const BpfTarget& target, const BpfFeatures& features) {
    Impl& m = *impl_;
    if (m.skel) return fail(ErrorKind::internal, "the syscall tracer is already loaded");
    auto variant = pick_variant(features, name());
    if (!variant) return tl::unexpected(variant.error());
    if (*variant == BpfVariant::tracepoint)  // raw_tp has been there since 4.17: no such kernel here
        return fail(ErrorKind::unsupported, "the syscall tracer needs tp_btf or raw_tp programs",
                    "use --source strace");
    route_libbpf_logs_to_spdlog();
    m.tgid = static_cast<int32_t>(target.tgid);
    m.skel = iodiag_syscalls__open();
    if (!m.skel)
        return fail(ErrorKind::internal,
                    std::string("cannot open the syscall tracer's BPF object: ") + std::strerror(errno));
    auto* ro = m.skel->rodata;
    ro->target_tgid = target.children ? 0 : target.tgid;  // one process: no map lookup at all
    for (const NrCall& n : kNumbers)
        if (n.nr >= 0 && n.nr < IODIAG_SC_NR_MAX) ro->call_of_nr[n.nr] = static_cast<uint8_t>(n.call);

    if (int err = bpf_map__set_max_entries(m.skel->maps.events, static_cast<uint32_t>(m.ring_bytes)))
        return fail(ErrorKind::internal, "cannot size the ring buffer: " + std::string(std::strerror(-err)));
    if (auto status = share_targets(m.skel->maps.targets, target); !status) return status;
    select_variant(m.skel->obj, *variant);
    if (!target.children) {  // nobody to add: the fork hook stays out
        bpf_program__set_autoload(m.skel->progs.fork_btf, false);
        bpf_program__set_autoload(m.skel->progs.fork_raw, false);
    }
    if (int err = iodiag_syscalls__load(m.skel)) {
        if (-err == EPERM || -err == EACCES)
            return fail(ErrorKind::permission,
                        "the kernel refused to load the syscall tracer: " + std::string(std::strerror(-err)),
                        "run as root (or with CAP_BPF and CAP_PERFMON), or use --source strace");
        return tl::unexpected(load_error(name(), err));
    }
    if (auto status = fill_own_targets(m.skel->maps.targets, target); !status) return status;
    m.ring = ring_buffer__new(bpf_map__fd(m.skel->maps.events), &Impl::on_record, &m, nullptr);
    if (!m.ring)
        return fail(ErrorKind::internal,
                    std::string("cannot map the ring buffer: ") + std::strerror(errno));
    spdlog::debug("bpf syscalls: loaded ({}, ring {} MiB, {})", variant_name(*variant),
                  m.ring_bytes >> 20, target.children ? "with children" : "one process");
    return {};
}

Status BpfSyscalls::attach() {
    Impl& m = *impl_;
    if (!m.skel) return fail(ErrorKind::internal, "the syscall tracer is not loaded");
    if (auto status = m.links.attach(m.skel->obj, name()); !status) return status;
    if (m.tgid > 0) m.preload(m.tgid);
    return {};
}

uint64_t BpfSyscalls::poll(EventSink& sink, FileTable& files) {
    Impl& m = *impl_;
    if (!m.ring) return 0;
    m.sink = &sink;
    m.files = &files;
    m.delivered = 0;
    ring_buffer__consume(m.ring);
    if (m.detached) m.release_all();
    m.sink = nullptr;
    m.files = nullptr;
    return m.delivered;
}

void BpfSyscalls::collect_totals(TracerTotals& totals) const {
    const Impl& m = *impl_;
    if (!m.skel) return;
    // Each bucket under its lower bound: bucket b >= 1 counts [2^(b-1), 2^b).
    auto histogram = [](const __u64* buckets, int n) {
        Log2Buckets h;
        for (int b = 0; b < n; ++b)
            if (buckets[b]) h.emplace_back(b == 0 ? 0 : uint64_t(1) << (b - 1), buckets[b]);
        return h;
    };
    SyscallTotals out;
    const int totals_fd = bpf_map__fd(m.skel->maps.totals);
    for (int c = 1; c < IODIAG_SC_CALLS; ++c) {
        const iodiag_sc_totals sum = summed_totals(totals_fd, static_cast<uint32_t>(c));
        if (sum.calls == 0) continue;
        SyscallCallTotals entry;
        entry.name = std::string(syscall_name(static_cast<Syscall>(c)));
        entry.calls = sum.calls;
        entry.errors = sum.errors;
        entry.latency_ns_total = sum.latency_ns;
        entry.latency_ns_log2 = histogram(sum.latency_log2, IODIAG_SC_LATENCY_BUCKETS);
        if (c <= static_cast<int>(Syscall::pwritev2)) {
            entry.has_bytes = true;
            entry.bytes = sum.bytes;
            entry.size_log2 = histogram(sum.size_log2, IODIAG_SC_SIZE_BUCKETS);
        }
        out.calls.push_back(std::move(entry));
    }
    uint64_t counters[IODIAG_CNT_MAX] = {};
    (void)sum_percpu_u64(m.skel->maps.counters, counters, IODIAG_CNT_MAX);
    out.records = counters[IODIAG_CNT_RECORDS];
    out.dropped = counters[IODIAG_CNT_DROPPED];
    out.aio_iocbs = counters[IODIAG_CNT_IOCBS];
    out.aio_iocbs_unread = counters[IODIAG_CNT_IOCBS_UNREAD];
    out.aio_completions = counters[IODIAG_CNT_COMPLETIONS];
    out.aio_completions_from_ring = counters[IODIAG_CNT_RING_REAPED];
    out.aio_completions_unseen_submit = m.unseen_completions;
    out.processes_started = counters[IODIAG_CNT_FORKS];
    out.processes_exited = counters[IODIAG_CNT_EXITS];
    totals.syscalls = std::move(out);
}

ProgramTime BpfSyscalls::program_time() const { return impl_->links.program_time(); }

uint64_t BpfSyscalls::dropped() const {
    return impl_->counter(IODIAG_CNT_DROPPED);
}

void BpfSyscalls::targets_added() {
    if (impl_->skel && impl_->skel->bss) __atomic_fetch_add(&impl_->skel->bss->targets_gen, 1, __ATOMIC_SEQ_CST);
}

void BpfSyscalls::detach() {
    impl_->links.destroy();
    impl_->detached = true;
}

#else  // built without BPF

struct BpfSyscalls::Impl {};

BpfSyscalls::BpfSyscalls(size_t) {}
BpfSyscalls::~BpfSyscalls() = default;
Status BpfSyscalls::load(const BpfTarget&, const BpfFeatures&) {
    return fail(ErrorKind::unsupported, "this iodiag was built without BPF support", "use --source strace");
}
Status BpfSyscalls::attach() { return load({}, {}); }
uint64_t BpfSyscalls::poll(EventSink&, FileTable&) { return 0; }
void BpfSyscalls::collect_totals(TracerTotals&) const {}
uint64_t BpfSyscalls::dropped() const { return 0; }
ProgramTime BpfSyscalls::program_time() const { return {}; }
void BpfSyscalls::targets_added() {}
void BpfSyscalls::detach() {}

#endif

}  // namespace iodiag::trace
