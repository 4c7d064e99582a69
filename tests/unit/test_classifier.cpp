// The classifier on synthetic event streams: each stream is what a trace source would emit for a
// known fio job, and the model must name that job back.
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>

#include "model/classifier.hpp"

using namespace iodiag;
using namespace iodiag::trace;
using model::Classifier;
using model::WorkloadModel;

namespace {

constexpr uint64_t kUs = 1000;

struct Stream {
    Classifier classifier;
    FileTable files;
    uint64_t now = 1'000'000'000;

    explicit Stream(model::ClassifierOptions options = {}) : classifier(options) {}

    uint32_t file(const std::string& path) { return files.intern(path, FileKind::regular); }

    IoEvent base(int32_t tid, Syscall call, EventKind kind, uint64_t dur = 10 * kUs) {
        IoEvent e;
        e.tid = tid;
        e.tgid = tid;
        e.call = call;
        e.kind = kind;
        e.ts_ns = now;
        e.dur_ns = dur;
        now += dur + 2 * kUs;
        return e;
    }

    void data(int32_t tid, Syscall call, IoDir dir, uint32_t file_id, uint64_t offset, uint64_t bytes,
              uint32_t open_flags = kOpenFlagsKnown | kOpenRead | kOpenWrite, uint64_t dur = 10 * kUs) {
        IoEvent e = base(tid, call, EventKind::data, dur);
        e.dir = dir;
        e.fd = 3;
        e.file_id = file_id;
        e.file_kind = FileKind::regular;
        e.offset = offset;
        e.offset_kind = OffsetKind::absolute;
        e.bytes = bytes;
        e.ret = static_cast<int64_t>(bytes);
        e.open_flags = open_flags;
        classifier.on_event(e);
    }

    void flush(int32_t tid, Syscall call, uint32_t file_id) {
        IoEvent e = base(tid, call, EventKind::flush);
        e.fd = 3;
        e.file_id = file_id;
        e.file_kind = FileKind::regular;
        classifier.on_event(e);
    }

    WorkloadModel finish() { return classifier.finish(files, WorkloadModel{}); }
};

const model::JobGroup& only_group(const WorkloadModel& m) {
    REQUIRE(m.groups.size() == 1);
    return m.groups.front();
}

// An fio option of a group, or null when the model does not set it (so a CHECK fails cleanly).
model::ordered_json opt(const model::JobGroup& g, const char* key) {
    return g.fio.contains(key) ? g.fio.at(key) : model::ordered_json();
}

}  // namespace

TEST_CASE("sequential buffered 128k preads are read/128k/psync", "[classifier]") {
    Stream s;
    uint32_t f = s.file("/data/seq");
    for (uint64_t i = 0; i < 512; ++i) s.data(100, Syscall::pread64, IoDir::read, f, i * 131072, 131072);
    auto m = s.finish();
    const auto& g = only_group(m);
    CHECK(opt(g, "rw") == "read");
    CHECK(opt(g, "bs") == "128k");
    CHECK(opt(g, "ioengine") == "psync");
    CHECK(opt(g, "direct") == 0);
    CHECK(opt(g, "iodepth") == 1);
    CHECK(opt(g, "numjobs") == 1);
    CHECK(opt(g, "size") == "64m");
    CHECK(g.pattern == "sequential");
    CHECK(g.evidence.reads.pattern.consecutive == 511);
    CHECK(g.evidence.reads.ops == 512);
    CHECK(g.evidence.reads.sizes.at(131072) == 512);
    CHECK_FALSE(g.fio.contains("thinktime"));
    CHECK(g.name == "read-128k-psync");
}

TEST_CASE("random direct 4k pwrites are randwrite with direct=1", "[classifier]") {
    Stream s;
    uint32_t f = s.file("/data/rand");
    std::mt19937_64 rng(7);
    for (int i = 0; i < 2000; ++i)
        s.data(7, Syscall::pwrite64, IoDir::write, f, (rng() % 16384) * 4096, 4096,
               kOpenFlagsKnown | kOpenWrite | kOpenDirect);
    auto m = s.finish();
    const auto& g = only_group(m);
    CHECK(opt(g, "rw") == "randwrite");
    CHECK(opt(g, "bs") == "4k");
    CHECK(opt(g, "direct") == 1);
    CHECK(g.direction == "write");
    CHECK(g.evidence.direct_ops == 2000);
}

TEST_CASE("four randrw 70/30 threads on their own files form one group of four jobs", "[classifier]") {
    Stream s;
    std::mt19937_64 rng(3);
    for (int job = 0; job < 4; ++job) {
        uint32_t f = s.file("/data/job." + std::to_string(job) + ".0");
        for (int i = 0; i < 3000; ++i) {
            IoDir dir = rng() % 100 < 70 ? IoDir::read : IoDir::write;
            s.data(200 + job, dir == IoDir::read ? Syscall::pread64 : Syscall::pwrite64, dir, f,
                   (rng() % 8192) * 4096, 4096);
        }
    }
    auto m = s.finish();
    const auto& g = only_group(m);
    CHECK(opt(g, "rw") == "randrw");
    CHECK(opt(g, "numjobs") == 4);
    CHECK(std::abs(opt(g, "rwmixread").get<int>() - 70) <= 3);
    CHECK(g.files.size() == 4);
    CHECK_FALSE(g.fio.contains("nrfiles"));  // one file per job
    CHECK_FALSE(g.fio.contains("thread"));   // separate processes (tgid == tid)
    CHECK(g.threads.size() == 4);
}

