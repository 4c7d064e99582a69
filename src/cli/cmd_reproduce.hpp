// `iodiag reproduce`: model.json -> fio job (one section per job group, evidence in comments),
// or a strace log -> per-thread iologs and a replay job; with --run, fio runs it behind the
// safety gate and the result is compared with what was observed (usecase::reproduce).
#pragma once

#include "usecase/reproduce.hpp"

namespace CLI {
class App;
}

namespace iodiag::cli {

struct ReproduceOptions {
    usecase::ReproduceRequest request;
    bool json = false;
};

void add_reproduce_command(CLI::App& app, ReproduceOptions& options);
int run_reproduce(const ReproduceOptions& options);

// The text `iodiag reproduce` prints for a finished run (the job, or the comparison after --run).
void print_reproduce(const usecase::ReproduceRequest& request, const usecase::ReproduceRun& run);

}  // namespace iodiag::cli
