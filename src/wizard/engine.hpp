// The step engine: walks a playbook's steps in order over a session, deciding for each whether it
// applies (its `when` conditions, the steps it comes after, a target when it traces one), asking
// its questions, running its action and recording the outcome. session.json is saved before and
// after every step, so a killed run resumes at the step it was in. A failing step is recorded
// with its reason and the steps that do not depend on it still run.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "usecase/observer.hpp"
#include "wizard/playbook.hpp"
#include "wizard/prompter.hpp"
#include "wizard/session.hpp"

namespace iodiag::wizard {

// What a step's `when` conditions are evaluated against: the system and earlier results.
class Facts {
public:
    virtual ~Facts() = default;
    // Whether the condition holds; `why` gets a short reason either way ("not a VM guest").
    virtual bool holds(const std::string& condition, const Session& session, std::string& why) = 0;
};

struct StepOutcome {
    std::vector<std::string> outputs;   // files written in the session folder
    std::vector<std::string> summary;   // a few lines for the checklist and the report
    std::string note;                   // e.g. "interrupted: kept what was gathered"
};

// Runs one action with its parameters; implemented in wizard/actions.cpp over the library's use
// cases, and by fakes in the engine's tests.
class ActionRunner {
public:
    virtual ~ActionRunner() = default;
    virtual Result<StepOutcome> run(const Step& step, const std::map<std::string, std::string>& params,
                                    Session& session, usecase::Observer& observer) = 0;
};

// quit: the person chose to stop; aborted: a second Ctrl-C stopped a step. Both can be resumed.
enum class EngineEnd { finished, quit, aborted };

class Engine {
public:
    // A step's live status lines (tracing progress) go to `status`, when given.
    Engine(Session& session, const Playbook& playbook, Prompter& prompter, ActionRunner& runner, Facts& facts,
           usecase::Observer* status = nullptr)
        : session_(session), playbook_(playbook), prompter_(prompter), runner_(runner), facts_(facts), status_(status) {}

    // From the first unfinished step to the end, or until the person quits. Errors only when
    // session.json cannot be written (the steps' own failures are recorded, not returned).
    Result<EngineEnd> run();

    // The checklist: each step with its state marker, the current one pointed at.
    std::string checklist(size_t current) const;

private:
    Status save();
    // Why the step cannot run now (a dependency failed, a condition is false, no target); empty if it can.
    std::string skip_reason(const Step& step);
    Result<std::map<std::string, std::string>> params_for(const Step& step);
    // The step's record is final; returns quit when the person quit at a question, aborted after a
    // second Ctrl-C, finished otherwise.
    Result<EngineEnd> run_step(const Step& step, StepRecord& record);

    Session& session_;
    const Playbook& playbook_;
    Prompter& prompter_;
    ActionRunner& runner_;
    Facts& facts_;
    usecase::Observer* status_;
};

// A session's step records for a playbook: one todo record per step, in order.
std::vector<StepRecord> fresh_records(const Playbook& playbook);

// The summary lines of a step record, indented, for display.
std::string render_record(const StepRecord& record);

}  // namespace iodiag::wizard
