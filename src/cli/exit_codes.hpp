// The one place where error kinds become process exit codes and messages.
#pragma once

#include <iostream>
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

// How every command ends on an error: "iodiag: error: <message>" and "hint: <hint>" on stderr (a
// second Ctrl-C, ErrorKind::aborted, just "iodiag: <message>"); under --json also one JSON object
// on stdout that a script can read, as bpftool does: {"error": {"kind", "message", "hint"},
// "exit_code"}. Returns the exit code.
int report_error(const Error& error, bool json = false);

// A command's --json document on stdout, indented (or on one line, `indent` -1, for a stream of
// reports). Bytes that are not UTF-8 (a path, a comm from a trace) are written as U+FFFD rather
// than failing the command.
template <class Json>
void print_json(const Json& document, int indent = 2) {
    std::cout << document.dump(indent, ' ', false, Json::error_handler_t::replace) << '\n';
}

// The end of a command that printed its result: flushes stdout; kExitOk, or the output error when
// stdout could not be written (a closed pipe, a full disk).
int finish_output(bool json);

// Whether a command line asks for --json (before any "--" that starts a command to run): how
// option-parse errors, which come before the options struct is filled, know to answer in JSON.
bool wants_json(int argc, const char* const* argv);

// The exit code table for `iodiag --help`.
std::string exit_code_help();

}  // namespace iodiag::cli
