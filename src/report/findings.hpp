// Findings across every step of a diagnosis: one list, each with its evidence (numbers with units
// and the step that measured them), the note's section, and the next step to take. The rules read
// the session folder's outputs (model.json, stack.json, latency.json, ...), so `iodiag report DIR`
// rebuilds the same findings from the folder alone. Thresholds live in report/thresholds.hpp.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace iodiag::report {

using ordered_json = nlohmann::ordered_json;

enum class Severity { info = 0, warning = 1, critical = 2 };
std::string_view severity_name(Severity severity);

struct Evidence {
    std::string what;    // "fdatasync calls per write"
    std::string value;   // "1 per 1 writes", with units
    std::string step;    // the step that measured it ("model")
};

struct Finding {
    std::string id;
    Severity severity = Severity::info;
    std::string title;
    std::vector<Evidence> evidence;
    std::string section;     // the analysis note's section
    std::string next_step;   // what to run or change
};

// A rule of the catalogue: playbooks name these in a step's "findings" (or a family: "latency.*").
struct RuleSpec {
    std::string id;
    std::string summary;
    std::vector<std::string> inputs;   // outputs it reads: "model.json", ...
};
const std::vector<RuleSpec>& rule_catalogue();
bool known_rule_pattern(std::string_view pattern);          // an id, or "family.*" matching one
bool rule_enabled(std::string_view id, const std::vector<std::string>& patterns);

// The step outputs the rules read, as loaded from a session folder. Each is null when absent.
struct StepOutputs {
    ordered_json model, stack, latency, slow, offcpu, wakeup, reproduce, kvm, kvm_compare, kvm_trace;
    ordered_json probe_depth1, probe_syncwrite;
    // Which step wrote each file ("model.json" -> "model"), to name it in the evidence.
    std::vector<std::pair<std::string, std::string>> producers;
    std::string step_of(const std::string& file) const;
};

// Every enabled rule over the outputs, ranked: critical first, then warning, then info; within a
// severity in catalogue order.
std::vector<Finding> evaluate_findings(const StepOutputs& outputs, const std::vector<std::string>& enabled);

ordered_json to_json(const Finding& finding);
ordered_json to_json(const std::vector<Finding>& findings);

}  // namespace iodiag::report
