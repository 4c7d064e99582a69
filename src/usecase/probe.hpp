// `probe`: one of the note's standard fio workloads (depth1, syncwrite; see fio/probe.hpp), run
// behind the safety gate, for IOPS and completion latency percentiles.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "fio/probe.hpp"
#include "usecase/observer.hpp"

namespace iodiag::usecase {

inline constexpr const char* kDefaultProbeSize = "256m";
inline constexpr const char* kDefaultProbeRuntime = "10s";

struct ProbeRequest {
    std::string probe;                // depth1 | syncwrite (fio::probe_kinds())
    std::string target;               // where fio may write; empty: a fresh scratch directory
    bool allow_destructive = false;   // let fio overwrite a file or block device
    std::string size;                 // how much of the target to use, fio size; empty: kDefaultProbeSize
    std::string runtime;              // how long fio runs, a duration; empty: kDefaultProbeRuntime
    bool keep = false;                // keep the probe's data file
};

struct ProbeRun {
    fio::ProbeResult result;          // the probe, the file it used, its job, fio's figures
};

// usage for an unknown probe or a bad size or runtime; missing_tool without fio; permission when
// the safety gate refuses the target; unsupported for depth1 (O_DIRECT) on tmpfs; output when the
// file system lacks the space. The job goes into the scratch directory, or the current directory
// for a file or device target.
Result<ProbeRun> run_probe(const ProbeRequest& request, Observer& observer);

// What `iodiag probe --json` prints.
nlohmann::ordered_json to_json(const ProbeRun& run);

}  // namespace iodiag::usecase