TEST_CASE("threads of one process set fio's thread option", "[classifier]") {
    Stream s;
    uint32_t f = s.file("/data/shared");
    for (int tid = 11; tid <= 13; ++tid)
        for (uint64_t i = 0; i < 100; ++i) {
            IoEvent e = s.base(tid, Syscall::pread64, EventKind::data);
            e.tgid = 10;
            e.dir = IoDir::read;
            e.fd = 3;
            e.file_id = f;
            e.file_kind = FileKind::regular;
            e.offset = i * 8192;
            e.offset_kind = OffsetKind::absolute;
            e.bytes = 8192;
            e.ret = 8192;
            s.classifier.on_event(e);
        }
    auto m = s.finish();
    const auto& g = only_group(m);
    CHECK(opt(g, "numjobs") == 3);
    CHECK(opt(g, "thread") == 1);
    CHECK(g.processes == std::vector<int32_t>{10});
}

TEST_CASE("sequential 4k writes each followed by fdatasync give fdatasync=1", "[classifier]") {
    Stream s;
    uint32_t f = s.file("/data/log");
    for (uint64_t i = 0; i < 300; ++i) {
        s.data(5, Syscall::write, IoDir::write, f, i * 4096, 4096);
        s.flush(5, Syscall::fdatasync, f);
    }
    auto m = s.finish();
    const auto& g = only_group(m);
    CHECK(opt(g, "rw") == "write");
    CHECK(opt(g, "ioengine") == "sync");
    CHECK(opt(g, "fdatasync") == 1);
    CHECK_FALSE(g.fio.contains("fsync"));
    CHECK(g.evidence.fdatasyncs == 300);
    CHECK(g.evidence.writes_per_flush.at(1) == 300);
}

TEST_CASE("fsync every 4 writes gives fsync=4", "[classifier]") {
    Stream s;
    uint32_t f = s.file("/data/log");
    for (uint64_t i = 0; i < 400; ++i) {
        s.data(5, Syscall::pwrite64, IoDir::write, f, i * 4096, 4096);
        if (i % 4 == 3) s.flush(5, Syscall::fsync, f);
    }
    auto m = s.finish();
    const auto& g = only_group(m);
    CHECK(opt(g, "fsync") == 4);
}

TEST_CASE("O_SYNC and O_DSYNC writes set fio's sync option", "[classifier]") {
    for (auto [flag, expected] : {std::pair{kOpenSync, "sync"}, std::pair{kOpenDsync, "dsync"}}) {
        Stream s;
        uint32_t f = s.file("/data/sync");
        for (uint64_t i = 0; i < 50; ++i)
            s.data(5, Syscall::pwrite64, IoDir::write, f, i * 4096, 4096, kOpenFlagsKnown | kOpenWrite | flag);
        auto m = s.finish();
    const auto& g = only_group(m);
        CHECK(opt(g, "sync") == expected);
    }
}

namespace {
// libaio as strace shows it: each iocb as an AsyncRequest, then the io_submit event; completions
// only as counts from io_getevents. The app keeps `depth` in flight, reaping one at a time.
void libaio_run(Stream& s, int32_t tid, uint32_t f, uint64_t depth, uint64_t total, std::mt19937_64& rng) {
    uint64_t inflight = 0, submitted = 0;
    while (submitted < total) {
        while (inflight < depth && submitted < total) {
            AsyncRequest r;
            r.tid = tid;
            r.tgid = tid;
            r.ctx = 0xabc;
            r.dir = IoDir::read;
            r.fd = 5;
            r.file_id = f;
            r.open_flags = kOpenFlagsKnown | kOpenRead | kOpenDirect;
            r.offset = (rng() % 4096) * 8192;
            r.bytes = 8192;
            r.submit_ns = s.now;
            s.classifier.on_async(r);
            IoEvent e = s.base(tid, Syscall::io_submit, EventKind::aio_submit);
            e.ctx = 0xabc;
            e.count = 1;
            e.ret = 1;
            s.classifier.on_event(e);
            ++inflight, ++submitted;
        }
        IoEvent reap = s.base(tid, Syscall::io_getevents, EventKind::aio_reap);
        reap.ctx = 0xabc;
        reap.count = 1;
        reap.count2 = static_cast<uint32_t>(depth);
        reap.ret = 1;
        s.classifier.on_event(reap);
        --inflight;
    }
}
}  // namespace

TEST_CASE("libaio iodepth 16 is recovered from submit and reap counts", "[classifier]") {
    Stream s;
    std::mt19937_64 rng(1);
    libaio_run(s, 42, s.file("/data/aio"), 16, 5000, rng);
    auto m = s.finish();
    const auto& g = only_group(m);
    CHECK(opt(g, "ioengine") == "libaio");
    CHECK(opt(g, "rw") == "randread");
    CHECK(opt(g, "bs") == "8k");
    CHECK(opt(g, "direct") == 1);
    CHECK(opt(g, "iodepth") == 16);
    CHECK(opt(g, "iodepth_batch_submit") == 1);
    CHECK(opt(g, "iodepth_batch_complete_min") == 1);
    CHECK(g.unknown.count("latency") == 1);
    CHECK(g.evidence.inflight.at(16) > 4900);
}

