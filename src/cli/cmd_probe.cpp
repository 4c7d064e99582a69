#include "cli/cmd_probe.hpp"

#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/exit_codes.hpp"
#include "cli/stderr_observer.hpp"
#include "common/units.hpp"
#include "fio/job_file.hpp"

namespace iodiag::cli {

void add_probe_command(CLI::App& app, ProbeOptions& options) {
    std::string names, help;
    for (const auto& kind : fio::probe_kinds()) {
        names += (names.empty() ? "" : "|") + std::string(kind.name);
        help += fmt::format("  {:10} {}\n", kind.name, kind.summary);
    }
    usecase::ProbeRequest& request = options.request;
    request.size = usecase::kDefaultProbeSize;  // shown in --help
    request.runtime = usecase::kDefaultProbeRuntime;
    CLI::App* cmd = app.add_subcommand("probe", "Run one of the note's standard fio workloads (" + names +
                                                    ") and print IOPS and completion latency");
    std::vector<std::string> choices;
    for (const auto& kind : fio::probe_kinds()) choices.push_back(kind.name);
    cmd->add_option("probe", request.probe, "Which probe: " + names)->required()->check(CLI::IsMember(choices));
    cmd->add_option("--target", request.target,
                    "Where fio may write: a directory (iodiag creates a marked scratch directory in it), or, "
                    "with --allow-destructive, a file or block device (default: a new scratch directory "
                    "under $TMPDIR or /var/tmp)");
    cmd->add_flag("--allow-destructive", request.allow_destructive,
                  "Let fio overwrite --target even when it is a block device or a file iodiag did not create");
    cmd->add_option("--size", request.size, "How much of the target to use (fio sizes: 256m, 1g)")
        ->check([](const std::string& text) {
            auto bytes = fio::parse_fio_size(text);
            return bytes && *bytes > 0 ? std::string() : "not a size: " + text;
        })
        ->capture_default_str();
    cmd->add_option("--runtime", request.runtime, "How long fio runs: 10, 10s, 1m")
        ->check([](const std::string& text) {
            auto ms = parse_duration_ms(text);
            return ms && *ms > 0 ? std::string() : "not a duration: " + text;
        })
        ->capture_default_str();
    cmd->add_flag("--json", options.json, "Print the result as JSON on stdout");
    cmd->add_flag("--keep", request.keep, "Keep the probe's data file");
    cmd->footer("Probes:\n" + help +
                "Examples:\n"
                "  iodiag probe depth1 --target /var/tmp\n"
                "  iodiag probe syncwrite --target /mnt/data --runtime 30s --json");
}

int run_probe(const ProbeOptions& options) {
    StderrObserver observer;
    auto run = usecase::run_probe(options.request, observer);
    if (!run) return report_error(run.error(), options.json);
    if (options.json) print_json(usecase::to_json(*run));
    else std::cout << fio::render_probe(run->result);
    return finish_output(options.json);
}

}  // namespace iodiag::cli
