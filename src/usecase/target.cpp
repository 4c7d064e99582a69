#include "usecase/target.hpp"

#include <fmt/format.h>

#include "trace/proc_fd.hpp"

namespace iodiag::usecase {

trace::ProgressOutput status_lines(Observer& observer) {
    return {[&observer](std::string_view line) { observer.status(line); }, [&observer] { observer.status_end(); }};
}

Status validate_target(const TraceTarget& target, std::string_view command_name) {
    if ((target.pid > 0) == !target.command.empty())
        return fail(ErrorKind::usage, "give exactly one of --pid PID or -- COMMAND [ARGS...]",
                    fmt::format("see iodiag {} --help", command_name));
    if (target.pid < 0) return fail(ErrorKind::usage, fmt::format("not a pid: {}", target.pid));
    if (target.children && !target.pid)
        return fail(ErrorKind::usage, "--children goes with --pid (a launched command is always traced "
                                      "with the processes it starts)");
    return {};
}

uint64_t effective_duration_ms(const TraceTarget& target) {
    if (target.duration_ms || target.no_deadline) return target.duration_ms;
    return target.pid ? kDefaultAttachMs : 0;
}

std::string describe_target(const TraceTarget& target) {
    if (!target.pid) return target.command.empty() ? std::string("(no target)") : target.command.front();
    auto comm = trace::ProcFs().comm(target.pid);
    return fmt::format("pid {}{}", target.pid, comm ? " (" + *comm + ")" : std::string());
}

}  // namespace iodiag::usecase