namespace {
// A ring seen only through its syscalls: opened O_DIRECT read-only, set up with 32 entries, then
// fio's pattern: submit a batch of 8, then wait for at least 4 completions.
void uring_syscalls_only(Stream& s) {
    uint32_t f = s.file("/data/uring");
    IoEvent open = s.base(9, Syscall::openat, EventKind::open);
    open.fd = 6;
    open.file_id = f;
    open.file_kind = FileKind::regular;
    open.open_flags = kOpenFlagsKnown | kOpenRead | kOpenDirect;
    open.ret = 6;
    s.classifier.on_event(open);
    IoEvent setup = s.base(9, Syscall::io_uring_setup, EventKind::uring_setup);
    setup.count = 32;
    setup.ret = 7;
    s.classifier.on_event(setup);
    // fio's pattern: submit a batch of 8, then wait for at least 4 completions.
    for (int i = 0; i < 500; ++i) {
        IoEvent submit = s.base(9, Syscall::io_uring_enter, EventKind::uring_enter);
        submit.fd = 7;
        submit.count = 8;
        submit.ret = 8;
        s.classifier.on_event(submit);
        IoEvent wait = s.base(9, Syscall::io_uring_enter, EventKind::uring_enter);
        wait.fd = 7;
        wait.count2 = 4;
        wait.flags = kUringEnterGetevents;
        s.classifier.on_event(wait);
    }
}
}  // namespace

TEST_CASE("io_uring seen only through syscalls: engine, depth bound and batch, rw and bs unknown",
          "[classifier]") {
    Stream s;
    uring_syscalls_only(s);
    auto m = s.finish();
    const auto& g = only_group(m);
    CHECK(opt(g, "ioengine") == "io_uring");
    CHECK(opt(g, "iodepth") == 32);
    CHECK(opt(g, "iodepth_batch_submit") == 8);
    CHECK(opt(g, "iodepth_batch_complete_min") == 4);
    CHECK(opt(g, "direct") == 1);
    CHECK_FALSE(g.fio.contains("rw"));
    CHECK_FALSE(g.fio.contains("bs"));
    CHECK(g.unknown.count("rw") == 1);
    CHECK(g.unknown.count("bs") == 1);
    CHECK(g.direction == "read");
    REQUIRE(g.files.size() == 1);
    CHECK(g.files[0].path == "/data/uring");
    CHECK_THAT(g.unknown.at("rw"), Catch::Contains("strace cannot see the requests"));
}

TEST_CASE("io_uring without requests under the bpf source blames the missing io_uring tracer, not strace",
          "[classifier]") {
    Stream s(model::ClassifierOptions::for_source("bpf"));
    uring_syscalls_only(s);
    auto m = s.finish();
    const auto& g = only_group(m);
    CHECK(opt(g, "ioengine") == "io_uring");
    CHECK_THAT(g.unknown.at("rw"), Catch::Contains("without its io_uring tracer"));
    CHECK_THAT(g.unknown.at("rw"), !Catch::Contains("strace"));
}

namespace {
// io_uring as the bpf tracer delivers it: the ring announced once (uring_setup with its ctx), then
// every request in submit order, the requests of one submit batch sharing submit_ns and those
// whose CQEs were posted together sharing complete_ns. The app keeps `depth` in flight and
// submits `batch` at a time, the moment a batch has completed; each request takes 100 µs and
// submitting a batch 1 ns (so a batch completes exactly when a later one is submitted).
struct UringRing {
    Stream& s;
    int32_t tid;
    uint32_t file;
    uint64_t ring = 0xffff888012345000;
    std::vector<uint64_t> completions;  // of requests in flight, ascending
    std::mt19937_64 rng{9};

    UringRing(Stream& stream, int32_t thread, uint32_t file_id) : s(stream), tid(thread), file(file_id) {}

    void announce(uint32_t entries, uint32_t flags) {
        IoEvent setup = s.base(tid, Syscall::unknown, EventKind::uring_setup, 0);
        setup.count = entries;
        setup.flags = flags;
        setup.ctx = ring;
        s.classifier.on_event(setup);
    }

    AsyncRequest request(uint64_t submit_ns, uint64_t complete_ns) {
        AsyncRequest r;
        r.ctx = ring;
        r.tid = tid;
        r.tgid = tid;
        r.dir = IoDir::read;
        r.opcode = 22;  // IORING_OP_READ
        r.fd = 5;
        r.file_id = file;
        r.open_flags = kOpenFlagsKnown | kOpenRead | kOpenDirect;
        r.offset = (rng() % 16384) * 4096;
        r.bytes = 4096;
        r.submit_ns = submit_ns;
        r.complete_ns = complete_ns;
        r.res = 4096;
        return r;
    }

    void submit(uint64_t n) {
        const uint64_t done = s.now + 100 * kUs;
        for (uint64_t i = 0; i < n; ++i) {
            s.classifier.on_async(request(s.now, done));
            completions.push_back(done);
        }
        s.now += 1;
    }

    void run(uint64_t depth, uint64_t batch, uint64_t total) {
        uint64_t submitted = 0;
        while (submitted < total) {
            while (completions.size() + batch <= depth && submitted < total) submit(batch), submitted += batch;
            // Wait for the oldest batch to complete.
            s.now = std::max(s.now, completions[batch - 1]);
            completions.erase(completions.begin(), completions.begin() + static_cast<std::ptrdiff_t>(batch));
        }
    }
};
}  // namespace

