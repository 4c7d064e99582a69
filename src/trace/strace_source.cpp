#include "trace/strace_source.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/subprocess.hpp"
#include "trace/io_event.hpp"
#include "trace/proc_fd.hpp"
#include "trace/strace_parser.hpp"
#include "trace/syscall_decoder.hpp"

namespace iodiag::trace {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// After a stop request: how long strace (or the launched command) gets to finish on its own
// before it is killed.
constexpr milliseconds kStopGrace{5000};
constexpr milliseconds kPollSlice{200};
constexpr size_t kMaxStraceStderr = 16 * 1024;
constexpr int kTracePipeBytes = 1 << 20;  // room for bursts while we are busy decoding
constexpr size_t kMaxReadsPerSlice = 64;   // 4 MiB of trace between two looks at the clock

// SIGINT/SIGTERM become bytes on a pipe the trace loop polls (the self-pipe trick), so the loop
// decides what to do outside signal context. Restores the previous handlers when it goes.
class SignalPipe {
public:
    // What arrived: the tty's SIGINT already reached our whole process group; a signal sent to
    // iodiag alone must be forwarded.
    static constexpr char kGroupInterrupt = 'K';
    static constexpr char kInterrupt = 'I';
    static constexpr char kTerminate = 'T';

    SignalPipe() {
        int fds[2];
        if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0) {
            read_fd_ = fds[0];
            own_write_fd_ = fds[1];
            write_fd_ = fds[1];
        }
        struct sigaction action {};
        action.sa_sigaction = &SignalPipe::handler;
        action.sa_flags = SA_SIGINFO | SA_RESTART;
        sigemptyset(&action.sa_mask);
        sigaction(SIGINT, &action, &old_int_);
        sigaction(SIGTERM, &action, &old_term_);
    }
    ~SignalPipe() {
        sigaction(SIGINT, &old_int_, nullptr);
        sigaction(SIGTERM, &old_term_, nullptr);
        write_fd_ = -1;
        if (read_fd_ >= 0) close(read_fd_);
        if (own_write_fd_ >= 0) close(own_write_fd_);
    }
    SignalPipe(const SignalPipe&) = delete;
    SignalPipe& operator=(const SignalPipe&) = delete;

    int fd() const { return read_fd_; }

private:
    static void handler(int sig, siginfo_t* info, void*) {
        int saved = errno;
        char what = sig == SIGTERM                ? kTerminate
                    : info->si_code == SI_KERNEL ? kGroupInterrupt
                                                 : kInterrupt;
        if (write_fd_ >= 0) (void)!write(write_fd_, &what, 1);
        errno = saved;
    }

    static inline volatile int write_fd_ = -1;
    int read_fd_ = -1;
    int own_write_fd_ = -1;
    struct sigaction old_int_ {}, old_term_ {};
};

std::string join(const std::vector<std::string>& items, std::string_view sep) {
    std::string out;
    for (const std::string& item : items) {
        if (!out.empty()) out += sep;
        out += item;
    }
    return out;
}

// Asks this strace which names it knows (`-e trace=... -V` validates without tracing) and drops
// the ones it rejects, e.g. open/fork on arm64 or io_pgetevents on an old strace.
Result<std::vector<std::string>> accepted_syscalls(const std::string& strace,
                                                   std::vector<std::string> names,
                                                   std::vector<std::string>& rejected) {
    constexpr std::string_view kInvalid = "invalid system call '";
    while (!names.empty()) {
        auto probe = run_capture({strace, "-e", "trace=" + join(names, ","), "-V"});
        if (!probe) return tl::unexpected(probe.error());
        if (probe->exit_code == 0) return names;
        size_t at = probe->err.find(kInvalid);
        size_t end = at == std::string::npos ? at : probe->err.find('\'', at + kInvalid.size());
        if (end == std::string::npos)
            return fail(ErrorKind::internal, "strace -V failed: " + probe->err.substr(0, 300));
        std::string name = probe->err.substr(at + kInvalid.size(), end - at - kInvalid.size());
        auto it = std::find(names.begin(), names.end(), name);
        if (it == names.end())
            return fail(ErrorKind::internal, "strace rejected an unexpected name: " + name);
        spdlog::info("strace here does not know syscall {}; not tracing it", name);
        rejected.push_back(name);
        names.erase(it);
    }
    return fail(ErrorKind::unsupported, "strace accepts none of the syscalls iodiag traces");
}

