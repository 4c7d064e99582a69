// A playbook: the analysis note's method as data (playbooks/*.json). Each step names one of
// iodiag's capabilities (an action), when it applies, what it asks, and which findings rules it
// feeds. Loading validates everything against the action catalogue, the condition vocabulary and
// the findings rules, so a broken playbook is refused with one message naming the file, the step
// and the problem, before anything runs.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace iodiag::wizard {

using ordered_json = nlohmann::ordered_json;

inline constexpr int kPlaybookSchema = 1;

struct Question {
    std::string id;          // the action parameter it sets
    std::string prompt;      // what the person is asked
    std::string default_value;
    std::vector<std::string> choices;  // empty: free text checked by the parameter's type
};

struct Step {
    std::string id;
    std::string title;
    std::string why;         // a sentence or two: what it measures and why
    std::string section;     // the note's section it comes from
    std::string action;      // an entry of the action catalogue (wizard/actions.hpp)
    std::map<std::string, std::string> params;  // fixed parameter values
    std::vector<Question> questions;
    std::vector<std::string> when;     // conditions, all must hold; "!name" negates
    std::vector<std::string> after;    // steps whose results it needs (skipped if they fail)
    std::vector<std::string> findings; // findings rule ids it feeds ("workload.*" for a family)
};

struct Playbook {
    std::string name;
    std::string title;
    std::string description;
    std::string file;        // where it was read from (for messages)
    std::vector<Step> steps;
    ordered_json source;     // the document as read: the session keeps a copy for --resume

    const Step* find(const std::string& id) const;
};

// Parses and validates; `origin` names the document in messages (a path or "session.json").
Result<Playbook> parse_playbook(const ordered_json& document, const std::string& origin);
Result<Playbook> load_playbook_file(const std::string& path);

// A name ("slow-process") is looked up in playbook_dirs(); anything with a '/' or ending in
// ".json" is a file.
Result<Playbook> find_playbook(const std::string& name_or_file);

// $IODIAG_PLAYBOOKS, then beside the binary (<bin>/../share/iodiag/playbooks, <bin>/../playbooks),
// then the source tree iodiag was built from.
std::vector<std::string> playbook_dirs();

// The names of the playbooks found in playbook_dirs(), sorted.
std::vector<std::string> playbook_names();

inline constexpr const char* kDefaultPlaybook = "slow-process";

}  // namespace iodiag::wizard