TEST_CASE("io_uring requests seen one by one: exact depth, submit and complete batches, latency",
          "[classifier][uring]") {
    model::ClassifierOptions options;
    options.source_kind = "bpf";
    Stream s(options);
    UringRing ring(s, 77, s.file("/data/uring"));
    ring.announce(32, 0);
    ring.run(32, 8, 8000);
    auto m = s.finish();
    const auto& g = only_group(m);
    CHECK(opt(g, "ioengine") == "io_uring");
    CHECK(opt(g, "rw") == "randread");
    CHECK(opt(g, "bs") == "4k");
    CHECK(opt(g, "direct") == 1);
    CHECK(opt(g, "iodepth") == 32);
    CHECK(opt(g, "iodepth_batch_submit") == 8);
    CHECK_FALSE(g.fio.contains("sqthread_poll"));
    CHECK_FALSE(g.fio.contains("thinktime"));
    CHECK_FALSE(g.fio.contains("rate_iops"));
    // Filling up: 8, 16, 24 in flight once; then every batch brings it back to 32.
    CHECK(g.evidence.inflight.at(8) == 8);
    CHECK(g.evidence.inflight.at(16) == 8);
    CHECK(g.evidence.inflight.at(24) == 8);
    CHECK(g.evidence.inflight.at(32) == 8000 - 24);
    CHECK(g.evidence.submit_batch == model::ValueCounts{{8, 1000}});
    CHECK(g.evidence.complete_batch == model::ValueCounts{{8, 1000}});
    CHECK(g.evidence.reads.ops == 8000);
    CHECK(g.evidence.reads.latency_us.count == 8000);
    CHECK(g.evidence.reads.latency_us.p50 == Approx(100.0).epsilon(0.07));
    CHECK(g.unknown.empty());
    CHECK(g.evidence.iops > 0);
    CHECK(g.evidence.syscalls.count("") == 0);  // the ring announcement is no syscall
}

TEST_CASE("io_uring requests: SQPOLL rings, io_uring_enter returns and requests out of order",
          "[classifier][uring]") {
    model::ClassifierOptions options;
    options.source_kind = "bpf";
    Stream s(options);
    UringRing ring(s, 78, s.file("/data/sqpoll"));
    ring.announce(16, kUringSetupSqpoll);
    // The syscall tracer's view of the same thread: a few enters that only wake the SQ thread.
    for (int i = 0; i < 5; ++i) {
        IoEvent enter = s.base(78, Syscall::io_uring_enter, EventKind::uring_enter);
        enter.count = 1;
        enter.flags = kUringEnterSqWakeup;
        enter.ret = 1;
        s.classifier.on_event(enter);
    }
    ring.run(16, 4, 4000);
    // Behind the order (its batch was closed long ago): counted as an op, not as a depth sample.
    s.classifier.on_async(ring.request(s.now - 10'000 * kUs, s.now - 9'000 * kUs));
    // Still in flight when the trace ended.
    s.classifier.on_async(ring.request(s.now, 0));
    auto m = s.finish();
    const auto& g = only_group(m);
    CHECK(opt(g, "ioengine") == "io_uring");
    CHECK(opt(g, "sqthread_poll") == 1);
    CHECK(opt(g, "iodepth") == 16);
    CHECK(opt(g, "iodepth_batch_submit") == 4);  // from the requests, not the wake-up calls
    CHECK(g.evidence.submit_batch.at(1) == 1);  // the lone last request, not the 5 wake-up calls
    CHECK(g.evidence.reads.ops == 4002);
    CHECK(total_of(g.evidence.inflight) == 4001);
    CHECK(g.evidence.inflight.at(13) == 1);  // 12 in flight at the end, and the last one
    CHECK(g.evidence.reads.latency_us.count == 4001);
}

TEST_CASE("a sequential log writer and random readers are two job groups", "[classifier]") {
    Stream s;
    uint32_t log = s.file("/db/wal"), table = s.file("/db/table");
    std::mt19937_64 rng(5);
    for (uint64_t i = 0; i < 3000; ++i) {
        int32_t reader = 301 + static_cast<int32_t>(i % 3);
        s.data(reader, Syscall::pread64, IoDir::read, table, (rng() % 100000) * 8192, 8192);
        if (i % 3 == 0) {
            s.data(300, Syscall::pwrite64, IoDir::write, log, (i / 3) * 16384, 16384);
            s.flush(300, Syscall::fdatasync, log);
        }
    }
    auto m = s.finish();
    REQUIRE(m.groups.size() == 2);
    const auto& readers = m.groups[0];
    const auto& writer = m.groups[1];
    CHECK(opt(readers, "rw") == "randread");
    CHECK(opt(readers, "numjobs") == 3);
    CHECK(opt(readers, "bs") == "8k");
    CHECK(opt(writer, "rw") == "write");
    CHECK(opt(writer, "bs") == "16k");
    CHECK(opt(writer, "fdatasync") == 1);
    CHECK(opt(writer, "numjobs") == 1);
}

TEST_CASE("no dominant size gives a bssplit", "[classifier]") {
    Stream s;
    uint32_t f = s.file("/data/mixed-sizes");
    uint64_t offset = 0;
    for (int i = 0; i < 1000; ++i) {
        uint64_t bytes = i % 4 == 0 ? 65536 : 4096;  // 25% 64k, 75% 4k
        s.data(1, Syscall::pread64, IoDir::read, f, offset, bytes);
        offset += bytes;
    }
    auto m = s.finish();
    const auto& g = only_group(m);
    CHECK_FALSE(g.fio.contains("bs"));
    CHECK(opt(g, "bssplit") == "4k/75:64k/25");
}

TEST_CASE("different read and write sizes give bs=R,W", "[classifier]") {
    Stream s;
    uint32_t f = s.file("/data/rw");
    std::mt19937_64 rng(9);
    for (int i = 0; i < 1000; ++i) {
        if (i % 2) s.data(1, Syscall::pread64, IoDir::read, f, (rng() % 1000) * 4096, 4096);
        else s.data(1, Syscall::pwrite64, IoDir::write, f, (rng() % 1000) * 65536, 65536);
    }
    auto m = s.finish();
    const auto& g = only_group(m);
    CHECK(opt(g, "bs") == "4k,64k");
    CHECK(opt(g, "rwmixread") == 50);
}

