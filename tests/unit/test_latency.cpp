// analysis::LatencyStats and its output: which calls, requests and block stages become rows, their
// exact counts and percentiles, the order of rows, intervals, and the text and JSON forms.
#include <catch2/catch.hpp>

#include "analysis/latency.hpp"
#include "analysis/latency_output.hpp"

using namespace iodiag;
using namespace iodiag::analysis;
using trace::EventKind;
using trace::IoDir;
using trace::Syscall;

namespace {

constexpr uint64_t kUs = 1000;

trace::IoEvent call(Syscall syscall, EventKind kind, uint64_t dur_ns, int32_t tgid = 10) {
    trace::IoEvent e;
    e.ts_ns = 1'000'000;
    e.dur_ns = dur_ns;
    e.tid = tgid;
    e.tgid = tgid;
    e.call = syscall;
    e.kind = kind;
    e.file_kind = trace::FileKind::regular;
    e.ret = 4096;
    return e;
}

LatencyStats make_stats() {
    return LatencyStats([](uint32_t dev) { return dev == 7 ? std::string("vdb") : std::to_string(dev); });
}

const LatencyRow& find(const std::vector<LatencyRow>& rows, LatencyLayer layer, const std::string& name) {
    for (const auto& r : rows)
        if (r.layer == layer && r.name == name) return r;
    FAIL("no row " << layer_name(layer) << " " << name);
    throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("latency: syscalls become one row per call with exact counts, errors and percentiles", "[latency]") {
    LatencyStats stats = make_stats();
    for (uint64_t i = 1; i <= 100; ++i) stats.on_event(call(Syscall::pread64, EventKind::data, i * kUs));
    auto failed = call(Syscall::fdatasync, EventKind::flush, 2000 * kUs);
    failed.ret = -5;
    stats.on_event(failed);
    stats.on_event(call(Syscall::fdatasync, EventKind::flush, 1000 * kUs));

    const auto rows = stats.rows();
    REQUIRE(rows.size() == 2);
    const auto& pread = find(rows, LatencyLayer::syscall, "pread64");
    CHECK(pread.us.count == 100);
    CHECK(pread.errors == 0);
    CHECK(pread.total_ns == 5050 * kUs);
    CHECK(pread.us.min == Approx(1.0));
    CHECK(pread.us.max == Approx(100.0));
    CHECK(pread.us.p50 == Approx(50.0).epsilon(1.0 / 16));
    CHECK(pread.us.p99 == Approx(99.0).epsilon(1.0 / 16));
    const auto& sync = find(rows, LatencyLayer::syscall, "fdatasync");
    CHECK(sync.us.count == 2);
    CHECK(sync.errors == 1);
    // Within a layer the row with the most time comes first: 3 ms of fdatasync over 5 ms of reads.
    CHECK(rows[0].name == "pread64");
}

TEST_CASE("latency: calls without IO of their own, IO on pipes and calls without a duration are left out",
          "[latency]") {
    LatencyStats stats = make_stats();
    stats.on_event(call(Syscall::lseek, EventKind::seek, 1 * kUs));
    stats.on_event(call(Syscall::clone, EventKind::spawn, 50 * kUs));
    auto pipe = call(Syscall::read, EventKind::data, 9 * kUs);
    pipe.file_kind = trace::FileKind::pipe;
    stats.on_event(pipe);
    stats.on_event(call(Syscall::write, EventKind::data, 0));  // strace without -T
    CHECK(stats.rows().empty());
}

TEST_CASE("latency: async requests are named by the engine their process used", "[latency]") {
    LatencyStats stats = make_stats();
    stats.on_event(call(Syscall::io_uring_setup, EventKind::uring_setup, 3 * kUs, 20));
    stats.on_event(call(Syscall::io_submit, EventKind::aio_submit, 3 * kUs, 30));
    trace::AsyncRequest r;
    r.dir = IoDir::read;
    r.submit_ns = 1'000'000;
    r.complete_ns = r.submit_ns + 250 * kUs;
    r.tgid = 20;
    stats.on_async(r);
    r.tgid = 30;
    r.dir = IoDir::write;
    stats.on_async(r);
    r.is_flush = 1;
    r.dir = IoDir::none;
    stats.on_async(r);
    r.tgid = 40;  // a process seen with neither
    r.is_flush = 0;
    r.dir = IoDir::read;
    stats.on_async(r);
    r.complete_ns = 0;  // completion never seen: no latency
    stats.on_async(r);

    const auto rows = stats.rows();
    CHECK(find(rows, LatencyLayer::async, "io_uring read").us.count == 1);
    CHECK(find(rows, LatencyLayer::async, "libaio write").us.p50 == Approx(250.0).epsilon(1.0 / 16));
    CHECK(find(rows, LatencyLayer::async, "libaio flush").us.count == 1);
    CHECK(find(rows, LatencyLayer::async, "async read").us.count == 1);
}

TEST_CASE("latency: block requests give queue (Q2D) and device (D2C) rows per device and operation",
          "[latency]") {
    LatencyStats stats = make_stats();
    trace::BlockRequest b;
    b.dev = 7;
    b.dir = IoDir::write;
    b.insert_ns = 1'000'000;
    b.issue_ns = b.insert_ns + 5 * kUs;
    b.complete_ns = b.issue_ns + 80 * kUs;
    stats.on_block(b);
    b.insert_ns = 0;  // bypassed the scheduler: no queue time
    b.error = -5;
    stats.on_block(b);
    b.is_flush = 1;
    b.dir = IoDir::none;
    b.error = 0;
    stats.on_block(b);

    const auto rows = stats.rows();
    CHECK(find(rows, LatencyLayer::block_queue, "vdb write").us.count == 1);
    CHECK(find(rows, LatencyLayer::block_queue, "vdb write").us.max == Approx(5.0));
    const auto& d2c = find(rows, LatencyLayer::block_device, "vdb write");
    CHECK(d2c.us.count == 2);
    CHECK(d2c.errors == 1);
    CHECK(find(rows, LatencyLayer::block_device, "vdb flush").us.count == 1);
    // Layers in order: syscall, async, queue, device.
    CHECK(rows.front().layer == LatencyLayer::block_queue);
    CHECK(rows.back().layer == LatencyLayer::block_device);
}

TEST_CASE("latency: reset starts a new interval but remembers engines", "[latency]") {
    LatencyStats stats = make_stats();
    stats.on_event(call(Syscall::io_uring_setup, EventKind::uring_setup, 3 * kUs));
    stats.on_event(call(Syscall::pread64, EventKind::data, 3 * kUs));
    stats.reset();
    CHECK(stats.rows().empty());
    trace::AsyncRequest r;
    r.tgid = 10;
    r.dir = IoDir::read;
    r.submit_ns = 1;
    r.complete_ns = 1 + 10 * kUs;
    stats.on_async(r);
    REQUIRE(stats.rows().size() == 1);
    CHECK(stats.rows()[0].name == "io_uring read");
}

TEST_CASE("latency output: JSON keys each log2 bucket by its lower bound in µs, text has every row", "[latency]") {
    LatencyStats stats = make_stats();
    stats.on_event(call(Syscall::pwrite64, EventKind::data, 500));        // under 1 µs
    stats.on_event(call(Syscall::pwrite64, EventKind::data, 3 * kUs));    // [2, 4)
    stats.on_event(call(Syscall::pwrite64, EventKind::data, 3 * kUs));
    stats.on_event(call(Syscall::pwrite64, EventKind::data, 1500 * kUs)); // [1024, 2048)
    const auto rows = stats.rows();
    const auto json = to_json(rows);
    REQUIRE(json.size() == 1);
    CHECK(json[0]["layer"] == "syscall");
    CHECK(json[0]["name"] == "pwrite64");
    CHECK(json[0]["count"] == 4);
    CHECK(json[0]["log2_us"]["0"] == 1);
    CHECK(json[0]["log2_us"]["2"] == 2);
    CHECK(json[0]["log2_us"]["1024"] == 1);
    CHECK(json[0]["log2_us"].size() == 3);
    CHECK(json[0]["total_ms"].get<double>() == Approx(1506.5 / 1000));

    const std::string table = render_table(rows);
    CHECK_THAT(table, Catch::Contains("pwrite64"));
    CHECK_THAT(table, Catch::Contains("p99 us"));
    const std::string histogram = render_histogram(rows[0]);
    CHECK_THAT(histogram, Catch::Contains("2 -> 3"));
    CHECK_THAT(histogram, Catch::Contains("1024 -> 2047"));
    // The fullest bucket gets the whole bar, the others a share of it.
    CHECK_THAT(histogram, Catch::Contains("|****************************************|"));
}
