#include "trace/syscall_decoder.hpp"

#include <algorithm>
#include <deque>
#include <string_view>
#include <unordered_set>

#include "trace/io_flags.hpp"
#include "trace/open_flags.hpp"

namespace iodiag::trace {

namespace {

// One open file description: what dup() and fork() share with the kernel's semantics, including
// the file position.
struct OpenFile {
    uint32_t file_id = 0;
    uint32_t flags = 0;  // OpenFlag bits
    FileKind kind = FileKind::unknown;
    OffsetKind pos_kind = OffsetKind::unknown;
    uint64_t position = 0;
};
using OpenFilePtr = std::shared_ptr<OpenFile>;

// fd -> open file description. fds are small dense integers, so a vector indexed by fd; the rare
// huge fd (a raised RLIMIT_NOFILE) goes to a map so it cannot blow the vector up.
class FdTable {
public:
    OpenFile* get(int32_t fd) const {
        const OpenFilePtr* slot = find(fd);
        return slot ? slot->get() : nullptr;
    }
    OpenFilePtr share(int32_t fd) const {
        const OpenFilePtr* slot = find(fd);
        return slot ? *slot : nullptr;
    }
    void set(int32_t fd, OpenFilePtr file) {
        if (fd < 0) return;
        if (fd >= kDenseFds) {
            sparse_[fd] = std::move(file);
            return;
        }
        if (static_cast<size_t>(fd) >= dense_.size()) dense_.resize(static_cast<size_t>(fd) + 1);
        dense_[static_cast<size_t>(fd)] = std::move(file);
    }
    void drop(int32_t fd) {
        if (fd >= kDenseFds) {
            sparse_.erase(fd);
        } else if (fd >= 0 && static_cast<size_t>(fd) < dense_.size()) {
            dense_[static_cast<size_t>(fd)].reset();
        }
    }

private:
    static constexpr int32_t kDenseFds = 1 << 16;

    const OpenFilePtr* find(int32_t fd) const {
        if (fd < 0) return nullptr;
        if (fd < kDenseFds) {
            const auto i = static_cast<size_t>(fd);
            return i < dense_.size() && dense_[i] ? &dense_[i] : nullptr;
        }
        auto it = sparse_.find(fd);
        return it == sparse_.end() ? nullptr : &it->second;
    }

    std::vector<OpenFilePtr> dense_;
    std::unordered_map<int32_t, OpenFilePtr> sparse_;
};

// A libaio context, to tell completions of iocbs submitted before the trace began (attached
// mid-flight) from those of the submits it saw: counted against the seen submits, they would hold
// the in-flight count near 0. The text shows no iocb address at io_submit, only its aio_data; at
// io_getevents both aio_data and the iocb's address (obj).
struct AioContext {
    bool created_in_trace = false;  // its io_setup was seen: every submit was too
    uint64_t first_ns = 0;          // first call seen on it
    uint64_t first_repeat_ns = 0;   // first completion of an iocb that had completed before
    std::unordered_map<uint64_t, uint32_t> data_in_flight;  // nonzero aio_data of seen submits
    std::unordered_set<uint64_t> objs;  // iocbs seen completing

    // Was this completion's io_submit before the trace? An application that names its requests
    // (aio_data) is paired by that name. One that does not (fio: aio_data 0) reuses its iocbs: an
    // iocb completing again was resubmitted, so seen; a first completion is of one submitted
    // before the trace when it comes early, before twice the time the first reused iocb took.
    bool unseen_submit(uint64_t data, uint64_t obj, uint64_t now_ns) {
        if (created_in_trace) return false;
        if (data != 0) {
            auto it = data_in_flight.find(data);
            if (it == data_in_flight.end()) return true;
            if (--it->second == 0) data_in_flight.erase(it);
            return false;
        }
        if (!objs.insert(obj).second) {
            if (!first_repeat_ns) first_repeat_ns = now_ns;
            return false;
        }
        if (objs.size() > kMaxObjs) objs.clear();  // not a pool of iocbs: forget, stay bounded
        const uint64_t window = first_repeat_ns ? 2 * (first_repeat_ns - first_ns) : 1'000'000'000;
        return now_ns - std::min(now_ns, first_ns) <= window;
    }

