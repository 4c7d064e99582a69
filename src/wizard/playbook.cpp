#include "wizard/playbook.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "report/findings.hpp"
#include "wizard/action_catalogue.hpp"

namespace iodiag::wizard {
namespace {

namespace fs = std::filesystem;

// Collects the first problem with its place: "playbook FILE: step 'x': problem".
class Checker {
public:
    explicit Checker(std::string origin) : origin_(std::move(origin)) {}

    tl::unexpected<Error> problem(const std::string& where, const std::string& what) const {
        std::string message = "playbook " + origin_ + ": " + (where.empty() ? "" : where + ": ") + what;
        return fail(ErrorKind::bad_input, message, "see playbooks/README.md for the format");
    }

    const std::string& origin() const { return origin_; }

private:
    std::string origin_;
};

using Keys = std::set<std::string>;

Status only_keys(const Checker& check, const std::string& where, const ordered_json& object, const Keys& allowed) {
    for (const auto& [key, value] : object.items())
        if (!allowed.count(key))
            return check.problem(where, fmt::format("unknown key '{}' (allowed: {})", key, fmt::join(allowed, ", ")));
    return {};
}

Result<std::string> text(const Checker& check, const std::string& where, const ordered_json& object,
                         const char* key, bool required) {
    if (!object.contains(key)) {
        if (required) return check.problem(where, fmt::format("'{}' is missing", key));
        return std::string();
    }
    const auto& value = object.at(key);
    if (!value.is_string()) return check.problem(where, fmt::format("'{}' must be a string", key));
    if (required && value.get<std::string>().empty())
        return check.problem(where, fmt::format("'{}' is empty", key));
    return value.get<std::string>();
}

// A parameter value as written: JSON strings, numbers and booleans all become text.
Result<std::string> scalar_text(const Checker& check, const std::string& where, const ordered_json& value) {
    if (value.is_string()) return value.get<std::string>();
    if (value.is_number_integer() || value.is_number_unsigned()) return value.dump();
    return check.problem(where, "values must be strings or whole numbers");
}

Result<std::vector<std::string>> text_list(const Checker& check, const std::string& where,
                                           const ordered_json& object, const char* key) {
    std::vector<std::string> out;
    if (!object.contains(key)) return out;
    const auto& value = object.at(key);
    if (!value.is_array()) return check.problem(where, fmt::format("'{}' must be a list of strings", key));
    for (const auto& item : value) {
        if (!item.is_string()) return check.problem(where, fmt::format("'{}' must be a list of strings", key));
        out.push_back(item.get<std::string>());
    }
    return out;
}

Result<Question> parse_question(const Checker& check, const std::string& where, const ordered_json& json,
                                const ActionSpec& action, const std::map<std::string, std::string>& fixed) {
    if (!json.is_object()) return check.problem(where, "each question must be an object");
    if (auto ok = only_keys(check, where, json, {"id", "prompt", "default", "choices"}); !ok)
        return tl::unexpected(ok.error());
    Question q;
    auto id = text(check, where, json, "id", true);
    if (!id) return tl::unexpected(id.error());
    q.id = *id;
    const std::string at = where + ": question '" + q.id + "'";
    const ParamSpec* param = find_param(action, q.id);
    if (!param)
        return check.problem(at, fmt::format("action '{}' has no parameter '{}'", action.name, q.id));
    if (fixed.count(q.id)) return check.problem(at, "it is also fixed in 'params': ask or fix, not both");
    auto prompt = text(check, at, json, "prompt", true);
    if (!prompt) return tl::unexpected(prompt.error());
    q.prompt = *prompt;
    if (json.contains("default")) {
        auto value = scalar_text(check, at, json.at("default"));
        if (!value) return tl::unexpected(value.error());
        q.default_value = *value;
    } else {
        q.default_value = param->default_value;
    }
    auto choices = text_list(check, at, json, "choices");
    if (!choices) return tl::unexpected(choices.error());
    q.choices = *choices;
    if (q.choices.empty() && param->type == ParamType::choice) q.choices = param->choices;
    for (const auto& choice : q.choices)
        if (auto ok = check_param_value(*param, choice); !ok) return check.problem(at, ok.error().message);
    if (!q.default_value.empty())
        if (auto ok = check_param_value(*param, q.default_value); !ok)
            return check.problem(at, "default: " + ok.error().message);
    return q;
}

Result<Step> parse_step(const Checker& check, const ordered_json& json, size_t index,
                        const std::set<std::string>& earlier) {
    std::string where = fmt::format("step {}", index + 1);
    if (!json.is_object()) return check.problem(where, "each step must be an object");
    Step step;
    auto id = text(check, where, json, "id", true);
    if (!id) return tl::unexpected(id.error());
    step.id = *id;
    where = "step '" + step.id + "'";
    if (auto ok = only_keys(check, where, json,
                            {"id", "title", "why", "section", "action", "params", "questions", "when", "after",
                             "findings"});
        !ok)
        return tl::unexpected(ok.error());
    if (earlier.count(step.id)) return check.problem(where, "the id is used twice");
    for (auto [field, key, required] : {std::tuple{&step.title, "title", true}, {&step.why, "why", true},
                                        {&step.section, "section", true}, {&step.action, "action", true}}) {
        auto value = text(check, where, json, key, required);
        if (!value) return tl::unexpected(value.error());
        *field = *value;
    }
    const ActionSpec* action = find_action(step.action);
    if (!action) {
        std::vector<std::string> names;
        for (const auto& a : action_catalogue()) names.push_back(a.name);
        return check.problem(where, fmt::format("unknown action '{}' (known: {})", step.action, fmt::join(names, ", ")));
    }
    if (json.contains("params")) {
        const auto& params = json.at("params");
        if (!params.is_object()) return check.problem(where, "'params' must be an object");
        for (const auto& [key, value] : params.items()) {
            const ParamSpec* param = find_param(*action, key);
            if (!param) return check.problem(where, fmt::format("action '{}' has no parameter '{}'", action->name, key));
            auto value_text = scalar_text(check, where + ": param '" + key + "'", value);
            if (!value_text) return tl::unexpected(value_text.error());
            if (auto ok = check_param_value(*param, *value_text); !ok) return check.problem(where, ok.error().message);
            step.params[key] = *value_text;
        }
    }
    if (json.contains("questions")) {
        if (!json.at("questions").is_array()) return check.problem(where, "'questions' must be a list");
        for (const auto& q : json.at("questions")) {
            auto question = parse_question(check, where, q, *action, step.params);
            if (!question) return tl::unexpected(question.error());
            step.questions.push_back(std::move(*question));
        }
    }
    auto when = text_list(check, where, json, "when");
    if (!when) return tl::unexpected(when.error());
    for (const auto& condition : *when) {
        std::string_view name = condition;
        if (!name.empty() && name.front() == '!') name.remove_prefix(1);
        if (!find_condition(name)) {
            std::vector<std::string> names;
            for (const auto& c : condition_catalogue()) names.push_back(c.name);
            return check.problem(where, fmt::format("unknown condition '{}' in 'when' (known: {})", condition,
                                                    fmt::join(names, ", ")));
        }
    }
    step.when = *when;
    auto after = text_list(check, where, json, "after");
    if (!after) return tl::unexpected(after.error());
    for (const auto& dependency : *after)
        if (!earlier.count(dependency))
            return check.problem(where, fmt::format("'after' names '{}', which is not an earlier step", dependency));
    step.after = *after;
    auto findings = text_list(check, where, json, "findings");
    if (!findings) return tl::unexpected(findings.error());
    for (const auto& rule : *findings)
        if (!report::known_rule_pattern(rule))
            return check.problem(where, fmt::format("unknown findings rule '{}'", rule));
    step.findings = *findings;
    return step;
}

}  // namespace

const Step* Playbook::find(const std::string& id) const {
    for (const auto& step : steps)
        if (step.id == id) return &step;
    return nullptr;
}

Result<Playbook> parse_playbook(const ordered_json& document, const std::string& origin) {
    Checker check(origin);
    if (!document.is_object()) return check.problem("", "the document must be a JSON object");
    if (auto ok = only_keys(check, "", document, {"schema", "name", "title", "description", "steps"}); !ok)
        return tl::unexpected(ok.error());
    if (!document.contains("schema") || document.at("schema") != kPlaybookSchema)
        return check.problem("", fmt::format("'schema' must be {} (this iodiag reads playbook schema {})",
                                             kPlaybookSchema, kPlaybookSchema));
    Playbook playbook;
    playbook.file = origin;
    playbook.source = document;
    auto name = text(check, "", document, "name", true);
    if (!name) return tl::unexpected(name.error());
    playbook.name = *name;
    auto title = text(check, "", document, "title", true);
    if (!title) return tl::unexpected(title.error());
    playbook.title = *title;
    auto description = text(check, "", document, "description", false);
    if (!description) return tl::unexpected(description.error());
    playbook.description = *description;
    if (!document.contains("steps") || !document.at("steps").is_array() || document.at("steps").empty())
        return check.problem("", "'steps' must be a non-empty list");
    std::set<std::string> earlier;
    for (size_t i = 0; i < document.at("steps").size(); ++i) {
        auto step = parse_step(check, document.at("steps").at(i), i, earlier);
        if (!step) return tl::unexpected(step.error());
        earlier.insert(step->id);
        playbook.steps.push_back(std::move(*step));
    }
    return playbook;
}

Result<Playbook> load_playbook_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) return fail(ErrorKind::not_found, "cannot read playbook " + path, "check the path");
    ordered_json document;
    try {
        document = ordered_json::parse(in);
    } catch (const nlohmann::json::parse_error& e) {
        return fail(ErrorKind::bad_input, fmt::format("playbook {}: not valid JSON: {}", path, e.what()),
                    "see playbooks/README.md for the format");
    }
    return parse_playbook(document, path);
}

