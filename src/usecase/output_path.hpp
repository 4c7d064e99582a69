// Checks, before any tracing starts, that an output file can be created where the user asked.
#pragma once

#include <string>

#include "common/result.hpp"

namespace iodiag::cli {

// output error when `path` is a directory or its directory is missing or not writable (tested by
// creating and removing a scratch file there, which is what the real write will need).
Status check_output_writable(const std::string& path);

}  // namespace iodiag::cli