// The attach-time picture of the process, so IO on fds opened before the trace resolves.
Status preload_process(const ProcFs& proc, int32_t pid, SyscallDecoder& decoder) {
    decoder.set_default_tgid(pid);
    auto tids = proc.threads(pid);
    if (!tids) return tl::unexpected(tids.error());
    for (int32_t tid : *tids) decoder.add_thread(tid, pid);
    auto fds = proc.fds(pid);
    if (!fds) return tl::unexpected(fds.error());
    for (const ProcFd& fd : *fds)
        decoder.preload_fd(pid, fd.fd, fd.target, fd.open_flags, fd.position);
    spdlog::info("pid {}: {} threads, {} open fds before attaching", pid, tids->size(),
                 fds->size());
    return {};
}

// strace's complaint on its stderr -> one clear error.
Error strace_failure(const std::string& err, int exit_code, const StraceOptions& options) {
    std::string first_line = err.substr(0, err.find('\n'));
    if (err.find("Operation not permitted") != std::string::npos)
        return {ErrorKind::permission,
                fmt::format("strace cannot attach to pid {}: {}", options.pid, first_line),
                "run as root or set kernel.yama.ptrace_scope=0"};
    if (err.find("No such process") != std::string::npos)
        return {ErrorKind::not_found, fmt::format("no process with pid {}", options.pid), {}};
    if (err.find("Can't stat") != std::string::npos ||
        err.find("No such file") != std::string::npos)
        return {ErrorKind::not_found, "strace cannot run the command: " + first_line,
                "check the command name, or give its full path"};
    if (first_line.empty())
        return {ErrorKind::internal,
                fmt::format("strace exited with status {} before tracing anything (see its "
                            "message above)",
                            exit_code),
                {}};
    return {ErrorKind::internal,
            fmt::format("strace exited with status {}: {}", exit_code, first_line), {}};
}

// "tracing 3s  4,100 lines/s  9,000 IO events  0 bad lines", once a second.
class Progress {
public:
    Progress(bool enabled, const std::function<uint64_t()>& io_events)
        : enabled_(enabled), tty_(isatty(STDERR_FILENO) == 1), io_events_(io_events) {}
    ~Progress() {
        if (printed_ && tty_) std::fputc('\n', stderr);
    }
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;

    void tick(Clock::time_point now, Clock::time_point start, uint64_t lines, uint64_t bad) {
        if (!enabled_ || now < next_) return;
        double seconds = std::chrono::duration<double>(now - start).count();
        double since = std::chrono::duration<double>(now - last_time_).count();
        double rate = since > 0 ? static_cast<double>(lines - last_lines_) / since : 0;
        std::string line = fmt::format("iodiag: tracing {:.0f}s  {:.0f} lines/s  {} IO events",
                                       seconds, rate, io_events_ ? io_events_() : 0);
        if (bad) line += fmt::format("  {} bad lines", bad);
        std::fprintf(stderr, tty_ ? "\r\033[K%s" : "%s\n", line.c_str());
        std::fflush(stderr);
        printed_ = true;
        last_time_ = now;
        last_lines_ = lines;
        next_ = now + std::chrono::seconds(1);
    }
    void start(Clock::time_point now) {
        last_time_ = now;
        next_ = now + std::chrono::seconds(1);
    }

private:
    bool enabled_;
    bool tty_;
    bool printed_ = false;
    const std::function<uint64_t()>& io_events_;
    Clock::time_point next_{};
    Clock::time_point last_time_{};
    uint64_t last_lines_ = 0;
};

// Splits the trace pipe's bytes into lines for the reader.
class LineFeeder {
public:
    explicit LineFeeder(StraceReader& reader) : reader_(reader) {}

    void feed(const char* data, size_t size) {
        pending_.append(data, size);
        size_t start = 0;
        for (size_t nl; (nl = pending_.find('\n', start)) != std::string::npos; start = nl + 1)
            line(std::string_view(pending_).substr(start, nl - start));
        pending_.erase(0, start);
    }
    // End of output: a cut-off last line still goes to the reader, which counts it.
    void finish() {
        if (!pending_.empty()) line(pending_);
        pending_.clear();
    }
    uint64_t lines() const { return lines_; }
    int32_t first_pid() const { return first_pid_; }

private:
    void line(std::string_view text) {
        ++lines_;
        if (first_pid_ == 0) first_pid_ = parse_strace_line(text).pid;
        if (auto status = reader_.feed_line(text); !status)
            spdlog::debug("strace line {}: {}", lines_, status.error().message);
    }

