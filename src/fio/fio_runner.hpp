// fio as a program: find it, have it check a job (--parse-only), run a job with its JSON+
// report written to a file, and turn its failures into messages that quote fio.
#pragma once

#include <string>
#include <string_view>

#include "common/result.hpp"
#include "fio/fio_report.hpp"

namespace iodiag::fio {

// The fio executable on $PATH; missing_tool when there is none.
Result<std::string> find_fio();

// fio --parse-only JOB: bad_input quoting fio when fio rejects the job.
Status check_job(const std::string& fio, const std::string& job_path);

// Writes `text` as a job file at `path`: first complete under a temporary name, checked by fio
// (when `fio` is not empty), then renamed into place. A job fio rejects is kept as PATH.rejected
// for a look, never at PATH.
Status write_checked_job(const std::string& fio, const std::string& path, std::string_view text);

// fio --output-format=json+ --output=REPORT JOB, then the parsed report. A failed run (fio's
// exit status, or a job with an error) comes back with fio's own message.
Result<FioReport> run_job(const std::string& fio, const std::string& job_path, const std::string& report_path);

}  // namespace iodiag::fio
