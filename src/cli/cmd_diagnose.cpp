#include "cli/cmd_diagnose.hpp"

#include <unistd.h>

#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/exit_codes.hpp"
#include "cli/stderr_observer.hpp"
#include "report/report.hpp"
#include "wizard/action_catalogue.hpp"
#include "wizard/actions.hpp"
#include "wizard/diagnose.hpp"
#include "wizard/facts.hpp"
#include "wizard/prompter.hpp"

namespace iodiag::cli {
namespace {

Status validate(const DiagnoseOptions& o) {
    if (o.pid && !o.command.empty())
        return fail(ErrorKind::usage, "give --pid PID or -- COMMAND, not both", "see iodiag diagnose --help");
    if (o.children && !o.pid)
        return fail(ErrorKind::usage, "--children goes with --pid (a launched command is always traced with the "
                                      "processes it starts)");
    if (!o.resume.empty() && (o.pid || !o.command.empty() || !o.playbook.empty() || !o.session.empty()))
        return fail(ErrorKind::usage, "--resume DIR continues a session with its own target and playbook",
                    "leave out --pid, -- COMMAND, --playbook and --session");
    const bool terminal = isatty(STDIN_FILENO) == 1;
    if (!terminal && !o.yes && o.answers.empty())
        return fail(ErrorKind::usage, "stdin is not a terminal, so the checklist cannot ask",
                    "add --yes to run straight through with the defaults (and --answers FILE for other answers)");
    return {};
}

int list_playbooks(bool json) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& name : wizard::playbook_names()) {
        auto playbook = wizard::find_playbook(name);
        if (!playbook) {
            out.push_back({{"name", name}, {"error", playbook.error().message}});
            if (!json) std::cout << fmt::format("{:<14} BROKEN: {}\n", name, playbook.error().message);
            continue;
        }
        std::vector<std::string> steps;
        for (const auto& step : playbook->steps) steps.push_back(step.id);
        out.push_back({{"name", name}, {"title", playbook->title}, {"file", playbook->file}, {"steps", steps}});
        if (!json) std::cout << fmt::format("{:<14} {}\n{:<14} steps: {}\n", name, playbook->title, "", fmt::join(steps, ", "));
    }
    if (json) print_json(out);
    return kExitOk;
}

}  // namespace

void add_diagnose_command(CLI::App& app, DiagnoseOptions& options) {
    CLI::App* cmd = app.add_subcommand(
        "diagnose", "The guided diagnosis: walks the analysis note's method step by step (model, stack, latency, "
                    "slow ops, off-CPU, reproduce, probes) and ends with a findings report");
    auto* pid = cmd->add_option("-p,--pid", options.pid, "The process to diagnose")->check(CLI::PositiveNumber);
    cmd->add_flag("--children", options.children, "With --pid: also trace the processes it starts");
    cmd->add_option("--playbook", options.playbook,
                    "A playbook name (slow-process, sync-writes, kvm-guest, kvm-host) or a file (default: slow-process)");
    cmd->add_option("--session", options.session, "The session folder (default: a new ./iodiag-DATE-TIME)");
    cmd->add_option("--resume", options.resume, "Continue the session in this folder at its first unfinished step");
    cmd->add_option("--answers", options.answers,
                    "A JSON file of answers: {\"target\": {\"pid\": N}, \"duration\": \"5s\", \"model.duration\": \"20s\"}");
    cmd->add_flag("-y,--yes", options.yes, "Do not ask: take the defaults (and --answers) and run straight through");
    cmd->add_flag("--json", options.json, "At the end, print the session's outcome as JSON on stdout (the checklist goes to stderr)");
    cmd->add_flag("--progress", options.progress, "Progress lines on stderr while tracing, even when it is not a terminal");
    cmd->add_flag("--list-playbooks", options.list_playbooks, "List the playbooks found, with their steps");
    auto* command = cmd->add_option("command", options.command, "-- COMMAND [ARGS...]: launch this command for each tracing step");
    pid->excludes(command);
    cmd->footer("Examples:\n"
                "  iodiag diagnose --pid $(pidof postgres)\n"
                "  iodiag diagnose --yes --playbook sync-writes -- fio job.fio\n"
                "  iodiag diagnose --resume iodiag-20261204-153000\n"
                "  iodiag report iodiag-20261204-153000 --format html -o report.html");
}

