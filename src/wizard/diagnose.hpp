// The guided diagnosis as one use case: start a session (or resume one), walk the playbook's steps
// with the step engine, and write the findings report when the steps are through.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "wizard/engine.hpp"

namespace iodiag::wizard {

struct DiagnoseRequest {
    SessionTarget target;          // empty: asked (interactive) or from the answers / busiest process
    std::string playbook;          // a name or a file; empty: kDefaultPlaybook
    std::string session_dir;       // empty: ./iodiag-YYYYMMDD-HHMMSS
    std::string resume_dir;        // continue this session instead of starting one
};

struct DiagnoseResult {
    Session session;
    EngineEnd end = EngineEnd::finished;
    std::vector<std::string> report_files;   // when the steps are through
    nlohmann::ordered_json report;           // report.json's document, or null
};

// Errors: a broken or unknown playbook, a session that cannot be resumed, a session folder that
// cannot be written. A failing step is not an error: it is recorded and the run goes on. A step's
// live status lines (tracing progress) go to `status`, when given.
Result<DiagnoseResult> diagnose(const DiagnoseRequest& request, Prompter& prompter, ActionRunner& runner, Facts& facts,
                                usecase::Observer* status = nullptr);

// Whether any step of the playbook traces a target (then one must be chosen).
bool needs_target(const Playbook& playbook);

}  // namespace iodiag::wizard
