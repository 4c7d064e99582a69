// A diagnosis session's folder: session.json (the playbook as it was when the session started,
// the answers, the target, each step's state, timings and outputs, the versions and the machine)
// beside every step's outputs under their usual names. session.json is rewritten atomically after
// every change of state, so `--resume` continues from what a killed run left.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace iodiag::wizard {

using ordered_json = nlohmann::ordered_json;

inline constexpr int kSessionSchema = 1;
inline constexpr const char* kSessionFile = "session.json";

enum class StepState { todo, running, done, failed, skipped };
std::string_view state_name(StepState state);

struct StepRecord {
    std::string id;
    StepState state = StepState::todo;
    std::string reason;                       // why failed or skipped; "interrupted" notes
    std::string started, ended;               // ISO-8601 UTC
    double seconds = 0;
    std::map<std::string, std::string> params;  // the values it ran with
    std::vector<std::string> outputs;         // files in the session folder
    std::vector<std::string> summary;         // a few lines for the checklist and the report
    std::vector<std::string> findings;        // the rules it feeds (from the playbook)
};

struct SessionTarget {
    int32_t pid = 0;
    std::vector<std::string> command;
    bool children = false;
    std::string description;                  // "pid 1234 (fio)"
    bool progress = false;                    // progress lines while tracing (this run only, not saved)
    bool given() const { return pid > 0 || !command.empty(); }
};

struct MachineId {
    std::string hostname, kernel, boot_id;
};
MachineId this_machine();

struct Session {
    std::string dir;
    std::string tool_version;
    std::string created, updated;
    MachineId machine;
    std::string playbook_name, playbook_file;
    ordered_json playbook_source;             // the playbook document the steps came from
    SessionTarget target;
    ordered_json answers = ordered_json::object();  // "step.param" -> value
    std::vector<StepRecord> steps;
    bool finished = false;

    StepRecord* find(std::string_view id);
    const StepRecord* find(std::string_view id) const;
    std::string path(std::string_view file) const;  // dir/file
    // The first step that is todo or was running when the process stopped; steps.size() if none.
    size_t first_unfinished() const;
};

std::string utc_now();

// A new session folder: `dir` if given (created; refused if it already holds a session), else
// ./iodiag-YYYYMMDD-HHMMSS under the current folder.
Result<std::string> make_session_dir(const std::string& dir);

ordered_json to_json(const Session& session);
Result<Session> session_from_json(const ordered_json& json, const std::string& dir);

// Atomic: written to a temp file beside session.json, flushed, renamed into place.
Status save_session(Session& session);
Result<Session> load_session(const std::string& dir);

// What --resume refuses: another iodiag version, another machine or boot (its pids mean nothing
// here), a finished session.
Status check_resumable(const Session& session);

// Writes `content` to dir/name atomically (temp file + rename): no half-written outputs.
Status write_file_atomic(const std::string& path, const std::string& content);

}  // namespace iodiag::wizard
