#include "wizard/engine.hpp"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "wizard/action_catalogue.hpp"

namespace iodiag::wizard {
namespace {

const char* marker(StepState state) {
    switch (state) {
    case StepState::done: return "[x]";
    case StepState::failed: return "[!]";
    case StepState::skipped: return "[-]";
    case StepState::running: return "[~]";
    case StepState::todo: return "[ ]";
    }
    return "[ ]";
}

bool depends_ok(const StepRecord* record) { return record && record->state == StepState::done; }

// Prints the use case's remarks under the step, as they come.
class StepObserver final : public usecase::Observer {
public:
    StepObserver(Prompter& prompter, usecase::Observer* status) : prompter_(prompter), status_(status) {}
    void note(std::string_view message) override { prompter_.show(fmt::format("  · {}\n", message)); }
    void status(std::string_view line) override {
        if (status_) status_->status(line);
    }
    void status_end() override {
        if (status_) status_->status_end();
    }

private:
    Prompter& prompter_;
    usecase::Observer* status_;
};

}  // namespace

std::vector<StepRecord> fresh_records(const Playbook& playbook) {
    std::vector<StepRecord> records;
    for (const auto& step : playbook.steps) {
        StepRecord record;
        record.id = step.id;
        record.findings = step.findings;
        records.push_back(std::move(record));
    }
    return records;
}

std::string render_record(const StepRecord& record) {
    std::string out;
    for (const auto& line : record.summary) out += "    " + line + "\n";
    if (!record.reason.empty()) out += fmt::format("    ({})\n", record.reason);
    return out;
}

std::string Engine::checklist(size_t current) const {
    std::string out = fmt::format("{} — {}\n", playbook_.name, playbook_.title);
    for (size_t i = 0; i < playbook_.steps.size(); ++i) {
        const Step& step = playbook_.steps[i];
        const StepRecord* record = session_.find(step.id);
        const StepState state = record ? record->state : StepState::todo;
        out += fmt::format("{} {} {:>2}. {:<34} {}\n", i == current ? ">" : " ", marker(state), i + 1, step.title,
                           state == StepState::todo ? std::string() : std::string(state_name(state)));
    }
    return out;
}

Status Engine::save() { return save_session(session_); }

std::string Engine::skip_reason(const Step& step) {
    for (const auto& dependency : step.after)
        if (!depends_ok(session_.find(dependency)))
            return fmt::format("needs step '{}', which did not complete", dependency);
    const ActionSpec* action = find_action(step.action);
    if (action && action->needs_target && !session_.target.given()) return "no target process or command";
    for (const auto& condition : step.when) {
        const bool negated = !condition.empty() && condition.front() == '!';
        const std::string name = negated ? condition.substr(1) : condition;
        std::string why;
        const bool value = facts_.holds(name, session_, why);
        // `why` describes the state found ("no qemu process on this machine"), true or false.
        if (value == negated) return fmt::format("does not apply: {}", why.empty() ? condition : why);
    }
    return {};
}

Result<std::map<std::string, std::string>> Engine::params_for(const Step& step) {
    std::map<std::string, std::string> params = step.params;
    const ActionSpec* action = find_action(step.action);
    if (action)
        for (const auto& spec : action->params)
            if (!spec.default_value.empty() && !params.count(spec.name)) params[spec.name] = spec.default_value;
    if (action)
        for (const auto& spec : action->params) {
            const bool asked = std::any_of(step.questions.begin(), step.questions.end(),
                                           [&](const Question& q) { return q.id == spec.name; });
            auto value = asked ? std::nullopt : prompter_.preset(step, spec.name);
            if (!value) continue;
            if (auto ok = check_param_value(spec, *value); !ok)
                return fail(ErrorKind::usage, fmt::format("answers: step '{}': {}", step.id, ok.error().message));
            params[spec.name] = *value;
        }
    for (const auto& question : step.questions) {
        // An answer given earlier in this session (a redo, a resume) is the default now.
        std::string current = question.default_value;
        if (auto earlier = answer_for(session_.answers, step.id, question.id)) current = *earlier;
        auto value = prompter_.ask(step, question, current);
        if (!value) return tl::unexpected(value.error());
        if (value->empty()) continue;
        params[question.id] = *value;
        session_.answers[step.id + "." + question.id] = *value;
    }
    return params;
}

Result<EngineEnd> Engine::run_step(const Step& step, StepRecord& record) {
    auto params = params_for(step);
    if (!params) {
        if (params.error().kind == ErrorKind::aborted) return EngineEnd::quit;
        record.state = StepState::failed;
        record.reason = params.error().message;
        return EngineEnd::finished;
    }
    record = StepRecord{step.id, StepState::running, {}, utc_now(), {}, 0, *params, {}, {}, step.findings};
    if (auto ok = save(); !ok) return tl::unexpected(ok.error());

    StepObserver observer(prompter_, status_);
    const auto start = std::chrono::steady_clock::now();
    auto outcome = runner_.run(step, *params, session_, observer);
    record.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    record.ended = utc_now();
    if (outcome) {
        record.state = StepState::done;
        record.outputs = outcome->outputs;
        record.summary = outcome->summary;
        record.reason = outcome->note;
    } else if (outcome.error().kind == ErrorKind::aborted) {
        record.state = StepState::todo;  // --resume runs it again
        record.reason = "aborted by a second Ctrl-C";
    } else {
        record.state = StepState::failed;
        record.reason = outcome.error().message + (outcome.error().hint.empty() ? "" : " (" + outcome.error().hint + ")");
    }
    if (auto ok = save(); !ok) return tl::unexpected(ok.error());
    if (!outcome && outcome.error().kind == ErrorKind::aborted) return EngineEnd::aborted;
    return EngineEnd::finished;
}

Result<EngineEnd> Engine::run() {
    const bool interactive = prompter_.interactive();
    for (size_t i = session_.first_unfinished(); i < playbook_.steps.size(); ++i) {
        const Step& step = playbook_.steps[i];
        StepRecord* record = session_.find(step.id);
        if (!record) return fail(ErrorKind::internal, "session.json lacks step " + step.id);
        if (interactive) prompter_.show("\n" + checklist(i));
        prompter_.show(fmt::format("\n[{}/{}] {}\n", i + 1, playbook_.steps.size(), step.title));

        if (const std::string reason = skip_reason(step); !reason.empty()) {
            record->state = StepState::skipped;
            record->reason = reason;
            record->findings = step.findings;
            prompter_.show(fmt::format("  skipped: {}\n", reason));
            if (auto ok = save(); !ok) return tl::unexpected(ok.error());
            continue;
        }
        if (interactive) {
            prompter_.show(fmt::format("  {}\n  (note: {})\n", step.why, step.section));
            const BeforeStep choice = prompter_.before_step(step);
            if (choice == BeforeStep::quit) return EngineEnd::quit;
            if (choice == BeforeStep::skip) {
                record->state = StepState::skipped;
                record->reason = "skipped by the user";
                record->findings = step.findings;
                if (auto ok = save(); !ok) return tl::unexpected(ok.error());
                continue;
            }
        }
        for (;;) {
            auto ended = run_step(step, *record);
            if (!ended) return tl::unexpected(ended.error());
            if (*ended != EngineEnd::finished) return *ended;  // quit at a question, or a second Ctrl-C
            prompter_.show(fmt::format("  {} in {:.1f}s\n{}", state_name(record->state), record->seconds,
                                       render_record(*record)));
            if (!interactive) break;
            const AfterStep next = prompter_.after_step(step, *record);
            if (next == AfterStep::quit) return EngineEnd::quit;
            if (next == AfterStep::next) break;
        }
    }
    session_.finished = true;
    if (auto ok = save(); !ok) return tl::unexpected(ok.error());
    if (interactive) prompter_.show("\n" + checklist(playbook_.steps.size()));
    return EngineEnd::finished;
}

}  // namespace iodiag::wizard