int run_diagnose(const DiagnoseOptions& options) {
    if (options.list_playbooks) return list_playbooks(options.json);
    if (auto ok = validate(options); !ok) return report_error(ok.error(), options.json);

    nlohmann::ordered_json answers = nlohmann::ordered_json::object();
    if (!options.answers.empty()) {
        auto loaded = wizard::load_answers(options.answers);
        if (!loaded) return report_error(loaded.error(), options.json);
        answers = *loaded;
    }
    std::ostream& display = options.json ? std::cerr : std::cout;
    const bool interactive = isatty(STDIN_FILENO) == 1 && !options.yes && options.answers.empty();
    wizard::TerminalPrompter terminal(std::cin, display);
    wizard::BatchPrompter batch(answers, display);
    wizard::Prompter& prompter = interactive ? static_cast<wizard::Prompter&>(terminal) : batch;

    wizard::DiagnoseRequest request;
    request.target.pid = options.pid;
    request.target.command = options.command;
    request.target.children = options.children;
    request.target.progress = options.progress;
    request.playbook = options.playbook;
    request.session_dir = options.session;
    request.resume_dir = options.resume;
    wizard::LibraryActions actions;
    wizard::SystemFacts facts;
    StderrObserver status;  // tracing progress on stderr, as the other commands show it
    auto result = wizard::diagnose(request, prompter, actions, facts, &status);
    if (!result) {
        if (result.error().kind == ErrorKind::aborted && !options.json) {
            std::fprintf(stderr, "iodiag: %s\n", result.error().message.c_str());
            return kExitOk;
        }
        return report_error(result.error(), options.json);
    }

    const auto& session = result->session;
    if (result->end != wizard::EngineEnd::finished)
        display << fmt::format("\n{}; the session is saved. Continue with: iodiag diagnose --resume {}\n",
                               result->end == wizard::EngineEnd::aborted ? "aborted" : "stopped", session.dir);
    else {
        display << fmt::format("\nreport: {}\n", fmt::join(result->report_files, "\n        "));
        for (const auto& line : report::top_findings(result->report, 5)) display << "  " << line << '\n';
    }
    display.flush();
    if (options.json) {
        nlohmann::ordered_json steps = nlohmann::ordered_json::array();
        for (const auto& step : session.steps)
            steps.push_back({{"id", step.id}, {"state", std::string(wizard::state_name(step.state))}, {"reason", step.reason},
                             {"outputs", step.outputs}});
        print_json(nlohmann::ordered_json{
            {"session", session.dir},
            {"state", result->end == wizard::EngineEnd::finished ? "finished"
                      : result->end == wizard::EngineEnd::aborted ? "aborted" : "stopped"},
            {"steps", steps},
            {"report_files", result->report_files},
            {"findings", result->report.is_object() ? result->report.value("findings", nlohmann::ordered_json::array())
                                                    : nlohmann::ordered_json::array()}});
    }
    return result->end == wizard::EngineEnd::aborted ? kExitAborted : kExitOk;
}

void add_report_command(CLI::App& app, ReportOptions& options) {
    CLI::App* cmd = app.add_subcommand("report", "Write a diagnosis session's findings report (report.md, report.json, report.html)");
    cmd->add_option("dir", options.dir, "The session folder `iodiag diagnose` made")->required();
    cmd->add_option("-o,--output", options.output, "Write one report to this file (its format from --format or the extension)");
    cmd->add_option("--format", options.format, "md, html or json (default: all three into DIR)")
        ->check(CLI::IsMember({"md", "html", "json"}));
}

int run_report(const ReportOptions& options) {
    std::optional<report::Format> format;
    std::string name = options.format;
    if (name.empty() && !options.output.empty()) {
        const std::string ext = std::filesystem::path(options.output).extension().string();
        name = ext == ".html" || ext == ".htm" ? "html" : ext == ".json" ? "json" : "md";
    }
    if (name == "md") format = report::Format::md;
    else if (name == "html") format = report::Format::html;
    else if (name == "json") format = report::Format::json;
    auto written = report::write_report(options.dir, options.output, format);
    if (!written) return report_error(written.error());
    for (const auto& file : written->files) std::cout << file << '\n';
    for (const auto& line : report::top_findings(written->report, 5)) std::cout << "  " << line << '\n';
    return kExitOk;
}

}  // namespace iodiag::cli