    static constexpr size_t kMaxObjs = 1 << 16;
};

struct Process {
    int32_t tgid = 0;
    uint32_t threads = 0;
    // Shared between processes only by clone(CLONE_FILES) without CLONE_THREAD.
    std::shared_ptr<FdTable> fds = std::make_shared<FdTable>();
    std::unordered_map<uint64_t, AioContext> aio;  // by io_setup's context id
};
using ProcessPtr = std::shared_ptr<Process>;

struct Thread {
    ProcessPtr process;
    // Parent tid when this thread was attached from a pending spawn and the parent's clone has
    // not returned yet; 0 otherwise.
    int32_t spawned_by = 0;
};

struct PendingSpawn {
    int32_t parent_tid = 0;
    uint32_t flags = 0;
};

bool succeeded(const RawSyscall& c) {
    return c.ret_known && c.ret >= 0;
}

bool seekable(FileKind kind) {
    return kind != FileKind::pipe && kind != FileKind::socket;
}

// Calls that name their offset instead of using the file position.
bool is_positional(const RawSyscall& c) {
    switch (c.call) {
        case Syscall::pread64:
        case Syscall::pwrite64:
        case Syscall::preadv:
        case Syscall::pwritev: return true;
        case Syscall::preadv2:
        case Syscall::pwritev2: return c.has_offset;  // offset -1 means "use the file position"
        default: return false;
    }
}

IoDir iocb_dir(uint8_t opcode) {
    switch (opcode) {
        case kIocbPread:
        case kIocbPreadv: return IoDir::read;
        case kIocbPwrite:
        case kIocbPwritev: return IoDir::write;
        default: return IoDir::none;
    }
}

// Does an fd annotation name the file we already track? strace appends " (deleted)" once the
// file is unlinked, which does not make it another file.
bool same_file_name(std::string_view known, std::string_view annotated) {
    annotated = split_device_suffix(annotated).first;
    if (annotated == known) return true;
    constexpr std::string_view kDeleted = " (deleted)";
    return annotated.ends_with(kDeleted) &&
           annotated.substr(0, annotated.size() - kDeleted.size()) == known;
}

void describe_file(IoEvent& e, const OpenFile* file) {
    if (file == nullptr) return;
    e.file_id = file->file_id;
    e.file_kind = file->kind;
    e.open_flags = file->flags;
}

}  // namespace

struct SyscallDecoder::Impl {
    EventSink& sink;
    FileTable& files;
    DecoderStats& stats;
    std::unordered_map<int32_t, Thread> threads;
    std::unordered_map<int32_t, ProcessPtr> processes;
    std::deque<PendingSpawn> pending;  // oldest first; at most one per thread
    int32_t default_tgid = 0;

    Impl(EventSink& s, FileTable& f, DecoderStats& st) : sink(s), files(f), stats(st) {}

    // ---- threads and processes ----

    ProcessPtr process(int32_t tgid) {
        ProcessPtr& slot = processes[tgid];
        if (!slot) {
            slot = std::make_shared<Process>();
            slot->tgid = tgid;
        }
        return slot;
    }

    Thread& attach(int32_t tid, ProcessPtr proc, int32_t spawned_by = 0) {
        auto it = threads.find(tid);
        if (it != threads.end() && it->second.process == proc) {
            it->second.spawned_by = spawned_by;  // already there: detaching could drop proc
            return it->second;
        }
        detach(tid);
        ++proc->threads;
        Thread& t = threads[tid];
        t.process = std::move(proc);
        t.spawned_by = spawned_by;
        return t;
    }

    void detach(int32_t tid) {
        auto it = threads.find(tid);
        if (it == threads.end()) return;
        const ProcessPtr proc = std::move(it->second.process);
        threads.erase(it);
        if (--proc->threads > 0) return;
        // The last thread left. A newer process may have taken the tgid (pid reuse): keep it.
        auto p = processes.find(proc->tgid);
        if (p != processes.end() && p->second == proc) processes.erase(p);
    }

    // A thread we were told about (a clone's parent): unknown ones join the default process
    // without consuming a pending spawn, which belongs to a child.
    Thread& known_or_default(int32_t tid) {
        auto it = threads.find(tid);
        return it != threads.end() ? it->second : attach(tid, default_process(tid));
    }

    // With no traced pid given (`strace -f CMD`, a saved log), the first thread seen is the
    // command itself: it founds the default process, whose tgid is its tid.
    ProcessPtr default_process(int32_t tid) {
        if (default_tgid == 0 && processes.empty()) set_default_tgid(tid);
        return process(default_tgid);
    }

