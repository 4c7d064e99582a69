#include "usecase/probe.hpp"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "common/units.hpp"
#include "fio/fio_runner.hpp"
#include "fio/job_file.hpp"
#include "fio/safety.hpp"

namespace iodiag::usecase {
namespace {

namespace fs = std::filesystem;

struct ProbeSettings {
    const fio::ProbeKind* kind = nullptr;
    uint64_t size = 0;
    uint64_t runtime_s = 0;
};

Result<ProbeSettings> check_request(const ProbeRequest& request) {
    ProbeSettings settings;
    settings.kind = fio::find_probe(request.probe);
    if (!settings.kind) return fail(ErrorKind::usage, "unknown probe " + request.probe, "see iodiag probe --help");
    const std::string size = request.size.empty() ? kDefaultProbeSize : request.size;
    auto bytes = fio::parse_fio_size(size);
    if (!bytes || *bytes == 0) return fail(ErrorKind::usage, "not a size: " + size, "fio sizes: 256m, 1g");
    settings.size = *bytes;
    const std::string runtime = request.runtime.empty() ? kDefaultProbeRuntime : request.runtime;
    auto ms = parse_duration_ms(runtime);
    if (!ms || *ms == 0) return fail(ErrorKind::usage, "not a duration: " + runtime, "10, 10s, 1m");
    settings.runtime_s = std::max<uint64_t>(1, (*ms + 999) / 1000);
    return settings;
}

}  // namespace

Result<ProbeRun> run_probe(const ProbeRequest& request, Observer& observer) {
    auto settings = check_request(request);
    if (!settings) return tl::unexpected(settings.error());
    const fio::ProbeKind& kind = *settings->kind;
    auto fio_path = fio::find_fio();
    if (!fio_path) return tl::unexpected(fio_path.error());
    auto templ = fio::load_template(kind, fio::template_dirs());
    if (!templ) return tl::unexpected(templ.error());

    auto target = fio::resolve_target({request.target, request.allow_destructive});
    if (!target) return tl::unexpected(target.error());
    fio::ScratchGuard guard(*target);
    fio::Placement placement = fio::placement_for(*target, settings->size);
    bool scratch = target->kind == fio::TargetKind::scratch_dir;
    if (scratch && target->tmpfs && std::string(kind.name) == "depth1")
        return fail(ErrorKind::unsupported, target->path + " is on tmpfs, where O_DIRECT fails",
                    "choose --target on a disk file system, e.g. --target /var/tmp");

    fio::ProbeParams params;
    params.filename = scratch ? (fs::path(target->path) / fmt::format("probe-{}.dat", kind.name)).string() : target->path;
    params.size = placement.capacity;
    params.runtime_s = settings->runtime_s;
    if (params.size < settings->size)
        observer.note(fmt::format("warning: probe size capped to {} ({})", human_bytes(params.size),
                                  placement.capacity_why));
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
    observer.progress(fmt::format("probe {}: fio {} for {} s on {} ...", kind.name, job_path, params.runtime_s,
                                  params.filename));
    auto report = fio::run_job(*fio_path, job_path, job_path + ".json");
    std::error_code ec;
    if (scratch && !request.keep) fs::remove(params.filename, ec);
    if (!report) return tl::unexpected(report.error());
    if (report->jobs.empty()) return fail(ErrorKind::internal, "fio reported no job for the probe");
    return ProbeRun{fio::ProbeResult{kind.name, params.filename, job_path, report->jobs.front()}};
}

nlohmann::ordered_json to_json(const ProbeRun& run) { return fio::probe_json(run.result); }

}  // namespace iodiag::usecase
