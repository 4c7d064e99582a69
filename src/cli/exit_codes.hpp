// The one place where error kinds become process exit codes and messages.
#pragma once

#include <string>

#include "common/result.hpp"

namespace iodiag::cli {

enum ExitCode : int {
    kExitOk = 0,
    kExitInternal = 1,
    kExitUsage = 2,
    kExitBadInput = 3,
    kExitNotFound = 4,
    kExitPermission = 5,
    kExitMissingTool = 6,
    kExitNoIo = 7,
    kExitOutput = 8,
    kExitUnsupported = 9,
    kExitAborted = 130,  // a second Ctrl-C: nothing written (128 + SIGINT, as shells report)
};

int exit_code_for(ErrorKind kind);

// Prints "iodiag: error: <message>" and "hint: <hint>" to stderr; returns the exit code.
int report_error(const Error& error);

// Under --json: the same on stderr, and on stdout one JSON object a script can read, as bpftool
// does: {"error": {"kind", "message", "hint"}, "exit_code"}.
int report_error(const Error& error, bool json);

// The exit code table for `iodiag --help`.
std::string exit_code_help();

}  // namespace iodiag::cli