    StraceReader& reader_;
    std::string pending_;
    uint64_t lines_ = 0;
    int32_t first_pid_ = 0;
};

// Reads what is there now, at most `max_reads` chunks so a fast producer cannot keep the loop
// from checking signals and the deadline; false at EOF or on error.
bool drain(int fd, const std::function<void(const char*, size_t)>& sink,
           size_t max_reads = SIZE_MAX) {
    char buf[64 * 1024];
    for (size_t reads = 0; reads < max_reads;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n > 0) {
            sink(buf, static_cast<size_t>(n));
            ++reads;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        return n < 0 && errno == EAGAIN;
    }
    return true;
}

void signal_children(int32_t parent, int sig) {
    if (auto children = ProcFs().children(parent)) {
        for (int32_t child : *children) kill(child, sig);
    }
}

}  // namespace

std::string_view stop_reason_name(StopReason reason) {
    switch (reason) {
        case StopReason::duration: return "duration";
        case StopReason::interrupted: return "interrupted";
        case StopReason::target_exited: return "target exited";
        case StopReason::aborted: return "aborted";
    }
    return "unknown";
}

std::vector<std::string> traced_syscall_names() {
    std::vector<std::string> names;
    for (int value = static_cast<int>(Syscall::unknown) + 1;
         value <= static_cast<int>(Syscall::exit_group); ++value)
        names.emplace_back(syscall_name(static_cast<Syscall>(value)));
    return names;
}

