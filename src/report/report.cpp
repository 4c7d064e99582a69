#include "report/report.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>

#include <fmt/format.h>

#include "common/units.hpp"
#include "report/html_writer.hpp"
#include "wizard/playbook.hpp"
#include "wizard/session.hpp"

namespace iodiag::report {
namespace {

namespace fs = std::filesystem;

ordered_json read_json(const fs::path& path) {
    std::ifstream in(path);
    if (!in) return nullptr;
    try {
        return ordered_json::parse(in);
    } catch (const nlohmann::json::exception&) {
        return nullptr;  // a step's broken output: its rules stay silent, the report says it is unreadable
    }
}

ordered_json bars_of(const ordered_json& counts, const std::function<std::string(uint64_t)>& label) {
    ordered_json bars = ordered_json::array();
    if (!counts.is_object()) return bars;
    std::vector<std::pair<uint64_t, double>> sorted;
    for (const auto& [key, value] : counts.items()) {
        try {
            if (value.is_number()) sorted.emplace_back(std::stoull(key), value.get<double>());
        } catch (...) {
        }
    }
    std::sort(sorted.begin(), sorted.end());
    for (const auto& [key, value] : sorted) bars.push_back({{"label", label(key)}, {"value", value}});
    return bars;
}

std::string us_label(uint64_t us) {
    if (us >= 1'000'000) return fmt::format("{}s", us / 1'000'000);
    if (us >= 1000) return fmt::format("{}ms", us / 1000);
    return fmt::format("{}us", us);
}

ordered_json charts(const StepOutputs& out) {
    ordered_json charts = ordered_json::object();
    ordered_json sizes = ordered_json::array(), inflight = ordered_json::array();
    if (out.model.is_object())
        for (const auto& g : out.model.value("groups", ordered_json::array())) {
            const std::string name = g.value("name", "");
            const auto& e = g.value("evidence", ordered_json::object());
            for (const char* dir : {"reads", "writes"}) {
                auto bars = bars_of(e.value(dir, ordered_json::object()).value("sizes", ordered_json::object()),
                                    [](uint64_t b) { return fio_size(b); });
                if (!bars.empty())
                    sizes.push_back({{"title", fmt::format("IO sizes: {} ({})", name, dir)}, {"x", "size"}, {"y", "IOs"}, {"bars", bars}});
            }
            auto depth = bars_of(e.value("inflight", ordered_json::object()), [](uint64_t n) { return std::to_string(n); });
            if (!depth.empty())
                inflight.push_back({{"title", "In flight after each submit: " + name}, {"x", "requests in flight"}, {"y", "submits"}, {"bars", depth}});
        }
    if (out.model.is_object())
        for (const auto& d : out.model.value("devices", ordered_json::array())) {
            auto depth = bars_of(d.value("in_device", ordered_json::object()), [](uint64_t n) { return std::to_string(n); });
            if (!depth.empty())
                inflight.push_back({{"title", "In the device at each issue: " + d.value("name", std::string("disk"))},
                                    {"x", "requests in the device"}, {"y", "issues"}, {"bars", depth}});
        }
    if (!sizes.empty()) charts["io_sizes"] = sizes;
    if (!inflight.empty()) charts["inflight"] = inflight;

    if (out.latency.is_object()) {
        auto rows = out.latency.value("rows", ordered_json::array());
        std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
            return a.value("total_ms", 0.0) > b.value("total_ms", 0.0);
        });
        ordered_json latency = ordered_json::array();
        for (const auto& row : rows) {
            if (latency.size() >= 8) break;
            auto bars = bars_of(row.value("log2_us", ordered_json::object()), us_label);
            if (bars.empty()) continue;
            latency.push_back({{"title", fmt::format("{}: {} latency", row.value("layer", ""), row.value("name", ""))},
                               {"x", "latency (log2 buckets, lower edge)"}, {"y", "count"}, {"bars", bars}});
        }
        if (!latency.empty()) charts["latency"] = latency;
    }

    if (out.reproduce.is_object() && out.reproduce.contains("comparison")) {
        ordered_json rows = ordered_json::array();
        for (const auto& g : out.reproduce.at("comparison").value("groups", ordered_json::array()))
            for (const auto& m : g.value("metrics", ordered_json::array()))
                if (m.value("metric", "") == "IOPS" && m.value("observed", ordered_json()).is_number() &&
                    m.value("reproduced", ordered_json()).is_number())
                    rows.push_back({{"label", g.value("group", "")},
                                    {"observed", m.at("observed")},
                                    {"reproduced", m.at("reproduced")}});
        if (!rows.empty()) charts["reproduce"] = {{"title", "Observed vs reproduced IOPS"}, {"unit", "IOPS"}, {"rows", rows}};
    }

