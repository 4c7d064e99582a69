#include "fio/fio_runner.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "common/subprocess.hpp"
#include "fio/job_file.hpp"

namespace iodiag::fio {
namespace {

// fio's complaint, cut to its first few lines: enough to act on, short enough to read.
std::string fio_message(const CommandOutput& out) {
    std::string text = out.err.empty() ? out.out : out.err;
    std::string message;
    std::istringstream lines(text);
    int kept = 0;
    for (std::string line; std::getline(lines, line) && kept < 4;) {
        if (line.find_first_not_of(" \t") == std::string::npos) continue;
        message += (kept++ ? " | " : "") + line;
    }
    return message.empty() ? "(fio printed nothing)" : message;
}

ErrorKind run_failure_kind(const std::string& message) {
    if (message.find("No space left") != std::string::npos || message.find("Read-only file system") != std::string::npos)
        return ErrorKind::output;
    if (message.find("Permission denied") != std::string::npos || message.find("Operation not permitted") != std::string::npos)
        return ErrorKind::permission;
    return ErrorKind::internal;
}

std::string hint_for(ErrorKind kind) {
    switch (kind) {
    case ErrorKind::output: return "choose --target on a writable file system with more free space, or a smaller --max-size";
    case ErrorKind::permission: return "check the target's permissions";
    default: return "fio's message above says why; the job file is kept for a look";
    }
}

}  // namespace

Result<std::string> find_fio() {
    auto fio = find_in_path("fio");
    if (!fio) return fail(ErrorKind::missing_tool, "fio is not installed (not found in PATH)", "apt-get install fio");
    return *fio;
}

Status check_job(const std::string& fio, const std::string& job_path) {
    auto run = run_capture({fio, "--parse-only", job_path});
    if (!run) return tl::unexpected(run.error());
    if (run->exit_code != 0)
        return fail(ErrorKind::bad_input, "fio rejected the job: " + fio_message(*run),
                    "an option fio does not know came from the model; correct or remove it and retry");
    return {};
}

Status write_checked_job(const std::string& fio, const std::string& path, std::string_view text) {
    const std::string pending = path + ".pending-" + std::to_string(::getpid());
    if (auto status = write_file_atomically(pending, text); !status) return status;
    if (!fio.empty()) {
        if (auto status = check_job(fio, pending); !status) {
            const std::string rejected = path + ".rejected";
            if (std::rename(pending.c_str(), rejected.c_str()) == 0) status.error().message += " (the job is kept as " + rejected + ")";
            else std::remove(pending.c_str());
            return status;
        }
    }
    if (std::rename(pending.c_str(), path.c_str()) != 0) {
        int err = errno;
        std::remove(pending.c_str());
        return fail(ErrorKind::output, "cannot rename " + pending + " to " + path + ": " + std::strerror(err));
    }
    return {};
}

Result<FioReport> run_job(const std::string& fio, const std::string& job_path, const std::string& report_path) {
    auto run = run_capture({fio, "--output-format=json+", "--output=" + report_path, job_path});
    if (!run) return tl::unexpected(run.error());
    if (run->exit_code != 0) {
        std::string message = fio_message(*run);
        ErrorKind kind = run_failure_kind(message);
        return fail(kind, "fio failed (exit " + std::to_string(run->exit_code) + "): " + message, hint_for(kind));
    }
    std::ifstream in(report_path);
    if (!in) return fail(ErrorKind::internal, "fio wrote no report to " + report_path + ": " + std::strerror(errno));
    std::stringstream text;
    text << in.rdbuf();
    auto report = parse_fio_json(text.str());
    if (!report) return report;
    if (!report->notices.empty()) spdlog::info("fio said: {}", report->notices);
    for (const auto& job : report->jobs)
        if (job.error != 0) {
            std::string message = std::strerror(job.error);
            ErrorKind kind = run_failure_kind(message);
            return fail(kind, "fio job " + job.name + " failed: " + message + " (error " + std::to_string(job.error) + ")",
                        hint_for(kind));
        }
    return report;
}

}  // namespace iodiag::fio
