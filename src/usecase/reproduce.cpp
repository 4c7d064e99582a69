#include "usecase/reproduce.hpp"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "common/units.hpp"
#include "fio/fio_runner.hpp"
#include "fio/job_generator.hpp"
#include "model/workload_model.hpp"
#include "usecase/output_path.hpp"

namespace iodiag::usecase {
namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

constexpr const char* kFioReport = "fio-output.json";

const char* kind_name(fio::TargetKind kind) {
    switch (kind) {
    case fio::TargetKind::scratch_dir: return "scratch_dir";
    case fio::TargetKind::file: return "file";
    case fio::TargetKind::block_device: return "block_device";
    }
    return "unknown";
}

ordered_json target_json(const fio::Target& target) {
    return {{"kind", kind_name(target.kind)}, {"path", target.path}, {"created", target.created}};
}

void warn(Observer& observer, const std::string& text) { observer.note("warning: " + text); }

// What every mode needs: a valid request, fio (when running), an output path, and the target the
// safety gate allows.
struct Setup {
    std::string fio;            // empty when fio is missing and not needed
    fio::Target target;
    fio::Placement placement;
    uint64_t max_size = 0;
    uint64_t runtime_s = 0;     // 0: the traced duration
};

// Checks that have no side effects, before anything is read or created.
Result<Setup> check_request(const ReproduceRequest& request, Observer& observer) {
    if (request.mode != "model" && request.mode != "replay")
        return fail(ErrorKind::usage, "unknown mode " + request.mode, "give model or replay");
    if (request.mode == "replay" && request.strace_log.empty())
        return fail(ErrorKind::usage, "--mode replay needs --strace-log FILE",
                    "model.json keeps no per-IO events; replay reads the trace itself");
    if (request.mode == "replay" && !request.model.empty())
        return fail(ErrorKind::usage, "--mode replay takes the trace (--strace-log), not a model", "drop " + request.model);
    if (request.mode == "model" && request.model.empty())
        return fail(ErrorKind::usage, "give the model to reproduce: iodiag reproduce model.json",
                    "write one with `iodiag model`");
    if (request.mode == "model" && !request.strace_log.empty())
        return fail(ErrorKind::usage, "--strace-log is for --mode replay", "see iodiag reproduce --help");

    Setup setup;
    const std::string max_size = request.max_size.empty() ? kDefaultMaxSize : request.max_size;
    auto bytes = fio::parse_fio_size(max_size);
    if (!bytes || *bytes == 0) return fail(ErrorKind::usage, "not a size: " + max_size, "fio sizes: 512m, 2g");
    setup.max_size = *bytes;
    if (!request.runtime.empty()) {
        auto ms = parse_duration_ms(request.runtime);
        if (!ms) return fail(ErrorKind::usage, "not a duration: " + request.runtime, "30, 30s, 2m");
        setup.runtime_s = std::max<uint64_t>(1, (*ms + 999) / 1000);
    }
    if (auto fio = fio::find_fio()) setup.fio = *fio;
    else if (request.run) return tl::unexpected(fio.error());
    else warn(observer, "fio is not installed: the job is not checked with fio --parse-only");
    if (auto status = check_output_writable(request.output); !status) return tl::unexpected(status.error());
    return setup;
}

Status resolve(const ReproduceRequest& request, Setup& setup) {
    auto target = fio::resolve_target({request.target, request.allow_destructive});
    if (!target) return tl::unexpected(target.error());
    setup.target = *target;
    setup.placement = fio::placement_for(setup.target, setup.max_size);
    return {};
}

// The job would lay out more than the file system holds (the cap leaves 10% spare, but a full
// disk has nothing to give).
Status check_space(const Setup& setup, uint64_t footprint) {
    if (setup.target.kind != fio::TargetKind::scratch_dir || footprint <= setup.target.free_bytes) return {};
    return fail(ErrorKind::output,
                fmt::format("{} has {} free; the job needs {}", setup.target.path, human_bytes(setup.target.free_bytes),
                            human_bytes(footprint)),
                "free space, choose --target on another file system, or lower --max-size");
}

// Runs the job written, then removes what fio laid out unless asked to keep it.
Result<fio::FioReport> run_fio(const ReproduceRequest& request, const Setup& setup, const std::string& job_path,
                               const std::string& what, Observer& observer) {
    observer.progress(what);
    std::string report_path = setup.target.kind == fio::TargetKind::scratch_dir
                                  ? (fs::path(setup.target.path) / kFioReport).string()
                                  : job_path + ".json";
    auto report = fio::run_job(setup.fio, job_path, report_path);
    if (request.keep) observer.progress("data files kept in " + setup.target.path);
    else fio::remove_scratch_data(setup.target, {kFioReport});
    return report;
}

Result<ReproduceRun> reproduce_model(const ReproduceRequest& request, Setup& setup, Observer& observer) {
    auto model = model::load_model(request.model);
    if (!model) return tl::unexpected(model.error());
    if (auto status = resolve(request, setup); !status) return tl::unexpected(status.error());
    fio::ScratchGuard guard(setup.target);
    bool direct = false;
    for (const auto& g : model->groups) direct |= g.fio.contains("direct") && g.fio.at("direct") == 1;
    if (direct && setup.target.tmpfs)
        return fail(ErrorKind::unsupported, setup.target.path + " is on tmpfs, where O_DIRECT (direct=1) fails",
                    "choose --target on a disk file system, e.g. --target /var/tmp");

    fio::GeneratorOptions generator{setup.placement, setup.runtime_s, request.model};
    auto job = fio::generate_job(*model, generator);
    if (!job) return tl::unexpected(job.error());
    for (const auto& w : job->warnings) warn(observer, w);
    if (auto status = check_space(setup, job->footprint); !status) return tl::unexpected(status.error());
    ReproduceRun run;
    run.job_text = job->job.render();
    if (auto status = fio::write_checked_job(setup.fio, request.output, run.job_text); !status)
        return tl::unexpected(status.error());
    guard.done();

    run.mode = "model";
    run.job_file = fs::absolute(request.output).string();
    run.target = setup.target;
    run.footprint_bytes = job->footprint;
    run.warnings = job->warnings;
    for (size_t i = 0; i < job->sections.size(); ++i) run.sections.push_back({model->groups[i].name, job->sections[i]});
    if (!request.run) return run;

    auto report = run_fio(request, setup, run.job_file,
                          fmt::format("running fio {} in {} ...", run.job_file, setup.target.path), observer);
    if (!report) return tl::unexpected(report.error());
    run.comparison = fio::compare(*model, job->sections, *report);
    run.report = std::move(*report);
    return run;
}

// Old iologs from an earlier run of the same job are replaced; anything else is left alone.
Status clear_iolog_dir(const std::string& dir) {
    std::error_code ec;
    if (!fs::exists(dir, ec)) return {};
    for (const auto& entry : fs::directory_iterator(dir, ec))
        if (entry.path().extension() != ".iolog")
            return fail(ErrorKind::output, dir + " holds files iodiag did not write (" + entry.path().filename().string() + ")",
                        "choose another -o, or move that folder away");
    fs::remove_all(dir, ec);
    if (ec) return fail(ErrorKind::output, "cannot replace " + dir + ": " + ec.message());
    return {};
}

Result<ReproduceRun> reproduce_replay(const ReproduceRequest& request, Setup& setup, Observer& observer) {
    if (!request.runtime.empty()) warn(observer, "--runtime does not apply to a replay: it runs the whole trace");
    std::error_code ec;
    if (!fs::exists(request.strace_log, ec))
        return fail(ErrorKind::not_found, "no such file: " + request.strace_log, "give the strace -f -tt -T -y log to replay");
    if (auto status = resolve(request, setup); !status) return tl::unexpected(status.error());
    fio::ScratchGuard guard(setup.target);
    const std::string iolog_dir = fs::absolute(request.output).string() + ".iologs";
    if (auto status = clear_iolog_dir(iolog_dir); !status) return tl::unexpected(status.error());

    // Until the job is written, a failure takes the iologs written so far with it.
    auto discard = [&](const Error& error) {
        fs::remove_all(iolog_dir, ec);
        return tl::unexpected(error);
    };
    auto plan = fio::build_replay({request.strace_log, setup.placement, iolog_dir, request.no_stall});
    if (!plan) return discard(plan.error());
    for (const auto& w : plan->warnings) warn(observer, w);
    if (auto status = check_space(setup, plan->footprint); !status) return discard(status.error());
    if (auto status = fio::lay_out_files(*plan, setup.placement); !status) {
        fio::remove_scratch_data(setup.target, {});
        return discard(status.error());
    }
    ReproduceRun run;
    run.job_text = plan->job.render();
    if (auto status = fio::write_checked_job(setup.fio, request.output, run.job_text); !status)
        return discard(status.error());
    guard.done();

    run.mode = "replay";
    run.job_file = fs::absolute(request.output).string();
    run.iolog_dir = iolog_dir;
    run.target = setup.target;
    run.footprint_bytes = plan->footprint;
    run.warnings = plan->warnings;
    run.replay = std::move(*plan);
    if (!request.run) return run;

    auto report = run_fio(request, setup, run.job_file,
                          fmt::format("replaying {} thread(s) with fio {} ...", run.replay->threads.size(), run.job_file),
                          observer);
    if (!report) return tl::unexpected(report.error());
    run.report = std::move(*report);
    return run;
}

}  // namespace