    if (out.offcpu.is_object()) {
        ordered_json folded = ordered_json::array();
        for (const auto& s : out.offcpu.value("stacks", ordered_json::array())) {
            std::string stack = s.value("comm", std::string("?"));
            // The lists are leaf first (as offcputime prints them); a flame graph wants the root first.
            for (const char* part : {"user", "kernel"}) {
                auto frames = s.value(part, std::vector<std::string>{});
                for (auto it = frames.rbegin(); it != frames.rend(); ++it) stack += ";" + *it;
            }
            stack += ";[" + s.value("state", std::string("?")) + "]";
            folded.push_back({{"stack", stack}, {"value", s.value("total_ms", 0.0) * 1000}});
        }
        if (!folded.empty()) charts["offcpu"] = {{"title", "Off-CPU time by stack"}, {"unit", "us"}, {"folded", folded}};
    }
    return charts;
}

// Which file each output name is loaded into.
ordered_json* slot(StepOutputs& out, const std::string& file) {
    static const std::map<std::string, ordered_json StepOutputs::*> slots = {
        {"model.json", &StepOutputs::model},       {"stack.json", &StepOutputs::stack},
        {"latency.json", &StepOutputs::latency},   {"slow.json", &StepOutputs::slow},
        {"offcpu.json", &StepOutputs::offcpu},     {"wakeup.json", &StepOutputs::wakeup},
        {"reproduce.json", &StepOutputs::reproduce}, {"kvm.json", &StepOutputs::kvm},
        {"kvm-compare.json", &StepOutputs::kvm_compare}, {"kvm-trace.json", &StepOutputs::kvm_trace},
        {"probe-depth1.json", &StepOutputs::probe_depth1}, {"probe-syncwrite.json", &StepOutputs::probe_syncwrite}};
    auto it = slots.find(file);
    return it == slots.end() ? nullptr : &(out.*(it->second));
}

std::string atomic_write(const fs::path& path, const std::string& content, Status& status) {
    if (status) status = wizard::write_file_atomic(path.string(), content);
    return path.string();
}

}  // namespace

Result<ordered_json> build_report(const std::string& session_dir) {
    auto session = wizard::load_session(session_dir);
    if (!session) return tl::unexpected(session.error());
    std::map<std::string, const wizard::Step*> steps_by_id;
    std::optional<wizard::Playbook> playbook;
    if (auto parsed = wizard::parse_playbook(session->playbook_source, session->path(wizard::kSessionFile)))
        playbook = std::move(*parsed);

    StepOutputs outputs;
    std::vector<std::string> enabled;
    ordered_json steps = ordered_json::array();
    for (const auto& record : session->steps) {
        const wizard::Step* step = playbook ? playbook->find(record.id) : nullptr;
        ordered_json s = {{"id", record.id},
                          {"title", step ? step->title : record.id},
                          {"section", step ? step->section : ""},
                          {"why", step ? step->why : ""},
                          {"state", std::string(wizard::state_name(record.state))},
                          {"reason", record.reason},
                          {"seconds", record.seconds},
                          {"summary", record.summary},
                          {"outputs", record.outputs}};
        steps.push_back(std::move(s));
        if (record.state != wizard::StepState::done) continue;
        enabled.insert(enabled.end(), record.findings.begin(), record.findings.end());
        for (const auto& file : record.outputs) {
            ordered_json* target = slot(outputs, file);
            if (!target) continue;
            *target = read_json(fs::path(session->dir) / file);
            outputs.producers.emplace_back(file, record.id);
        }
    }
    const auto findings = evaluate_findings(outputs, enabled);
    ordered_json counts = {{"critical", 0}, {"warning", 0}, {"info", 0}};
    for (const auto& f : findings) counts[std::string(severity_name(f.severity))] = counts[std::string(severity_name(f.severity))].get<int>() + 1;

    const std::string target = !session->target.description.empty() ? session->target.description
                               : session->target.pid                ? fmt::format("pid {}", session->target.pid)
                               : session->target.command.empty()    ? std::string("(none)")
                                                                    : session->target.command.front();
    return ordered_json{{"schema", kReportSchema},
                        {"tool_version", IODIAG_VERSION},
                        {"created", wizard::utc_now()},
                        {"session",
                         {{"dir", session->dir},
                          {"playbook", session->playbook_name},
                          {"playbook_title", playbook ? playbook->title : ""},
                          {"target", target},
                          {"finished", session->finished},
                          {"machine", {{"hostname", session->machine.hostname}, {"kernel", session->machine.kernel}}}}},
                        {"counts", counts},
                        {"findings", to_json(findings)},
                        {"steps", steps},
                        {"charts", charts(outputs)}};
}

