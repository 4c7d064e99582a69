// Shared by integration tests: run real fio jobs (and other programs) under `iodiag model` and
// load the model it writes.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/subprocess.hpp"
#include "model/workload_model.hpp"
#include "support/run_iodiag.hpp"
#include "support/support.hpp"

namespace iodiag::testing {

// Writes `job_body` as the fio job `name` in `dir` (a [global] section pointing fio at `dir`, time
// based for `seconds`) and lays out its files, untraced. Returns the job's path.
std::filesystem::path write_fio_job(const ScratchDir& dir, const std::string& name, const std::string& job_body,
                                    int seconds);

// A 4k O_DIRECT psync random reader of a 16 MiB file for `seconds`, run as
// `iodiag ARGS... -- fio --output-format=json --output=REPORT JOB`: iodiag's stdout as JSON (it
// must exit 0) and the read side of fio's own report.
struct ReaderRun {
    nlohmann::json out;
    nlohmann::json fio_read;   // jobs[0].read: total_ios, clat_ns, ...
    uint64_t reads = 0;        // fio_read.total_ios
    std::filesystem::path data_file;
};
ReaderRun run_on_direct_reader(const ScratchDir& dir, const std::vector<std::string>& iodiag_args, int seconds);

// Writes `job_body` as an fio job (with a [global] section pointing fio at `dir`, time based for
// `seconds`), lays out its files untraced, then runs `iodiag model -- fio JOB`. Returns the model.
model::WorkloadModel model_fio_job(const ScratchDir& dir, const std::string& job_body, int seconds = 2,
                                   const std::vector<std::string>& extra_iodiag_args = {});

// Runs `iodiag model -o MODEL_PATH IODIAG_ARGS... -- COMMAND...` (it must exit 0); returns the model.
model::WorkloadModel model_command(const std::string& model_path, const std::vector<std::string>& iodiag_args,
                                   const std::vector<std::string>& command);

// Where model_fio_job leaves the job it traced and the model it wrote.
std::filesystem::path traced_job(const ScratchDir& dir);
std::filesystem::path model_file(const ScratchDir& dir);

// Runs an fio job alone, untraced, and returns the IOPS it achieved (reads + writes, all jobs).
double measure_fio_iops(const std::string& job_path);

// The group whose fio rw option is `rw` (REQUIREs exactly one).
const model::JobGroup& group_with(const model::WorkloadModel& model, const std::string& key,
                                  const std::string& value);

// An fio option of a group, or null when unset.
model::ordered_json option(const model::JobGroup& group, const char* key);

}  // namespace iodiag::testing
