// `reproduce`: a model -> an fio job (one section per job group, evidence in comments), or a
// strace log -> per-thread iologs and a replay job; when asked, fio runs it behind the safety gate
// and the result is compared with what was observed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "fio/comparison.hpp"
#include "fio/fio_report.hpp"
#include "fio/iolog_replay.hpp"
#include "fio/safety.hpp"
#include "usecase/observer.hpp"

namespace iodiag::usecase {

inline constexpr const char* kDefaultMaxSize = "2g";

struct ReproduceRequest {
    std::string mode = "model";     // model: from model.json; replay: from a strace log
    std::string model;              // model.json (model mode)
    std::string strace_log;         // the trace to replay (replay mode)
    std::string output = "job.fio"; // where the job goes (replay: its iologs beside it, OUTPUT.iologs)
    bool run = false;               // run the job with fio and compare
    std::string target;             // where fio may write; empty: a fresh scratch directory
    bool allow_destructive = false; // let fio overwrite a file or block device
    std::string max_size;           // most data the job lays out, fio size; empty: kDefaultMaxSize
    std::string runtime;            // how long fio runs, a duration; empty: the traced duration
    bool keep = false;              // keep fio's data files after the run
    bool no_stall = false;          // replay as fast as possible
};

// Which job group became which fio section.
struct GroupSection {
    std::string group;
    std::string section;
};

struct ReproduceRun {
    std::string mode;                     // "model" | "replay"
    std::string job_file;                 // absolute path of the job written
    std::string job_text;                 // what it holds
    fio::Target target;                   // where fio writes (or would)
    uint64_t footprint_bytes = 0;         // what the job lays out
    std::vector<std::string> warnings;    // also noted on the observer as they came
    std::vector<GroupSection> sections;   // model mode, in model order
    std::optional<fio::ReplayPlan> replay;  // replay mode: the iologs and threads
    std::string iolog_dir;                // replay mode
    // With run: fio's report, and in model mode the observed-vs-reproduced comparison.
    std::optional<fio::FioReport> report;
    std::optional<fio::Comparison> comparison;
};

// Checks the request (usage), finds fio (missing_tool only when it must run), checks the output
// can be written, resolves the target through the safety gate (permission when refused), refuses
// O_DIRECT on tmpfs (unsupported) and a job larger than the free space (output), writes the job
// checked by fio, and with `run` runs it. A failed run leaves no scratch directory it created.
Result<ReproduceRun> reproduce(const ReproduceRequest& request, Observer& observer);

// What `iodiag reproduce --json` prints.
nlohmann::ordered_json to_json(const ReproduceRun& run);

// A few lines for a step display: the job, and each group's verdict (or each thread replayed).
std::vector<std::string> summary_lines(const ReproduceRun& run);

}  // namespace iodiag::usecase
