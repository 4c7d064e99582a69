// The playbook actions over the library's use cases: each traces, inspects or runs what its step
// asks, writes its outputs into the session folder under their usual names (atomically), and
// returns a few summary lines. No CLI code runs here: the CLI commands call the same use cases.
#pragma once

#include "wizard/engine.hpp"

namespace iodiag::wizard {

class LibraryActions final : public ActionRunner {
public:
    Result<StepOutcome> run(const Step& step, const std::map<std::string, std::string>& params, Session& session,
                            usecase::Observer& observer) override;
};

}  // namespace iodiag::wizard
