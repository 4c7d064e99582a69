#include "fio/job_generator.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "common/units.hpp"
#include "fio/evidence.hpp"

namespace iodiag::fio {
namespace {

using model::JobGroup;
using model::ordered_json;

constexpr uint64_t kMiB = 1 << 20;
// Size for a group whose range the model does not know and whose files' sizes are unknown too.
constexpr uint64_t kDefaultSize = 64 * kMiB;
constexpr uint64_t kDefaultRuntimeS = 10;

// Options iodiag owns: where fio reads and writes, what it runs, how long: a model (perhaps
// hand-edited) must not move the data past the safety gate or run commands.
struct Reserved {
    const char* key;
    const char* why;
};
constexpr Reserved kReserved[] = {
    {"filename", "iodiag decides where fio writes (--target)"},
    {"directory", "iodiag decides where fio writes (--target)"},
    {"filename_format", "iodiag decides where fio writes (--target)"},
    {"opendir", "iodiag decides where fio writes (--target)"},
    {"read_iolog", "iodiag decides where fio writes (--target)"},
    {"write_iolog", "iodiag decides where fio writes (--target)"},
    {"replay_redirect", "iodiag decides where fio writes (--target)"},
    {"write_bw_log", "iodiag decides where fio writes (--target)"},
    {"write_lat_log", "iodiag decides where fio writes (--target)"},
    {"write_iops_log", "iodiag decides where fio writes (--target)"},
    {"write_hist_log", "iodiag decides where fio writes (--target)"},
    {"exec_prerun", "a model does not run commands"},
    {"exec_postrun", "a model does not run commands"},
    {"trigger", "a model does not run commands"},
    {"trigger_file", "a model does not run commands"},
    {"trigger_cmd", "a model does not run commands"},
    {"ioscheduler", "a model does not change the system's settings"},
    {"cgroup", "a model does not change the system's settings"},
    {"runtime", "set in [global] (--runtime)"},
    {"time_based", "set in [global] (--runtime)"},
    {"new_group", "set by iodiag: one result per section"},
};

// Engines iodiag lets a model run: the ones the classifier names, plus harmless others.
constexpr std::string_view kEngines[] = {"psync", "sync",  "vsync",     "pvsync", "pvsync2",
                                         "libaio", "io_uring", "posixaio", "mmap",   "null"};

const Reserved* reserved(std::string_view key) {
    for (const auto& r : kReserved)
        if (key == r.key) return &r;
    return nullptr;
}

bool is_option_name(std::string_view key) {
    return !key.empty() && std::all_of(key.begin(), key.end(), [](unsigned char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
}

Result<std::string> value_text(const JobGroup& g, const std::string& key, const ordered_json& value) {
    std::string text;
    if (value.is_string()) text = value.get<std::string>();
    else if (value.is_boolean()) text = value.get<bool>() ? "1" : "0";
    else if (value.is_number()) text = value.dump();
    else
        return fail(ErrorKind::bad_input,
                    "model group " + g.name + ": fio option " + key + " has a " + value.type_name() + " value",
                    "fio options are strings or numbers; re-run `iodiag model`");
    if (!is_safe_job_value(text))
        return fail(ErrorKind::bad_input,
                    "model group " + g.name + ": fio option " + key + " has a value fio cannot read: " + value.dump(),
                    "values may not hold ';', '#' or line breaks; re-run `iodiag model`");
    return text;
}

uint64_t integer_option(const ordered_json& fio, const char* key, uint64_t fallback) {
    if (!fio.contains(key)) return fallback;
    const auto& v = fio.at(key);
    if (v.is_number_unsigned()) return v.get<uint64_t>();
    if (v.is_number_integer() && v.get<int64_t>() > 0) return static_cast<uint64_t>(v.get<int64_t>());
    if (v.is_string()) return parse_fio_size(v.get<std::string>()).value_or(fallback);
    return fallback;
}

// What one group lays out, so sizes can be capped across the whole job.
struct Extent {
    size_t section = 0;
    uint64_t offset = 0, size = 0;
    uint64_t copies = 1;          // files laid out for this extent (per job, unless shared)
};

std::string default_rw(const JobGroup& g) {
    if (g.direction == "write") return "write";
    if (g.direction == "readwrite") return "rw";
    return "read";  // fio's own default
}

std::string unknown_reason(const JobGroup& g, const std::string& key) {
    auto it = g.unknown.find(key);
    return it != g.unknown.end() ? it->second : "the model has no value for it";
}

class Builder {
public:
    Builder(const model::WorkloadModel& model, const GeneratorOptions& options) : model_(model), options_(options) {}

    Result<GeneratedJob> build() {
        if (model_.groups.empty())
            return fail(ErrorKind::bad_input, "the model has no job groups", "re-run `iodiag model` on a workload that does IO");
        header();
        global();
        std::set<std::string> names{"global"};
        for (const JobGroup& g : model_.groups) {
            std::string name = section_name(g.name);
            for (int n = 2; names.count(name); ++n) name = section_name(g.name) + "-" + std::to_string(n);
            names.insert(name);
            out_.sections.push_back(name);
            if (auto status = group(g, name); !status) return tl::unexpected(status.error());
        }
        cap_sizes();
        return std::move(out_);
    }

private:
    JobFile& job() { return out_.job; }

    void header() {
        const auto& m = model_;
        auto& h = job().header;
        h.push_back(fmt::format("fio job generated by iodiag {} from {}", IODIAG_VERSION,
                                options_.model_path.empty() ? "a workload model" : options_.model_path));
        std::string who = m.target.comm.empty() ? "the workload" : m.target.comm;
        if (m.target.pid) who += fmt::format(" (pid {})", m.target.pid);
        h.push_back(fmt::format("traced: {} for {:.1f} s with {}, {} IO events", who, m.duration_s,
                                m.source.kind.empty() ? "an unknown source" : m.source.kind, m.source.events));
        h.push_back("one section per job group; every option is followed by the evidence behind it");
        if (options_.placement.single_file)
            h.push_back("fio reads and writes " + options_.placement.path + " (allowed with --allow-destructive)");
        else
            h.push_back("fio writes only in " + options_.placement.path + ", iodiag's scratch directory");
    }

    void global() {
        JobSection s;
        s.name = "global";
        const Placement& p = options_.placement;
        if (p.single_file) s.add("filename", p.path, "--target, allowed with --allow-destructive");
        else s.add("directory", p.path, std::string("iodiag's scratch directory (marked by ") + kScratchMarker + ")");
        uint64_t runtime = options_.runtime_s;
        std::string why = "--runtime";
        if (runtime == 0 && model_.duration_s > 0) {
            runtime = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(model_.duration_s)));
            why = fmt::format("the trace covered {:.1f} s", model_.duration_s);
        } else if (runtime == 0) {
            runtime = kDefaultRuntimeS;
            why = "the trace's duration is unknown; set --runtime";
        }
        s.add("runtime", std::to_string(runtime), why);
        s.add("time_based", "1", "run for the whole runtime, looping over the files");
        s.add("group_reporting", "1", "one result per section, matched to its job group by name");
        job().sections.push_back(std::move(s));
    }

    Status group(const JobGroup& g, const std::string& name) {
        if (!g.fio.is_object())
            return fail(ErrorKind::bad_input, "model group " + g.name + ": `fio` is not an object",
                        "re-run `iodiag model`");
        JobSection s;
        s.name = name;
        s.preamble.push_back(group_summary(g));
        for (const auto& note : g.notes) s.preamble.push_back("note: " + note);
        s.add("new_group", "1", "reported apart from the other sections");

        Extent extent;
        extent.section = job().sections.size();
        std::set<std::string> written;
        for (const auto& [key, value] : g.fio.items()) {
            if (!is_option_name(key))
                return fail(ErrorKind::bad_input, "model group " + g.name + ": `" + key + "` is not an fio option name",
                            "re-run `iodiag model`");
            auto text = value_text(g, key, value);
            if (!text) return tl::unexpected(text.error());
            if (const Reserved* r = reserved(key)) {
                s.add_comment("ignored: " + key + "=" + *text + ": " + r->why);
                warn(g, "model option " + key + "=" + *text + " ignored: " + r->why);
                continue;
            }
            if (key == "ioengine" && std::find(std::begin(kEngines), std::end(kEngines), *text) == std::end(kEngines)) {
                s.add(key, "psync", "a default: the model's engine \"" + *text + "\" is not one iodiag runs");
                s.add_comment("unknown: ioengine: the model names \"" + *text + "\"");
                warn(g, "engine \"" + *text + "\" is not one iodiag runs; wrote ioengine=psync");
                written.insert(key);
                continue;
            }
            s.add(key, *text, evidence_for(g, key));
            written.insert(key);
        }
        defaults(g, s, written);

        extent.offset = integer_option(g.fio, "offset", 0);
        extent.size = parse_fio_size(s.get("size").value_or("")).value_or(kDefaultSize);
        uint64_t jobs = std::max<uint64_t>(1, integer_option(g.fio, "numjobs", 1));
        uint64_t nrfiles = std::max<uint64_t>(1, integer_option(g.fio, "nrfiles", 1));
        bool shared = jobs > 1 && !g.files.empty() && g.files.size() < jobs * nrfiles;
        // Named files, not filename_format=$jobname.$filenum: with that, fio 3.33 runs only the
        // first of the jobs that share a file (the others end at once with no IO).
        if (shared && !options_.placement.single_file) {
            std::string names;
            for (uint64_t i = 0; i < nrfiles; ++i) names += fmt::format("{}{}.{}", i ? ":" : "", s.name, i);
            s.add("filename", names,
                  fmt::format("the {} threads shared {}", g.threads.size(),
                              g.files.size() == 1 ? std::string("one file") : std::to_string(g.files.size()) + " files"));
        }
        extent.copies = shared || options_.placement.single_file ? 1 : jobs;
        extents_.push_back(extent);

        for (const auto& [dimension, why] : g.unknown)
            if (!written.count(dimension) && !defaulted_.count(dimension)) s.add_comment("unknown: " + dimension + ": " + why);
        defaulted_.clear();
        job().sections.push_back(std::move(s));
        return {};
    }

    // rw, bs and size must be in the job; when the model does not know them, fio's default (or
    // the files' size) is written, with the reason.
    void defaults(const JobGroup& g, JobSection& s, const std::set<std::string>& written) {
        auto write_default = [&](const std::string& key, const std::string& value, const std::string& what) {
            s.add(key, value, what);
            s.add_comment("unknown: " + key + ": " + unknown_reason(g, key));
            warn(g, key + " unknown (" + unknown_reason(g, key) + "); wrote " + key + "=" + value);
            defaulted_.insert(key);
        };
        if (!written.count("rw")) {
            std::string why = g.direction == "unknown" ? "fio's default" : "a default for the direction seen (" + g.direction + ")";
            write_default("rw", default_rw(g), why + "; the access pattern is unknown");
        }
        if (!written.count("bs") && !written.count("bssplit")) write_default("bs", "4k", "fio's default block size");
        if (!written.count("size")) {
            uint64_t largest = 0;
            for (const auto& f : g.files) largest = std::max(largest, f.size);
            if (largest)
                write_default("size", fio_size(largest), "the size of the group's largest file (" + human_bytes(largest) + ")");
            else
                write_default("size", fio_size(kDefaultSize), "a default: neither offsets nor file sizes were seen");
        }
    }

    // Scales every group's range down, in proportion, when the job would lay out more than the
    // placement allows.
    void cap_sizes() {
        const Placement& p = options_.placement;
        uint64_t total = 0;
        for (const Extent& e : extents_) {
            uint64_t bytes = (e.offset + e.size) * e.copies;
            total = p.single_file ? std::max(total, e.offset + e.size) : total + bytes;
        }
        out_.footprint = total;
        if (p.capacity == 0 || total <= p.capacity) return;
        double factor = static_cast<double>(p.capacity) / static_cast<double>(total);
        uint64_t capped_total = 0;
        for (const Extent& e : extents_) {
            JobSection& s = job().sections[e.section];
            auto scaled = [&](uint64_t bytes, uint64_t unit) {
                return static_cast<uint64_t>(static_cast<double>(bytes) * factor) / unit * unit;
            };
            uint64_t size = std::max(kMiB, scaled(e.size, kMiB));
            uint64_t offset = scaled(e.offset, 4096);
            std::string why = fmt::format("capped from {}: {} limits the job to {}", fio_size(e.size), p.capacity_why,
                                          human_bytes(p.capacity));
            replace(s, "size", fio_size(size), why);
            if (e.offset) replace(s, "offset", fio_size(offset), fmt::format("scaled from {} with size", fio_size(e.offset)));
            capped_total = p.single_file ? std::max(capped_total, offset + size) : capped_total + (offset + size) * e.copies;
        }
        out_.warnings.push_back(fmt::format("the job would lay out {}; sizes scaled down to {} ({})", human_bytes(total),
                                            human_bytes(capped_total), p.capacity_why));
        out_.footprint = capped_total;
    }

    static void replace(JobSection& s, const std::string& key, const std::string& value, const std::string& why) {
        for (auto& line : s.lines)
            if (line.key == key) line.value = value, line.comment = why + "; " + line.comment;
    }

    static std::string group_summary(const JobGroup& g) {
        std::string files;
        for (size_t i = 0; i < g.files.size() && i < 3; ++i) files += (i ? ", " : "") + g.files[i].path;
        if (g.files.size() > 3) files += fmt::format(", ... ({} files)", g.files.size());
        return fmt::format("group {}: {} thread(s), {} engine, {} pattern; files: {}", g.name, g.threads.size(),
                           g.engine.empty() ? "unknown" : g.engine, g.pattern.empty() ? "unknown" : g.pattern,
                           files.empty() ? "none seen" : files);
    }

    void warn(const JobGroup& g, const std::string& text) { out_.warnings.push_back("group " + g.name + ": " + text); }

    const model::WorkloadModel& model_;
    const GeneratorOptions& options_;
    GeneratedJob out_;
    std::vector<Extent> extents_;
    std::set<std::string> defaulted_;
};

}  // namespace

std::string section_name(const std::string& group_name) {
    std::string name;
    for (unsigned char c : group_name)
        name += std::isalnum(c) || c == '.' || c == '_' || c == '-' ? static_cast<char>(c) : '_';
    if (name.empty()) name = "group";
    if (name == "global") name = "global-group";
    return name;
}

Result<GeneratedJob> generate_job(const model::WorkloadModel& model, const GeneratorOptions& options) {
    return Builder(model, options).build();
}

}  // namespace iodiag::fio
