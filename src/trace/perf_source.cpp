#include "trace/perf_source.hpp"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/subprocess.hpp"
#include "trace/proc_fd.hpp"
#include "trace/syscall_decoder.hpp"

namespace iodiag::trace {
namespace {

namespace fs = std::filesystem;

bool mentions(const std::string& text, std::string_view part) {
    return text.find(part) != std::string::npos;
}

// perf's messages look like "Error:\tNo permissions to read ...\nHint:\tTry '...'": the first
// line that says something, and perf's own hint when it gave one.
std::string first_message(const std::string& err) {
    std::istringstream lines(err);
    for (std::string line; std::getline(lines, line);) {
        if (line.starts_with("Error:")) line.erase(0, 6);
        const size_t start = line.find_first_not_of(" \t");
        if (start != std::string::npos) return line.substr(start);
    }
    return {};
}

std::string perf_hint(const std::string& err) {
    const size_t at = err.find("Hint:");
    if (at == std::string::npos) return {};
    std::string hint = err.substr(at + 5, err.find('\n', at) - at - 5);
    const size_t start = hint.find_first_not_of(" \t");
    return start == std::string::npos ? std::string() : hint.substr(start);
}

// perf's complaint on stderr -> one clear error.
Error perf_failure(const std::string& err, int exit_code) {
    const std::string said = first_message(err);
    if (mentions(err, "not found for kernel"))  // Debian's wrapper without a matching perf
        return {ErrorKind::missing_tool, "no perf for this kernel: " + said,
                "install the linux-perf package that matches the running kernel, or use "
                "--source strace"};
    if (mentions(err, "No permissions") || mentions(err, "Permission denied") ||
        mentions(err, "perf_event_paranoid")) {
        std::string hint = "run as root, or allow it: sysctl kernel.perf_event_paranoid=-1 and "
                           "mount -o remount,mode=755 /sys/kernel/tracing";
        if (const std::string own = perf_hint(err); !own.empty()) hint += " (perf says: " + own + ")";
        return {ErrorKind::permission, "perf trace is not allowed here: " + said, hint};
    }
    if (mentions(err, "Problems parsing the target") || mentions(err, "No such process"))
        return {ErrorKind::not_found, "perf trace cannot find the process to trace: " + said, {}};
    if (said.empty())
        return {ErrorKind::unsupported,
                fmt::format("perf trace exited with status {} before tracing anything", exit_code),
                "use --source strace"};
    return {ErrorKind::unsupported, "perf trace does not work here: " + said,
            "use --source strace"};
}

struct Probe {
    std::string perf;                   // its path
    std::vector<std::string> syscalls;  // iodiag's syscalls this perf knows by name
    std::vector<std::string> unknown;   // ... and the ones it does not (its table lags the kernel)
};

// The name perf rejected in "event syntax error: 'name'", or "".
std::string rejected_name(const std::string& err) {
    constexpr std::string_view kRejected = "event syntax error: '";
    const size_t at = err.find(kRejected);
    if (at == std::string::npos) return {};
    const size_t start = at + kRejected.size();
    const size_t end = err.find('\'', start);
    return end == std::string::npos ? std::string() : err.substr(start, end - start);
}

// Runs `perf trace -e <iodiag's syscalls> -- true`: it must print exit_group's line in a form
// PerfReader reads. perf rejects a name missing from its syscall table; those are left out and
// the probe runs again.
Result<Probe> probe_once() {
    Probe probe;
    auto perf = find_in_path("perf");
    if (!perf)
        return fail(ErrorKind::missing_tool, "perf is not installed (not found in PATH)",
                    "apt-get install linux-perf");
    probe.perf = *perf;
    auto truth = find_in_path("true");
    if (!truth) return fail(ErrorKind::internal, "no `true` program in PATH to probe perf with");
    probe.syscalls = traced_syscall_names();
    while (!probe.syscalls.empty()) {
        // Without -o, perf trace writes the trace to stderr, next to its own messages.
        auto run = run_capture({probe.perf, "trace", "-e", join(probe.syscalls, ","), "--", *truth});
        if (!run) return tl::unexpected(run.error());
        std::istringstream lines(run->err);
        for (std::string line; std::getline(lines, line);) {
            const PerfLine parsed = parse_perf_line(line);
            if (parsed.kind == PerfLineKind::syscall && parsed.name == "exit_group") return probe;
        }
        auto name = std::find(probe.syscalls.begin(), probe.syscalls.end(), rejected_name(run->err));
        if (name == probe.syscalls.end()) {
            if (run->exit_code != 0) return tl::unexpected(perf_failure(run->err, run->exit_code));
            const std::string said = first_message(run->err);
            return fail(ErrorKind::unsupported,
                        "perf trace runs here but prints no line iodiag can read" +
                            (said.empty() ? std::string() : ": " + said),
                        "use --source strace");
        }
        spdlog::info("perf here does not know syscall {}; not tracing it", *name);
        probe.unknown.push_back(*name);
        probe.syscalls.erase(name);
    }
    return fail(ErrorKind::unsupported, "perf knows none of the syscalls iodiag traces",
                "use --source strace");
}

const Result<Probe>& probed() {
    static const Result<Probe> result = probe_once();
    return result;
}

// The pid and its descendants now: perf trace -p follows neither new threads nor new children,
// but it can at least see the processes that already run (fio's job processes, a server's
// workers).
std::vector<int32_t> process_tree(const ProcFs& proc, int32_t pid) {
    std::vector<int32_t> pids{pid};
    for (size_t i = 0; i < pids.size() && pids.size() < 4096; ++i) {
        if (auto children = proc.children(pids[i]))
            pids.insert(pids.end(), children->begin(), children->end());
    }
    return pids;
}

std::string pid_list(const std::vector<int32_t>& pids) {
    std::string out;
    for (int32_t pid : pids) out += (out.empty() ? "" : ",") + std::to_string(pid);
    return out;
}

int32_t tgid_from_status(int32_t tid) {
    std::ifstream status(fmt::format("/proc/{}/status", tid));
    for (std::string line; std::getline(status, line);)
        if (line.starts_with("Tgid:")) return std::atoi(line.c_str() + 5);
    return 0;
}

}  // namespace

Status probe_perf() {
    if (!probed()) return tl::unexpected(probed().error());
    return {};
}

PerfReaderOptions live_perf_reader_options(const LiveTraceOptions& options) {
    PerfReaderOptions reader;
    reader.default_pid = options.pid;
    reader.fd_path = [](int32_t tid, int32_t fd) {
        std::error_code ec;
        const fs::path target = fs::read_symlink(fmt::format("/proc/{}/fd/{}", tid, fd), ec);
        return ec ? std::string() : target.string();
    };
    reader.tgid_of = &tgid_from_status;
    return reader;
}

Result<LiveTraceRun> run_perf(const LiveTraceOptions& options, PerfReader& reader,
                              SyscallDecoder& decoder) {
    const bool attach = options.pid > 0;
    if (attach == !options.command.empty())
        return fail(ErrorKind::usage, "trace either a pid or a command");
    const Result<Probe>& probe = probed();
    if (!probe) return tl::unexpected(probe.error());

    LiveTraceRun run;
    if (auto status = prepare_target(options, decoder, run); !status)
        return tl::unexpected(status.error());
    run.untraced_syscalls = probe->unknown;
    std::string pids;
    if (attach) {
        const ProcFs proc;
        const std::vector<int32_t> tree = process_tree(proc, options.pid);
        for (size_t i = 1; i < tree.size(); ++i)  // the pid itself is loaded already
            if (auto status = preload_process(proc, tree[i], decoder); !status)
                spdlog::info("pid {}: {}", tree[i], status.error().message);  // it just exited
        pids = pid_list(tree);
    }

    TracerProgram program;
    program.name = "perf";
    program.argv = [&](const std::string& trace_path) {
        return with_target(
            {probe->perf, "trace", "-T", "-e", join(probe->syscalls, ","), "-o", trace_path},
            options, pids);
    };
    program.feed_line = [&reader](std::string_view line) { return reader.feed_line(line); };
    program.bad_lines = [&reader] { return reader.stats().bad_lines; };
    program.line_pid = [](std::string_view line) { return parse_perf_line(line).tid; };

    auto exit = run_tracer(program, options, run);
    if (!exit) return tl::unexpected(exit.error());
    reader.finish();
    if (const uint64_t lost = reader.stats().lost_events)
        spdlog::warn("perf trace lost {} events (its ring buffer overflowed)", lost);
    if (exit->failed_to_start) return tl::unexpected(perf_failure(exit->err, run.exit_status));
    return run;
}

}  // namespace iodiag::trace