Result<StraceRun> run_strace(const StraceOptions& options, StraceReader& reader,
                             SyscallDecoder& decoder) {
    const bool attach = options.pid > 0;
    if (attach == !options.command.empty())
        return fail(ErrorKind::usage, "trace either a pid or a command");

    auto strace = find_in_path("strace");
    if (!strace)
        return fail(ErrorKind::missing_tool, "strace is not installed (not found in PATH)",
                    "apt-get install strace");

    StraceRun run;
    ProcFs proc;
    if (attach) {
        if (!proc.exists(options.pid))
            return fail(ErrorKind::not_found, fmt::format("no process with pid {}", options.pid),
                        fmt::format("check the pid (ps -p {})", options.pid));
        if (auto status = preload_process(proc, options.pid, decoder); !status)
            return tl::unexpected(status.error());
        run.target_pid = options.pid;
    } else if (!find_in_path(options.command.front())) {
        return fail(ErrorKind::not_found, "command not found: " + options.command.front(),
                    "check the command name, or give its full path");
    }

    auto syscalls = accepted_syscalls(*strace, traced_syscall_names(), run.untraced_syscalls);
    if (!syscalls) return tl::unexpected(syscalls.error());

    // strace writes the trace into a pipe it opens as /proc/<iodiag>/fd/N: the fd itself stays
    // close-on-exec, so neither strace nor the traced command inherits a write end.
    auto trace_pipe = make_pipe();
    if (!trace_pipe) return tl::unexpected(trace_pipe.error());
    auto& [trace_r, trace_w] = *trace_pipe;
    fcntl(trace_r.get(), F_SETPIPE_SZ, kTracePipeBytes);
    fcntl(trace_r.get(), F_SETFL, O_NONBLOCK);

    // strace's own messages are captured in attach mode; a launched command shares strace's
    // stderr, and that must stay iodiag's.
    UniqueFd err_r, err_w;
    if (attach) {
        auto err_pipe = make_pipe();
        if (!err_pipe) return tl::unexpected(err_pipe.error());
        err_r = std::move(err_pipe->first);
        err_w = std::move(err_pipe->second);
        fcntl(err_r.get(), F_SETFL, O_NONBLOCK);
    }
    UniqueFd command_out;
    if (!attach && !options.command_stdout.empty()) {
        command_out = UniqueFd(open(options.command_stdout.c_str(),
                              O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        if (command_out.get() < 0)
            return fail(ErrorKind::output,
                        "cannot write " + options.command_stdout + ": " + std::strerror(errno));
    }

    std::vector<std::string> argv = {*strace, "-f", "-ttt", "-T", "-y", "-s", "0",
                                     "-e", "abbrev=none", "-qq",
                                     "-e", "trace=" + join(*syscalls, ","),
                                     "-o", fmt::format("/proc/{}/fd/{}", getpid(), trace_w.get())};
    if (attach) {
        argv.insert(argv.end(), {"-p", std::to_string(options.pid)});
    } else {
        argv.emplace_back("--");
        argv.insert(argv.end(), options.command.begin(), options.command.end());
    }
    run.command_line = join(argv, " ");
    spdlog::info("running {}", run.command_line);

    SignalPipe signals;  // before spawning: a Ctrl-C from now on ends the trace cleanly
    const auto start = Clock::now();
    auto pid = spawn({argv, -1, command_out.get(), err_w.get()});
    if (!pid) return tl::unexpected(pid.error());
    const pid_t strace_pid = *pid;
    err_w.reset();
    command_out.reset();

    LineFeeder feeder(reader);
    std::string strace_err;
    Progress progress(options.progress || isatty(STDERR_FILENO) == 1, options.io_events);
    progress.start(start);
    const auto deadline = options.duration_ms
                              ? std::optional(start + milliseconds(options.duration_ms))
                              : std::nullopt;
    std::optional<Clock::time_point> stop_at;  // when we asked the target to stop
    bool stop_requested = false, killed = false;
    int interrupts = 0;
    int wait_status = 0;

    // Attach: strace detaches on SIGINT. Launch: the command is the target; it gets the signal
    // as it would from a terminal, and strace follows it out.
    auto request_stop = [&](int sig) {
        if (attach) kill(strace_pid, SIGINT);
        else signal_children(strace_pid, sig);
    };
    auto kill_all = [&] {
        if (!attach) signal_children(strace_pid, SIGKILL);
        kill(strace_pid, SIGKILL);  // the kernel detaches ptrace from whatever strace held
        killed = true;
    };

    for (;;) {
        pollfd fds[3] = {{trace_r.get(), POLLIN, 0}, {signals.fd(), POLLIN, 0},
                         {err_r.get(), POLLIN, 0}};
        poll(fds, err_r.get() >= 0 ? 3 : 2, static_cast<int>(kPollSlice.count()));

        drain(trace_r.get(), [&](const char* data, size_t size) { feeder.feed(data, size); },
              kMaxReadsPerSlice);
        if (err_r.get() >= 0 && !drain(err_r.get(), [&](const char* data, size_t size) {
                if (strace_err.size() < kMaxStraceStderr) strace_err.append(data, size);
            }))
            err_r.reset();

        char what = 0;
        while (!killed && read(signals.fd(), &what, 1) == 1) {
            if (++interrupts >= 2) {
                spdlog::warn("second interrupt: aborting the trace");
                run.reason = StopReason::aborted;
                kill_all();
                break;
            }
            if (!stop_requested) {
                run.reason = StopReason::interrupted;
                stop_requested = true;
                stop_at = Clock::now();
            }
            if (what != SignalPipe::kGroupInterrupt)
                request_stop(what == SignalPipe::kTerminate ? SIGTERM : SIGINT);
        }

        const auto now = Clock::now();
        if (!stop_requested && deadline && now >= *deadline) {
            run.reason = StopReason::duration;
            stop_requested = true;
            stop_at = now;
            request_stop(SIGINT);
        }
        if (stop_at && !killed && now - *stop_at > kStopGrace) {
            spdlog::warn("the target did not stop within {}s of the request; killing it",
                         kStopGrace.count() / 1000);
            kill_all();
        }
        progress.tick(now, start, feeder.lines(), reader.stats().bad_lines);

        pid_t done = waitpid(strace_pid, &wait_status, WNOHANG);
        if (done == strace_pid) break;
    }
    // strace is gone: what it wrote is in the pipe (we hold the write end, so no EOF comes).
    drain(trace_r.get(), [&](const char* data, size_t size) { feeder.feed(data, size); });
    if (err_r.get() >= 0)
        drain(err_r.get(), [&](const char* data, size_t size) { strace_err.append(data, size); });
    feeder.finish();
    reader.finish();

    run.wall_ns = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count());
    run.exit_status = exit_code_from_wait_status(wait_status);
    if (!attach) run.target_pid = feeder.first_pid();
    if (!strace_err.empty()) spdlog::info("strace said: {}", strace_err);
    if (!stop_requested) run.reason = StopReason::target_exited;
    // strace that ends by itself with nothing traced and a failure status could not start;
    // after a stop request, an empty trace just means the target was idle.
    if (!stop_requested && feeder.lines() == 0 && run.exit_status != 0)
        return tl::unexpected(strace_failure(strace_err, run.exit_status, options));
    return run;
}

}  // namespace iodiag::trace