    // A thread that made a call. A tid never seen while a clone is in flight is most likely that
    // clone's child (strace shows children before the parent's clone returns).
    Thread& caller(int32_t tid) {
        auto it = threads.find(tid);
        if (it != threads.end()) return it->second;
        if (pending.empty()) return attach(tid, default_process(tid));
        const PendingSpawn spawn = pending.front();
        pending.pop_front();
        return spawn_child(spawn.parent_tid, tid, spawn.flags, spawn.parent_tid);
    }

    Thread& spawn_child(int32_t parent_tid, int32_t child_tid, uint32_t flags, int32_t spawned_by) {
        ProcessPtr parent = known_or_default(parent_tid).process;
        if (flags & kCloneThread) return attach(child_tid, std::move(parent), spawned_by);
        auto child = std::make_shared<Process>();
        child->tgid = child_tid;
        // fork copies the table but its entries are the parent's open file descriptions: the
        // kernel shares positions between them.
        child->fds = (flags & kCloneFiles) ? parent->fds : std::make_shared<FdTable>(*parent->fds);
        processes[child_tid] = child;
        return attach(child_tid, std::move(child), spawned_by);
    }

    void forget_pending(int32_t parent_tid) {
        std::erase_if(pending,
                      [parent_tid](const PendingSpawn& p) { return p.parent_tid == parent_tid; });
    }

    // ---- fds ----

    OpenFilePtr make_file(std::string_view path, uint32_t flags, OffsetKind pos_kind,
                          uint64_t position) {
        const auto [name, device_kind] = split_device_suffix(path);
        const FileKind kind =
            device_kind != FileKind::unknown ? device_kind : FileTable::kind_from_path(name);
        auto file = std::make_shared<OpenFile>();
        file->file_id = files.intern(name, kind);
        file->flags = flags;
        file->kind = files.get(file->file_id).kind;
        file->pos_kind = pos_kind;
        file->position = position;
        return file;
    }

    // The fd's open file description. An annotation (strace -y) is authoritative: when it names
    // another file than we track (or one we never saw opened: a live attach), start afresh from
    // it with unknown flags and position.
    OpenFile* resolve(Process& proc, int32_t fd, std::string_view annotated) {
        if (fd < 0) return nullptr;
        OpenFile* file = proc.fds->get(fd);
        if (annotated.empty() ||
            (file && same_file_name(files.get(file->file_id).path, annotated))) {
            return file;
        }
        OpenFilePtr fresh = make_file(annotated, 0, OffsetKind::unknown, 0);
        file = fresh.get();
        proc.fds->set(fd, std::move(fresh));
        return file;
    }

    // ---- events ----

    static IoEvent base(const RawSyscall& c, const Thread& t, EventKind kind) {
        IoEvent e;
        e.ts_ns = c.ts_ns;
        e.dur_ns = c.dur_ns;
        e.tid = c.tid;
        e.tgid = t.process->tgid;
        e.call = c.call;
        e.kind = kind;
        e.fd = c.fd;
        e.ret = c.ret;
        return e;
    }

    void emit(const IoEvent& e) {
        ++stats.events;
        sink.on_event(e);
    }

    void on_syscall(const RawSyscall& c) {
        Thread& t = caller(c.tid);
        switch (c.call) {
            case Syscall::read:
            case Syscall::readv:
            case Syscall::pread64:
            case Syscall::preadv:
            case Syscall::preadv2: return data(c, t, IoDir::read);
            case Syscall::write:
            case Syscall::writev:
            case Syscall::pwrite64:
            case Syscall::pwritev:
            case Syscall::pwritev2: return data(c, t, IoDir::write);
            case Syscall::lseek: return seek(c, t);
            case Syscall::fsync:
            case Syscall::fdatasync:
            case Syscall::sync_file_range: return flush(c, t);
            case Syscall::open:
            case Syscall::openat:
            case Syscall::openat2:
            case Syscall::creat: return open(c, t);
            case Syscall::close: return close(c, t);
            case Syscall::dup:
            case Syscall::dup2:
            case Syscall::dup3: return dup(c, t);
            case Syscall::fcntl: return fcntl(c, t);
            case Syscall::io_setup: return aio_setup(c, t);
            case Syscall::io_submit: return aio_submit(c, t);
            case Syscall::io_getevents:
            case Syscall::io_pgetevents: return aio_reap(c, t);
            case Syscall::io_uring_setup: return uring_setup(c, t);
            case Syscall::io_uring_enter: return uring_enter(c, t);
            case Syscall::mmap: return mmap(c, t);
            case Syscall::clone:
            case Syscall::clone3:
            case Syscall::fork:
            case Syscall::vfork: return spawn(c, t);
            default: return;  // not IO (exit*: the source reports thread exits separately)
        }
    }

