#include "cli/cmd_reproduce.hpp"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/exit_codes.hpp"
#include "cli/output_path.hpp"
#include "common/units.hpp"
#include "fio/comparison.hpp"
#include "fio/fio_runner.hpp"
#include "fio/iolog_replay.hpp"
#include "fio/job_generator.hpp"
#include "fio/safety.hpp"
#include "model/workload_model.hpp"

namespace iodiag::cli {
namespace {

namespace fs = std::filesystem;
using model::ordered_json;

constexpr const char* kFioReport = "fio-output.json";

void warn(const std::string& text) { std::fprintf(stderr, "iodiag: warning: %s\n", text.c_str()); }

void progress(const std::string& text) {
    std::fprintf(stderr, "%s\n", text.c_str());
    std::fflush(stderr);
}

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

// What every mode needs: a valid command line, fio (when running), an output path, and the
// target the safety gate allows.
struct Setup {
    std::string fio;            // empty when fio is missing and not needed
    fio::Target target;
    fio::Placement placement;
    uint64_t runtime_s = 0;
};

// Checks that have no side effects, before anything is read or created.
Result<Setup> check_command_line(const ReproduceOptions& options) {
    if (options.mode == "replay" && options.strace_log.empty())
        return fail(ErrorKind::usage, "--mode replay needs --strace-log FILE",
                    "model.json keeps no per-IO events; replay reads the trace itself");
    if (options.mode == "replay" && !options.model.empty())
        return fail(ErrorKind::usage, "--mode replay takes the trace (--strace-log), not a model", "drop " + options.model);
    if (options.mode == "model" && options.model.empty())
        return fail(ErrorKind::usage, "give the model to reproduce: iodiag reproduce model.json",
                    "write one with `iodiag model`");
    if (options.mode == "model" && !options.strace_log.empty())
        return fail(ErrorKind::usage, "--strace-log is for --mode replay", "see iodiag reproduce --help");

    Setup setup;
    if (auto fio = fio::find_fio()) setup.fio = *fio;
    else if (options.run) return tl::unexpected(fio.error());
    else warn("fio is not installed: the job is not checked with fio --parse-only");
    if (!options.runtime.empty()) {
        uint64_t ms = *parse_duration_ms(options.runtime);  // validated by CLI11
        setup.runtime_s = std::max<uint64_t>(1, (ms + 999) / 1000);
    }
    if (auto status = check_output_writable(options.output); !status) return tl::unexpected(status.error());
    return setup;
}

Status resolve(const ReproduceOptions& options, Setup& setup) {
    auto target = fio::resolve_target({options.target, options.allow_destructive});
    if (!target) return tl::unexpected(target.error());
    setup.target = *target;
    setup.placement = fio::placement_for(setup.target, *fio::parse_fio_size(options.max_size));
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

Result<fio::FioReport> run_fio(const Setup& setup, const std::string& job_path, const std::string& what) {
    progress(what);
    std::string report = setup.target.kind == fio::TargetKind::scratch_dir
                             ? (fs::path(setup.target.path) / kFioReport).string()
                             : job_path + ".json";
    return fio::run_job(setup.fio, job_path, report);
}

void clean_up(const ReproduceOptions& options, const Setup& setup) {
    if (!options.run) return;
    if (options.keep) {
        progress("data files kept in " + setup.target.path);
        return;
    }
    fio::remove_scratch_data(setup.target, {kFioReport});
}

int reproduce_model(const ReproduceOptions& options, Setup& setup) {
    auto model = model::load_model(options.model);
    if (!model) return report_error(model.error());
    if (auto status = resolve(options, setup); !status) return report_error(status.error());
    fio::ScratchGuard guard(setup.target);
    bool direct = false;
    for (const auto& g : model->groups) direct |= g.fio.contains("direct") && g.fio.at("direct") == 1;
    if (direct && setup.target.tmpfs)
        return report_error({ErrorKind::unsupported, setup.target.path + " is on tmpfs, where O_DIRECT (direct=1) fails",
                             "choose --target on a disk file system, e.g. --target /var/tmp"});

    fio::GeneratorOptions generator{setup.placement, setup.runtime_s, options.model};
    auto job = fio::generate_job(*model, generator);
    if (!job) return report_error(job.error());
    for (const auto& w : job->warnings) warn(w);
    if (auto status = check_space(setup, job->footprint); !status) return report_error(status.error());
    const std::string text = job->job.render();
    if (auto status = fio::write_checked_job(setup.fio, options.output, text); !status) return report_error(status.error());
    guard.done();
    const std::string job_path = fs::absolute(options.output).string();

    ordered_json out;
    out["mode"] = "model";
    out["job_file"] = job_path;
    out["target"] = target_json(setup.target);
    out["footprint_bytes"] = job->footprint;
    out["sections"] = ordered_json::array();
    for (size_t i = 0; i < job->sections.size(); ++i)
        out["sections"].push_back({{"group", model->groups[i].name}, {"section", job->sections[i]}});
    out["warnings"] = job->warnings;
    if (!options.run) {
        if (options.json) std::cout << out.dump(2) << '\n';
        else std::cout << text << "\njob: " << job_path << "\nrun it: iodiag reproduce " << options.model << " --run"
                       << (options.target.empty() ? "" : " --target " + options.target) << "\n";
        return kExitOk;
    }

    auto report = run_fio(setup, job_path,
                          fmt::format("running fio {} in {} ...", job_path, setup.target.path));
    clean_up(options, setup);
    if (!report) return report_error(report.error());
    fio::Comparison comparison = fio::compare(*model, job->sections, *report);
    if (options.json) {
        out["fio_version"] = report->fio_version;
        out["comparison"] = fio::comparison_json(comparison);
        std::cout << out.dump(2) << '\n';
    } else {
        std::cout << "job: " << job_path << "\n\n" << fio::render_comparison(comparison);
    }
    return kExitOk;
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

int reproduce_replay(const ReproduceOptions& options, Setup& setup) {
    if (!options.runtime.empty()) warn("--runtime does not apply to a replay: it runs the whole trace");
    std::error_code ec;
    if (!fs::exists(options.strace_log, ec))
        return report_error({ErrorKind::not_found, "no such file: " + options.strace_log, "give the strace -f -tt -T -y log to replay"});
    if (auto status = resolve(options, setup); !status) return report_error(status.error());
    fio::ScratchGuard guard(setup.target);
    const std::string iolog_dir = fs::absolute(options.output).string() + ".iologs";
    if (auto status = clear_iolog_dir(iolog_dir); !status) return report_error(status.error());

    auto plan = fio::build_replay({options.strace_log, setup.placement, iolog_dir, options.no_stall});
    auto discard = [&] { fs::remove_all(iolog_dir, ec); };
    if (!plan) {
        discard();
        return report_error(plan.error());
    }
    for (const auto& w : plan->warnings) warn(w);
    if (auto status = check_space(setup, plan->footprint); !status) {
        discard();
        return report_error(status.error());
    }
    if (auto status = fio::lay_out_files(*plan, setup.placement); !status) {
        discard();
        fio::remove_scratch_data(setup.target, {});
        return report_error(status.error());
    }
    const std::string text = plan->job.render();
    if (auto status = fio::write_checked_job(setup.fio, options.output, text); !status) {
        discard();
        return report_error(status.error());
    }
    guard.done();
    const std::string job_path = fs::absolute(options.output).string();

    ordered_json out;
    out["mode"] = "replay";
    out["job_file"] = job_path;
    out["iologs"] = iolog_dir;
    out["target"] = target_json(setup.target);
    out["footprint_bytes"] = plan->footprint;
    out["warnings"] = plan->warnings;
    if (!options.run) {
        out["threads"] = fio::replay_json(*plan, nullptr);
        if (options.json) std::cout << out.dump(2) << '\n';
        else std::cout << text << "\njob: " << job_path << "\niologs: " << iolog_dir << "\n";
        return kExitOk;
    }
    auto report = run_fio(setup, job_path, fmt::format("replaying {} thread(s) with fio {} ...", plan->threads.size(), job_path));
    clean_up(options, setup);
    if (!report) return report_error(report.error());
    if (options.json) {
        out["fio_version"] = report->fio_version;
        out["threads"] = fio::replay_json(*plan, &*report);
        std::cout << out.dump(2) << '\n';
    } else {
        std::cout << "job: " << job_path << "\n\n" << fio::render_replay(*plan, *report);
    }
    return kExitOk;
}

}  // namespace

void add_reproduce_command(CLI::App& app, ReproduceOptions& options) {
    CLI::App* cmd = app.add_subcommand(
        "reproduce", "Write an fio job that reproduces a model (or replays a trace); --run runs it and compares");
    cmd->add_option("model", options.model, "model.json written by `iodiag model`");
    cmd->add_option("-o,--output", options.output, "Where to write the fio job")->capture_default_str();
    cmd->add_option("--mode", options.mode,
                    "model: one fio section per job group; replay: fio iologs (one per thread) replaying "
                    "--strace-log with its timing")
        ->check(CLI::IsMember({"model", "replay"}))
        ->capture_default_str();
    cmd->add_option("--strace-log", options.strace_log, "The trace to replay (--mode replay)");
    cmd->add_flag("--run", options.run, "Run the job with fio and compare with what was observed");
    cmd->add_flag("--json", options.json, "Print the result as JSON on stdout");
    cmd->add_option("--target", options.target,
                    "Where fio may write: a directory (iodiag creates a marked scratch directory in it), "
                    "or, with --allow-destructive, a file or block device (default: a new scratch "
                    "directory under $TMPDIR or /var/tmp)");
    cmd->add_flag("--allow-destructive", options.allow_destructive,
                  "Let fio overwrite --target even when it is a block device or a file iodiag did not create");
    cmd->add_option("--max-size", options.max_size, "Most data the job may lay out (fio sizes: 512m, 2g)")
        ->check([](const std::string& text) {
            auto bytes = fio::parse_fio_size(text);
            return bytes && *bytes > 0 ? std::string() : "not a size: " + text;
        })
        ->capture_default_str();
    cmd->add_option("--runtime", options.runtime, "How long fio runs: 30, 30s, 2m (default: the traced duration)")
        ->check([](const std::string& text) {
            return parse_duration_ms(text) ? std::string() : "not a duration: " + text;
        });
    cmd->add_flag("--keep", options.keep, "Keep fio's data files after --run");
    cmd->add_flag("--no-stall", options.no_stall, "Replay as fast as possible instead of with the trace's timing");
    cmd->footer("Examples:\n"
                "  iodiag reproduce model.json -o job.fio\n"
                "  iodiag reproduce model.json --run --target /var/tmp\n"
                "  iodiag reproduce --mode replay --strace-log trace.txt --run");
}

int run_reproduce(const ReproduceOptions& options) {
    auto setup = check_command_line(options);
    if (!setup) return report_error(setup.error());
    return options.mode == "replay" ? reproduce_replay(options, *setup) : reproduce_model(options, *setup);
}

}  // namespace iodiag::cli
