#include "trace/bpf_source.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <chrono>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <ranges>
#include <string_view>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/subprocess.hpp"
#include "trace/bpf_attach.hpp"
#include "trace/bpf_features.hpp"
#include "trace/bpf_block.hpp"
#include "trace/bpf_offcpu.hpp"
#include "trace/bpf_syscalls.hpp"
#include "trace/bpf_tracer.hpp"
#include "trace/bpf_uring.hpp"
#include "trace/proc_fd.hpp"
#include "trace/trace_lifecycle.hpp"

#if IODIAG_HAVE_BPF
#include <bpf/bpf.h>

#include "targets.h"
#endif

namespace iodiag::trace {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// The tracers submit without waking us; this is how often their ring buffers are drained.
constexpr milliseconds kPollInterval{20};
// How often the traced processes are checked for having gone without an exit event.
constexpr milliseconds kLivenessInterval{500};

struct TracerSlot {
    std::function<std::unique_ptr<BpfTracer>()> make;  // a fresh tracer: a variant's retry needs one
    bool required = false;  // the trace cannot go on without it; others are skipped, with a warning
    std::unique_ptr<BpfTracer> tracer;
    bool loaded = false;
    std::string outcome;  // for the run's detail: "syscalls (tp_btf)", "block (raw_tp; tp_btf failed: ...)"
};

template <class Tracer, class... Args>
TracerSlot slot(bool required, Args... args) {
    TracerSlot s;
    s.make = [=] { return std::make_unique<Tracer>(args...); };
    s.required = required;
    s.tracer = s.make();
    return s;
}

// IODIAG_BPF_TRACERS=uring,block (a comma list of tracer names) runs only those: for measuring
// what each tracer costs alone (bench/overhead_breakdown.sh); the model may then lack what the
// others see.
bool tracer_wanted(std::string_view name) {
    const char* only = std::getenv("IODIAG_BPF_TRACERS");
    if (!only || !*only) return true;
    for (const auto part : std::views::split(std::string_view(only), ','))
        if (std::string_view(part.begin(), part.end()) == name) return true;
    return false;
}

// The tracers a bpf trace runs, in load order: one line per tracer.
std::vector<TracerSlot> make_tracers(const BpfOptions& options) {
    std::vector<TracerSlot> tracers;
    if (tracer_wanted("syscalls")) tracers.push_back(slot<BpfSyscalls>(true));
    if (tracer_wanted("uring")) tracers.push_back(slot<BpfUringTracer>(false));
    if (tracer_wanted("block")) tracers.push_back(slot<BpfBlockTracer>(false));
    if ((options.offcpu || options.wakers) && tracer_wanted("offcpu"))
        tracers.push_back(slot<BpfOffcpuTracer>(true, options.offcpu_min_ns, options.wakers));
    return tracers;
}

// IODIAG_BPF_STATS=0 leaves the kernel's program statistics off (they add two clock reads to
// every program run): for measuring what they cost.
bool program_stats_wanted() {
    const char* stats = std::getenv("IODIAG_BPF_STATS");
    return !(stats && std::string_view(stats) == "0");
}

// Loads `variant` of the slot's tracer (fresh: not loaded before). Classic tracepoints need tracefs.
Status load_variant(TracerSlot& slot, const BpfTarget& target, const BpfFeatures& features, BpfVariant variant) {
    if (auto hook = fail_on_purpose(slot.tracer->name(), variant); !hook) return hook;
    if (variant == BpfVariant::tracepoint) {
        static std::mutex mounting;  // tracers load in parallel: one mount
        std::lock_guard lock(mounting);
        if (auto tracefs = ensure_tracefs(); !tracefs) return tracefs;
    }
    return slot.tracer->load(target, features.only(variant));
}

// Attaches the slot's tracer, whose load of plan.order[0] ran already (`first`); when that fails
// to load or attach, retries the plan's next variants, each with a fresh tracer, until one works.
// The error names each variant's failure; the slot's outcome says which variant it ended on.
Status attach_with_fallback(TracerSlot& slot, const BpfTarget& target, const BpfFeatures& features,
                            const VariantPlan& plan, Status first) {
    const std::string name(slot.tracer->name());
    std::string failures;
    for (size_t i = 0; i < plan.order.size(); ++i) {
        const BpfVariant variant = plan.order[i];
        if (i > 0) {
            slot.tracer->detach();
            slot.tracer = slot.make();
        }
        Status status = i == 0 ? std::move(first) : load_variant(slot, target, features, variant);
        if (status) status = slot.tracer->attach();
        if (status) {
            slot.outcome = fmt::format("{} ({}{}{})", name, variant_name(variant), failures.empty() ? "" : "; ",
                                       failures);
            return {};
        }
        failures += fmt::format("{}{} failed: {}", failures.empty() ? "" : "; ", variant_name(variant),
                                status.error().message);
        if (i + 1 == plan.order.size())
            return fail(status.error().kind,
                        fmt::format("{}: {} ({})", name,
                                    plan.forced ? "the variant IODIAG_BPF_VARIANT forces failed"
                                                : "every BPF variant failed",
                                    failures),
                        plan.forced ? "unset IODIAG_BPF_VARIANT to let the tracer fall back to another variant"
                                    : status.error().hint);
        spdlog::warn("bpf: the {} tracer's {} programs failed ({}); trying {}", name, variant_name(variant),
                     status.error().message, variant_name(plan.order[i + 1]));
    }
    return fail(ErrorKind::internal, name + ": no BPF variant to try");
}

double ms_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// A command forked and waiting on a pipe before exec, so every tracer is attached before it runs
// its first instruction.
struct HeldCommand {
    pid_t pid = -1;
    UniqueFd go;          // a byte written here lets it exec; closing it unwritten makes it exit
    UniqueFd exec_error;  // EOF: exec succeeded; an int: exec's errno
    bool reaped = false;
    int wait_status = 0;

