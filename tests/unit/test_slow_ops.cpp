// analysis::SlowOps: which operations reach the threshold, what is said about each (file, offset,
// size, latency, queue time) and what is counted.
#include <catch2/catch.hpp>

#include <vector>

#include "analysis/slow_ops.hpp"

using namespace iodiag;
using namespace iodiag::analysis;
using trace::EventKind;
using trace::Syscall;

namespace {

constexpr uint64_t kMs = 1'000'000;

struct Fixture {
    trace::FileTable files;
    std::vector<SlowOp> seen;
    SlowOps slow{2 * kMs, files, [](uint32_t dev) { return dev == 7 ? std::string("vdb") : std::string("?"); },
                 [this](const SlowOp& op) { seen.push_back(op); }};
};

trace::IoEvent event(Syscall call, EventKind kind, uint64_t dur_ns, uint32_t file_id) {
    trace::IoEvent e;
    e.ts_ns = 5 * kMs;
    e.dur_ns = dur_ns;
    e.tid = 11;
    e.tgid = 10;
    e.call = call;
    e.kind = kind;
    e.file_id = file_id;
    e.file_kind = trace::FileKind::regular;
    e.offset_kind = trace::OffsetKind::absolute;
    e.offset = 8192;
    e.bytes = 4096;
    e.ret = 4096;
    return e;
}

}  // namespace

TEST_CASE("slow ops: syscalls at or over the threshold are listed with their file, offset and size", "[slow]") {
    Fixture f;
    const uint32_t log = f.files.intern("/data/log", trace::FileKind::regular);
    f.slow.on_event(event(Syscall::pwrite64, EventKind::data, 1 * kMs, log));      // fast
    f.slow.on_event(event(Syscall::pwrite64, EventKind::data, 2 * kMs, log));      // at the threshold
    f.slow.on_event(event(Syscall::fdatasync, EventKind::flush, 9 * kMs, log));
    auto pipe = event(Syscall::read, EventKind::data, 50 * kMs, 0);
    pipe.file_kind = trace::FileKind::pipe;                                          // someone else's wait
    f.slow.on_event(pipe);
    f.slow.on_event(event(Syscall::lseek, EventKind::seek, 50 * kMs, log));          // no IO of its own

    REQUIRE(f.seen.size() == 2);
    const SlowOp& write = f.seen[0];
    CHECK(write.op == "pwrite64");
    CHECK(write.file == "/data/log");
    CHECK(write.has_offset);
    CHECK(write.offset == 8192);
    CHECK(write.bytes == 4096);
    CHECK(write.latency_ns == 2 * kMs);
    CHECK(write.tgid == 10);
    CHECK(write.tid == 11);
    CHECK(f.seen[1].op == "fdatasync");
    CHECK(f.slow.counts().at(LatencyLayer::syscall).seen == 3);
    CHECK(f.slow.counts().at(LatencyLayer::syscall).slow == 2);
}

TEST_CASE("slow ops: async requests by engine, block requests whole with their queue time", "[slow]") {
    Fixture f;
    const uint32_t data = f.files.intern("/data/db", trace::FileKind::regular);
    f.slow.on_event(event(Syscall::io_submit, EventKind::aio_submit, 10'000, 0));
    trace::AsyncRequest r;
    r.tgid = 10;
    r.dir = trace::IoDir::read;
    r.file_id = data;
    r.offset = 4096;
    r.bytes = 16384;
    r.submit_ns = 1 * kMs;
    r.complete_ns = 4 * kMs;
    f.slow.on_async(r);
    r.complete_ns = 0;  // completion not seen: nothing to say
    f.slow.on_async(r);

    trace::BlockRequest b;
    b.dev = 7;
    b.dir = trace::IoDir::write;
    b.sector = 100;
    b.bytes = 4096;
    b.insert_ns = 10 * kMs;
    b.issue_ns = 11 * kMs;
    b.complete_ns = 13 * kMs;
    f.slow.on_block(b);
    b.insert_ns = 0;  // not queued: timed from issue, 2 ms
    f.slow.on_block(b);

    REQUIRE(f.seen.size() == 3);
    CHECK(f.seen[0].op == "libaio read");
    CHECK(f.seen[0].file == "/data/db");
    CHECK(f.seen[0].latency_ns == 3 * kMs);
    CHECK(f.seen[1].op == "vdb write");
    CHECK(f.seen[1].file == "vdb");
    CHECK(f.seen[1].offset == 100 * 512);
    CHECK(f.seen[1].latency_ns == 3 * kMs);
    CHECK(f.seen[1].queue_ns == 1 * kMs);
    CHECK(f.seen[2].latency_ns == 2 * kMs);
    CHECK(f.seen[2].queue_ns == 0);
    CHECK(f.slow.counts().at(LatencyLayer::async).seen == 1);
    CHECK(f.slow.counts().at(LatencyLayer::block_device).slow == 2);
}
