// SyscallDecoder: fd tables, positions, spawns and the events it emits.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "trace/syscall_decoder.hpp"

using namespace iodiag::trace;

namespace {

struct CaptureSink : EventSink {
    std::vector<IoEvent> events;
    std::vector<AsyncRequest> requests;
    void on_event(const IoEvent& event) override { events.push_back(event); }
    void on_async(const AsyncRequest& request) override { requests.push_back(request); }
};

constexpr int32_t kTid = 100;
constexpr int64_t kFull = INT64_MIN;  // io(): the call returns the full count

// One decoder with helpers that build the RawSyscalls a parser would hand it.
struct Harness {
    FileTable files;
    CaptureSink sink;
    SyscallDecoder decoder{sink, files};
    uint64_t clock = 1000;

    RawSyscall make(Syscall call, int32_t tid, int32_t fd, int64_t ret) {
        RawSyscall c;
        c.ts_ns = clock++;
        c.dur_ns = 7;
        c.tid = tid;
        c.call = call;
        c.fd = fd;
        c.ret = ret;
        return c;
    }
    IoEvent feed(const RawSyscall& c) {
        const size_t before = sink.events.size();
        decoder.on_syscall(c);
        REQUIRE(sink.events.size() == before + 1);
        return sink.events.back();
    }
    IoEvent open(const std::string& path, int32_t fd, uint32_t flags = kOpenRead,
                        int32_t tid = kTid) {
        RawSyscall c = make(Syscall::openat, tid, -100, fd);
        c.path = path;
        c.open_flags = flags;
        return feed(c);
    }
    // read/write and the positional calls; `ret` defaults to the full count.
    IoEvent io(Syscall call, int32_t fd, uint64_t bytes, int64_t ret = kFull,
                      int32_t tid = kTid) {
        RawSyscall c = make(call, tid, fd, ret == kFull ? static_cast<int64_t>(bytes) : ret);
        c.bytes = bytes;
        return feed(c);
    }
    IoEvent at(Syscall call, int32_t fd, uint64_t bytes, uint64_t offset, int32_t tid = kTid) {
        RawSyscall c = make(call, tid, fd, static_cast<int64_t>(bytes));
        c.bytes = bytes;
        c.offset = offset;
        c.has_offset = true;
        return feed(c);
    }
    IoEvent annotated_read(int32_t fd, const std::string& path, uint64_t bytes) {
        RawSyscall c = make(Syscall::read, kTid, fd, static_cast<int64_t>(bytes));
        c.bytes = bytes;
        c.fd_path = path;
        return feed(c);
    }
    IoEvent lseek(int32_t fd, uint64_t offset, int32_t whence, int64_t ret) {
        RawSyscall c = make(Syscall::lseek, kTid, fd, ret);
        c.offset = offset;
        c.cmd = whence;
        return feed(c);
    }
    IoEvent spawn(Syscall call, int32_t parent, int32_t child, uint32_t flags) {
        RawSyscall c = make(call, parent, -1, child);
        c.flags = flags;
        return feed(c);
    }
    uint32_t id(const std::string& path) { return files.intern(path); }
};

constexpr uint32_t kThreadFlags = kCloneThread | kCloneFiles | 0x100 /* CLONE_VM */;

}  // namespace

TEST_CASE("open then sequential reads advance the offset", "[decoder]") {
    Harness h;
    const IoEvent open = h.open("/data/f", 3, kOpenRead);
    CHECK(open.kind == EventKind::open);
    CHECK(open.call == Syscall::openat);
    CHECK(open.fd == 3);
    CHECK(open.ret == 3);
    CHECK(open.file_id == h.id("/data/f"));
    CHECK(open.open_flags == (kOpenRead | kOpenFlagsKnown));
    CHECK(open.file_kind == FileKind::regular);
    CHECK(h.files.get(open.file_id).kind == FileKind::regular);

    const IoEvent first = h.io(Syscall::read, 3, 4096);
    CHECK(first.kind == EventKind::data);
    CHECK(first.dir == IoDir::read);
    CHECK(first.offset_kind == OffsetKind::absolute);
    CHECK(first.offset == 0);
    CHECK(first.bytes == 4096);
    CHECK(first.ret == 4096);
    CHECK(first.fd == 3);
    CHECK(first.file_id == open.file_id);
    CHECK(first.file_kind == FileKind::regular);
    CHECK(first.tid == kTid);
    CHECK(first.tgid == kTid);  // no traced pid given: the first thread founds the process
    CHECK(first.dur_ns == 7);
    CHECK(h.io(Syscall::read, 3, 4096).offset == 4096);
    CHECK(h.io(Syscall::read, 3, 4096, 100).offset == 8192);  // short read: moves by 100
    CHECK(h.io(Syscall::readv, 3, 8192).offset == 8292);
    CHECK(h.io(Syscall::read, 3, 4096).offset == 16484);
    CHECK(h.decoder.stats().syscalls == 6);
    CHECK(h.decoder.stats().events == 6);
    CHECK(h.decoder.stats().unknown_fds == 0);
}

