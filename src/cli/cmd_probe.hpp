// `iodiag probe depth1|syncwrite`: the note's standard fio workloads, run behind the safety gate,
// reporting IOPS and completion latency percentiles (usecase::run_probe).
#pragma once

#include "usecase/probe.hpp"

namespace CLI {
class App;
}

namespace iodiag::cli {

struct ProbeOptions {
    usecase::ProbeRequest request;
    bool json = false;
};

void add_probe_command(CLI::App& app, ProbeOptions& options);
int run_probe(const ProbeOptions& options);

}  // namespace iodiag::cli
