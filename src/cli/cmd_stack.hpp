// `iodiag stack`: the IO stack under a path or under every file a process has open, and whether
// we run in a guest.
#pragma once

#include <cstdint>
#include <string>

namespace CLI {
class App;
}

namespace iodiag::cli {

struct StackOptions {
    std::string path;
    int32_t pid = 0;
    bool json = false;
    std::string root = "/";   // where /proc, /sys and /dev are read (a copied tree, a fixture)
};

void add_stack_command(CLI::App& app, StackOptions& options);
int run_stack(const StackOptions& options);

}  // namespace iodiag::cli