std::vector<std::string> playbook_dirs() {
    std::vector<std::string> dirs;
    if (const char* env = std::getenv("IODIAG_PLAYBOOKS"); env && *env) dirs.emplace_back(env);
    std::error_code ec;
    const fs::path self = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        const fs::path bin = self.parent_path();
        dirs.push_back((bin.parent_path() / "share" / "iodiag" / "playbooks").string());
        dirs.push_back((bin.parent_path() / "playbooks").string());
    }
    dirs.push_back(std::string(IODIAG_SOURCE_DIR) + "/playbooks");
    return dirs;
}

std::vector<std::string> playbook_names() {
    std::set<std::string> names;
    for (const auto& dir : playbook_dirs()) {
        std::error_code ec;
        for (const auto& entry : fs::directory_iterator(dir, ec))
            if (entry.path().extension() == ".json") names.insert(entry.path().stem().string());
    }
    return {names.begin(), names.end()};
}

Result<Playbook> find_playbook(const std::string& name_or_file) {
    const bool is_file = name_or_file.find('/') != std::string::npos ||
                         (name_or_file.size() > 5 && name_or_file.ends_with(".json"));
    if (is_file) return load_playbook_file(name_or_file);
    for (const auto& dir : playbook_dirs()) {
        const fs::path path = fs::path(dir) / (name_or_file + ".json");
        std::error_code ec;
        if (fs::is_regular_file(path, ec)) return load_playbook_file(path.string());
    }
    const auto names = playbook_names();
    return fail(ErrorKind::not_found, fmt::format("no playbook named '{}'", name_or_file),
                names.empty() ? fmt::format("looked in {}", fmt::join(playbook_dirs(), ", "))
                              : fmt::format("known playbooks: {}; or give a file: --playbook ./my.json",
                                            fmt::join(names, ", ")));
}

}  // namespace iodiag::wizard
