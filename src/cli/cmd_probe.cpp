#include "cli/cmd_probe.hpp"

#include <cstdio>
#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/exit_codes.hpp"
#include "common/units.hpp"
#include "fio/fio_runner.hpp"
#include "fio/job_file.hpp"
#include "fio/probe.hpp"
#include "fio/safety.hpp"

namespace iodiag::cli {
namespace {

namespace fs = std::filesystem;

Result<fio::ProbeResult> probe(const ProbeOptions& options, const fio::ProbeKind& kind) {
    auto fio_path = fio::find_fio();
    if (!fio_path) return tl::unexpected(fio_path.error());
    auto templ = fio::load_template(kind, fio::template_dirs());
    if (!templ) return tl::unexpected(templ.error());

    auto target = fio::resolve_target({options.target, options.allow_destructive});
    if (!target) return tl::unexpected(target.error());
    fio::ScratchGuard guard(*target);
    fio::Placement placement = fio::placement_for(*target, *fio::parse_fio_size(options.size));
    bool scratch = target->kind == fio::TargetKind::scratch_dir;
    if (scratch && target->tmpfs && std::string(kind.name) == "depth1")
        return fail(ErrorKind::unsupported, target->path + " is on tmpfs, where O_DIRECT fails",
                    "choose --target on a disk file system, e.g. --target /var/tmp");

    fio::ProbeParams params;
    params.filename = scratch ? (fs::path(target->path) / fmt::format("probe-{}.dat", kind.name)).string() : target->path;
    params.size = placement.capacity;
    params.runtime_s = std::max<uint64_t>(1, (*parse_duration_ms(options.runtime) + 999) / 1000);
    if (params.size < *fio::parse_fio_size(options.size))
        std::fprintf(stderr, "iodiag: warning: probe size capped to %s (%s)\n", human_bytes(params.size).c_str(),
                     placement.capacity_why.c_str());
    if (scratch && params.size > target->free_bytes)
        return fail(ErrorKind::output,
                    fmt::format("{} has {} free; the probe needs {}", target->path, human_bytes(target->free_bytes),
                                human_bytes(params.size)),
                    "choose --target on another file system, or a smaller --size");
    auto job_text = fio::instantiate(*templ, params);
    if (!job_text) return tl::unexpected(job_text.error());

    fs::path job_dir = scratch ? fs::path(target->path) : fs::current_path();
    std::string job_path = (job_dir / fmt::format("probe-{}.fio", kind.name)).string();
    if (auto status = fio::write_checked_job(*fio_path, job_path, *job_text); !status) return tl::unexpected(status.error());
    guard.done();
    std::fprintf(stderr, "probe %s: fio %s for %llu s on %s ...\n", kind.name, job_path.c_str(),
                 static_cast<unsigned long long>(params.runtime_s), params.filename.c_str());
    std::fflush(stderr);
    auto report = fio::run_job(*fio_path, job_path, job_path + ".json");
    std::error_code ec;
    if (scratch && !options.keep) fs::remove(params.filename, ec);
    if (!report) return tl::unexpected(report.error());
    if (report->jobs.empty()) return fail(ErrorKind::internal, "fio reported no job for the probe");
    return fio::ProbeResult{kind.name, params.filename, job_path, report->jobs.front()};
}

}  // namespace

void add_probe_command(CLI::App& app, ProbeOptions& options) {
    std::string names, help;
    for (const auto& kind : fio::probe_kinds()) {
        names += (names.empty() ? "" : "|") + std::string(kind.name);
        help += fmt::format("  {:10} {}\n", kind.name, kind.summary);
    }
    CLI::App* cmd = app.add_subcommand("probe", "Run one of the note's standard fio workloads (" + names +
                                                    ") and print IOPS and completion latency");
    std::vector<std::string> choices;
    for (const auto& kind : fio::probe_kinds()) choices.push_back(kind.name);
    cmd->add_option("probe", options.probe, "Which probe: " + names)->required()->check(CLI::IsMember(choices));
    cmd->add_option("--target", options.target,
                    "Where fio may write: a directory (iodiag creates a marked scratch directory in it), or, "
                    "with --allow-destructive, a file or block device (default: a new scratch directory "
                    "under $TMPDIR or /var/tmp)");
    cmd->add_flag("--allow-destructive", options.allow_destructive,
                  "Let fio overwrite --target even when it is a block device or a file iodiag did not create");
    cmd->add_option("--size", options.size, "How much of the target to use (fio sizes: 256m, 1g)")
        ->check([](const std::string& text) {
            auto bytes = fio::parse_fio_size(text);
            return bytes && *bytes > 0 ? std::string() : "not a size: " + text;
        })
        ->capture_default_str();
    cmd->add_option("--runtime", options.runtime, "How long fio runs: 10, 10s, 1m")
        ->check([](const std::string& text) {
            auto ms = parse_duration_ms(text);
            return ms && *ms > 0 ? std::string() : "not a duration: " + text;
        })
        ->capture_default_str();
    cmd->add_flag("--json", options.json, "Print the result as JSON on stdout");
    cmd->add_flag("--keep", options.keep, "Keep the probe's data file");
    cmd->footer("Probes:\n" + help +
                "Examples:\n"
                "  iodiag probe depth1 --target /var/tmp\n"
                "  iodiag probe syncwrite --target /mnt/data --runtime 30s --json");
}

int run_probe(const ProbeOptions& options) {
    const fio::ProbeKind* kind = fio::find_probe(options.probe);
    if (!kind) return report_error({ErrorKind::usage, "unknown probe " + options.probe, "see iodiag probe --help"});
    auto result = probe(options, *kind);
    if (!result) return report_error(result.error());
    if (options.json) std::cout << fio::probe_json(*result).dump(2) << '\n';
    else std::cout << fio::render_probe(*result);
    return kExitOk;
}

}  // namespace iodiag::cli
