#include "usecase/kvm_compare.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "fio/fio_report.hpp"

namespace iodiag::usecase {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kFormats = "expected the output of `iodiag probe ... --json` or fio's --output-format=json(+) report";

double number(const json& j, const char* key) {
    if (!j.is_object() || !j.contains(key) || !j.at(key).is_number()) return 0.0;
    return j.at(key).get<double>();
}

Result<analysis::LatencySide> from_probe(const std::string& path, const json& root) {
    analysis::LatencySide side;
    if (!root.at("probe").is_string())
        return fail(ErrorKind::bad_input, path + ": \"probe\" is not a string", kFormats);
    side.probe = root.at("probe").get<std::string>();
    side.source = "iodiag probe " + side.probe;
    side.iops = number(root, "iops");
    side.ios = static_cast<uint64_t>(number(root, "ios"));
    const json& clat = root.at("clat_us");
    if (!clat.is_object()) return fail(ErrorKind::bad_input, path + ": \"clat_us\" is not an object", kFormats);
    side.latency_known = side.ios > 0 && clat.contains("p50") && clat.at("p50").is_number();
    size_t i = 0;
    for (const char* name : analysis::kStatNames) side.clat_us[i++] = number(clat, name);
    std::map<std::string, std::string> options;
    if (root.contains("job") && root.at("job").is_object()) {
        for (const auto& [key, value] : root.at("job").items()) {
            if (value.is_string()) options[key] = value.get<std::string>();
            else if (value.is_number_integer()) options[key] = std::to_string(value.get<int64_t>());
        }
    }
    // An older probe output without "job": the probe's name stands for its options (the
    // templates in workloads/ fix them), so only the name is compared.
    side.job = root.contains("job") ? analysis::normalize_job_options(options)
                                    : std::map<std::string, std::string>{};
    if (root.contains("clat_bins_ns") && root.at("clat_bins_ns").is_object()) {
        for (const auto& [key, count] : root.at("clat_bins_ns").items()) {
            if (!count.is_number_integer() || count.get<int64_t>() <= 0) continue;
            if (key.empty() || key.size() > 19 || key.find_first_not_of("0123456789") != std::string::npos) continue;
            side.bins.emplace_back(static_cast<double>(std::stoull(key)) / 1000.0, count.get<uint64_t>());
        }
        std::sort(side.bins.begin(), side.bins.end());
    }
    return side;
}

Result<analysis::LatencySide> from_fio(const std::string& path, const std::string& text) {
    auto report = fio::parse_fio_json(text);
    if (!report) return fail(ErrorKind::bad_input, path + ": " + report.error().message, kFormats);
    if (report->jobs.size() != 1)
        return fail(ErrorKind::bad_input,
                    fmt::format("{}: fio's report holds {} jobs, kvm compare needs one", path, report->jobs.size()),
                    "run a single job, or add group_reporting so fio reports the jobs as one");
    const fio::JobStats& job = report->jobs.front();
    if (job.error != 0)
        return fail(ErrorKind::bad_input, fmt::format("{}: fio's job {} failed (error {})", path, job.name, job.error),
                    "rerun the job and compare a run that completed");
    const fio::DirectionStats& d = job.write.ios >= job.read.ios ? job.write : job.read;
    analysis::LatencySide side;
    bool plus = !d.clat_bins_ns.empty();
    side.source = fmt::format("fio {} ({})", plus ? "json+" : "json", report->fio_version.empty() ? "fio" : report->fio_version);
    side.iops = job.iops();
    side.ios = d.ios;
    side.latency_known = d.ios > 0 && d.clat_us.known;
    side.clat_us = {d.clat_mean_us, d.clat_us.p50, d.clat_us.p90, d.clat_us.p99, d.clat_us.p999};
    side.job = analysis::normalize_job_options(job.options);
    for (const auto& [ns, count] : d.clat_bins_ns) side.bins.emplace_back(static_cast<double>(ns) / 1000.0, count);
    return side;
}

std::string probe_options(const analysis::LatencySide& side) {
    std::string text;
    for (const auto& [key, value] : side.job) text += (text.empty() ? "" : " ") + key + "=" + value;
    return text;
}

}  // namespace

Result<analysis::LatencySide> load_latency_side(const std::string& path) {
    std::error_code ec;
    if (!fs::exists(path, ec)) return fail(ErrorKind::not_found, path + ": no such file");
    if (fs::is_directory(path, ec)) return fail(ErrorKind::bad_input, path + ": is a folder, not a JSON file", kFormats);
    std::ifstream in(path, std::ios::binary);
    if (!in) return fail(ErrorKind::permission, path + ": cannot open it");
    std::stringstream buffer;
    buffer << in.rdbuf();
    std::string text = buffer.str();
    size_t brace = text.find('{');
    if (brace == std::string::npos)
        return fail(ErrorKind::bad_input, path + ": holds no JSON object" + (text.empty() ? " (empty file)" : ""), kFormats);
    json root;
    try {
        root = json::parse(text.substr(brace));
    } catch (const json::exception& e) {
        return fail(ErrorKind::bad_input, path + ": unreadable JSON (truncated or not JSON): " + e.what(), kFormats);
    }
    if (!root.is_object()) return fail(ErrorKind::bad_input, path + ": not a JSON object", kFormats);
    if (root.contains("jobs")) return from_fio(path, text);
    if (root.contains("probe") && root.contains("clat_us")) return from_probe(path, root);
    return fail(ErrorKind::bad_input, path + ": neither iodiag probe output nor fio's report (no \"probe\" or \"jobs\")",
                kFormats);
}

