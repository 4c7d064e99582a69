// The findings report of a diagnosis session: report.json (the document), report.md and
// report.html (self-contained), all built from the session folder alone (session.json and the
// steps' outputs), so `iodiag report DIR` rewrites them at any time, on any machine.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "report/findings.hpp"

namespace iodiag::report {

inline constexpr const char* kReportSchema = "iodiag-report/1";

// report.json's document: session, ranked findings with counts, steps, charts.
Result<ordered_json> build_report(const std::string& session_dir);

std::string render_markdown(const ordered_json& report);

enum class Format { md, html, json };

struct WrittenReport {
    std::vector<std::string> files;   // absolute paths written
    ordered_json report;
};

// Writes report.md, report.json and report.html into the session folder (atomically each), or
// only `format` into `output` when output is given.
Result<WrittenReport> write_report(const std::string& session_dir, const std::string& output = {},
                                   std::optional<Format> format = std::nullopt);

// "2 critical, 3 warning, 1 info" and the top `n` findings' titles, for the end of a run.
std::vector<std::string> top_findings(const ordered_json& report, size_t n);

}  // namespace iodiag::report
