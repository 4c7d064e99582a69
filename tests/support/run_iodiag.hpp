// Running the iodiag binary under test (IODIAG_BINARY, integration tests only) with its stdout and
// stderr captured.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/subprocess.hpp"
#include "support.hpp"

namespace iodiag::testing {

struct RunOptions {
    // Words before the binary, e.g. {"env", "PATH=/x"}.
    std::vector<std::string> prefix;
    // Sends SIGINT to iodiag itself (not its process group) this long after the start.
    std::optional<std::chrono::milliseconds> interrupt_after;
    // Runs iodiag as user and group nobody (65534), privileges dropped in the forked child before
    // exec: the unprivileged user's view, from a test that runs as root.
    bool as_nobody = false;
};

// The options for a run as user nobody.
inline RunOptions as_nobody() {
    RunOptions options;
    options.as_nobody = true;
    return options;
}

// Runs `iodiag ARGS` to its end; its output is logged (UNSCOPED_INFO) for a failing check.
CommandOutput run_iodiag(const std::vector<std::string>& args, const RunOptions& options = {});

// Why user nobody cannot run the binary under test ("" when it can): its folders may be closed
// to others.
std::string nobody_cannot_run_iodiag();

}  // namespace iodiag::testing

// Skips the test case unless it runs as root and user nobody can run the binary under test.
#define SKIP_UNLESS_NOBODY_RUNS_IODIAG()                                                \
    do {                                                                                \
        SKIP_UNLESS_ROOT("runs iodiag as user nobody");                                 \
        if (std::string why_ = ::iodiag::testing::nobody_cannot_run_iodiag(); !why_.empty()) { \
            WARN("skipped: " << why_);                                                         \
            return;                                                                     \
        }                                                                               \
    } while (0)