TEST_CASE("pread and pwrite use their offset and keep the position", "[decoder]") {
    Harness h;
    h.open("/data/f", 3, kOpenRead | kOpenWrite);
    h.io(Syscall::read, 3, 100);
    const IoEvent pread = h.at(Syscall::pread64, 3, 4096, 1 << 20);
    CHECK(pread.offset == 1u << 20);
    CHECK(pread.offset_kind == OffsetKind::absolute);
    CHECK(pread.dir == IoDir::read);
    const IoEvent pwrite = h.at(Syscall::pwritev, 3, 512, 77);
    CHECK(pwrite.offset == 77);
    CHECK(pwrite.dir == IoDir::write);
    CHECK(h.io(Syscall::read, 3, 10).offset == 100);

    // preadv2 without an offset (-1) uses and moves the position like readv.
    RawSyscall v2 = h.make(Syscall::preadv2, kTid, 3, 50);
    v2.bytes = 50;
    CHECK(h.feed(v2).offset == 110);
    CHECK(h.io(Syscall::read, 3, 10).offset == 160);
}

TEST_CASE("lseek sets an absolute position whatever the whence", "[decoder]") {
    Harness h;
    h.open("/data/f", 3);
    const IoEvent set = h.lseek(3, 8192, kSeekSet, 8192);
    CHECK(set.kind == EventKind::seek);
    CHECK(set.offset == 8192);
    CHECK(set.offset_kind == OffsetKind::absolute);
    CHECK(set.flags == static_cast<uint32_t>(kSeekSet));
    CHECK(set.file_id == h.id("/data/f"));
    CHECK(h.io(Syscall::read, 3, 4096).offset == 8192);

    const IoEvent cur = h.lseek(3, 100, kSeekCur, 12388);
    CHECK(cur.offset == 12388);
    CHECK(cur.flags == static_cast<uint32_t>(kSeekCur));
    CHECK(h.io(Syscall::read, 3, 4096).offset == 12388);

    h.lseek(3, 0, kSeekEnd, 1 << 20);
    CHECK(h.io(Syscall::read, 3, 4096).offset == 1u << 20);

    const IoEvent bad = h.lseek(3, 5, kSeekCur, -22);  // EINVAL: nothing moves
    CHECK(bad.ret == -22);
    CHECK(bad.offset_kind == OffsetKind::unknown);
    CHECK(h.io(Syscall::read, 3, 1).offset == (1u << 20) + 4096);
}

TEST_CASE("an fd learned from an annotation reads with relative offsets", "[decoder]") {
    Harness h;
    const IoEvent first = h.annotated_read(5, "/var/lib/db/t.ibd", 16384);
    CHECK(first.file_id == h.id("/var/lib/db/t.ibd"));
    CHECK(first.offset_kind == OffsetKind::relative);
    CHECK(first.offset == 0);
    CHECK(first.open_flags == 0);  // flags unknown: opened before the trace
    const IoEvent second = h.io(Syscall::read, 5, 16384);
    CHECK(second.offset_kind == OffsetKind::relative);
    CHECK(second.offset == 16384);
    CHECK(second.file_id == first.file_id);
    CHECK(h.decoder.stats().unknown_fds == 0);

    // An lseek makes it absolute from then on.
    h.lseek(5, 0, kSeekSet, 0);
    const IoEvent third = h.annotated_read(5, "/var/lib/db/t.ibd", 100);
    CHECK(third.offset_kind == OffsetKind::absolute);
    CHECK(third.offset == 0);

    // " (deleted)" after an unlink is the same file: the position survives.
    const IoEvent deleted = h.annotated_read(5, "/var/lib/db/t.ibd (deleted)", 100);
    CHECK(deleted.file_id == first.file_id);
    CHECK(deleted.offset == 100);
    CHECK(deleted.offset_kind == OffsetKind::absolute);
}

