// `iodiag probe depth1|syncwrite`: the note's standard fio workloads, run behind the safety gate,
// reporting IOPS and completion latency percentiles.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace iodiag::cli {

struct ProbeOptions {
    std::string probe;               // depth1 | syncwrite
    std::string target;              // empty: a fresh scratch directory
    bool allow_destructive = false;
    std::string size = "256m";
    std::string runtime = "10s";
    bool json = false;
    bool keep = false;
};

void add_probe_command(CLI::App& app, ProbeOptions& options);
int run_probe(const ProbeOptions& options);

}  // namespace iodiag::cli