Result<KvmComparison> compare_guest_host(const KvmCompareRequest& request) {
    if (request.guest_file.empty() || request.host_file.empty())
        return fail(ErrorKind::usage, "kvm compare needs both --guest and --host");
    auto guest = load_latency_side(request.guest_file);
    if (!guest) return tl::unexpected(guest.error());
    auto host = load_latency_side(request.host_file);
    if (!host) return tl::unexpected(host.error());

    const char* hint = "run the same job on both sides: the same `iodiag probe NAME`, or the same fio options";
    std::vector<analysis::OptionMismatch> mismatches;
    if (!guest->probe.empty() && !host->probe.empty() && guest->probe != host->probe)
        mismatches.push_back({"probe", guest->probe, host->probe});
    if (!guest->job.empty() && !host->job.empty())
        for (auto& m : analysis::job_mismatches(guest->job, host->job)) mismatches.push_back(std::move(m));
    if (!mismatches.empty())
        return fail(ErrorKind::bad_input, "not the same job: " + analysis::describe_mismatches(mismatches), hint);
    if (guest->job.empty() != host->job.empty()) {
        // One side is an old probe output without its options: compare it with the other side's
        // only when that is the same probe.
        const auto& known = guest->job.empty() ? *host : *guest;
        const auto& bare = guest->job.empty() ? *guest : *host;
        if (known.probe != bare.probe)
            return fail(ErrorKind::bad_input,
                        fmt::format("cannot tell whether these are the same job: {} holds no fio options (probe {}) and "
                                    "the other side is {} ({})",
                                    guest->job.empty() ? request.guest_file : request.host_file, bare.probe,
                                    known.source, probe_options(known)),
                        "rerun the probe with this iodiag (its --json carries the job's options)");
    }

    analysis::CompareSettings settings;
    settings.resamples = request.resamples;
    KvmComparison out{request.guest_file, request.host_file, *guest, *host, {}};
    out.comparison = analysis::compare_guest_host(*guest, *host, settings);
    return out;
}

nlohmann::ordered_json to_json(const KvmComparison& k) {
    using ojson = nlohmann::ordered_json;
    const auto& c = k.comparison;
    auto side = [](const std::string& file, const analysis::LatencySide& s) {
        ojson j;
        j["file"] = file;
        j["source"] = s.source;
        if (!s.probe.empty()) j["probe"] = s.probe;
        j["job"] = ojson::object();
        for (const auto& [key, value] : s.job) j["job"][key] = value;
        j["iops"] = s.iops;
        j["ios"] = s.ios;
        j["latency_bins"] = !s.bins.empty();
        ojson clat = ojson::object();
        if (s.latency_known) {
            size_t i = 0;
            for (const char* name : analysis::kStatNames) clat[name] = s.clat_us[i++];
        }
        j["clat_us"] = clat;
        return j;
    };
    ojson out;
    out["guest"] = side(k.guest_file, k.guest);
    out["host"] = side(k.host_file, k.host);
    out["cost_name"] = c.cost_name;
    out["world_switch"] = c.world_switch;
    ojson diffs = ojson::array();
    for (const auto& d : c.stats) {
        ojson j;
        j["stat"] = d.name;
        j["lat_vm_us"] = d.guest_us;
        j["lat_host_us"] = d.host_us;
        j["cost_us"] = d.cost_us;
        if (d.interval) j["interval_us"] = {d.interval->low, d.interval->high};
        else j["interval_us"] = nullptr;
        diffs.push_back(j);
    }
    out["differences"] = diffs;
    out["uncertainty"] = {{"known", c.uncertainty_known},
                          {"method", c.uncertainty_known ? "bootstrap" : "none"},
                          {"resamples", c.resamples},
                          {"level", c.level},
                          {"note", c.uncertainty}};
    out["iops_ratio"] = c.iops_ratio ? ojson(*c.iops_ratio) : ojson(nullptr);
    out["share_p50"] = c.share_p50 ? ojson(*c.share_p50) : ojson(nullptr);
    out["share_mean"] = c.share_mean ? ojson(*c.share_mean) : ojson(nullptr);
    out["verdict"] = c.verdict;
    return out;
}

}  // namespace iodiag::usecase
