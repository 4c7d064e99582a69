// BlockStats on synthetic block-layer requests: counts, sizes, sector pattern (also when
// completions come back out of order), in-device depth and queue/device latency percentiles.
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>

#include "analysis/block_stats.hpp"

using namespace iodiag;
using trace::BlockRequest;
using trace::IoDir;

namespace {

constexpr uint32_t kVda = 254u << 20;
constexpr uint32_t kLoop3 = 7u << 20 | 3;

BlockRequest request(uint32_t dev, IoDir dir, uint64_t sector, uint64_t bytes, uint64_t t0 = 1'000'000) {
    BlockRequest r;
    r.dev = dev;
    r.dir = dir;
    r.sector = sector;
    r.bytes = bytes;
    r.insert_ns = t0;
    r.issue_ns = t0 + 10'000;      // 10 µs queued
    r.complete_ns = t0 + 110'000;  // 100 µs in the device
    r.in_device = 1;
    return r;
}

std::string name_of(uint32_t dev) {
    return dev == kVda ? "vda" : dev == kLoop3 ? "loop3" : "?";
}

const model::DeviceEvidence& device(const std::vector<model::DeviceEvidence>& all, const std::string& name) {
    auto it = std::find_if(all.begin(), all.end(), [&](const auto& d) { return d.name == name; });
    REQUIRE(it != all.end());
    return *it;
}

}  // namespace

TEST_CASE("block stats: a sequential 128k read stream", "[block_stats]") {
    analysis::BlockStats stats;
    for (uint64_t i = 0; i < 1000; ++i) stats.add(request(kVda, IoDir::read, 2048 + i * 256, 128 * 1024));
    auto all = stats.devices(name_of);
    REQUIRE(all.size() == 1);
    const auto& d = all.front();
    CHECK(d.name == "vda");
    CHECK(d.dev == kVda);
    CHECK(d.requests == 1000);
    CHECK(d.reads == 1000);
    CHECK(d.writes == 0);
    CHECK(d.bytes == 1000 * 128 * 1024);
    CHECK(d.sizes == model::ValueCounts{{128 * 1024, 1000}});
    CHECK(d.pattern.ops == 999);
    CHECK(d.pattern.consecutive == 999);
    CHECK(d.pattern.sequential == 999);
    CHECK(d.pattern.backward == 0);
}

TEST_CASE("block stats: sequential requests completing out of order still count as consecutive",
          "[block_stats]") {
    analysis::BlockStats stats;
    // Depth 8: each group of 8 adjacent 4k writes completes in reverse order.
    for (uint64_t group = 0; group < 50; ++group)
        for (int k = 7; k >= 0; --k)
            stats.add(request(kVda, IoDir::write, (group * 8 + static_cast<uint64_t>(k)) * 8, 4096));
    const auto all = stats.devices(name_of);
    const auto& d = all.front();
    CHECK(d.writes == 400);
    // Every request but the first of each reversed group ends where the one before it started.
    CHECK(d.pattern.ops == 399);
    CHECK(d.pattern.consecutive == 50 * 7);
}

TEST_CASE("block stats: random 4k reads, and a stride", "[block_stats]") {
    analysis::BlockStats stats;
    std::mt19937_64 rng(11);
    for (int i = 0; i < 2000; ++i) stats.add(request(kLoop3, IoDir::read, (rng() % 1'000'000) * 8, 4096));
    // 64k strides: 4k read, skip 60k.
    for (uint64_t i = 0; i < 500; ++i) stats.add(request(kVda, IoDir::read, i * 128, 4096));
    auto all = stats.devices(name_of);
    REQUIRE(all.size() == 2);
    const auto& loop = device(all, "loop3");
    CHECK(loop.pattern.ops == 1999);
    CHECK(loop.pattern.consecutive < 10);
    CHECK(loop.pattern.backward > 800);
    CHECK(loop.pattern.backward < 1200);
    const auto& vda = device(all, "vda");
    CHECK(vda.pattern.consecutive == 0);
    CHECK(vda.pattern.sequential == 499);
    CHECK(vda.pattern.strided == 499);
    CHECK(vda.pattern.stride == 60 * 1024);
}

TEST_CASE("block stats: in-device depth, queue and device latency percentiles", "[block_stats]") {
    analysis::BlockStats stats;
    for (uint64_t i = 0; i < 1000; ++i) {
        BlockRequest r = request(kVda, IoDir::read, i * 1000, 4096, 1'000'000 + i * 1'000'000);
        r.in_device = 1 + static_cast<uint32_t>(i % 4);                  // 1..4, 250 each
        r.issue_ns = r.insert_ns + (i < 900 ? 5'000 : 500'000);          // q2d: 90% 5 µs, 10% 500 µs
        r.complete_ns = r.issue_ns + (i % 100 == 0 ? 2'000'000 : 50'000);  // d2c: 1% 2 ms
        r.tgid = i % 2 ? 1234 : 0;
        stats.add(r);
    }
    const auto all = stats.devices(name_of);
    const auto& d = all.front();
    CHECK(d.in_device == model::ValueCounts{{1, 250}, {2, 250}, {3, 250}, {4, 250}});
    CHECK(d.attributed == 500);
    CHECK(d.q2d_us.count == 1000);
    CHECK(d.q2d_us.p50 == Approx(5.0).epsilon(0.07));
    CHECK(d.q2d_us.p99 == Approx(500.0).epsilon(0.07));
    CHECK(d.d2c_us.count == 1000);
    CHECK(d.d2c_us.p50 == Approx(50.0).epsilon(0.07));
    CHECK(d.d2c_us.max == Approx(2000.0).epsilon(0.07));
    CHECK(d.d2c_us.p90 < 100.0);
}

TEST_CASE("block stats: flushes, direct issues and requests issued before the trace", "[block_stats]") {
    analysis::BlockStats stats;
    BlockRequest flush = request(kVda, IoDir::none, 0, 0);
    flush.is_flush = 1;
    stats.add(flush);
    BlockRequest direct = request(kVda, IoDir::write, 100, 8192);
    direct.insert_ns = 0;  // issued without a scheduler queue: no queue time
    stats.add(direct);
    BlockRequest early = request(kVda, IoDir::write, 116, 8192);
    early.insert_ns = early.issue_ns = 0;  // issued before the trace: no times, no depth
    early.in_device = 0;
    stats.add(early);
    const auto all = stats.devices(name_of);
    const auto& d = all.front();
    CHECK(d.requests == 3);
    CHECK(d.flushes == 1);
    CHECK(d.writes == 2);
    CHECK(d.bytes == 16384);
    CHECK(d.sizes == model::ValueCounts{{8192, 2}});
    CHECK(d.pattern.ops == 1);
    CHECK(d.pattern.consecutive == 1);
    CHECK(d.q2d_us.count == 1);  // only the flush went through a queue
    CHECK(d.d2c_us.count == 2);
    CHECK(d.in_device == model::ValueCounts{{1, 2}});
}

TEST_CASE("block stats: without a namer devices are major:minor", "[block_stats]") {
    analysis::BlockStats stats;
    stats.add(request(kLoop3, IoDir::read, 0, 4096));
    CHECK(stats.devices({}).front().name == "7:3");
}
