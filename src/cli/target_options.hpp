// What every tracing command (model, latency, slow, offcpu, wakeup) shares on the command line:
// the target options (--pid, --children, --duration, --progress, -- COMMAND) parsed into a
// usecase::TraceTarget, with one duration rule: -d 0 traces until the target exits or Ctrl-C.
#pragma once

#include "usecase/target.hpp"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace iodiag::cli {

// The options a command may tie to its own (model: --pid and -- COMMAND exclude its logs).
struct TargetOptions {
    CLI::Option* pid = nullptr;
    CLI::Option* command = nullptr;
};

TargetOptions add_target_options(CLI::App& cmd, usecase::TraceTarget& target);

}  // namespace iodiag::cli
