// The HTML report: one self-contained page (inline CSS, charts as inline SVG, no scripts, nothing
// fetched) rendered from the report.json document ("iodiag-report/1").
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace iodiag::report {

// The whole page. Every field of `report` is optional and may have the wrong type: what is missing
// or odd is left out, never thrown on. All text from the report is HTML-escaped (titles and stack
// frames come from traced programs).
//
// Charts: a bar chart per entry of charts.io_sizes / latency / inflight, a grouped bar chart for
// charts.reproduce and a flame graph for charts.offcpu (identical stack prefixes merged; frames
// narrower than 0.1 px of the 1000-unit-wide graph are left out, as flamegraph.pl does).
std::string render_html(const nlohmann::ordered_json& report);

}  // namespace iodiag::report
