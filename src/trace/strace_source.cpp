#include "trace/strace_source.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/subprocess.hpp"
#include "trace/strace_parser.hpp"
#include "trace/syscall_decoder.hpp"

namespace iodiag::trace {
namespace {

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

}  // namespace

Result<StraceRun> run_strace(const StraceOptions& options, StraceReader& reader,
                             SyscallDecoder& decoder) {
    if ((options.pid > 0) == !options.command.empty())
        return fail(ErrorKind::usage, "trace either a pid or a command");

    auto strace = find_in_path("strace");
    if (!strace)
        return fail(ErrorKind::missing_tool, "strace is not installed (not found in PATH)",
                    "apt-get install strace");

    StraceRun run;
    if (auto status = prepare_target(options, decoder, run); !status)
        return tl::unexpected(status.error());

    auto syscalls = accepted_syscalls(*strace, traced_syscall_names(), run.untraced_syscalls);
    if (!syscalls) return tl::unexpected(syscalls.error());

    TracerProgram program;
    program.name = "strace";
    program.argv = [&](const std::string& trace_path) {
        return with_target({*strace, "-f", "-ttt", "-T", "-y", "-s", "0", "-e", "abbrev=none",
                            "-qq", "-e", "trace=" + join(*syscalls, ","), "-o", trace_path},
                           options, std::to_string(options.pid));
    };
    program.feed_line = [&reader](std::string_view line) { return reader.feed_line(line); };
    program.bad_lines = [&reader] { return reader.stats().bad_lines; };
    program.line_pid = [](std::string_view line) { return parse_strace_line(line).pid; };

    auto exit = run_tracer(program, options, run);
    if (!exit) return tl::unexpected(exit.error());
    reader.finish();
    if (exit->failed_to_start)
        return tl::unexpected(strace_failure(exit->err, run.exit_status, options));
    return run;
}

}  // namespace iodiag::trace