TEST_CASE("an annotation naming another file replaces what the fd meant", "[decoder]") {
    Harness h;
    h.open("/data/a", 3, kOpenRead | kOpenDirect);
    h.io(Syscall::read, 3, 4096);
    const IoEvent other = h.annotated_read(3, "/data/b", 4096);  // we missed a close + open
    CHECK(other.file_id == h.id("/data/b"));
    CHECK(other.offset_kind == OffsetKind::relative);
    CHECK(other.offset == 0);
    CHECK(other.open_flags == 0);

    const IoEvent dev = h.annotated_read(4, "/dev/sdb<block 8:16>", 512);
    CHECK(dev.file_id == h.id("/dev/sdb"));
    CHECK(h.files.get(dev.file_id).kind == FileKind::block);
    CHECK(dev.file_kind == FileKind::block);
    CHECK(h.annotated_read(4, "/dev/sdb<block 8:16>", 512).offset == 512);  // same file
}

TEST_CASE("dup, dup2 and F_DUPFD share the open file description", "[decoder]") {
    Harness h;
    h.open("/data/f", 3);
    const IoEvent dup = h.feed(h.make(Syscall::dup, kTid, 3, 4));
    CHECK(dup.kind == EventKind::dup);
    CHECK(dup.fd == 3);
    CHECK(dup.ret == 4);
    CHECK(dup.file_id == h.id("/data/f"));
    CHECK(h.io(Syscall::read, 4, 4096).offset == 0);
    CHECK(h.io(Syscall::read, 3, 4096).offset == 4096);  // moved through fd 4

    RawSyscall dup2 = h.make(Syscall::dup2, kTid, 3, 10);
    dup2.fd2 = 10;
    h.feed(dup2);
    CHECK(h.io(Syscall::read, 10, 100).offset == 8192);

    RawSyscall dupfd = h.make(Syscall::fcntl, kTid, 3, 11);
    dupfd.cmd = kFcntlDupfdCloexec;
    CHECK(h.feed(dupfd).kind == EventKind::dup);
    CHECK(h.io(Syscall::read, 11, 100).offset == 8292);

    // Closing one fd leaves the description open through the others.
    h.feed(h.make(Syscall::close, kTid, 3, 0));
    CHECK(h.io(Syscall::read, 4, 8).offset == 8392);
}

TEST_CASE("fork copies the fd table but shares positions", "[decoder]") {
    Harness h;
    h.decoder.set_default_tgid(kTid);
    h.open("/data/f", 3);
    const IoEvent spawn = h.spawn(Syscall::fork, kTid, 200, 0);
    CHECK(spawn.kind == EventKind::spawn);
    CHECK(spawn.ret == 200);
    CHECK(spawn.tgid == kTid);

    const IoEvent child = h.io(Syscall::read, 3, 4096, kFull, 200);
    CHECK(child.tgid == 200);
    CHECK(child.file_id == h.id("/data/f"));
    CHECK(child.offset == 0);
    CHECK(h.io(Syscall::read, 3, 4096, kFull, kTid).offset == 4096);  // the child moved it

    // The tables themselves are separate.
    h.feed(h.make(Syscall::close, 200, 3, 0));
    CHECK(h.io(Syscall::read, 3, 10, kFull, kTid).file_id == h.id("/data/f"));
    h.open("/data/child", 5, kOpenRead, 200);
    const IoEvent parent5 = h.io(Syscall::read, 5, 10, kFull, kTid);
    CHECK(parent5.file_id == 0);
    CHECK(parent5.offset_kind == OffsetKind::unknown);
}

TEST_CASE("clone with CLONE_THREAD shares the fd table", "[decoder]") {
    Harness h;
    h.decoder.set_default_tgid(kTid);
    h.spawn(Syscall::clone, kTid, 101, kThreadFlags);
    h.open("/data/t", 4, kOpenRead, 101);
    const IoEvent parent = h.io(Syscall::read, 4, 512, kFull, kTid);
    CHECK(parent.file_id == h.id("/data/t"));
    CHECK(parent.offset == 0);
    const IoEvent thread = h.io(Syscall::read, 4, 512, kFull, 101);
    CHECK(thread.tgid == kTid);
    CHECK(thread.offset == 512);

    // CLONE_FILES without CLONE_THREAD: a new process that still shares the table.
    h.spawn(Syscall::clone, kTid, 300, kCloneFiles);
    h.open("/data/shared", 6, kOpenRead, 300);
    CHECK(h.io(Syscall::read, 6, 1, kFull, 300).tgid == 300);
    CHECK(h.io(Syscall::read, 6, 1, kFull, kTid).file_id == h.id("/data/shared"));
}