TEST_CASE("half-sequential access is mixed with percentage_random", "[classifier]") {
    Stream s;
    uint32_t f = s.file("/data/half");
    std::mt19937_64 rng(11);
    uint64_t offset = 0;
    for (int i = 0; i < 4000; ++i) {
        offset = (rng() % 2) ? offset + 4096 : (rng() % 100000) * 4096;
        s.data(1, Syscall::pread64, IoDir::read, f, offset, 4096);
    }
    auto m = s.finish();
    const auto& g = only_group(m);
    CHECK(g.pattern == "mixed");
    CHECK(opt(g, "rw") == "randread");
    CHECK(std::abs(opt(g, "percentage_random").get<int>() - 50) <= 5);
}

TEST_CASE("a constant hole between IOs is strided", "[classifier]") {
    Stream s;
    uint32_t f = s.file("/data/strided");
    for (uint64_t i = 0; i < 500; ++i) s.data(1, Syscall::pread64, IoDir::read, f, i * 12288, 4096);
    auto m = s.finish();
    const auto& g = only_group(m);
    CHECK(g.pattern == "strided");
    CHECK(opt(g, "rw") == "read:8k");
}

TEST_CASE("regular idle gaps become thinktime, a busy thread gets none", "[classifier]") {
    Stream s;
    uint32_t f = s.file("/data/slow");
    for (uint64_t i = 0; i < 200; ++i) {
        s.data(1, Syscall::pread64, IoDir::read, f, i * 4096, 4096);
        s.now += 5'000 * kUs;  // 5 ms idle
    }
    auto m = s.finish();
    const auto& g = only_group(m);
    REQUIRE(g.fio.contains("thinktime"));
    auto think = opt(g, "thinktime").get<uint64_t>();
    CHECK(think >= 4500);
    CHECK(think <= 5400);
}

TEST_CASE("pipes, sockets and stdio are not modelled", "[classifier]") {
    Stream s;
    uint32_t pipe = s.files.intern("pipe:[123]", FileKind::pipe);
    for (int i = 0; i < 10; ++i) {
        IoEvent e = s.base(1, Syscall::read, EventKind::data);
        e.dir = IoDir::read;
        e.fd = 4;
        e.file_id = pipe;
        e.file_kind = FileKind::pipe;
        e.bytes = 100;
        e.ret = 100;
        s.classifier.on_event(e);
        IoEvent out = s.base(1, Syscall::write, EventKind::data);
        out.dir = IoDir::write;
        out.fd = 1;
        out.bytes = 10;
        out.ret = 10;
        s.classifier.on_event(out);
    }
    auto m = s.finish();
    CHECK(m.groups.empty());
    CHECK(m.ignored.at("IO on pipes, sockets and pseudo files") == 10);
    CHECK(m.ignored.at("IO on stdin/stdout/stderr") == 10);
}

TEST_CASE("failed calls count as errors, not as IO", "[classifier]") {
    Stream s;
    uint32_t f = s.file("/data/err");
    for (uint64_t i = 0; i < 10; ++i) s.data(1, Syscall::pread64, IoDir::read, f, i * 4096, 4096);
    IoEvent bad = s.base(1, Syscall::pread64, EventKind::data);
    bad.dir = IoDir::read;
    bad.fd = 3;
    bad.file_id = f;
    bad.file_kind = FileKind::regular;
    bad.bytes = 4096;
    bad.ret = -5;
    s.classifier.on_event(bad);
    auto m = s.finish();
    const auto& g = only_group(m);
    CHECK(g.evidence.reads.ops == 10);
    CHECK(g.evidence.reads.errors == 1);
}

TEST_CASE("random IO over a file is sized from its start, a real gap becomes fio's offset", "[classifier]") {
    Stream s;
    uint32_t f = s.file("/data/big");
    std::mt19937_64 rng(13);
    // 4k reads anywhere in 64 MiB except the first 8 KiB (never hit by chance).
    for (int i = 0; i < 3000; ++i) s.data(1, Syscall::pread64, IoDir::read, f, 8192 + (rng() % 16382) * 4096, 4096);
    auto m = s.finish();
    const auto& g = only_group(m);
    CHECK(opt(g, "size") == "64m");
    CHECK_FALSE(g.fio.contains("offset"));

    Stream late;
    uint32_t h = late.file("/data/tail");
    for (uint64_t i = 0; i < 100; ++i) late.data(1, Syscall::pread64, IoDir::read, h, (1u << 30) + i * 4096, 4096);
    auto m2 = late.finish();
    const auto& g2 = only_group(m2);
    CHECK(opt(g2, "offset") == "1g");
    CHECK(opt(g2, "size") == "400k");
}

TEST_CASE("set-up reads of a few small files are not a job group, a small writer is", "[classifier]") {
    Stream s;
    uint32_t log = s.file("/db/wal");
    for (uint64_t i = 0; i < 200; ++i) {
        s.data(20, Syscall::pwrite64, IoDir::write, log, i * 4096, 4096);
        s.flush(20, Syscall::fdatasync, log);
    }
    // Under /etc and /usr/share these are incidental (model/incidental.hpp); the job file in a
    // home directory is dropped as a minor group of set-up reads.
    for (const char* path : {"/home/u/job.fio", "/usr/share/zoneinfo/UTC", "/etc/locale.alias"}) {
        uint32_t f = s.file(path);
        s.data(10, Syscall::read, IoDir::read, f, 0, 1000);
        s.data(10, Syscall::read, IoDir::read, f, 1000, 1000);
    }
    auto m = s.finish();
    const auto& g = only_group(m);
    CHECK(opt(g, "rw") == "write");
    CHECK(opt(g, "fdatasync") == 1);
    CHECK(m.ignored.count("minor group read-1000-sync (ops)") == 1);
    CHECK(m.ignored["incidental"] == 4);
}

