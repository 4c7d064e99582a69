// Diagnostic logging (spdlog) to stderr. Results and user-facing errors are printed by src/cli/,
// not through the log: the log is for -v / -vv detail.
#pragma once

namespace iodiag {

// verbosity: 0 = warnings and errors, 1 (-v) = info, 2+ (-vv) = debug.
void setup_logging(int verbosity);

}  // namespace iodiag