TEST_CASE("a pending spawn adopts a child tid seen before clone returns", "[decoder]") {
    Harness h;
    h.decoder.set_default_tgid(kTid);
    h.open("/data/f", 3);
    h.decoder.on_pending_spawn(kTid, 0);  // fork in flight

    const IoEvent early = h.io(Syscall::read, 3, 4096, kFull, 400);
    CHECK(early.tgid == 400);  // its own process, not the default one
    CHECK(early.file_id == h.id("/data/f"));
    CHECK(early.offset == 0);

    const IoEvent done = h.spawn(Syscall::clone, kTid, 400, 0);
    CHECK(done.ret == 400);
    // Nothing re-created: the child's table and the shared position are intact.
    const IoEvent later = h.io(Syscall::read, 3, 4096, kFull, 400);
    CHECK(later.tgid == 400);
    CHECK(later.offset == 4096);

    // With no spawn pending an unknown tid joins the default process.
    CHECK(h.io(Syscall::read, 3, 1, kFull, 401).tgid == kTid);

    // A pending thread clone puts the child in the parent's process.
    h.decoder.on_pending_spawn(kTid, kThreadFlags);
    CHECK(h.io(Syscall::read, 3, 1, kFull, 402).tgid == kTid);
}

TEST_CASE("a spawn that never showed early attaches when clone returns", "[decoder]") {
    Harness h;
    h.decoder.set_default_tgid(kTid);
    h.decoder.on_pending_spawn(kTid, 0);
    h.spawn(Syscall::vfork, kTid, 500, 0x4100 /* CLONE_VM|CLONE_VFORK */);
    // The pending entry is gone: a new tid now joins the default process.
    CHECK(h.io(Syscall::read, 3, 1, kFull, 501).tgid == kTid);
    CHECK(h.io(Syscall::read, 3, 1, kFull, 500).tgid == 500);
}

TEST_CASE("open flags and RWF flags reach data events", "[decoder]") {
    Harness h;
    h.open("/data/direct", 3, kOpenWrite | kOpenDirect);
    h.open("/data/sync", 4, kOpenWrite | kOpenSync);
    h.open("/data/dsync", 5, kOpenWrite | kOpenDsync);
    h.open("/data/plain", 6, kOpenWrite);
    CHECK(h.io(Syscall::write, 3, 4096).open_flags == (kOpenWrite | kOpenDirect | kOpenFlagsKnown));
    CHECK(h.io(Syscall::write, 4, 4096).open_flags == (kOpenWrite | kOpenSync | kOpenFlagsKnown));
    CHECK(h.io(Syscall::write, 5, 4096).open_flags == (kOpenWrite | kOpenDsync | kOpenFlagsKnown));

    RawSyscall v2 = h.make(Syscall::pwritev2, kTid, 6, 4096);
    v2.bytes = 4096;
    v2.offset = 8192;
    v2.has_offset = true;
    v2.flags = kRwfDsync;
    const IoEvent dsync = h.feed(v2);
    CHECK(dsync.open_flags == (kOpenWrite | kOpenDsync | kOpenFlagsKnown));
    CHECK(dsync.flags == kRwfDsync);
    CHECK(dsync.offset == 8192);
    // The per-call flag does not stick to the fd.
    CHECK(h.io(Syscall::write, 6, 1).open_flags == (kOpenWrite | kOpenFlagsKnown));
    v2.flags = kRwfSync;
    CHECK(h.feed(v2).open_flags == (kOpenWrite | kOpenSync | kOpenDsync | kOpenFlagsKnown));
    v2.call = Syscall::preadv2;  // RWF_* only count on the v2 calls; a plain write ignores flags
    v2.flags = kRwfHipri;
    CHECK(h.feed(v2).open_flags == (kOpenWrite | kOpenFlagsKnown));

    // creat implies write, create and truncate.
    RawSyscall creat = h.make(Syscall::creat, kTid, -1, 7);
    creat.path = "/data/new";
    CHECK(h.feed(creat).open_flags ==
          (kOpenWrite | kOpenCreate | kOpenTrunc | kOpenFlagsKnown));
}

