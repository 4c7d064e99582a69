// `iodiag demo`: the non-interactive diagnosis (slow-process playbook) of a bundled two-group fio
// workload, ending with the report's path and its top findings.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace iodiag::cli {

struct DemoOptions {
    std::string keep_dir;   // run in this folder and keep everything (default: a temp folder,
                            // data files removed afterwards)
    bool progress = false;
};

void add_demo_command(CLI::App& app, DemoOptions& options);
int run_demo(const DemoOptions& options);

}  // namespace iodiag::cli
