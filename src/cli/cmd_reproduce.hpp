// `iodiag reproduce`: model.json -> fio job (one section per job group, evidence in comments),
// or a strace log -> per-thread iologs and a replay job; with --run, fio runs it behind the
// safety gate and the result is compared with what was observed.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace iodiag::cli {

struct ReproduceOptions {
    std::string model;                 // model.json (model mode)
    std::string output = "job.fio";
    std::string mode = "model";        // model | replay
    std::string strace_log;            // replay mode: the trace to replay
    bool run = false;
    bool json = false;
    std::string target;                // empty: a fresh scratch directory
    bool allow_destructive = false;
    std::string max_size = "2g";
    std::string runtime;               // empty: the traced duration
    bool keep = false;                 // keep fio's data files after --run
    bool no_stall = false;             // replay as fast as possible
};

void add_reproduce_command(CLI::App& app, ReproduceOptions& options);
int run_reproduce(const ReproduceOptions& options);

}  // namespace iodiag::cli
