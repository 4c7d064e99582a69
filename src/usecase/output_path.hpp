// Checks, before any tracing or fio run starts, that an output file can be created where the user
// asked: a long trace should not end in "cannot write".
#pragma once

#include <string>

#include "common/result.hpp"

namespace iodiag::usecase {

// output error when `path` is a directory or its directory is missing or not writable (tested by
// creating and removing a scratch file there, which is what the real write will need).
Status check_output_writable(const std::string& path);

}  // namespace iodiag::usecase