TEST_CASE("fcntl F_SETFL changes O_DIRECT and O_APPEND only", "[decoder]") {
    Harness h;
    h.open("/data/f", 3, kOpenRead | kOpenDsync);
    h.feed(h.make(Syscall::dup, kTid, 3, 4));
    RawSyscall setfl = h.make(Syscall::fcntl, kTid, 3, 0);
    setfl.cmd = kFcntlSetfl;
    setfl.open_flags = kOpenRead | kOpenDirect;  // O_DSYNC absent: F_SETFL cannot clear it
    const size_t before = h.sink.events.size();
    h.decoder.on_syscall(setfl);
    CHECK(h.sink.events.size() == before);  // no event of its own
    const uint32_t expected = kOpenRead | kOpenDsync | kOpenDirect | kOpenFlagsKnown;
    CHECK(h.io(Syscall::read, 3, 4096).open_flags == expected);
    CHECK(h.io(Syscall::read, 4, 4096).open_flags == expected);  // same description

    setfl.open_flags = kOpenRead;
    h.decoder.on_syscall(setfl);
    CHECK(h.io(Syscall::read, 3, 4096).open_flags == (kOpenRead | kOpenDsync | kOpenFlagsKnown));
}

TEST_CASE("O_APPEND writes have relative offsets", "[decoder]") {
    Harness h;
    h.open("/var/log/app.log", 3, kOpenWrite | kOpenAppend);
    const IoEvent first = h.io(Syscall::write, 3, 120);
    CHECK(first.offset_kind == OffsetKind::relative);
    CHECK(first.offset == 0);
    const IoEvent second = h.io(Syscall::write, 3, 80);
    CHECK(second.offset_kind == OffsetKind::relative);
    CHECK(second.offset == 120);
    // pwrite on an O_APPEND fd still appends: where is unknown.
    CHECK(h.at(Syscall::pwrite64, 3, 10, 0).offset_kind == OffsetKind::unknown);
    CHECK(h.io(Syscall::write, 3, 1).offset == 200);
}

TEST_CASE("pipes and sockets have no offset", "[decoder]") {
    Harness h;
    const IoEvent pipe = h.annotated_read(7, "pipe:[4242]", 100);
    CHECK(pipe.file_id == h.id("pipe:[4242]"));
    CHECK(h.files.get(pipe.file_id).kind == FileKind::pipe);
    CHECK(pipe.file_kind == FileKind::pipe);
    CHECK(pipe.offset_kind == OffsetKind::unknown);
    CHECK(h.io(Syscall::read, 7, 100).offset_kind == OffsetKind::unknown);
}

TEST_CASE("a failed read is reported and moves nothing", "[decoder]") {
    Harness h;
    h.open("/data/f", 3);
    h.io(Syscall::read, 3, 100);
    const IoEvent failed = h.io(Syscall::read, 3, 4096, -11 /* EAGAIN */);
    CHECK(failed.ret == -11);
    CHECK(failed.failed());
    CHECK(failed.offset == 100);
    CHECK(failed.offset_kind == OffsetKind::absolute);
    CHECK(h.io(Syscall::read, 3, 4096).offset == 100);

    RawSyscall died = h.make(Syscall::read, kTid, 3, 0);  // "= ?"
    died.ret_known = false;
    died.bytes = 4096;
    h.feed(died);
    CHECK(h.io(Syscall::read, 3, 1).offset == 4196);

    RawSyscall failed_open = h.make(Syscall::openat, kTid, -100, -2 /* ENOENT */);
    failed_open.path = "/missing";
    const IoEvent open = h.feed(failed_open);
    CHECK(open.kind == EventKind::open);
    CHECK(open.fd == -1);
    CHECK(open.file_id == 0);
    CHECK(h.files.size() == 2);  // failed paths are not interned
}

