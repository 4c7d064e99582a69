// What the bpf-only tracing commands (latency, slow) share: the target options (--pid, --children,
// --duration, --progress, -- COMMAND), their checks, and starting the bpf source for them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "common/result.hpp"
#include "trace/bpf_source.hpp"

namespace CLI {
class App;
}

namespace iodiag::cli {

struct TargetOptions {
    int32_t pid = 0;
    std::vector<std::string> command;
    bool children = false;
    std::string duration;  // empty: 10s with --pid, until a command exits
    bool progress = false;
};

void add_target_options(CLI::App& cmd, TargetOptions& options);
Status validate_target(const TargetOptions& options, const std::string& command_name);

// "pid 1234 (mysqld)", or the command's name.
std::string describe_target(const TargetOptions& options);

trace::BpfOptions bpf_options(const TargetOptions& options);

// "ended: interrupted", with the number of records lost when the ring buffers overflowed.
std::string describe_end(const trace::BpfRun& run);

// Runs the source into `sink`. Returns the run, or the exit code to end with: an error was
// reported, or a second Ctrl-C aborted the trace (then nothing is printed).
std::variant<trace::BpfRun, int> run_bpf(trace::BpfSource& source, trace::EventSink& sink, trace::FileTable& files);

// Starts the bpf source; where it cannot work, the error says that `command_name` needs it.
Result<std::unique_ptr<trace::BpfSource>> start_bpf(const trace::BpfOptions& options, const std::string& command_name);

}  // namespace iodiag::cli
