// The live sources' stop rules and progress ticks, from made-up times and signal counts.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "trace/trace_lifecycle.hpp"

using namespace iodiag::trace;
using std::chrono::milliseconds;

namespace {

const StopRules::time_point t0 = LifecycleClock::time_point{} + std::chrono::hours(1);

StopRules::time_point at(int64_t ms) { return t0 + milliseconds(ms); }

}  // namespace

TEST_CASE("trace lifecycle: the deadline stops the trace once, at --duration", "[lifecycle]") {
    StopRules rules(t0, 3000);
    CHECK_FALSE(rules.deadline_passed(at(2999)));
    CHECK_FALSE(rules.stopping());
    CHECK(rules.deadline_passed(at(3000)));
    CHECK(rules.stopping());
    CHECK(rules.reason() == StopReason::duration);
    CHECK_FALSE(rules.deadline_passed(at(4000)));  // the stop is requested once
    rules.target_exited();                          // the target then leaving does not change why
    CHECK(rules.reason() == StopReason::duration);
}

TEST_CASE("trace lifecycle: without --duration only a signal or the target's exit stops it", "[lifecycle]") {
    StopRules rules(t0, 0);
    CHECK_FALSE(rules.deadline_passed(at(1000LL * 3600 * 24)));
    CHECK_FALSE(rules.stopping());
    rules.target_exited();
    CHECK(rules.reason() == StopReason::target_exited);
    CHECK_FALSE(rules.grace_over(at(1000LL * 3600)));  // nothing was asked to stop
}

TEST_CASE("trace lifecycle: a first signal interrupts, a second aborts", "[lifecycle]") {
    StopRules rules(t0, 10'000);
    CHECK(rules.on_signal(at(500)) == StopRules::SignalEffect::stop);
    CHECK(rules.reason() == StopReason::interrupted);
    CHECK_FALSE(rules.deadline_passed(at(20'000)));  // an interrupted trace keeps its reason
    rules.target_exited();
    CHECK(rules.reason() == StopReason::interrupted);
    CHECK(rules.on_signal(at(600)) == StopRules::SignalEffect::abort);
    CHECK(rules.reason() == StopReason::aborted);
}

TEST_CASE("trace lifecycle: a signal after --duration stopped the trace keeps the reason, a second aborts",
          "[lifecycle]") {
    StopRules rules(t0, 1000);
    REQUIRE(rules.deadline_passed(at(1000)));
    CHECK(rules.on_signal(at(1500)) == StopRules::SignalEffect::stopping);
    CHECK(rules.reason() == StopReason::duration);
    CHECK(rules.on_signal(at(1600)) == StopRules::SignalEffect::abort);
    CHECK(rules.reason() == StopReason::aborted);
}

TEST_CASE("trace lifecycle: the grace period runs from the stop request", "[lifecycle]") {
    StopRules rules(t0, 0, milliseconds(5000));
    REQUIRE(rules.on_signal(at(2000)) == StopRules::SignalEffect::stop);
    CHECK_FALSE(rules.grace_over(at(7000)));
    CHECK(rules.grace_over(at(7001)));
    CHECK(kStopGrace == milliseconds(5000));
}

TEST_CASE("trace lifecycle: progress lines once a second with the rate since the last one", "[lifecycle]") {
    std::vector<std::string> lines;
    int ends = 0;
    {
        ProgressTicker ticker(true, {[&](std::string_view line) { lines.emplace_back(line); }, [&] { ++ends; }},
                              t0);
        CHECK_FALSE(ticker.due(at(999)));
        REQUIRE(ticker.due(at(1000)));
        auto first = ticker.sample(at(1000), 500);
        CHECK(first.seconds == Approx(1.0));
        CHECK(first.rate == Approx(500.0));
        ticker.emit("one");
        CHECK_FALSE(ticker.due(at(1999)));
        REQUIRE(ticker.due(at(2500)));
        auto second = ticker.sample(at(2500), 800);
        CHECK(second.seconds == Approx(2.5));
        CHECK(second.rate == Approx(200.0));  // 300 more in 1.5 s
        ticker.emit("two");
        CHECK_FALSE(ticker.due(at(3499)));  // the next second counts from the last line
        CHECK(ends == 0);
    }
    CHECK(lines == std::vector<std::string>{"one", "two"});
    CHECK(ends == 1);  // the last line is closed when the trace ends
}

TEST_CASE("trace lifecycle: no progress lines without a taker, no end without a line", "[lifecycle]") {
    int ends = 0;
    {
        ProgressTicker nobody(true, {}, t0);
        CHECK_FALSE(nobody.due(at(5000)));
        ProgressTicker unused(true, {[](std::string_view) {}, [&] { ++ends; }}, t0);
        CHECK(unused.due(at(5000)));
    }
    CHECK(ends == 0);
}
