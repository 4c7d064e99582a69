// `kvm compare`: the note's "compare workload performance data between guest and host" and
// "estimate host<->guest world switch cost". Reads the same job's results from inside a VM and
// from the host's storage under the VM's image (`iodiag probe --json` output, or fio's
// --output-format=json / json+ report), checks that they are the same job, and compares them
// (analysis/guest_host.hpp).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "analysis/guest_host.hpp"
#include "common/result.hpp"

namespace iodiag::usecase {

struct KvmCompareRequest {
    std::string guest_file;     // lat_vm: the run inside the VM
    std::string host_file;      // lat_host: the same job on the storage that holds the VM's image
    int resamples = 1000;       // bootstrap resamples (when both sides have json+ bins)
};

struct KvmComparison {
    std::string guest_file, host_file;
    analysis::LatencySide guest, host;
    analysis::GuestHostComparison comparison;
};

// Reads one side: iodiag probe --json output, or fio's JSON report with exactly one job (or
// group_reporting). not_found for a missing file; bad_input, naming the file, for one that is
// not JSON, truncated, or neither format.
Result<analysis::LatencySide> load_latency_side(const std::string& path);

// usage: a file not given; bad_input (naming the options and both values) when the two are not
// the same job.
Result<KvmComparison> compare_guest_host(const KvmCompareRequest& request);

// `iodiag kvm compare --json`.
nlohmann::ordered_json to_json(const KvmComparison& comparison);

}  // namespace iodiag::usecase
