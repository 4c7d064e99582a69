// analysis::offcpu: reading the tracer's totals, merging threads, filtering by state, folded lines
// for flame graphs and the top list.
#include <catch2/catch.hpp>

#include "analysis/offcpu.hpp"

using namespace iodiag;
using namespace iodiag::analysis;

namespace {

nlohmann::ordered_json stack(uint32_t tid, const char* state, uint64_t ns, uint64_t count,
                             std::vector<std::string> kernel, std::vector<std::string> user) {
    return {{"tgid", 100}, {"tid", tid},       {"comm", "db"},          {"state", state},
            {"total_ns", ns}, {"count", count}, {"kernel", std::move(kernel)}, {"user", std::move(user)}};
}

nlohmann::ordered_json totals() {
    nlohmann::ordered_json t = {{"switches", 10}, {"too_short", 2}, {"lost", 0}, {"kernel_symbols", true}};
    t["stacks"] = {stack(101, "disk", 3'000'000, 3, {"io_schedule", "vfs_read"}, {"pread64 (libc.so.6)", "main (db)"}),
                   stack(102, "disk", 5'000'000, 4, {"io_schedule", "vfs_read"}, {"pread64 (libc.so.6)", "main (db)"}),
                   stack(101, "sleeping", 1'000'000, 1, {"futex_wait"}, {})};
    return t;
}

}  // namespace

TEST_CASE("offcpu: threads with the same stacks and state merge, most time first", "[offcpu]") {
    auto report = offcpu_from_json(totals());
    REQUIRE(report);
    CHECK(report->switches == 10);
    CHECK(report->too_short == 2);
    REQUIRE(report->stacks.size() == 3);
    auto merged = merge_threads(report->stacks);
    REQUIRE(merged.size() == 2);
    CHECK(merged[0].state == "disk");
    CHECK(merged[0].total_ns == 8'000'000);
    CHECK(merged[0].count == 7);
    CHECK(merged[0].tid == 0);
    CHECK(merged[1].state == "sleeping");
    CHECK(in_state(merged, "disk").size() == 1);
    CHECK(in_state(merged, "all").size() == 2);
    CHECK(in_state(merged, "preempted").empty());
}

TEST_CASE("offcpu: folded lines run from the outermost user frame to the innermost kernel frame", "[offcpu]") {
    auto report = offcpu_from_json(totals());
    REQUIRE(report);
    const std::string text = folded(merge_threads(report->stacks));
    CHECK(text == "db;main (db);pread64 (libc.so.6);-;vfs_read;io_schedule 8000\n"
                  "db;futex_wait 1000\n");
}

TEST_CASE("offcpu: the top list says the time per state and each stack with its frames", "[offcpu]") {
    auto report = offcpu_from_json(totals());
    REQUIRE(report);
    const std::string text = render_top(merge_threads(report->stacks), 1);
    CHECK_THAT(text, Catch::StartsWith("0.009 s off the CPU (disk 0.008 s, sleeping 0.001 s)"));
    CHECK_THAT(text, Catch::Contains("#1  0.008 s (89%)  disk  db [100]  7 times"));
    CHECK_THAT(text, Catch::Contains("    io_schedule\n    vfs_read\n    --\n    pread64 (libc.so.6)\n"));
    CHECK_THAT(text, !Catch::Contains("#2"));
    const auto json = to_json(merge_threads(report->stacks));
    CHECK(json[0]["total_ms"].get<double>() == Approx(8.0));
    CHECK_FALSE(json[0].contains("tid"));
}

TEST_CASE("offcpu: totals without their stacks are an error, not a crash", "[offcpu]") {
    auto report = offcpu_from_json({{"switches", 1}});
    REQUIRE_FALSE(report);
    CHECK_THAT(report.error().message, Catch::Contains("offcpu totals"));
}

namespace {

nlohmann::ordered_json wakeup(bool woken, uint32_t wakee_tid, uint32_t waker_tid, uint64_t waited_ns, uint64_t count) {
    return {{"woken", woken},          {"wakee_tgid", 100},         {"wakee_tid", wakee_tid},
            {"wakee_comm", "db"},      {"waker_tgid", 7},           {"waker_tid", waker_tid},
            {"waker_comm", "kworker"}, {"waited_ns", waited_ns},    {"count", count},
            {"run_delay_ns", waited_ns / 10},
            {"waker_kernel", {"try_to_wake_up", "blk_mq_end_request"}}, {"waker_user", nlohmann::ordered_json::array()}};
}

}  // namespace

TEST_CASE("wakeups: who woke the target merges across threads, then whom the target woke", "[offcpu]") {
    nlohmann::ordered_json t = totals();
    t["wakeups"] = {wakeup(true, 101, 8, 2'000'000, 2), wakeup(true, 102, 9, 4'000'000, 3), wakeup(false, 101, 101, 0, 5)};
    auto report = offcpu_from_json(t);
    REQUIRE(report);
    REQUIRE(report->wakeups.size() == 3);
    auto merged = merge_threads(report->wakeups);
    REQUIRE(merged.size() == 2);
    CHECK(merged[0].woken);
    CHECK(merged[0].waited_ns == 6'000'000);
    CHECK(merged[0].count == 5);
    CHECK(merged[0].wakee_tid == 0);
    CHECK(merged[0].run_delay_ns == 600'000);

    const std::string text = render_wakeups(merged, 5);
    CHECK_THAT(text, Catch::Contains(
                         "#1  0.006 s waited, 5 wakeups, 1200.0 us each, 120.0 us wake-to-run: db [100] woken by kworker [7]"));
    CHECK_THAT(text, Catch::Contains("    try_to_wake_up\n    blk_mq_end_request\n"));
    CHECK_THAT(text, Catch::Contains("whom the target's threads woke:\n  kworker [7] woke db [100]  5 times"));
    const auto json = to_json(merged);
    CHECK(json[0]["waited_ms"].get<double>() == Approx(6.0));
    CHECK(json[0]["run_delay_ms"].get<double>() == Approx(0.6));
    CHECK_FALSE(json[1].contains("waited_ms"));
}
