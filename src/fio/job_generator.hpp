// Model -> fio job: a [global] section that places the data (the safety gate's scratch
// directory, or the one file/device the user allowed) and sets the run time, then one section
// per job group, straight from the group's `fio` object, each option followed by its evidence.
// What the model marks unknown gets fio's default, written out with the reason.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "fio/job_file.hpp"
#include "fio/safety.hpp"
#include "model/workload_model.hpp"

namespace iodiag::fio {

struct GeneratorOptions {
    Placement placement;
    uint64_t runtime_s = 0;     // 0: the traced duration, rounded up (at least 1 s)
    std::string model_path;     // named in the header
};

struct GeneratedJob {
    JobFile job;
    std::vector<std::string> sections;   // the section of each model group, in model order
    std::vector<std::string> warnings;   // for stderr: defaults for unknowns, caps, ignored options
    uint64_t footprint = 0;              // bytes fio lays out for the job
};

// bad_input when the model cannot become a job: no groups, or a `fio` object with a non-scalar
// value, a key that is not an option name, or a value that would break the job file.
Result<GeneratedJob> generate_job(const model::WorkloadModel& model, const GeneratorOptions& options);

// A job group's name as an fio section name: [A-Za-z0-9._-], never "global".
std::string section_name(const std::string& group_name);

}  // namespace iodiag::fio