TEST_CASE("io_submit emits one request per accepted iocb", "[decoder]") {
    Harness h;
    h.decoder.set_default_tgid(kTid);
    h.open("/data/f", 3, kOpenRead | kOpenWrite | kOpenDirect);
    RawSyscall setup = h.make(Syscall::io_setup, kTid, -1, 0);
    setup.ctx = 0x7f0000001000;
    setup.count = 128;
    const IoEvent s = h.feed(setup);
    CHECK(s.kind == EventKind::aio_setup);
    CHECK(s.ctx == 0x7f0000001000);
    CHECK(s.count == 128);

    RawSyscall submit = h.make(Syscall::io_submit, kTid, -1, 2);
    submit.ctx = 0x7f0000001000;
    submit.count = 3;
    submit.iocbs = {
        RawIocb{kIocbPread, 3, "", 4096, 0, 1},
        RawIocb{kIocbPwrite, 7, "/data/g", 8192, 4096, 2},
        RawIocb{kIocbPread, 3, "", 4096, 8192, 3},
    };
    const IoEvent e = h.feed(submit);
    CHECK(e.kind == EventKind::aio_submit);
    CHECK(e.count == 3);
    CHECK(e.ret == 2);
    CHECK(e.ctx == 0x7f0000001000);
    REQUIRE(h.sink.requests.size() == 2);
    const AsyncRequest& r0 = h.sink.requests[0];
    CHECK(r0.dir == IoDir::read);
    CHECK(r0.fd == 3);
    CHECK(r0.file_id == h.id("/data/f"));
    CHECK(r0.open_flags == (kOpenRead | kOpenWrite | kOpenDirect | kOpenFlagsKnown));
    CHECK(r0.offset == 0);
    CHECK(r0.bytes == 4096);
    CHECK(r0.submit_ns == submit.ts_ns);
    CHECK(r0.ctx == 0x7f0000001000);
    CHECK(r0.tgid == kTid);
    CHECK(r0.is_flush == 0);
    const AsyncRequest& r1 = h.sink.requests[1];
    CHECK(r1.dir == IoDir::write);
    CHECK(r1.file_id == h.id("/data/g"));
    CHECK(r1.offset == 4096);
    CHECK(r1.bytes == 8192);
    CHECK(h.decoder.stats().async_requests == 2);

    submit.ret = -11;  // EAGAIN: nothing queued
    h.feed(submit);
    CHECK(h.sink.requests.size() == 2);

    submit.ret = 1;
    submit.iocbs = {RawIocb{kIocbFdsync, 3, "", 0, 0, 9}};
    h.feed(submit);
    REQUIRE(h.sink.requests.size() == 3);
    CHECK(h.sink.requests[2].is_flush == 1);
    CHECK(h.sink.requests[2].dir == IoDir::none);
}

TEST_CASE("flush, reap, io_uring and mmap calls become their events", "[decoder]") {
    Harness h;
    h.open("/data/f", 3, kOpenRead | kOpenWrite);
    const IoEvent fsync = h.feed(h.make(Syscall::fdatasync, kTid, 3, 0));
    CHECK(fsync.kind == EventKind::flush);
    CHECK(fsync.call == Syscall::fdatasync);
    CHECK(fsync.file_id == h.id("/data/f"));

    RawSyscall sfr = h.make(Syscall::sync_file_range, kTid, 3, 0);
    sfr.offset = 4096;
    sfr.bytes = 65536;
    sfr.flags = 2;
    const IoEvent range = h.feed(sfr);
    CHECK(range.kind == EventKind::flush);
    CHECK(range.offset == 4096);
    CHECK(range.bytes == 65536);
    CHECK(range.flags == 2);

    RawSyscall reap = h.make(Syscall::io_getevents, kTid, -1, 3);
    reap.ctx = 0x55;
    reap.count = 1;
    reap.count2 = 32;
    const IoEvent r = h.feed(reap);
    CHECK(r.kind == EventKind::aio_reap);
    CHECK(r.ctx == 0x55);
    CHECK(r.count == 1);
    CHECK(r.count2 == 32);
    CHECK(r.ret == 3);

    RawSyscall setup = h.make(Syscall::io_uring_setup, kTid, -1, 9);
    setup.count = 256;
    setup.flags = kUringSetupSqpoll;
    const IoEvent us = h.feed(setup);
    CHECK(us.kind == EventKind::uring_setup);
    CHECK(us.fd == 9);
    CHECK(us.count == 256);
    CHECK(us.flags == kUringSetupSqpoll);

    RawSyscall enter = h.make(Syscall::io_uring_enter, kTid, 9, 8);
    enter.count = 8;
    enter.count2 = 1;
    enter.flags = kUringEnterGetevents;
    const IoEvent ue = h.feed(enter);
    CHECK(ue.kind == EventKind::uring_enter);
    CHECK(ue.fd == 9);
    CHECK(ue.ctx == 9);
    CHECK(ue.count == 8);
    CHECK(ue.count2 == 1);
    CHECK(ue.flags == kUringEnterGetevents);

    RawSyscall map = h.make(Syscall::mmap, kTid, 3, 0x7f0000000000);
    map.offset = 0;
    map.bytes = 1 << 20;
    const IoEvent m = h.feed(map);
    CHECK(m.kind == EventKind::mmap);
    CHECK(m.file_id == h.id("/data/f"));
    CHECK(m.bytes == 1u << 20);

    // Anonymous maps, pipes and calls we do not model emit nothing.
    const size_t before = h.sink.events.size();
    h.decoder.on_syscall(h.make(Syscall::mmap, kTid, -1, 0x7f0000100000));
    h.decoder.on_syscall(h.make(Syscall::io_uring_register, kTid, 9, 0));
    h.decoder.on_syscall(h.make(Syscall::unknown, kTid, 3, 0));
    CHECK(h.sink.events.size() == before);
}

