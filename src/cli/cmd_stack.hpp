// `iodiag stack`: the IO stack under a path or under every file a process has open, and whether
// we run in a guest.
#pragma once

#include "usecase/stack.hpp"

namespace CLI {
class App;
}

namespace iodiag::cli {

struct StackOptions {
    usecase::StackRequest request;
    bool json = false;
};

void add_stack_command(CLI::App& app, StackOptions& options);
int run_stack(const StackOptions& options);

}  // namespace iodiag::cli
