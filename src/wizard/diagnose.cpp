#include "wizard/diagnose.hpp"

#include <signal.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "report/report.hpp"
#include "trace/proc_fd.hpp"
#include "usecase/target.hpp"
#include "wizard/action_catalogue.hpp"
#include "wizard/top_processes.hpp"

namespace iodiag::wizard {
namespace {

// Ctrl-C during a step that runs fio reaches fio too (the terminal signals the whole process
// group): fio stops and reports, and iodiag must live on to record the step. Trace steps install
// their own handling while they run. At a prompt, the interrupted read means quit.
class InterruptGuard {
public:
    InterruptGuard() {
        struct sigaction action {};
        action.sa_handler = [](int) {};
        sigemptyset(&action.sa_mask);
        action.sa_flags = 0;  // no SA_RESTART: a read at a prompt returns
        sigaction(SIGINT, &action, &old_);
    }
    ~InterruptGuard() { sigaction(SIGINT, &old_, nullptr); }
    InterruptGuard(const InterruptGuard&) = delete;
    InterruptGuard& operator=(const InterruptGuard&) = delete;

private:
    struct sigaction old_ {};
};

// "pid 1234 (fio)" as every tracing command says it; a command with all its arguments.
std::string describe(const SessionTarget& target) {
    if (!target.command.empty()) return fmt::format("{}", fmt::join(target.command, " "));
    usecase::TraceTarget traced;
    traced.pid = target.pid;
    return target.pid ? usecase::describe_target(traced) : "(none)";
}

Result<std::pair<Session, Playbook>> start(const DiagnoseRequest& request, Prompter& prompter) {
    auto playbook = find_playbook(request.playbook.empty() ? kDefaultPlaybook : request.playbook);
    if (!playbook) return tl::unexpected(playbook.error());
    Session session;
    session.target = request.target;
    if (!session.target.given() && needs_target(*playbook)) {
        prompter.show("Looking for the processes doing the most IO (2 s) ...\n");
        auto chosen = prompter.choose_target(busiest_processes());
        if (!chosen) return tl::unexpected(chosen.error());
        session.target = *chosen;
    }
    if (session.target.pid && !trace::ProcFs().comm(session.target.pid))
        return fail(ErrorKind::not_found, fmt::format("no process with pid {}", session.target.pid));
    session.target.description = describe(session.target);
    auto dir = make_session_dir(request.session_dir);
    if (!dir) return tl::unexpected(dir.error());
    session.dir = *dir;
    session.tool_version = IODIAG_VERSION;
    session.created = utc_now();
    session.machine = this_machine();
    session.playbook_name = playbook->name;
    session.playbook_file = playbook->file;
    session.playbook_source = playbook->source;
    session.steps = fresh_records(*playbook);
    if (auto ok = save_session(session); !ok) return tl::unexpected(ok.error());
    return std::pair{std::move(session), std::move(*playbook)};
}

Result<std::pair<Session, Playbook>> resume(const DiagnoseRequest& request) {
    auto session = load_session(request.resume_dir);
    if (!session) return tl::unexpected(session.error());
    if (auto ok = check_resumable(*session); !ok) return tl::unexpected(ok.error());
    auto playbook = parse_playbook(session->playbook_source, session->path(kSessionFile));
    if (!playbook) return tl::unexpected(playbook.error());
    if (session->steps.size() != playbook->steps.size())
        return fail(ErrorKind::bad_input, session->path(kSessionFile) + ": its steps do not match its playbook");
    return std::pair{std::move(*session), std::move(*playbook)};
}

}  // namespace

bool needs_target(const Playbook& playbook) {
    for (const auto& step : playbook.steps)
        if (const ActionSpec* action = find_action(step.action); action && action->needs_target) return true;
    return false;
}

Result<DiagnoseResult> diagnose(const DiagnoseRequest& request, Prompter& prompter, ActionRunner& runner, Facts& facts,
                                usecase::Observer* status) {
    InterruptGuard interrupts;
    auto begun = request.resume_dir.empty() ? start(request, prompter) : resume(request);
    if (!begun) return tl::unexpected(begun.error());
    auto& [session, playbook] = *begun;
    session.target.progress = request.target.progress;
    prompter.show(fmt::format("session: {}\nplaybook: {} ({})\ntarget: {}\n", session.dir, playbook.name, playbook.title,
                              session.target.description));

    Engine engine(session, playbook, prompter, runner, facts, status);
    auto end = engine.run();
    if (!end) return tl::unexpected(end.error());

    DiagnoseResult result;
    result.end = *end;
    if (*end == EngineEnd::finished) {
        // Written again now that every step has its final state (a report step ran mid-way).
        auto written = report::write_report(session.dir);
        if (!written) return tl::unexpected(written.error());
        result.report_files = written->files;
        result.report = written->report;
    }
    result.session = std::move(session);
    return result;
}

}  // namespace iodiag::wizard