TEST_CASE("preload_fd gives positions known at attach time", "[decoder]") {
    Harness h;
    h.decoder.set_default_tgid(kTid);
    h.decoder.preload_fd(kTid, 5, "/data/x", kOpenRead | kOpenFlagsKnown, 65536);
    h.decoder.preload_fd(kTid, 6, "/data/y", kOpenRead | kOpenFlagsKnown, std::nullopt);
    const IoEvent x = h.io(Syscall::read, 5, 4096);
    CHECK(x.file_id == h.id("/data/x"));
    CHECK(x.offset == 65536);
    CHECK(x.offset_kind == OffsetKind::absolute);
    CHECK(x.open_flags == (kOpenRead | kOpenFlagsKnown));
    CHECK(h.io(Syscall::read, 5, 4096).offset == 69632);
    const IoEvent y = h.io(Syscall::read, 6, 4096);
    CHECK(y.offset_kind == OffsetKind::relative);
    CHECK(y.offset == 0);
}

TEST_CASE("close forgets the fd", "[decoder]") {
    Harness h;
    h.open("/data/f", 3);
    const IoEvent close = h.feed(h.make(Syscall::close, kTid, 3, 0));
    CHECK(close.kind == EventKind::close);
    CHECK(close.fd == 3);
    CHECK(close.file_id == h.id("/data/f"));
    const IoEvent after = h.io(Syscall::read, 3, 4096);
    CHECK(after.file_id == 0);
    CHECK(after.file_kind == FileKind::unknown);
    CHECK(after.offset_kind == OffsetKind::unknown);
    CHECK(after.dir == IoDir::read);
    CHECK(h.decoder.stats().unknown_fds == 1);
}

TEST_CASE("thread exit emits an event and forgets the process with its last thread", "[decoder]") {
    Harness h;
    h.decoder.add_thread(kTid, kTid);
    h.decoder.add_thread(101, kTid);
    h.open("/data/f", 3);
    h.decoder.on_thread_exit(101, 5000);
    REQUIRE(h.sink.events.back().kind == EventKind::exit);
    CHECK(h.sink.events.back().tid == 101);
    CHECK(h.sink.events.back().tgid == kTid);
    CHECK(h.sink.events.back().ts_ns == 5000);
    CHECK(h.io(Syscall::read, 3, 1).file_id == h.id("/data/f"));  // the process lives on

    h.decoder.on_thread_exit(kTid, 6000);
    CHECK(h.sink.events.back().kind == EventKind::exit);
    CHECK(h.sink.events.back().tgid == kTid);
    // The tid is reused by a new, unrelated process: the old table is gone.
    h.decoder.add_thread(kTid, kTid);
    CHECK(h.io(Syscall::read, 3, 1).file_id == 0);
}

TEST_CASE("declaring a known thread again keeps its process", "[decoder]") {
    Harness h;
    h.decoder.add_thread(kTid, kTid);
    h.decoder.add_thread(kTid, kTid);
    h.decoder.preload_fd(kTid, 4, "/data/p", kOpenRead | kOpenFlagsKnown, 10);
    const IoEvent e = h.io(Syscall::read, 4, 1);
    CHECK(e.file_id == h.id("/data/p"));
    CHECK(e.offset == 10);
}

