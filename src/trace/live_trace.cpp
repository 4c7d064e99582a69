#include "trace/live_trace.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/subprocess.hpp"
#include "trace/io_event.hpp"
#include "trace/proc_fd.hpp"
#include "trace/syscall_decoder.hpp"
#include "trace/trace_lifecycle.hpp"

namespace iodiag::trace {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kPollSlice{200};
constexpr size_t kMaxTracerStderr = 16 * 1024;
constexpr int kTracePipeBytes = 1 << 20;  // room for bursts while we are busy decoding
constexpr size_t kMaxReadsPerSlice = 64;   // 4 MiB of trace between two looks at the clock

// Splits the trace pipe's bytes into lines for the program's reader.
class LineFeeder {
public:
    explicit LineFeeder(const TracerProgram& program) : program_(program) {}

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
        if (first_pid_ == 0 && program_.line_pid) first_pid_ = program_.line_pid(text);
        if (auto status = program_.feed_line(text); !status)
            spdlog::debug("{} line {}: {}", program_.name, lines_, status.error().message);
    }

    const TracerProgram& program_;
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

std::vector<std::string> traced_syscall_names() {
    std::vector<std::string> names;
    for (int value = static_cast<int>(Syscall::unknown) + 1;
         value <= static_cast<int>(Syscall::exit_group); ++value)
        names.emplace_back(syscall_name(static_cast<Syscall>(value)));
    return names;
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
    std::string out;
    for (const std::string& item : items) {
        if (!out.empty()) out += sep;
        out += item;
    }
    return out;
}

Status preload_process(const ProcFs& proc, int32_t pid, SyscallDecoder& decoder) {
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

Status prepare_target(const LiveTraceOptions& options, SyscallDecoder& decoder,
                      LiveTraceRun& run) {
    if (options.pid <= 0) {
        if (!find_in_path(options.command.front()))
            return fail(ErrorKind::not_found, "command not found: " + options.command.front(),
                        "check the command name, or give its full path");
        return {};
    }
    ProcFs proc;
    if (!proc.exists(options.pid))
        return fail(ErrorKind::not_found, fmt::format("no process with pid {}", options.pid),
                    fmt::format("check the pid (ps -p {})", options.pid));
    decoder.set_default_tgid(options.pid);
    if (auto status = preload_process(proc, options.pid, decoder); !status) return status;
    run.target_pid = options.pid;
    return {};
}

std::vector<std::string> with_target(std::vector<std::string> argv, const LiveTraceOptions& options,
                                     const std::string& pids) {
    if (options.pid > 0) {
        argv.insert(argv.end(), {"-p", pids});
    } else {
        argv.emplace_back("--");
        argv.insert(argv.end(), options.command.begin(), options.command.end());
    }
    return argv;
}

Result<TracerExit> run_tracer(const TracerProgram& program, const LiveTraceOptions& options,
                              LiveTraceRun& run) {
    const bool attach = options.pid > 0;
    // The tracer writes the trace into a pipe it opens as /proc/<iodiag>/fd/N: the fd itself
    // stays close-on-exec, so neither the tracer nor the traced command inherits a write end.
    auto trace_pipe = make_pipe();
    if (!trace_pipe) return tl::unexpected(trace_pipe.error());
    auto& [trace_r, trace_w] = *trace_pipe;
    fcntl(trace_r.get(), F_SETPIPE_SZ, kTracePipeBytes);
    fcntl(trace_r.get(), F_SETFL, O_NONBLOCK);

    // The tracer's own messages are captured in attach mode; a launched command shares the
    // tracer's stderr, and that must stay iodiag's.
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

    const std::vector<std::string> argv =
        program.argv(fmt::format("/proc/{}/fd/{}", getpid(), trace_w.get()));
    run.command_line = join(argv, " ");
    spdlog::info("running {}", run.command_line);

    SignalGuard signals;  // before spawning: a Ctrl-C from now on ends the trace cleanly
    const auto start = Clock::now();
    auto pid = spawn({argv, -1, command_out.get(), err_w.get(), &signals.original()});
    if (!pid) return tl::unexpected(pid.error());
    const pid_t tracer_pid = *pid;
    err_w.reset();
    command_out.reset();

    TracerExit exit;
    LineFeeder feeder(program);
    ProgressTicker progress(options.progress, options.progress_output, start);
    StopRules rules(start, options.duration_ms);
    bool killed = false;
    int wait_status = 0;

    // Attach: the tracer detaches on SIGINT. Launch: the command is the target; it gets the
    // signal as it would from a terminal, and the tracer follows it out.
    auto request_stop = [&](int sig) {
        if (attach) kill(tracer_pid, SIGINT);
        else signal_children(tracer_pid, sig);
    };
    auto kill_all = [&] {
        if (!attach) signal_children(tracer_pid, SIGKILL);
        kill(tracer_pid, SIGKILL);  // the kernel detaches ptrace from whatever strace held
        killed = true;
    };

    for (;;) {
        pollfd fds[3] = {{trace_r.get(), POLLIN, 0}, {signals.fd(), POLLIN, 0},
                         {err_r.get(), POLLIN, 0}};
        poll(fds, err_r.get() >= 0 ? 3 : 2, static_cast<int>(kPollSlice.count()));

        drain(trace_r.get(), [&](const char* data, size_t size) { feeder.feed(data, size); },
              kMaxReadsPerSlice);
        if (err_r.get() >= 0 && !drain(err_r.get(), [&](const char* data, size_t size) {
                if (exit.err.size() < kMaxTracerStderr) exit.err.append(data, size);
            }))
            err_r.reset();

        while (!killed) {
            auto arrival = signals.next();
            if (!arrival) break;
            if (rules.on_signal(Clock::now()) == StopRules::SignalEffect::abort) {
                spdlog::warn("second interrupt: aborting the trace");
                kill_all();
                break;
            }
            if (!arrival->from_tty) request_stop(arrival->sig == SIGTERM ? SIGTERM : SIGINT);
        }

        const auto now = Clock::now();
        if (rules.deadline_passed(now)) request_stop(SIGINT);
        if (!killed && rules.grace_over(now)) {
            spdlog::warn("the target did not stop within {}s of the request; killing it",
                         kStopGrace.count() / 1000);
            kill_all();
        }
        if (progress.due(now)) {
            const auto tick = progress.sample(now, feeder.lines());
            std::string line = fmt::format("iodiag: tracing {:.0f}s  {:.0f} lines/s  {} IO events",
                                           tick.seconds, tick.rate, options.io_events ? options.io_events() : 0);
            if (const uint64_t bad = program.bad_lines ? program.bad_lines() : 0)
                line += fmt::format("  {} bad lines", bad);
            progress.emit(line);
        }

        pid_t done = waitpid(tracer_pid, &wait_status, WNOHANG);
        if (done == tracer_pid) break;
    }
    // The tracer is gone: what it wrote is in the pipe (we hold the write end, so no EOF comes).
    drain(trace_r.get(), [&](const char* data, size_t size) { feeder.feed(data, size); });
    if (err_r.get() >= 0)
        drain(err_r.get(), [&](const char* data, size_t size) { exit.err.append(data, size); });
    feeder.finish();

    run.wall_ns = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count());
    run.exit_status = exit_code_from_wait_status(wait_status);
    if (!attach) run.target_pid = feeder.first_pid();
    if (!exit.err.empty()) spdlog::info("{} said: {}", program.name, exit.err);
    rules.target_exited();
    run.reason = rules.reason();
    exit.stop_requested = rules.stopping();
    exit.failed_to_start = !exit.stop_requested && feeder.lines() == 0 && run.exit_status != 0;
    return exit;
}

}  // namespace iodiag::trace