    void data(const RawSyscall& c, Thread& t, IoDir dir) {
        IoEvent e = base(c, t, EventKind::data);
        e.dir = dir;
        e.bytes = c.bytes;
        e.flags = c.flags;
        OpenFile* file = resolve(*t.process, c.fd, c.fd_path);
        describe_file(e, file);
        e.open_flags = call_open_flags(c.call, e.open_flags, c.flags);
        if (file == nullptr || file->file_id == 0) ++stats.unknown_fds;
        place(e, file, c);
        emit(e);
    }

    // Sets the event's offset and advances the file position as the kernel would.
    static void place(IoEvent& e, OpenFile* file, const RawSyscall& c) {
        // Appends land at the end of file, which we never see: only their spacing is known.
        const bool append = appends(c.call, e.dir, e.open_flags, c.flags);
        if (is_positional(c)) {
            if (c.has_offset && !append) {  // pwrite on O_APPEND appends anyway
                e.offset = c.offset;
                e.offset_kind = OffsetKind::absolute;
            }
            return;  // explicit offsets never move the file position
        }
        if (file == nullptr || !seekable(file->kind)) return;
        OffsetKind kind = file->pos_kind;
        uint64_t position = file->position;
        if (kind == OffsetKind::unknown) {
            kind = OffsetKind::relative;  // consecutive calls still look consecutive
            position = 0;
        }
        if (append) kind = OffsetKind::relative;
        e.offset = position;
        e.offset_kind = kind;
        if (!succeeded(c)) return;  // failed calls move nothing
        file->pos_kind = kind;
        file->position = position + static_cast<uint64_t>(c.ret);
    }

    void seek(const RawSyscall& c, Thread& t) {
        IoEvent e = base(c, t, EventKind::seek);
        e.flags = static_cast<uint32_t>(c.cmd);
        OpenFile* file = resolve(*t.process, c.fd, c.fd_path);
        describe_file(e, file);
        if (succeeded(c)) {
            // lseek returns the new absolute position whatever the whence.
            e.offset = static_cast<uint64_t>(c.ret);
            e.offset_kind = OffsetKind::absolute;
            if (file != nullptr) {
                file->position = e.offset;
                file->pos_kind = OffsetKind::absolute;
            }
        } else if (c.cmd == kSeekSet) {
            e.offset = c.offset;
            e.offset_kind = OffsetKind::absolute;
        }
        emit(e);
    }

    void flush(const RawSyscall& c, Thread& t) {
        IoEvent e = base(c, t, EventKind::flush);
        describe_file(e, resolve(*t.process, c.fd, c.fd_path));
        if (c.call == Syscall::sync_file_range) {
            e.offset = c.offset;
            e.offset_kind = OffsetKind::absolute;
            e.bytes = c.bytes;
            e.flags = c.flags;
        }
        emit(e);
    }

    void open(const RawSyscall& c, Thread& t) {
        IoEvent e = base(c, t, EventKind::open);
        e.fd = -1;  // the fd argument of openat is a directory; the event's fd is the new one
        if (succeeded(c)) {
            uint32_t flags = c.open_flags | kOpenFlagsKnown;
            if (c.call == Syscall::creat) flags |= creat_open_flags();
            const OffsetKind pos_kind =
                (flags & kOpenAppend) ? OffsetKind::relative : OffsetKind::absolute;
            OpenFilePtr file =
                make_file(c.ret_path.empty() ? c.path : c.ret_path, flags, pos_kind, 0);
            describe_file(e, file.get());
            e.fd = static_cast<int32_t>(c.ret);
            t.process->fds->set(e.fd, std::move(file));
        }
        emit(e);
    }

    void close(const RawSyscall& c, Thread& t) {
        IoEvent e = base(c, t, EventKind::close);
        describe_file(e, resolve(*t.process, c.fd, c.fd_path));
        t.process->fds->drop(c.fd);  // Linux releases the fd even when close() reports an error
        emit(e);
    }

