// Replay mode: a saved strace log -> one fio iolog (v3) per traced thread, with a job that
// replays them with the trace's timing, onto scratch copies of the traced files.
//
// An iolog has no thread id, so each thread gets its own log and its own job section. The model
// (model.json) keeps no per-IO events, so replay reads the trace itself. fio 3.33 reads v3
// timestamps as microseconds since the start of the run (its own write_iolog writes them so,
// and its replay delays by them in µs).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "fio/fio_report.hpp"
#include "fio/job_file.hpp"
#include "fio/safety.hpp"
#include "model/workload_model.hpp"

namespace iodiag::fio {

struct ReplayOptions {
    std::string strace_log;
    Placement placement;      // scratch directory (one scratch file per traced file), or one
                              // file / device every IO is redirected to (replay_redirect)
    std::string iolog_dir;    // where the iologs go; created, must not exist yet
    bool no_stall = false;    // replay as fast as possible instead of with the trace's timing
};

struct ReplayThread {
    int32_t tid = 0;
    std::string section;      // "thread-<tid>"
    std::string iolog;        // path of its iolog
    uint64_t reads = 0, writes = 0, flushes = 0;
    double span_s = 0;        // first to last IO in the trace
    std::string engine;       // psync, or libaio when the thread submitted asynchronously
    uint64_t depth = 1;       // most libaio requests in flight
    bool direct = false;
};

struct ReplayFile {
    std::string traced;       // the path in the trace
    std::string replayed;     // the path fio uses
    uint64_t extent = 0;      // highest end offset touched in the trace
    uint64_t size = 0;        // bytes laid out (extent, or less when capped: offsets wrap)
};

struct ReplayPlan {
    JobFile job;
    std::vector<ReplayThread> threads;
    std::vector<ReplayFile> files;
    std::vector<std::string> warnings;
    uint64_t footprint = 0;   // bytes laid out
};

// Reads the log twice (first which files and threads matter, then the events) and writes the
// iologs. The data files are not laid out yet (see lay_out_files). bad_input for an unreadable
// log, no_io when it holds no file IO that can be replayed.
Result<ReplayPlan> build_replay(const ReplayOptions& options);

// Writes each scratch file to its size, so replayed reads find real blocks. Nothing to do when
// replaying onto one file or device.
Status lay_out_files(const ReplayPlan& plan, const Placement& placement);

// Per thread: IOs in the trace and the IOPS they ran at, against what fio's replay achieved.
std::string render_replay(const ReplayPlan& plan, const FioReport& report);
model::ordered_json replay_json(const ReplayPlan& plan, const FioReport* report);

}  // namespace iodiag::fio