TEST_CASE("set_default_tgid names the process unknown tids already share", "[decoder]") {
    Harness h;
    h.open("/data/f", 3, kOpenRead, 7);
    CHECK(h.io(Syscall::read, 3, 1, kFull, 8).tgid == 7);  // tid 8 joins the process tid 7 founded
    h.decoder.set_default_tgid(4242);
    const IoEvent e = h.io(Syscall::read, 3, 1, kFull, 8);
    CHECK(e.tgid == 4242);
    CHECK(e.file_id == h.id("/data/f"));
    CHECK(e.offset == 1);
}

namespace {

RawSyscall reap_of(Harness& h, uint64_t ctx, std::vector<RawAioEvent> events, uint64_t at_ns = 0) {
    RawSyscall reap = h.make(Syscall::io_getevents, kTid, -1, static_cast<int64_t>(events.size()));
    if (at_ns) reap.ts_ns = at_ns;
    reap.ctx = ctx;
    reap.count = 1;
    reap.count2 = 16;
    reap.aio_events = std::move(events);
    return reap;
}

RawSyscall submit_of(Harness& h, uint64_t ctx, uint64_t data, uint64_t at_ns = 0) {
    RawSyscall submit = h.make(Syscall::io_submit, kTid, -1, 1);
    if (at_ns) submit.ts_ns = at_ns;
    submit.ctx = ctx;
    submit.count = 1;
    submit.iocbs = {RawIocb{kIocbPread, 3, "", 4096, 0, data}};
    return submit;
}

}  // namespace

TEST_CASE("libaio attached mid-flight: completions named by aio_data pair with the submits seen", "[decoder]") {
    Harness h;
    h.open("/data/f", 3);
    h.feed(submit_of(h, 0x55, 0xa));
    h.feed(submit_of(h, 0x55, 0xb));
    // 0xc was submitted before the trace: it does not count against the two seen.
    const IoEvent r = h.feed(reap_of(h, 0x55, {{0xc, 0x1000}, {0xa, 0x2000}}));
    CHECK(r.ret == 1);
    CHECK(h.decoder.stats().aio_unseen_submits == 1);
    CHECK(h.feed(reap_of(h, 0x55, {{0xb, 0x3000}})).ret == 1);
    CHECK(h.decoder.stats().aio_unseen_submits == 1);
}

TEST_CASE("libaio attached mid-flight: unnamed iocbs, first completions early are of unseen submits", "[decoder]") {
    Harness h;
    h.open("/data/f", 3);
    const uint64_t ms = 1'000'000, t0 = 1'000 * ms;
    // Two iocbs (0x1000, 0x2000) in flight at attach: each completes, is resubmitted, completes.
    CHECK(h.feed(reap_of(h, 0x55, {{0, 0x1000}}, t0)).ret == 0);
    h.feed(submit_of(h, 0x55, 0, t0 + 1 * ms));
    CHECK(h.feed(reap_of(h, 0x55, {{0, 0x2000}}, t0 + 2 * ms)).ret == 0);
    h.feed(submit_of(h, 0x55, 0, t0 + 2 * ms));
    CHECK(h.feed(reap_of(h, 0x55, {{0, 0x1000}}, t0 + 4 * ms)).ret == 1);  // reused: seen
    CHECK(h.decoder.stats().aio_unseen_submits == 2);
    // A third iocb first completing long after the first reuse was submitted in the trace.
    h.feed(submit_of(h, 0x55, 0, t0 + 20 * ms));
    CHECK(h.feed(reap_of(h, 0x55, {{0, 0x3000}}, t0 + 30 * ms)).ret == 1);
    CHECK(h.decoder.stats().aio_unseen_submits == 2);
}

TEST_CASE("libaio: a context created in the trace has no unseen submits", "[decoder]") {
    Harness h;
    h.open("/data/f", 3);
    RawSyscall setup = h.make(Syscall::io_setup, kTid, -1, 0);
    setup.ctx = 0x55;
    setup.count = 16;
    h.feed(setup);
    h.feed(submit_of(h, 0x55, 0));
    CHECK(h.feed(reap_of(h, 0x55, {{0, 0x1000}})).ret == 1);
    CHECK(h.decoder.stats().aio_unseen_submits == 0);
}
