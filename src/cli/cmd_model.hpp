// `iodiag model`: trace a process, a command or a saved strace log and write model.json.
#pragma once

#include <string>

#include "usecase/model.hpp"

namespace CLI {
class App;
}

namespace iodiag::cli {

struct ModelOptions {
    usecase::ModelRequest request;   // -d is parsed into request.target.duration_ms
    std::string output = "model.json";
    bool json = false;
};

void add_model_command(CLI::App& app, ModelOptions& options);

// Checks the output, builds the model (usecase::build_model), saves it, prints it. Returns the
// exit code.
int run_model(const ModelOptions& options);

// The summary `iodiag model` prints: what was traced, the job groups, the devices, caveats, and
// where the model was written (`output`).
void print_model_summary(const usecase::ModelRun& run, const std::string& output);

}  // namespace iodiag::cli
