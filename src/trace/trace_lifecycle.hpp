// The lifecycle every live source (bpf, strace, perf) shares: SIGINT/SIGTERM read from a signalfd,
// the stop rules (--duration, a first signal stops, a second aborts, the target exiting, a grace
// period before what was asked to stop is killed) and once-a-second progress lines handed to the
// caller (the use case's observer), never printed here. Each source keeps its own tracing loop.
#pragma once

#include <signal.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/subprocess.hpp"

namespace iodiag::trace {

using LifecycleClock = std::chrono::steady_clock;

// After a stop request: how long the target (or the tracer) gets to finish on its own before it
// is killed.
constexpr std::chrono::milliseconds kStopGrace{5000};

enum class StopReason : uint8_t {
    duration,       // --duration elapsed
    interrupted,    // SIGINT/SIGTERM: the trace was cut short but is usable
    target_exited,  // the traced process (and everything it started) exited
    aborted,        // a second SIGINT/SIGTERM: stop now, keep nothing
};

// "duration", "interrupted", "target exited", "aborted" (the model's end_reason).
std::string_view stop_reason_name(StopReason reason);

// SIGINT/SIGTERM blocked and read from a signalfd by the trace loop, which decides what to do
// outside signal context. Children must be started with original() as their mask.
class SignalGuard {
public:
    struct Arrival {
        int sig = 0;
        bool from_tty = false;  // the terminal's Ctrl-C already reached the whole process group
    };

    SignalGuard();
    ~SignalGuard();
    SignalGuard(const SignalGuard&) = delete;
    SignalGuard& operator=(const SignalGuard&) = delete;

    int fd() const { return fd_.get(); }
    const sigset_t& original() const { return original_; }
    std::optional<Arrival> next();  // non-blocking

private:
    sigset_t mask_{}, original_{};
    UniqueFd fd_;
};

// The stop decisions, from the time and the signals only (no system calls): a trace stops at the
// first of --duration, a signal or the target's exit; a second signal aborts it; what was asked to
// stop gets kStopGrace before it is killed.
class StopRules {
public:
    using time_point = LifecycleClock::time_point;

    StopRules(time_point start, uint64_t duration_ms, std::chrono::milliseconds grace = kStopGrace);

    enum class SignalEffect {
        stop,       // the first signal: the trace stops, interrupted
        stopping,   // a stop was already requested (--duration): nothing new
        abort,      // the second signal: stop now, keep nothing
    };
    SignalEffect on_signal(time_point now);
    // True once, when --duration elapses before anything else stopped the trace.
    bool deadline_passed(time_point now);
    // The target ended by itself: the reason, unless a stop was requested first.
    void target_exited();
    // A stop was requested longer than the grace ago.
    bool grace_over(time_point now) const;

    bool stopping() const { return stop_at_.has_value(); }
    StopReason reason() const { return reason_; }
    time_point start() const { return start_; }

private:
    time_point start_;
    std::optional<time_point> deadline_;
    std::chrono::milliseconds grace_;
    std::optional<time_point> stop_at_;
    StopReason reason_ = StopReason::target_exited;
    int signals_ = 0;
};

// Where a trace's progress lines go: the use case's observer (Observer::status, status_end).
struct ProgressOutput {
    std::function<void(std::string_view line)> line;  // each line replaces the previous one
    std::function<void()> end;                         // after the last line
};

// Once-a-second progress: due() says when a line is wanted, sample() gives the seconds traced and
// the rate of a counter since the last line; the source words the line and emit()s it.
class ProgressTicker {
public:
    using time_point = LifecycleClock::time_point;

    // Lines only when `wanted` (--progress) or stderr is a terminal, and someone takes them.
    ProgressTicker(bool wanted, ProgressOutput output, time_point start);
    ~ProgressTicker();
    ProgressTicker(const ProgressTicker&) = delete;
    ProgressTicker& operator=(const ProgressTicker&) = delete;

    struct Sample {
        double seconds = 0;  // since start
        double rate = 0;     // of the counter, per second, since the last sample
    };
    bool due(time_point now) const { return enabled_ && now >= next_; }
    Sample sample(time_point now, uint64_t count);
    void emit(const std::string& line);

private:
    bool enabled_;
    ProgressOutput output_;
    time_point start_;
    time_point last_time_;
    time_point next_;
    uint64_t last_count_ = 0;
    bool emitted_ = false;
};

}  // namespace iodiag::trace
