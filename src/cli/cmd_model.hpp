// `iodiag model`: trace a process, a command or a saved strace log and write model.json.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace iodiag::cli {

struct ModelOptions {
    int32_t pid = 0;
    std::string strace_log;
    std::string perf_log;
    bool strict = false;
    std::vector<std::string> command;
    std::string duration;            // as given; empty = 10s for --pid, until exit for a command
    std::string source = "auto";     // auto, bpf, strace, perf
    bool children = false;           // --pid with bpf: also trace processes it starts
    std::string output = "model.json";
    bool json = false;
    bool progress = false;
    std::string command_stdout;      // not an option: the demo sends fio's report to a file
};

void add_model_command(CLI::App& app, ModelOptions& options);

// The whole pipeline: trace or read, classify, save, print. Returns the exit code.
int run_model(const ModelOptions& options);

}  // namespace iodiag::cli