Result<ReproduceRun> reproduce(const ReproduceRequest& request, Observer& observer) {
    auto setup = check_request(request, observer);
    if (!setup) return tl::unexpected(setup.error());
    return request.mode == "replay" ? reproduce_replay(request, *setup, observer)
                                    : reproduce_model(request, *setup, observer);
}

ordered_json to_json(const ReproduceRun& run) {
    ordered_json out;
    out["mode"] = run.mode;
    out["job_file"] = run.job_file;
    if (run.replay) out["iologs"] = run.iolog_dir;
    out["target"] = target_json(run.target);
    out["footprint_bytes"] = run.footprint_bytes;
    if (!run.replay) {
        out["sections"] = ordered_json::array();
        for (const auto& s : run.sections) out["sections"].push_back({{"group", s.group}, {"section", s.section}});
    }
    out["warnings"] = run.warnings;
    if (run.report) out["fio_version"] = run.report->fio_version;
    if (run.replay) out["threads"] = fio::replay_json(*run.replay, run.report ? &*run.report : nullptr);
    if (run.comparison) out["comparison"] = fio::comparison_json(*run.comparison);
    return out;
}

std::vector<std::string> summary_lines(const ReproduceRun& run) {
    std::vector<std::string> lines{"job: " + run.job_file, "target: " + run.target.path};
    if (run.comparison)
        for (const auto& group : run.comparison->groups) lines.push_back(group.group + ": " + group.verdict);
    if (run.replay && run.report)
        lines.push_back(fmt::format("replayed {} thread(s) with fio {}", run.replay->threads.size(), run.report->fio_version));
    return lines;
}

}  // namespace iodiag::usecase