    // dup/dup2/dup3/fcntl(F_DUPFD*): the new fd shares the old one's open file description.
    void dup(const RawSyscall& c, Thread& t) {
        IoEvent e = base(c, t, EventKind::dup);
        FdTable& fds = *t.process->fds;
        OpenFile* file = resolve(*t.process, c.fd, c.fd_path);
        const auto new_fd = static_cast<int32_t>(c.ret);
        if (succeeded(c) && new_fd != c.fd) {
            if (file != nullptr) {
                fds.set(new_fd, fds.share(c.fd));
            } else if (!c.ret_path.empty()) {
                file = resolve(*t.process, new_fd, c.ret_path);
            } else {
                fds.drop(new_fd);  // whatever it named before is gone, and we cannot tell what now
            }
        }
        describe_file(e, file);
        emit(e);
    }

    void fcntl(const RawSyscall& c, Thread& t) {
        if (c.cmd == kFcntlDupfd || c.cmd == kFcntlDupfdCloexec) return dup(c, t);
        if (c.cmd != kFcntlSetfl || !succeeded(c)) return;
        if (OpenFile* file = resolve(*t.process, c.fd, c.fd_path)) {
            file->flags = (file->flags & ~kSetflOpenFlags) | (c.open_flags & kSetflOpenFlags);
        }
    }

    AioContext& aio_context(const RawSyscall& c, Thread& t) {
        AioContext& a = t.process->aio[c.ctx];
        if (!a.first_ns) a.first_ns = c.ts_ns ? c.ts_ns : 1;
        return a;
    }

    void aio_setup(const RawSyscall& c, Thread& t) {
        if (succeeded(c)) {
            t.process->aio[c.ctx] = AioContext{};
            aio_context(c, t).created_in_trace = true;
        }
        IoEvent e = base(c, t, EventKind::aio_setup);
        e.fd = -1;
        e.ctx = c.ctx;
        e.count = c.count;
        emit(e);
    }

    void aio_submit(const RawSyscall& c, Thread& t) {
        // io_submit returns how many iocbs it accepted, always a prefix of the array.
        const size_t accepted =
            succeeded(c) ? std::min(static_cast<size_t>(c.ret), c.iocbs.size()) : 0;
        AioContext& ctx = aio_context(c, t);
        for (size_t i = 0; i < accepted; ++i) {
            async_request(c, t, c.iocbs[i]);
            if (!ctx.created_in_trace && c.iocbs[i].data) ++ctx.data_in_flight[c.iocbs[i].data];
        }
        IoEvent e = base(c, t, EventKind::aio_submit);
        e.fd = -1;
        e.ctx = c.ctx;
        e.count = c.count != 0 ? c.count : static_cast<uint32_t>(c.iocbs.size());
        emit(e);
    }

    void async_request(const RawSyscall& c, const Thread& t, const RawIocb& iocb) {
        AsyncRequest r;
        r.ctx = c.ctx;
        r.tid = c.tid;
        r.tgid = t.process->tgid;
        r.dir = iocb_dir(iocb.opcode);
        r.opcode = iocb.opcode;
        r.is_flush = (iocb.opcode == kIocbFsync || iocb.opcode == kIocbFdsync) ? 1 : 0;
        r.fd = iocb.fd;
        r.offset = iocb.offset;
        r.bytes = iocb.bytes;
        r.submit_ns = c.ts_ns;
        if (const OpenFile* file = resolve(*t.process, iocb.fd, iocb.fd_path)) {
            r.file_id = file->file_id;
            r.open_flags = file->flags;
        }
        if (r.dir != IoDir::none && r.file_id == 0) ++stats.unknown_fds;
        ++stats.async_requests;
        sink.on_async(r);
    }

    void aio_reap(const RawSyscall& c, Thread& t) {
        IoEvent e = base(c, t, EventKind::aio_reap);
        e.fd = -1;
        e.ctx = c.ctx;
        e.count = c.count;
        e.count2 = c.count2;
        // Depth counts only what the trace saw submitted (as the bpf source does).
        AioContext& ctx = aio_context(c, t);
        const uint64_t now_ns = c.ts_ns + c.dur_ns;
        int64_t unseen = 0;
        if (succeeded(c))
            for (const RawAioEvent& ev : c.aio_events) unseen += ctx.unseen_submit(ev.data, ev.obj, now_ns) ? 1 : 0;
        stats.aio_unseen_submits += static_cast<uint64_t>(unseen);
        if (e.ret > 0) e.ret -= std::min(unseen, e.ret);
        emit(e);
    }