namespace {
// fio's sync engine as a slow tracer sees it: lseek then read, each call followed by `gap` of
// tracer overhead, and `think` more after each read when the program really waits.
WorkloadModel seek_then_read(uint64_t gap, uint64_t think) {
    Stream s;
    uint32_t f = s.file("/data/sync");
    std::mt19937_64 rng(5);
    for (int i = 0; i < 2000; ++i) {
        IoEvent seek = s.base(7, Syscall::lseek, EventKind::seek, 5 * kUs);
        seek.fd = 3;
        seek.file_id = f;
        seek.file_kind = FileKind::regular;
        seek.offset = (rng() % 4096) * 4096;
        s.classifier.on_event(seek);
        s.now += gap;
        s.data(7, Syscall::read, IoDir::read, f, seek.offset, 4096, kOpenFlagsKnown | kOpenRead, 50 * kUs);
        s.now += gap + think;
    }
    return s.finish();
}
}  // namespace

TEST_CASE("time in the seeks between reads is busy time, not think time", "[classifier]") {
    // Read to read is 2 x 150 µs of tracer overhead plus the seek: above the idle threshold if the
    // seek were not counted, so a saturated sync-engine reader would get a thinktime.
    auto m = seek_then_read(150 * kUs, 0);
    const auto& g = only_group(m);
    CHECK(opt(g, "ioengine") == "sync");
    CHECK_FALSE(g.fio.contains("thinktime"));
    CHECK_FALSE(g.fio.contains("rate_iops"));
}

TEST_CASE("a reader that waits 2 ms after each read has thinktime, seeks or not", "[classifier]") {
    auto m = seek_then_read(10 * kUs, 2000 * kUs);
    const auto& g = only_group(m);
    REQUIRE(g.fio.contains("thinktime"));
    CHECK(opt(g, "thinktime").get<uint64_t>() >= 1900);
    CHECK(opt(g, "thinktime").get<uint64_t>() <= 2100);
}

TEST_CASE("gaps of 500 µs are think time under bpf, tracer overhead under strace and perf", "[classifier]") {
    auto model_with = [](const std::string& source) {
        Stream s(model::ClassifierOptions::for_source(source));
        uint32_t f = s.file("/data/paced");
        for (uint64_t i = 0; i < 2000; ++i) {
            s.data(3, Syscall::pwrite64, IoDir::write, f, (i * 7919 % 1024) * 4096, 4096,
                   kOpenFlagsKnown | kOpenWrite | kOpenDirect, 70 * kUs);
            s.now += 500 * kUs;
        }
        return s.finish();
    };
    auto bpf = model_with("bpf");
    REQUIRE(only_group(bpf).fio.contains("thinktime"));
    CHECK(opt(only_group(bpf), "thinktime").get<uint64_t>() >= 450);
    for (const char* source : {"strace", "perf"}) {
        INFO(source);
        auto m = model_with(source);
        CHECK_FALSE(only_group(m).fio.contains("thinktime"));
        CHECK_FALSE(only_group(m).fio.contains("rate_iops"));
    }
}

namespace {

// A database backend's thread as a trace shows it (issue 11): each round appends 8k to the WAL and
// fdatasyncs it, then reads and writes an 8k data page at random.
void backend_rounds(Stream& s, int32_t tid, uint32_t wal, uint32_t data, int rounds, uint64_t seed) {
    std::mt19937_64 rng(seed);
    uint64_t wal_end = 0;
    for (int i = 0; i < rounds; ++i) {
        s.data(tid, Syscall::pwrite64, IoDir::write, wal, wal_end, 8192);
        wal_end += 8192;
        s.flush(tid, Syscall::fdatasync, wal);
        s.data(tid, Syscall::pread64, IoDir::read, data, (rng() % 100000) * 8192, 8192);
        s.data(tid, Syscall::pwrite64, IoDir::write, data, (rng() % 100000) * 8192, 8192);
    }
}

const model::JobGroup& group_named_by(const WorkloadModel& m, const std::string& rw) {
    for (const auto& g : m.groups)
        if (opt(g, "rw") == rw) return g;
    FAIL("no group with rw=" << rw);
    return m.groups.front();
}

}  // namespace

TEST_CASE("one thread with WAL appends and random page IO is two streams, two groups", "[classifier][streams]") {
    Stream s;
    uint32_t wal = s.file("/db/wal"), data = s.file("/db/base/1234");
    backend_rounds(s, 40, wal, data, 1000, 1);
    auto m = s.finish();
    INFO(model::to_json(m).dump(2));
    REQUIRE(m.groups.size() == 2);
    const auto& log = group_named_by(m, "write");
    CHECK(opt(log, "bs") == "8k");
    CHECK(opt(log, "fdatasync") == 1);
    CHECK(opt(log, "numjobs") == 1);
    CHECK(log.pattern == "sequential");
    CHECK(log.evidence.writes.ops == 1000);
    CHECK(log.evidence.reads.ops == 0);
    CHECK(log.evidence.fdatasyncs == 1000);
    REQUIRE(log.files.size() == 1);
    CHECK(log.files[0].path == "/db/wal");

    const auto& pages = group_named_by(m, "randrw");
    CHECK(opt(pages, "bs") == "8k");
    CHECK(opt(pages, "rwmixread") == 50);
    CHECK_FALSE(pages.fio.contains("fdatasync"));
    CHECK_FALSE(pages.fio.contains("fsync"));
    CHECK(pages.evidence.fdatasyncs == 0);
    CHECK(pages.evidence.reads.ops == 1000);
    CHECK(pages.evidence.writes.ops == 1000);
    REQUIRE(pages.files.size() == 1);
    CHECK(pages.files[0].path == "/db/base/1234");

    // Each stream had half the thread's busy time: each job is paced at its own rate, the
    // thread's 1000 rounds over its active time (4 calls of 12 µs a round).
    for (const auto* g : {&log, &pages}) {
        INFO(g->name);
        CHECK(g->threads == std::vector<int32_t>{40});
        REQUIRE(g->fio.contains("rate_iops"));
        CHECK_FALSE(g->fio.contains("thinktime"));
    }
    CHECK(std::abs(opt(log, "rate_iops").get<double>() - 1e9 / (4 * 12 * kUs)) < 1000);
    CHECK(std::abs(opt(pages, "rate_iops").get<double>() - 2e9 / (4 * 12 * kUs)) < 2000);
    REQUIRE(m.threads.size() == 1);
    CHECK(m.threads[0].tid == 40);
    CHECK(m.threads[0].groups.size() == 2);
}

