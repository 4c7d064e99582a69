#include "fio/probe.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "common/table.hpp"
#include "common/units.hpp"

namespace iodiag::fio {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kVarFilename = "${IODIAG_FILENAME}";
constexpr std::string_view kVarSize = "${IODIAG_SIZE}";
constexpr std::string_view kVarRuntime = "${IODIAG_RUNTIME}";
constexpr std::string_view kVarPrefix = "${IODIAG_";

bool replace_all(std::string& text, std::string_view from, const std::string& to) {
    bool found = false;
    for (size_t at = 0; (at = text.find(from, at)) != std::string::npos; at += to.size()) {
        text.replace(at, from.size(), to);
        found = true;
    }
    return found;
}

fs::path exe_dir() {
    std::error_code ec;
    fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    return ec ? fs::path() : exe.parent_path();
}

}  // namespace

const std::vector<ProbeKind>& probe_kinds() {
    static const std::vector<ProbeKind> kinds = {
        {"depth1", "probe-depth1.fio",
         "fio --depth=1 --direct=1 --rw=write: one IO in flight, so latency is one trip through the stack"},
        {"syncwrite", "probe-syncwrite.fio",
         "fio --rw=write --sync=1: every write waits for the storage cache (FLUSH/FUA)"},
    };
    return kinds;
}

const ProbeKind* find_probe(std::string_view name) {
    for (const auto& kind : probe_kinds())
        if (name == kind.name) return &kind;
    return nullptr;
}

std::vector<std::string> template_dirs() {
    std::vector<std::string> dirs;
    if (const char* env = std::getenv("IODIAG_WORKLOADS"); env && *env) dirs.push_back(env);
    if (fs::path bin = exe_dir(); !bin.empty()) {
        dirs.push_back((bin.parent_path() / "share" / "iodiag" / "workloads").string());
        dirs.push_back((bin.parent_path() / "workloads").string());
    }
    dirs.push_back(std::string(IODIAG_SOURCE_DIR) + "/workloads");
    return dirs;
}

Result<std::string> load_template(const ProbeKind& probe, const std::vector<std::string>& dirs) {
    for (const auto& dir : dirs) {
        fs::path path = fs::path(dir) / probe.file;
        std::ifstream in(path);
        if (!in) continue;
        std::stringstream text;
        text << in.rdbuf();
        return text.str();
    }
    std::string looked;
    for (const auto& dir : dirs) looked += (looked.empty() ? "" : ", ") + dir;
    return fail(ErrorKind::not_found, std::string("probe template ") + probe.file + " not found (looked in " + looked + ")",
                "set IODIAG_WORKLOADS to the workloads/ folder of the iodiag sources");
}

Result<std::string> instantiate(std::string_view template_text, const ProbeParams& params) {
    std::string text(template_text);
    bool ok = replace_all(text, kVarFilename, params.filename);
    ok &= replace_all(text, kVarSize, fio_size(params.size));
    ok &= replace_all(text, kVarRuntime, std::to_string(params.runtime_s));
    if (!ok)
        return fail(ErrorKind::bad_input, "the probe template does not use all of ${IODIAG_FILENAME}, ${IODIAG_SIZE} and "
                                          "${IODIAG_RUNTIME}",
                    "without them fio would write somewhere the safety gate did not choose");
    if (size_t at = text.find(kVarPrefix); at != std::string::npos)
        return fail(ErrorKind::bad_input, "the probe template uses an unknown variable: " +
                                              text.substr(at, text.find('}', at) - at + 1));
    return text;
}

std::string render_probe(const ProbeResult& r) {
    const JobStats& s = r.stats;
    const DirectionStats& d = s.write.ios >= s.read.ios ? s.write : s.read;
    std::string text = fmt::format("probe {} on {}: {:.0f} IOPS, {}/s, {} IOs in {:.1f} s\n\n", r.probe, r.target, d.iops,
                                   human_bytes(static_cast<uint64_t>(d.bw_bytes)), d.ios, s.runtime_s);
    using Align = Table::Align;
    Table table({{"completion latency", Align::left}, {"us", Align::right}});
    table.add_row({"mean", fmt::format("{:.1f}", d.clat_mean_us)});
    for (auto [label, value] : {std::pair{"p50", d.clat_us.p50}, std::pair{"p90", d.clat_us.p90},
                                std::pair{"p99", d.clat_us.p99}, std::pair{"p99.9", d.clat_us.p999},
                                std::pair{"p99.99", d.clat_us.p9999}})
        table.add_row({label, fmt::format("{:.1f}", value)});
    text += table.render();
    text += "job: " + r.job_file + "\n";
    return text;
}

model::ordered_json probe_json(const ProbeResult& r) {
    const JobStats& s = r.stats;
    const DirectionStats& d = s.write.ios >= s.read.ios ? s.write : s.read;
    model::ordered_json out;
    out["probe"] = r.probe;
    out["target"] = r.target;
    out["job_file"] = r.job_file;
    out["direction"] = &d == &s.write ? "write" : "read";
    out["iops"] = d.iops;
    out["bw_bytes"] = d.bw_bytes;
    out["ios"] = d.ios;
    out["runtime_s"] = s.runtime_s;
    out["clat_us"] = {{"mean", d.clat_mean_us}, {"p50", d.clat_us.p50},   {"p90", d.clat_us.p90},
                      {"p99", d.clat_us.p99},   {"p99.9", d.clat_us.p999}, {"p99.99", d.clat_us.p9999}};
    // The fio options that make two probe runs the same job (kvm compare checks them), as fio
    // reported them; and fio's json+ latency histogram, for an uncertainty of a comparison.
    model::ordered_json job = model::ordered_json::object();
    for (const char* key : {"rw", "bs", "direct", "sync", "fdatasync", "iodepth", "ioengine"})
        if (auto it = s.options.find(key); it != s.options.end()) job[key] = it->second;
    out["job"] = job;
    model::ordered_json bins = model::ordered_json::object();
    for (const auto& [ns, count] : d.clat_bins_ns) bins[std::to_string(ns)] = count;
    out["clat_bins_ns"] = bins;
    return out;
}

}  // namespace iodiag::fio
