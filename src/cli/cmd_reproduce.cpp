#include "cli/cmd_reproduce.hpp"

#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/exit_codes.hpp"
#include "cli/stderr_observer.hpp"
#include "common/units.hpp"
#include "fio/job_file.hpp"

namespace iodiag::cli {

void print_reproduce(const usecase::ReproduceRequest& request, const usecase::ReproduceRun& run) {
    if (run.report) {
        std::cout << "job: " << run.job_file << "\n\n"
                  << (run.replay ? fio::render_replay(*run.replay, *run.report) : fio::render_comparison(*run.comparison));
        return;
    }
    std::cout << run.job_text << "\njob: " << run.job_file << "\n";
    if (run.replay) std::cout << "iologs: " << run.iolog_dir << "\n";
    else std::cout << "run it: iodiag reproduce " << request.model << " --run"
                   << (request.target.empty() ? "" : " --target " + request.target) << "\n";
}

void add_reproduce_command(CLI::App& app, ReproduceOptions& options) {
    usecase::ReproduceRequest& request = options.request;
    request.max_size = usecase::kDefaultMaxSize;  // shown in --help
    CLI::App* cmd = app.add_subcommand(
        "reproduce", "Write an fio job that reproduces a model (or replays a trace); --run runs it and compares");
    cmd->add_option("model", request.model, "model.json written by `iodiag model`");
    cmd->add_option("-o,--output", request.output, "Where to write the fio job")->capture_default_str();
    cmd->add_option("--mode", request.mode,
                    "model: one fio section per job group; replay: fio iologs (one per thread) replaying "
                    "--strace-log with its timing")
        ->check(CLI::IsMember({"model", "replay"}))
        ->capture_default_str();
    cmd->add_option("--strace-log", request.strace_log, "The trace to replay (--mode replay)");
    cmd->add_flag("--run", request.run, "Run the job with fio and compare with what was observed");
    cmd->add_flag("--json", options.json, "Print the result as JSON on stdout");
    cmd->add_option("--target", request.target,
                    "Where fio may write: a directory (iodiag creates a marked scratch directory in it), "
                    "or, with --allow-destructive, a file or block device (default: a new scratch "
                    "directory under $TMPDIR or /var/tmp)");
    cmd->add_flag("--allow-destructive", request.allow_destructive,
                  "Let fio overwrite --target even when it is a block device or a file iodiag did not create");
    cmd->add_option("--max-size", request.max_size, "Most data the job may lay out (fio sizes: 512m, 2g)")
        ->check([](const std::string& text) {
            auto bytes = fio::parse_fio_size(text);
            return bytes && *bytes > 0 ? std::string() : "not a size: " + text;
        })
        ->capture_default_str();
    cmd->add_option("--runtime", request.runtime, "How long fio runs: 30, 30s, 2m (default: the traced duration)")
        ->check([](const std::string& text) {
            return parse_duration_ms(text) ? std::string() : "not a duration: " + text;
        });
    cmd->add_flag("--keep", request.keep, "Keep fio's data files after --run");
    cmd->add_flag("--no-stall", request.no_stall, "Replay as fast as possible instead of with the trace's timing");
    cmd->footer("Examples:\n"
                "  iodiag reproduce model.json -o job.fio\n"
                "  iodiag reproduce model.json --run --target /var/tmp\n"
                "  iodiag reproduce --mode replay --strace-log trace.txt --run");
}

int run_reproduce(const ReproduceOptions& options) {
    StderrObserver observer;
    auto run = usecase::reproduce(options.request, observer);
    if (!run) return report_error(run.error(), options.json);
    if (options.json) print_json(usecase::to_json(*run));
    else print_reproduce(options.request, *run);
    return finish_output(options.json);
}

}  // namespace iodiag::cli