TEST_CASE("two backend threads give two groups of two jobs each", "[classifier][streams]") {
    Stream s;
    uint32_t wal = s.file("/db/wal"), data = s.file("/db/base/1234");
    backend_rounds(s, 41, wal, data, 800, 2);
    backend_rounds(s, 42, wal, data, 800, 3);
    auto m = s.finish();
    INFO(model::to_json(m).dump(2));
    REQUIRE(m.groups.size() == 2);
    const auto& log = group_named_by(m, "write");
    const auto& pages = group_named_by(m, "randrw");
    CHECK(opt(log, "numjobs") == 2);
    CHECK(opt(log, "fdatasync") == 1);
    CHECK(opt(pages, "numjobs") == 2);
    CHECK(log.threads == std::vector<int32_t>{41, 42});
    CHECK(pages.threads == std::vector<int32_t>{41, 42});
    REQUIRE(m.threads.size() == 2);
    for (const auto& t : m.threads) {
        INFO(t.tid);
        CHECK(t.groups.size() == 2);
    }
}

TEST_CASE("a thread doing one kind of IO on two files stays one stream", "[classifier][streams]") {
    Stream s;
    uint32_t a = s.file("/data/a"), b = s.file("/data/b");
    std::mt19937_64 rng(4);
    for (int i = 0; i < 2000; ++i)
        s.data(50, Syscall::pread64, IoDir::read, i % 2 ? a : b, (rng() % 100000) * 8192, 8192);
    auto m = s.finish();
    const auto& g = only_group(m);
    CHECK(opt(g, "rw") == "randread");
    CHECK(opt(g, "nrfiles") == 2);
    CHECK(opt(g, "numjobs") == 1);
    CHECK_FALSE(g.fio.contains("rate_iops"));  // saturated, as one stream
    REQUIRE(m.threads.size() == 1);
    CHECK(m.threads[0].groups == std::vector<std::string>{g.name});
}

TEST_CASE("small files written alike are one stream beside the thread's random reads", "[classifier][streams]") {
    Stream s;
    uint32_t data = s.file("/srv/index");
    std::mt19937_64 rng(6);
    for (int i = 0; i < 2000; ++i) s.data(60, Syscall::pread64, IoDir::read, data, (rng() % 100000) * 8192, 8192);
    // 40 small files, 20 appends and an fsync each: too few ops to judge one alone.
    for (int f = 0; f < 40; ++f) {
        uint32_t mail = s.file("/srv/mail/" + std::to_string(f));
        for (uint64_t i = 0; i < 20; ++i) s.data(60, Syscall::pwrite64, IoDir::write, mail, i * 4096, 4096);
        s.flush(60, Syscall::fsync, mail);
    }
    auto m = s.finish();
    INFO(model::to_json(m).dump(2));
    REQUIRE(m.groups.size() == 2);
    const auto& reads = group_named_by(m, "randread");
    CHECK(reads.files.size() == 1);
    const auto& mail = group_named_by(m, "write");
    CHECK(mail.files.size() == 40);
    CHECK(opt(mail, "nrfiles") == 40);
    CHECK(opt(mail, "fsync") == 20);
    CHECK(opt(mail, "bs") == "4k");
    CHECK(mail.evidence.fsyncs == 40);
    CHECK(reads.evidence.fsyncs == 0);
}

TEST_CASE("a log that rewrites its partial last page at each commit is sequential writes", "[classifier][streams]") {
    // PostgreSQL's WAL: each commit writes the current 8k page again, now fuller, and fdatasyncs;
    // every third commit the page is full and the next one starts.
    Stream s;
    uint32_t wal = s.file("/pg/pg_wal/000000010000000000000001");
    for (uint64_t i = 0; i < 900; ++i) {
        s.data(70, Syscall::pwrite64, IoDir::write, wal, (i / 3) * 8192, 8192);
        s.flush(70, Syscall::fdatasync, wal);
    }
    auto m = s.finish();
    const auto& g = only_group(m);
    CHECK(opt(g, "rw") == "write");
    CHECK(opt(g, "fdatasync") == 1);
    CHECK(g.evidence.writes.pattern.consecutive == 899);
    CHECK(g.evidence.writes.pattern.backward == 0);
}