std::string render_markdown(const ordered_json& r) {
    const auto& s = r.value("session", ordered_json::object());
    const auto& counts = r.value("counts", ordered_json::object());
    std::string md = fmt::format("# iodiag findings: {}\n\n", s.value("target", std::string("?")));
    md += fmt::format("Playbook `{}` ({}) on {} (kernel {}), {}. Session folder: `{}`.\n\n", s.value("playbook", ""),
                      s.value("playbook_title", ""), s.value("machine", ordered_json::object()).value("hostname", ""),
                      s.value("machine", ordered_json::object()).value("kernel", ""), r.value("created", ""), s.value("dir", ""));
    if (!s.value("finished", true)) md += "**The session is not finished**: some steps did not run yet (`iodiag diagnose --resume`).\n\n";
    md += fmt::format("## Findings: {} critical, {} warning, {} info\n\n", counts.value("critical", 0),
                      counts.value("warning", 0), counts.value("info", 0));
    const auto& findings = r.value("findings", ordered_json::array());
    if (findings.empty()) md += "No rule found a problem in what the steps measured.\n\n";
    int n = 0;
    for (const auto& f : findings) {
        md += fmt::format("### {}. [{}] {}\n\n", ++n, f.value("severity", ""), f.value("title", ""));
        md += "| evidence | value | step |\n|---|---|---|\n";
        for (const auto& e : f.value("evidence", ordered_json::array())) {
            auto cell = [](std::string t) {
                for (size_t at; (at = t.find('|')) != std::string::npos;) t.replace(at, 1, "\\|");
                return t;
            };
            md += fmt::format("| {} | {} | {} |\n", cell(e.value("what", "")), cell(e.value("value", "")), e.value("step", ""));
        }
        md += fmt::format("\n**Next step:** {}\n\n*Note: {}* (`{}`)\n\n", f.value("next_step", ""), f.value("section", ""),
                          f.value("id", ""));
    }
    md += "## Steps\n\n";
    for (const auto& step : r.value("steps", ordered_json::array())) {
        md += fmt::format("### {} — {}\n\n", step.value("title", ""), step.value("state", ""));
        if (!step.value("why", std::string()).empty()) md += step.value("why", std::string()) + "\n\n";
        if (!step.value("reason", std::string()).empty()) md += "*" + step.value("reason", std::string()) + "*\n\n";
        const auto summary = step.value("summary", std::vector<std::string>{});
        if (!summary.empty()) {
            md += "```\n";
            for (const auto& line : summary) md += line + "\n";
            md += "```\n\n";
        }
        const auto outputs = step.value("outputs", std::vector<std::string>{});
        if (!outputs.empty()) {
            md += "Outputs:";
            for (const auto& o : outputs) md += fmt::format(" [`{}`]({})", o, o);
            md += "\n\n";
        }
    }
    return md;
}

std::vector<std::string> top_findings(const ordered_json& report, size_t n) {
    std::vector<std::string> lines;
    const auto& counts = report.value("counts", ordered_json::object());
    lines.push_back(fmt::format("{} critical, {} warning, {} info", counts.value("critical", 0), counts.value("warning", 0),
                                counts.value("info", 0)));
    for (const auto& f : report.value("findings", ordered_json::array())) {
        if (lines.size() > n) break;
        lines.push_back(fmt::format("[{}] {}", f.value("severity", ""), f.value("title", "")));
    }
    return lines;
}

Result<WrittenReport> write_report(const std::string& session_dir, const std::string& output, std::optional<Format> format) {
    auto report = build_report(session_dir);
    if (!report) return tl::unexpected(report.error());
    WrittenReport written;
    written.report = *report;
    Status status;
    const auto content = [&](Format f) {
        switch (f) {
        case Format::md: return render_markdown(*report);
        case Format::html: return render_html(*report);
        case Format::json: return report->dump(2) + "\n";
        }
        return std::string();
    };
    if (!output.empty()) {
        const Format f = format.value_or(Format::md);
        written.files.push_back(atomic_write(fs::absolute(output), content(f), status));
    } else {
        const fs::path dir = fs::absolute(session_dir);
        for (auto [f, name] : {std::pair{Format::md, "report.md"}, {Format::json, "report.json"}, {Format::html, "report.html"}})
            if (!format || *format == f) written.files.push_back(atomic_write(dir / name, content(f), status));
    }
    if (!status) return tl::unexpected(status.error());
    return written;
}

}  // namespace iodiag::report
