// What each playbook action is, as data: its parameters with their types and defaults, whether it
// needs a target process, and what it writes. The playbook loader validates steps against this;
// wizard/actions.cpp runs them. One entry per capability of iodiag.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace iodiag::wizard {

enum class ParamType { duration, size, text, path, choice, count };

struct ParamSpec {
    std::string name;
    ParamType type = ParamType::text;
    std::string default_value;        // empty: none (the action decides, e.g. "auto")
    std::vector<std::string> choices; // ParamType::choice
    std::string help;
};

struct ActionSpec {
    std::string name;
    std::string summary;              // one line for the checklist
    bool needs_target = false;        // traces the session's target process or command
    std::vector<ParamSpec> params;
    std::vector<std::string> outputs; // files it writes in the session folder
};

const std::vector<ActionSpec>& action_catalogue();
const ActionSpec* find_action(std::string_view name);
const ParamSpec* find_param(const ActionSpec& action, std::string_view name);

// Checks a value against its parameter's type: "10s" for a duration, "256m" for a size, one of
// the choices. The message says what was expected.
Status check_param_value(const ParamSpec& param, const std::string& value);

// Conditions a step's `when` may use (each optionally negated with '!'), with what they mean.
struct ConditionSpec {
    std::string name;
    std::string meaning;
};
const std::vector<ConditionSpec>& condition_catalogue();
const ConditionSpec* find_condition(std::string_view name);

}  // namespace iodiag::wizard
