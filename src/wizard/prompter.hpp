// How the step engine talks to the person: a terminal checklist that asks (TerminalPrompter), or
// straight through with defaults and an answers file (BatchPrompter). The engine decides what to
// ask; the prompter only asks and shows.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "wizard/playbook.hpp"
#include "wizard/session.hpp"
#include "wizard/top_processes.hpp"

namespace iodiag::wizard {

// The answer for `param` of `step` in an answers object: "step.param" first, then "param".
std::optional<std::string> answer_for(const nlohmann::ordered_json& answers, const std::string& step,
                                      const std::string& param);

enum class BeforeStep { run, skip, quit };
enum class AfterStep { next, redo, quit };

class Prompter {
public:
    virtual ~Prompter() = default;
    virtual bool interactive() const = 0;
    virtual void show(std::string_view text) = 0;
    // The value for one question: the answer given, or the default.
    virtual Result<std::string> ask(const Step& step, const Question& question, const std::string& default_value) = 0;
    virtual BeforeStep before_step(const Step& step) = 0;
    virtual AfterStep after_step(const Step& step, const StepRecord& record) = 0;
    // A value given in advance for a parameter the step does not ask (an answers file may set any
    // of the action's parameters); nullopt to keep the playbook's.
    virtual std::optional<std::string> preset(const Step& step, const std::string& param) {
        (void)step, (void)param;
        return std::nullopt;
    }
    // The target when none was given: one of `busiest`, a pid, or a command.
    virtual Result<SessionTarget> choose_target(const std::vector<ProcessIo>& busiest) = 0;
};

// Reads lines from `in`, writes to `out`. A closed input or Ctrl-C at a prompt means quit.
class TerminalPrompter final : public Prompter {
public:
    TerminalPrompter(std::istream& in, std::ostream& out) : in_(in), out_(out) {}
    bool interactive() const override { return true; }
    void show(std::string_view text) override;
    Result<std::string> ask(const Step& step, const Question& question, const std::string& default_value) override;
    BeforeStep before_step(const Step& step) override;
    AfterStep after_step(const Step& step, const StepRecord& record) override;
    Result<SessionTarget> choose_target(const std::vector<ProcessIo>& busiest) override;

private:
    std::optional<std::string> read_line(std::string_view prompt);
    std::istream& in_;
    std::ostream& out_;
};

// Defaults, overridden by an answers file: {"target": {"pid": 1234} | {"command": [...]},
// "duration": "5s" (every step with that parameter), "model.duration": "20s" (one step)}.
class BatchPrompter final : public Prompter {
public:
    BatchPrompter(nlohmann::ordered_json answers, std::ostream& out) : answers_(std::move(answers)), out_(out) {}
    bool interactive() const override { return false; }
    void show(std::string_view text) override;
    Result<std::string> ask(const Step& step, const Question& question, const std::string& default_value) override;
    BeforeStep before_step(const Step&) override { return BeforeStep::run; }
    AfterStep after_step(const Step&, const StepRecord&) override { return AfterStep::next; }
    std::optional<std::string> preset(const Step& step, const std::string& param) override {
        return answer_for(answers_, step.id, param);
    }
    Result<SessionTarget> choose_target(const std::vector<ProcessIo>& busiest) override;

private:
    nlohmann::ordered_json answers_;
    std::ostream& out_;
};

// Reads and checks an answers file: a JSON object whose values are strings or numbers, and an
// optional "target".
Result<nlohmann::ordered_json> load_answers(const std::string& path);


}  // namespace iodiag::wizard
