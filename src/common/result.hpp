// Result<T>: the one way fallible library code reports failure. Errors carry what went wrong,
// what the user can do about it, and a kind that only src/cli/ maps to an exit code.
#pragma once

#include <string>
#include <utility>

#include <tl/expected.hpp>

namespace iodiag {

enum class ErrorKind {
    usage,          // bad command-line or option value
    bad_input,      // unreadable or garbled input file (log, model)
    not_found,      // pid, file or program does not exist
    permission,     // not allowed (ptrace, BPF, file mode)
    missing_tool,   // strace/fio/perf not installed
    no_io,          // the trace finished but saw no IO
    output,         // cannot write the result
    unsupported,    // kernel or tool lacks a feature
    internal,       // a bug or an unexpected system failure
    aborted,        // a second Ctrl-C: stop now, keep nothing
};

struct Error {
    ErrorKind kind = ErrorKind::internal;
    std::string message;   // what went wrong, one line
    std::string hint;      // what to do about it (may be empty)
};

template <class T>
using Result = tl::expected<T, Error>;

using Status = Result<void>;

inline tl::unexpected<Error> fail(ErrorKind kind, std::string message, std::string hint = {}) {
    return tl::unexpected<Error>(Error{kind, std::move(message), std::move(hint)});
}

}  // namespace iodiag