namespace {
// qemu's libaio as the bpf source shows it: each iocb as an AsyncRequest at io_submit, one
// request per io_submit, and no io_getevents: the application takes completions from the aio
// ring in user space, which the source reports with the next call (ring_reaped). `ring`: whether
// the source could read the ring (bpf) or not (strace). `order` lists the request numbers in
// submit order; each is a 4k write at number * 4k, 16 in flight.
void ring_reaped_run(Stream& s, int32_t tid, uint32_t f, const std::vector<uint64_t>& order, bool ring) {
    uint64_t inflight = 0;
    for (uint64_t n : order) {
        AsyncRequest r;
        r.tid = tid;
        r.tgid = tid;
        r.ctx = 0x7f00;
        r.dir = IoDir::write;
        r.fd = 5;
        r.file_id = f;
        r.open_flags = kOpenFlagsKnown | kOpenWrite | kOpenDirect;
        r.offset = n * 4096;
        r.bytes = 4096;
        r.submit_ns = s.now;
        r.complete_ns = s.now + 40 * kUs;
        s.classifier.on_async(r);
        IoEvent e = s.base(tid, Syscall::io_submit, EventKind::aio_submit);
        e.ctx = 0x7f00;
        e.count = 1;
        e.ret = 1;
        if (ring && inflight == 16) {
            e.ring_reaped = 1;  // one taken from the ring since the last call
            --inflight;
        }
        ++inflight;
        s.classifier.on_event(e);
    }
}

// 0 .. n-1 with every run of `chunk` shuffled: a few slots out of order, as qemu submits.
std::vector<uint64_t> shuffled_in_chunks(uint64_t n, uint64_t chunk, uint64_t seed) {
    std::vector<uint64_t> order(n);
    for (uint64_t i = 0; i < n; ++i) order[i] = i;
    std::mt19937_64 rng(seed);
    for (uint64_t i = 0; i + chunk <= n; i += chunk)
        std::shuffle(order.begin() + static_cast<std::ptrdiff_t>(i), order.begin() + static_cast<std::ptrdiff_t>(i + chunk),
                     rng);
    return order;
}
}  // namespace

TEST_CASE("sequential requests submitted a few slots out of order are sequential, random ones stay random",
          "[classifier]") {
    Stream s(model::ClassifierOptions::for_source("bpf"));
    const auto order = shuffled_in_chunks(4000, 8, 3);
    uint64_t in_place = 0;  // steps that continue the previous request: what the old test saw
    for (size_t i = 1; i < order.size(); ++i) in_place += order[i] == order[i - 1] + 1;
    REQUIRE(in_place * 10 < order.size() * 5);  // the shuffle really breaks most steps
    ring_reaped_run(s, 7, s.file("/images/seq.raw"), order, true);
    // Random 4k writes over 1 GiB, also 16 in flight.
    std::mt19937_64 rng(5);
    std::vector<uint64_t> random(4000);
    for (auto& n : random) n = rng() % (262144);
    ring_reaped_run(s, 8, s.file("/images/random.raw"), random, true);
    auto m = s.finish();
    REQUIRE(m.groups.size() == 2);
    for (const auto& g : m.groups) {
        const bool seq = g.threads.at(0) == 7;
        INFO((seq ? "reordered sequential" : "random") << ": " << model::to_json(m).dump(2));
        CHECK(opt(g, "rw") == (seq ? "write" : "randwrite"));
        CHECK(opt(g, "bs") == "4k");
    }
}

TEST_CASE("libaio completions taken from the ring in user space bring the depth down, strace notes it cannot",
          "[classifier]") {
    std::vector<uint64_t> order(3000);
    for (uint64_t i = 0; i < order.size(); ++i) order[i] = i;
    {
        Stream s(model::ClassifierOptions::for_source("bpf"));
        ring_reaped_run(s, 7, s.file("/images/seq.raw"), order, true);
        auto m = s.finish();
        const auto& g = only_group(m);
        CHECK(opt(g, "ioengine") == "libaio");
        CHECK(opt(g, "iodepth") == 16);
        CHECK(opt(g, "rw") == "write");
        // No io_getevents seen: fio's default wait, not min=0 (which would make fio poll).
        CHECK_FALSE(g.fio.contains("iodepth_batch_complete_min"));
        for (const auto& note : g.notes) CHECK_THAT(note, !Catch::Contains("upper bound"));
    }
    {
        Stream s(model::ClassifierOptions::for_source("strace"));
        ring_reaped_run(s, 7, s.file("/images/seq.raw"), order, false);
        auto m = s.finish();
        const auto& g = only_group(m);
        CHECK(opt(g, "iodepth").get<uint64_t>() > 16);
        bool noted = false;
        for (const auto& note : g.notes) noted = noted || note.find("aio ring in user space") != std::string::npos;
        CHECK(noted);
    }
}

TEST_CASE("a few long pauses in a busy stream are a rate, not thinktime after every IO", "[classifier]") {
    Stream s(model::ClassifierOptions::for_source("bpf"));
    uint32_t f = s.file("/data/paused");
    for (uint64_t i = 0; i < 2000; ++i) {
        s.data(4, Syscall::pwrite64, IoDir::write, f, i * 4096, 4096, kOpenFlagsKnown | kOpenWrite | kOpenDirect,
               20 * kUs);
        if (i % 200 == 199) s.now += 5'000 * kUs;  // 10 pauses of 5 ms: half the time idle
    }
    auto m = s.finish();
    const auto& g = only_group(m);
    INFO(model::to_json(m).dump(2));
    CHECK_FALSE(g.fio.contains("thinktime"));
    REQUIRE(g.fio.contains("rate_iops"));
    // 2000 IOs over ~94 ms of active time.
    CHECK(opt(g, "rate_iops").get<int64_t>() >= 15000);
    CHECK(opt(g, "rate_iops").get<int64_t>() <= 30000);
}
