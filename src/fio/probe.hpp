// The note's standard fio probes ("typical IO workloads"), from templates in workloads/:
//   depth1     fio --depth=1 --direct=1 --rw=write: one IO's trip through the whole stack
//   syncwrite  fio --rw=write --sync=1: what the storage cache does with FLUSH/FUA
// A template is a plain fio job with ${IODIAG_FILENAME}, ${IODIAG_SIZE} and ${IODIAG_RUNTIME}
// where iodiag puts the target; with those set in the environment fio runs it as it is.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "fio/fio_report.hpp"
#include "model/workload_model.hpp"

namespace iodiag::fio {

struct ProbeKind {
    const char* name;        // depth1, syncwrite
    const char* file;        // its template in workloads/
    const char* summary;     // one line for --help and the report
};

const std::vector<ProbeKind>& probe_kinds();
const ProbeKind* find_probe(std::string_view name);

// Where templates are looked for, first match wins: $IODIAG_WORKLOADS, then beside the binary
// (<bin>/../share/iodiag/workloads, <bin>/../workloads: a build dir in the source tree), then
// the source tree iodiag was built from.
std::vector<std::string> template_dirs();

// The template's text; not_found naming every place looked in.
Result<std::string> load_template(const ProbeKind& probe, const std::vector<std::string>& dirs);

struct ProbeParams {
    std::string filename;    // the file or device fio uses
    uint64_t size = 0;       // bytes
    uint64_t runtime_s = 0;
};

// The template with its ${IODIAG_*} variables filled in. bad_input when the template uses
// another ${IODIAG_...} variable or leaves one of the three out.
Result<std::string> instantiate(std::string_view template_text, const ProbeParams& params);

struct ProbeResult {
    std::string probe;
    std::string target;
    std::string job_file;
    JobStats stats;
};

// IOPS, bandwidth and completion latency percentiles, as text and as JSON.
std::string render_probe(const ProbeResult& result);
model::ordered_json probe_json(const ProbeResult& result);

}  // namespace iodiag::fio
