#include "wizard/prompter.hpp"

#include <cerrno>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "wizard/action_catalogue.hpp"

namespace iodiag::wizard {
namespace {

std::string trim(std::string s) {
    const auto first = s.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) return {};
    return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

std::vector<std::string> split_words(const std::string& text) {
    std::istringstream in(text);
    std::vector<std::string> words;
    for (std::string w; in >> w;) words.push_back(w);
    return words;
}

Status check_answer(const Step& step, const Question& question, const std::string& value) {
    const ActionSpec* action = find_action(step.action);
    const ParamSpec* param = action ? find_param(*action, question.id) : nullptr;
    if (!param) return {};
    if (!question.choices.empty() &&
        std::find(question.choices.begin(), question.choices.end(), value) == question.choices.end())
        return fail(ErrorKind::usage, fmt::format("{}: '{}' is not one of {}", question.id, value,
                                                  fmt::join(question.choices, ", ")));
    return check_param_value(*param, value);
}

}  // namespace

std::optional<std::string> answer_for(const nlohmann::ordered_json& answers, const std::string& step,
                                      const std::string& param) {
    for (const std::string& key : {step + "." + param, param}) {
        if (!answers.is_object() || !answers.contains(key)) continue;
        const auto& value = answers.at(key);
        if (value.is_string()) return value.get<std::string>();
        if (value.is_number()) return value.dump();
    }
    return std::nullopt;
}

Result<nlohmann::ordered_json> load_answers(const std::string& path) {
    std::ifstream in(path);
    if (!in) return fail(ErrorKind::not_found, "cannot read the answers file " + path);
    nlohmann::ordered_json answers;
    try {
        answers = nlohmann::ordered_json::parse(in);
    } catch (const nlohmann::json::parse_error& e) {
        return fail(ErrorKind::bad_input, fmt::format("answers file {}: not valid JSON: {}", path, e.what()));
    }
    if (!answers.is_object())
        return fail(ErrorKind::bad_input, "answers file " + path + ": must be a JSON object",
                    R"(e.g. {"target": {"pid": 1234}, "duration": "5s", "model.duration": "20s"})");
    for (const auto& [key, value] : answers.items()) {
        if (key == "target") {
            const bool pid = value.is_object() && value.contains("pid") && value.at("pid").is_number_integer();
            const bool command = value.is_object() && value.contains("command") && value.at("command").is_array();
            if (!pid && !command)
                return fail(ErrorKind::bad_input, "answers file " + path + ": 'target' must be {\"pid\": N} or "
                                                                           "{\"command\": [\"prog\", \"arg\"]}");
            continue;
        }
        if (!value.is_string() && !value.is_number())
            return fail(ErrorKind::bad_input,
                        fmt::format("answers file {}: '{}' must be a string or a number", path, key));
    }
    return answers;
}

// --- the terminal --------------------------------------------------------------------------

void TerminalPrompter::show(std::string_view text) {
    out_ << text;
    out_.flush();
}

std::optional<std::string> TerminalPrompter::read_line(std::string_view prompt) {
    out_ << prompt;
    out_.flush();
    std::string line;
    if (!std::getline(in_, line)) {
        in_.clear();
        return std::nullopt;  // end of input, or Ctrl-C interrupted the read
    }
    return trim(line);
}

Result<std::string> TerminalPrompter::ask(const Step& step, const Question& question, const std::string& default_value) {
    for (;;) {
        std::string prompt = "  " + question.prompt;
        if (!question.choices.empty()) prompt += fmt::format(" ({})", fmt::join(question.choices, "/"));
        prompt += default_value.empty() ? ": " : fmt::format(" [{}]: ", default_value);
        auto line = read_line(prompt);
        if (!line) return fail(ErrorKind::aborted, "quit at a question");
        const std::string value = line->empty() ? default_value : *line;
        if (value.empty()) return value;  // no default and no answer: the action decides
        if (auto ok = check_answer(step, question, value); !ok) {
            out_ << "  " << ok.error().message << (ok.error().hint.empty() ? "" : " (" + ok.error().hint + ")") << '\n';
            continue;
        }
        return value;
    }
}

BeforeStep TerminalPrompter::before_step(const Step&) {
    for (;;) {
        auto line = read_line("  [Enter] run   s skip   q quit (resume later): ");
        if (!line || *line == "q") return BeforeStep::quit;
        if (line->empty() || *line == "r" || *line == "y") return BeforeStep::run;
        if (*line == "s") return BeforeStep::skip;
        out_ << "  type Enter, s or q\n";
    }
}

AfterStep TerminalPrompter::after_step(const Step&, const StepRecord&) {
    for (;;) {
        auto line = read_line("  [Enter] next   r redo   q quit (resume later): ");
        if (!line || *line == "q") return AfterStep::quit;
        if (line->empty() || *line == "n") return AfterStep::next;
        if (*line == "r") return AfterStep::redo;
        out_ << "  type Enter, r or q\n";
    }
}

Result<SessionTarget> TerminalPrompter::choose_target(const std::vector<ProcessIo>& busiest) {
    if (busiest.empty()) {
        out_ << "No process did IO in the last 2 s.\n";
    } else {
        out_ << "The processes doing the most IO now (bytes/s over 2 s, from /proc/PID/io):\n";
        for (size_t i = 0; i < busiest.size(); ++i) out_ << fmt::format("  {:>2}) {}\n", i + 1, describe(busiest[i]));
    }
    for (;;) {
        auto line = read_line(busiest.empty() ? "Target: a pid, or c COMMAND to launch one, or q: "
                                              : "Target: a number from the list, p PID, c COMMAND to launch one, or q: ");
        if (!line || *line == "q") return fail(ErrorKind::aborted, "quit before choosing a target");
        SessionTarget target;
        const auto words = split_words(*line);
        if (words.empty()) continue;
        if (words[0] == "c" && words.size() > 1) {
            target.command.assign(words.begin() + 1, words.end());
            return target;
        }
        const std::string& number = words[0] == "p" && words.size() > 1 ? words[1] : words[0];
        if (!number.empty() && std::all_of(number.begin(), number.end(), ::isdigit) && number.size() < 10) {
            const long n = std::stol(number);
            if (words[0] != "p" && n >= 1 && static_cast<size_t>(n) <= busiest.size()) {
                target.pid = busiest[static_cast<size_t>(n - 1)].pid;
                return target;
            }
            if (n > 0) {
                target.pid = static_cast<int32_t>(n);
                return target;
            }
        }
        out_ << "  not a choice: " << *line << '\n';
    }
}

// --- straight through ----------------------------------------------------------------------

void BatchPrompter::show(std::string_view text) {
    out_ << text;
    out_.flush();
}

Result<std::string> BatchPrompter::ask(const Step& step, const Question& question, const std::string& default_value) {
    auto answer = answer_for(answers_, step.id, question.id);
    if (!answer) return default_value;
    if (auto ok = check_answer(step, question, *answer); !ok)
        return fail(ErrorKind::usage, fmt::format("answers: step '{}': {}", step.id, ok.error().message), ok.error().hint);
    return *answer;
}

Result<SessionTarget> BatchPrompter::choose_target(const std::vector<ProcessIo>& busiest) {
    SessionTarget target;
    if (answers_.contains("target")) {
        const auto& t = answers_.at("target");
        if (t.contains("pid")) target.pid = t.at("pid").get<int32_t>();
        else target.command = t.at("command").get<std::vector<std::string>>();
        return target;
    }
    if (busiest.empty())
        return fail(ErrorKind::usage, "no target given, and no process did IO in the last 2 s",
                    "give --pid PID or -- COMMAND, or \"target\" in the answers file");
    target.pid = busiest.front().pid;
    out_ << fmt::format("target: the busiest process by IO, {}\n", describe(busiest.front()));
    return target;
}

}  // namespace iodiag::wizard