    // Non-blocking; true once the command has exited (and was reaped).
    bool poll_exit() {
        if (pid <= 0 || reaped) return reaped;
        if (waitpid(pid, &wait_status, WNOHANG) == pid) reaped = true;
        return reaped;
    }
    // Waits up to `grace`; false if it is still running.
    bool wait_exit(milliseconds grace) {
        const auto until = Clock::now() + grace;
        while (!poll_exit()) {
            if (Clock::now() >= until) return false;
            usleep(10'000);
        }
        return true;
    }
    void kill_and_reap() {
        if (pid <= 0 || reaped) return;
        kill(pid, SIGKILL);
        if (waitpid(pid, &wait_status, 0) == pid) reaped = true;
    }
};

Result<HeldCommand> start_held(const BpfOptions& options, const sigset_t& child_mask) {
    const auto path = find_in_path(options.command.front());
    if (!path)
        return fail(ErrorKind::not_found, "command not found: " + options.command.front(),
                    "check the command name, or give its full path");
    UniqueFd out;
    if (!options.command_stdout.empty()) {
        out = UniqueFd(open(options.command_stdout.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        if (out.get() < 0)
            return fail(ErrorKind::output,
                        "cannot write " + options.command_stdout + ": " + std::strerror(errno));
    }
    auto go = make_pipe();
    auto exec_error = make_pipe();
    if (!go) return tl::unexpected(go.error());
    if (!exec_error) return tl::unexpected(exec_error.error());
    // Everything the child needs is prepared before fork: it only calls async-signal-safe functions.
    std::vector<char*> argv;
    for (const std::string& arg : options.command) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    const char* file = path->c_str();

    const pid_t pid = fork();
    if (pid < 0) return fail(ErrorKind::internal, std::string("fork failed: ") + std::strerror(errno));
    if (pid == 0) {
        sigprocmask(SIG_SETMASK, &child_mask, nullptr);
        close(go->second.get());
        close(exec_error->first.get());
        if (out.get() >= 0) dup2(out.get(), STDOUT_FILENO);
        char byte = 0;
        if (read(go->first.get(), &byte, 1) != 1) _exit(127);  // iodiag gave up before attaching
        execv(file, argv.data());
        int err = errno;
        (void)!write(exec_error->second.get(), &err, sizeof err);
        _exit(127);
    }
    HeldCommand held;
    held.pid = pid;
    held.go = std::move(go->second);
    held.exec_error = std::move(exec_error->first);
    return held;
}

// Inside a pid namespace other than the first, BPF programs see host pids while /proc and the
// user speak the namespace's: the tgid filter would match nothing. The first pid namespace has
// a fixed inode number (PROC_PID_INIT_INO), whatever /proc is mounted from.
bool in_child_pid_namespace() {
    constexpr ino_t kInitPidNamespaceIno = 0xEFFFFFFC;
    struct stat st {};
    return ::stat("/proc/self/ns/pid", &st) == 0 && st.st_ino != kInitPidNamespaceIno;
}

struct Descendants {
    size_t found = 0;  // added to the targets map
    size_t gone = 0;   // exited before their children could be read
};

// Every descendant of pid now living, so --children covers processes started before the trace.
// Runs once the fork hook is attached, and adds each process before reading its children: one
// forked after the add joins through the hook, one forked before is in the list.
template <class Add>
void add_descendants(const ProcFs& proc, int32_t pid, const Add& add, Descendants& out, int depth = 0) {
    if (depth > 64) return;
    auto children = proc.children(pid);
    if (!children) {
        ++out.gone;
        return;
    }
    for (int32_t child : *children) {
        add(child);
        ++out.found;
        add_descendants(proc, child, add, out, depth + 1);
    }
}

}  // namespace

struct BpfSource::Impl {
    BpfOptions options;
    Clock::time_point created = Clock::now();
    double attach_ms = 0;
    std::optional<SignalGuard> signals;
    UniqueFd targets;
    std::vector<TracerSlot> tracers;
    std::string detail;
    HeldCommand held;
    int32_t tgid = 0;
    bool ran = false;
    UniqueFd program_stats;   // the kernel counts our programs' run time while it is open

    ~Impl() {
        detach_all();
        // Never released (start failed, or run() was not called): closing `go` unwritten makes
        // the held command exit without running.
        held.go.reset();
        held.kill_and_reap();
    }

    void detach_all() {
        for (TracerSlot& slot : tracers)
            if (slot.loaded) slot.tracer->detach();
    }

    Status create_targets_map() {
#if IODIAG_HAVE_BPF
        const int fd = bpf_map_create(BPF_MAP_TYPE_HASH, "iodiag_targets", sizeof(uint32_t),
                                      sizeof(uint32_t), IODIAG_TARGETS_MAX, nullptr);
        if (fd < 0) {
            const int err = errno;
            if (err == EPERM || err == EACCES)
                return fail(ErrorKind::permission,
                            std::string("the kernel refused a BPF map: ") + std::strerror(err),
                            "run as root (or with CAP_BPF and CAP_PERFMON), or use --source strace");
            return fail(ErrorKind::unsupported,
                        std::string("cannot create a BPF map: ") + std::strerror(err),
                        "use --source strace");
        }
        targets = UniqueFd(fd);
        return {};
#else
        return fail(ErrorKind::unsupported, "this iodiag was built without BPF support",
                    "use --source strace");
#endif
    }

    void add_target(int32_t pid) {
#if IODIAG_HAVE_BPF
        const uint32_t key = static_cast<uint32_t>(pid), one = 1;
        bpf_map_update_elem(targets.get(), &key, &one, BPF_ANY);
#else
        (void)pid;
#endif
    }

    // Traced processes still alive; drops the ones gone without an exit event (e.g. exited
    // while we attached). The exit hook removes the others as they go.
    size_t live_targets(bool check_each) {
#if IODIAG_HAVE_BPF
        std::vector<uint32_t> keys;
        uint32_t key = 0, next = 0;
        const uint32_t* prev = nullptr;
        while (bpf_map_get_next_key(targets.get(), prev, &next) == 0) {
            keys.push_back(next);
            key = next;
            prev = &key;
        }
        if (!check_each) return keys.size();
        size_t live = 0;
        for (uint32_t tgid_key : keys) {
            if (kill(static_cast<pid_t>(tgid_key), 0) != 0 && errno == ESRCH) {
                bpf_map_delete_elem(targets.get(), &tgid_key);
                continue;
            }
            ++live;
        }
        return live;
#else
        (void)check_each;
        return 0;
#endif
    }

    // Every tracer in the first variant of its plan (loads in parallel), then attached in order,
    // each falling back on its own to its next variant when one fails (attach_with_fallback).
    Status load_tracers(const BpfFeatures& features) {
        BpfTarget target;
        target.tgid = static_cast<uint32_t>(tgid);
        target.children = options.children || !options.command.empty();
        target.targets_map_fd = targets.get();
        auto forced = forced_variant();
        if (!forced) return tl::unexpected(forced.error());
        std::vector<Result<VariantPlan>> plans;
        for (TracerSlot& slot : tracers) {
            plans.push_back(plan_variants(features, slot.tracer->variants(), *forced, slot.tracer->name()));
            if (plans.back() && !plans.back()->note.empty()) spdlog::warn("bpf: {}", plans.back()->note);
        }
        // Loading is mostly libbpf parsing the kernel's BTF, once per object: in parallel it
        // costs about one object's time on two cores. Attaching (and any retry) stays in order.
        std::vector<Status> loads(tracers.size());
        {
            std::vector<std::thread> threads;
            for (size_t i = 0; i < tracers.size(); ++i)
                if (plans[i])
                    threads.emplace_back(
                        [&, i] { loads[i] = load_variant(tracers[i], target, features, plans[i]->order.front()); });
            for (std::thread& thread : threads) thread.join();
        }
        std::string loaded, skipped;
        for (size_t i = 0; i < tracers.size(); ++i) {
            TracerSlot& slot = tracers[i];
            Status status = plans[i] ? attach_with_fallback(slot, target, features, *plans[i], std::move(loads[i]))
                                     : Status(tl::unexpected(plans[i].error()));
            if (!status) {
                slot.tracer->detach();
                if (slot.required) return status;
                spdlog::warn("bpf: the {} tracer is left out: {}", slot.tracer->name(), status.error().message);
                skipped += fmt::format("{}{}", skipped.empty() ? "" : ", ", status.error().message);
                continue;
            }
            slot.loaded = true;
            loaded += fmt::format("{}{}", loaded.empty() ? "" : ", ", slot.outcome);
        }
        attach_ms = ms_since(created);
        detail = fmt::format("tracers: {}; attached in {:.0f} ms", loaded, attach_ms);
        if (*forced) detail += fmt::format("; IODIAG_BPF_VARIANT={}", variant_name(**forced));
        if (!skipped.empty()) detail += "; not loaded: " + skipped;
        spdlog::info("bpf: {}", detail);
        return {};
    }

    uint64_t poll_all(EventSink& sink, FileTable& files) {
        uint64_t n = 0;
        for (TracerSlot& slot : tracers)
            if (slot.loaded) n += slot.tracer->poll(sink, files);
        return n;
    }

    uint64_t dropped() const {
        uint64_t n = 0;
        for (const TracerSlot& slot : tracers)
            if (slot.loaded) n += slot.tracer->dropped();
        return n;
    }
};

BpfSource::BpfSource() : impl_(std::make_unique<Impl>()) {}

BpfSource::~BpfSource() = default;

double BpfSource::attach_ms() const { return impl_->attach_ms; }

Result<std::unique_ptr<BpfSource>> BpfSource::start(const BpfOptions& options) {
    const bool attach = options.pid > 0;
    if (attach == !options.command.empty())
        return fail(ErrorKind::usage, "trace either a pid or a command");
    std::unique_ptr<BpfSource> source(new BpfSource());
    Impl& m = *source->impl_;
    m.options = options;

    ProcFs proc;
    if (attach && !proc.exists(options.pid))
        return fail(ErrorKind::not_found, fmt::format("no process with pid {}", options.pid),
                    fmt::format("check the pid (ps -p {})", options.pid));
    if (in_child_pid_namespace())
        return fail(ErrorKind::unsupported,
                    "iodiag runs inside a pid namespace (a container): BPF programs see the host's pids",
                    "run iodiag on the host, or use --source strace");
    auto features = probe_bpf_features();
    if (!features) return tl::unexpected(features.error());
    if (auto status = m.create_targets_map(); !status) return tl::unexpected(status.error());
    if (program_stats_wanted()) m.program_stats = UniqueFd(enable_program_stats());
    if (m.program_stats.get() < 0) spdlog::debug("bpf: program run-time statistics cannot be enabled: {}", std::strerror(errno));

    m.signals.emplace();  // before fork: a Ctrl-C from now on ends the trace cleanly
    if (attach) {
        m.tgid = options.pid;
    } else {
        auto held = start_held(options, m.signals->original());
        if (!held) return tl::unexpected(held.error());
        m.held = std::move(*held);
        m.tgid = m.held.pid;
    }
    m.add_target(m.tgid);

    m.tracers = make_tracers(options);
    if (auto status = m.load_tracers(*features); !status) return tl::unexpected(status.error());
    if (attach && options.children) {
        Descendants more;
        add_descendants(proc, options.pid, [&m](int32_t pid) { m.add_target(pid); }, more);
        for (TracerSlot& slot : m.tracers)
            if (slot.loaded) slot.tracer->targets_added();
        if (more.found) spdlog::info("bpf: {} descendants of pid {} traced too", more.found, options.pid);
        if (more.gone > 1 || (more.gone == 1 && proc.exists(options.pid)))
            spdlog::info("bpf: {} descendants of pid {} exited while iodiag attached", more.gone, options.pid);
    }
    if (attach && !proc.exists(options.pid))
        return fail(ErrorKind::not_found, fmt::format("pid {} exited while iodiag attached", options.pid));
    return source;
}

Result<BpfRun> BpfSource::run(EventSink& sink, FileTable& files) {
    Impl& m = *impl_;
    if (m.ran) return fail(ErrorKind::internal, "a bpf source runs once");
    m.ran = true;
    const bool launched = m.held.pid > 0;
    BpfRun run;
    run.target_pid = m.tgid;

    if (launched) {
        if (write(m.held.go.get(), "x", 1) != 1)
            return fail(ErrorKind::internal, std::string("cannot start the command: ") + std::strerror(errno));
        m.held.go.reset();
        int err = 0;
        ssize_t n;
        while ((n = read(m.held.exec_error.get(), &err, sizeof err)) < 0 && errno == EINTR) {}
        if (n == sizeof err) {
            m.held.kill_and_reap();
            return fail(ErrorKind::not_found,
                        "cannot run " + m.options.command.front() + ": " + std::strerror(err),
                        "check the command name, or give its full path");
        }
    }

    const auto start = Clock::now();
    ProgressTicker progress(m.options.progress, m.options.progress_output, start);
    StopRules rules(start, m.options.duration_ms);
    auto next_liveness = start + kLivenessInterval;
    const milliseconds interval(m.options.on_interval ? m.options.interval_ms : 0);
    auto next_interval = start + interval;
    std::optional<SignalGuard::Arrival> interrupt;
    bool stop = false;

    while (!stop) {
        pollfd fds[1] = {{m.signals->fd(), POLLIN, 0}};
        ::poll(fds, 1, static_cast<int>(kPollInterval.count()));
        run.records += m.poll_all(sink, files);

        if (auto arrival = m.signals->next()) {
            rules.on_signal(Clock::now());
            interrupt = arrival;
            stop = true;
        }
        const auto now = Clock::now();
        if (!stop && rules.deadline_passed(now)) stop = true;
        if (!stop) {
            // The exit hook empties the map as processes go; a check per process now and then
            // catches what exited unseen.
            const bool check_each = now >= next_liveness;
            if (check_each) next_liveness = now + kLivenessInterval;
            if (launched) m.held.poll_exit();
            if (m.live_targets(check_each) == 0) {
                rules.target_exited();
                stop = true;
            }
        }
        if (progress.due(now)) {
            const auto tick = progress.sample(now, run.records);
            progress.emit(fmt::format("iodiag: bpf {:.0f}s  {:.0f} events/s  {} events  {} dropped", tick.seconds,
                                      tick.rate, run.records, m.dropped()));
        }
        if (!stop && interval.count() > 0 && now >= next_interval) {
            next_interval = now + interval;  // a late report does not make the next one short
            m.options.on_interval();
        }
    }

    // What the trace cost, from the kernel's statistics, read while the programs are still loaded.
    if (m.program_stats.get() >= 0) {
        ProgramTime cost;
        for (const TracerSlot& slot : m.tracers) {
            if (!slot.loaded) continue;
            const ProgramTime t = slot.tracer->program_time();
            cost.run_ns += t.run_ns;
            cost.runs += t.runs;
        }
        run.totals.bpf_programs = cost;
        m.program_stats.reset();
    }
    // Nothing of ours stays attached past this point; then what the rings still hold.
    m.detach_all();
    run.records += m.poll_all(sink, files);
    run.wall_ns = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count());
    for (const TracerSlot& slot : m.tracers)
        if (slot.loaded) slot.tracer->collect_totals(run.totals);
    run.dropped = m.dropped();
    run.detail = m.detail;
    if (run.dropped)
        spdlog::warn("bpf: {} events were lost (ring buffer full); the totals in model.json stay exact",
                     run.dropped);

    if (launched) {
        // A launched command outlives the trace only briefly: it is asked to stop (unless the
        // terminal already did) and killed after a grace period.
        if (!m.held.poll_exit() && rules.stopping()) {
            if (!interrupt || !interrupt->from_tty)
                kill(m.held.pid, interrupt && interrupt->sig == SIGTERM ? SIGTERM : SIGINT);
            bool exited = false;
            bool aborted = false;
            while (!(exited = m.held.poll_exit()) && !rules.grace_over(Clock::now())) {
                if (auto arrival = m.signals->next()) {
                    if (rules.on_signal(Clock::now()) == StopRules::SignalEffect::abort) {
                        spdlog::warn("second interrupt: aborting the trace");
                        aborted = true;
                        break;
                    }
                    if (!arrival->from_tty) kill(m.held.pid, arrival->sig == SIGTERM ? SIGTERM : SIGINT);
                }
                usleep(10'000);
            }
            if (!exited) {
                if (!aborted)
                    spdlog::warn("the command did not stop within {}s; killing it", kStopGrace.count() / 1000);
                m.held.kill_and_reap();
            }
        }
        m.held.wait_exit(kStopGrace);
        if (!m.held.reaped) m.held.kill_and_reap();
        run.exit_status = exit_code_from_wait_status(m.held.wait_status);
    }
    run.reason = rules.reason();
    return run;
}

}  // namespace iodiag::trace