    void uring_setup(const RawSyscall& c, Thread& t) {
        IoEvent e = base(c, t, EventKind::uring_setup);
        e.fd = succeeded(c) ? static_cast<int32_t>(c.ret) : -1;
        e.ctx = succeeded(c) ? static_cast<uint64_t>(c.ret) : 0;
        e.count = c.count;
        e.flags = c.flags;
        emit(e);
    }

    void uring_enter(const RawSyscall& c, Thread& t) {
        IoEvent e = base(c, t, EventKind::uring_enter);
        e.ctx = c.fd >= 0 ? static_cast<uint64_t>(c.fd) : 0;
        e.count = c.count;
        e.count2 = c.count2;
        e.flags = c.flags;
        emit(e);
    }

    // Only file mappings matter: their IO turns into page faults that no syscall shows.
    void mmap(const RawSyscall& c, Thread& t) {
        const OpenFile* file = resolve(*t.process, c.fd, c.fd_path);
        if (file == nullptr || (file->kind != FileKind::regular && file->kind != FileKind::block))
            return;
        IoEvent e = base(c, t, EventKind::mmap);
        describe_file(e, file);
        e.offset = c.offset;
        e.offset_kind = OffsetKind::absolute;
        e.bytes = c.bytes;
        e.flags = c.flags;
        emit(e);
    }

    void spawn(const RawSyscall& c, Thread& t) {
        forget_pending(c.tid);  // the clone is over, whether its child showed up early or not
        IoEvent e = base(c, t, EventKind::spawn);
        e.fd = -1;
        e.flags = c.flags;
        const auto child_tid = static_cast<int32_t>(c.ret);
        if (succeeded(c) && child_tid > 0) {
            auto child = threads.find(child_tid);
            if (child != threads.end() && child->second.spawned_by == c.tid) {
                child->second.spawned_by = 0;  // attached early from the pending spawn
            } else {
                spawn_child(c.tid, child_tid, c.flags, 0);  // new, or a stale tid reused
            }
        }
        emit(e);  // after spawn_child: `t` stays valid, unordered_map never moves elements
    }

    void thread_exit(int32_t tid, uint64_t ts_ns) {
        IoEvent e;
        e.ts_ns = ts_ns;
        e.tid = tid;
        e.kind = EventKind::exit;
        if (auto it = threads.find(tid); it != threads.end()) e.tgid = it->second.process->tgid;
        forget_pending(tid);
        detach(tid);
        emit(e);
    }

    void set_default_tgid(int32_t tgid) {
        if (tgid == default_tgid) return;
        // Threads already in the default process keep their table; it just gets its real id.
        auto old = processes.find(default_tgid);
        if (old != processes.end() && !processes.contains(tgid)) {
            ProcessPtr proc = std::move(old->second);
            processes.erase(old);
            proc->tgid = tgid;
            processes[tgid] = std::move(proc);
        }
        default_tgid = tgid;
    }
};

SyscallDecoder::SyscallDecoder(EventSink& sink, FileTable& files) : sink_(sink), files_(files) {
    impl_ = std::make_unique<Impl>(sink_, files_, stats_);
}

SyscallDecoder::~SyscallDecoder() = default;

void SyscallDecoder::set_default_tgid(int32_t tgid) {
    impl_->set_default_tgid(tgid);
}

void SyscallDecoder::add_thread(int32_t tid, int32_t tgid) {
    impl_->attach(tid, impl_->process(tgid));
}

void SyscallDecoder::preload_fd(int32_t tgid, int32_t fd, const std::string& path,
                                uint32_t open_flags, std::optional<uint64_t> position) {
    const OffsetKind kind = position ? OffsetKind::absolute : OffsetKind::unknown;
    impl_->process(tgid)->fds->set(fd,
                                   impl_->make_file(path, open_flags, kind, position.value_or(0)));
}

void SyscallDecoder::on_pending_spawn(int32_t parent_tid, uint32_t clone_flags) {
    impl_->caller(parent_tid);  // the parent made a call, so it is adopted like any caller
    impl_->forget_pending(parent_tid);
    impl_->pending.push_back({parent_tid, clone_flags});
}

void SyscallDecoder::on_syscall(const RawSyscall& call) {
    ++stats_.syscalls;
    impl_->on_syscall(call);
}

void SyscallDecoder::on_thread_exit(int32_t tid, uint64_t ts_ns) {
    impl_->thread_exit(tid, ts_ns);
}

}  // namespace iodiag::trace
