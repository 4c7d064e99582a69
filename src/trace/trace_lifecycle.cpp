#include "trace/trace_lifecycle.hpp"

#include <sys/signalfd.h>
#include <unistd.h>

#include <utility>

namespace iodiag::trace {

std::string_view stop_reason_name(StopReason reason) {
    switch (reason) {
        case StopReason::duration: return "duration";
        case StopReason::interrupted: return "interrupted";
        case StopReason::target_exited: return "target exited";
        case StopReason::aborted: return "aborted";
    }
    return "unknown";
}

SignalGuard::SignalGuard() {
    sigemptyset(&mask_);
    sigaddset(&mask_, SIGINT);
    sigaddset(&mask_, SIGTERM);
    sigprocmask(SIG_BLOCK, &mask_, &original_);
    fd_ = UniqueFd(signalfd(-1, &mask_, SFD_NONBLOCK | SFD_CLOEXEC));
}

SignalGuard::~SignalGuard() {
    while (next()) {}  // a signal left pending would kill us as soon as it is unblocked
    sigprocmask(SIG_SETMASK, &original_, nullptr);
}

std::optional<SignalGuard::Arrival> SignalGuard::next() {
    signalfd_siginfo info{};
    if (fd_.get() < 0 || read(fd_.get(), &info, sizeof info) != sizeof info) return std::nullopt;
    return Arrival{static_cast<int>(info.ssi_signo), info.ssi_code == SI_KERNEL};
}

StopRules::StopRules(time_point start, uint64_t duration_ms, std::chrono::milliseconds grace)
    : start_(start), grace_(grace) {
    if (duration_ms) deadline_ = start + std::chrono::milliseconds(duration_ms);
}

StopRules::SignalEffect StopRules::on_signal(time_point now) {
    if (++signals_ >= 2) {
        reason_ = StopReason::aborted;
        if (!stop_at_) stop_at_ = now;
        return SignalEffect::abort;
    }
    if (stop_at_) return SignalEffect::stopping;
    reason_ = StopReason::interrupted;
    stop_at_ = now;
    return SignalEffect::stop;
}

bool StopRules::deadline_passed(time_point now) {
    if (stop_at_ || !deadline_ || now < *deadline_) return false;
    reason_ = StopReason::duration;
    stop_at_ = now;
    return true;
}

void StopRules::target_exited() {
    if (!stop_at_) reason_ = StopReason::target_exited;
}

bool StopRules::grace_over(time_point now) const { return stop_at_ && now - *stop_at_ > grace_; }

ProgressTicker::ProgressTicker(bool wanted, ProgressOutput output, time_point start)
    : enabled_((wanted || isatty(STDERR_FILENO) == 1) && output.line),
      output_(std::move(output)),
      start_(start),
      last_time_(start),
      next_(start + std::chrono::seconds(1)) {}

ProgressTicker::~ProgressTicker() {
    if (emitted_ && output_.end) output_.end();
}

ProgressTicker::Sample ProgressTicker::sample(time_point now, uint64_t count) {
    Sample s;
    s.seconds = std::chrono::duration<double>(now - start_).count();
    const double since = std::chrono::duration<double>(now - last_time_).count();
    s.rate = since > 0 ? static_cast<double>(count - last_count_) / since : 0;
    last_time_ = now;
    last_count_ = count;
    next_ = now + std::chrono::seconds(1);
    return s;
}

void ProgressTicker::emit(const std::string& line) {
    if (!enabled_) return;
    output_.line(line);
    emitted_ = true;
}

}  // namespace iodiag::trace
