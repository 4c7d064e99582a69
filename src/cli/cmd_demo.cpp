#include "cli/cmd_demo.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/cmd_model.hpp"
#include "cli/exit_codes.hpp"
#include "cli/stderr_observer.hpp"
#include "common/subprocess.hpp"
#include "demo_job.hpp"
#include "model/workload_model.hpp"
#include "report/report.hpp"
#include "usecase/model.hpp"
#include "wizard/actions.hpp"
#include "wizard/diagnose.hpp"
#include "wizard/facts.hpp"
#include "wizard/playbook.hpp"

namespace iodiag::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* kJobFile = "demo.fio";
constexpr const char* kFioReport = "fio-output.txt";
constexpr const char* kModelFile = "model.json";  // in the session folder
constexpr const char* kSessionDir = "diagnosis";     // the diagnose session folder
constexpr const char* kReproduceDir = "reproduce";  // the scratch directory fio reproduces in
constexpr const char* kReproduceRuntime = "3s";
constexpr const char* kProbeRuntime = "2s";
constexpr const char* kProbeSize = "32m";
constexpr const char* kSlowMin = "1ms";
constexpr const char* kDirVariable = "${IODIAG_DEMO_DIR}";

Result<fs::path> demo_dir(const DemoOptions& options) {
    std::error_code ec;
    if (!options.keep_dir.empty()) {
        fs::create_directories(options.keep_dir, ec);
        if (ec)
            return fail(ErrorKind::output,
                        "cannot create " + options.keep_dir + ": " + ec.message());
        return fs::absolute(options.keep_dir);
    }
    std::string templ = (fs::temp_directory_path(ec) / "iodiag-demo-XXXXXX").string();
    if (!mkdtemp(templ.data()))
        return fail(ErrorKind::output, "cannot create a temporary folder: " + templ);
    return fs::path(templ);
}

// The bundled job with its directory pointing at `dir`, so the file also runs by hand.
Status write_job(const fs::path& job_path, const fs::path& dir) {
    std::string job = kDemoJob;
    for (size_t at; (at = job.find(kDirVariable)) != std::string::npos;)
        job.replace(at, std::string_view(kDirVariable).size(), dir.string());
    std::ofstream out(job_path);
    out << job;
    if (!out.flush())
        return fail(ErrorKind::output, "cannot write " + job_path.string());
    return {};
}

// Lays the data files out first, so the trace shows the workload and not fio's setup writes.
Status create_files(const std::string& fio, const fs::path& job_path) {
    auto run = run_capture({fio, "--create_only=1", job_path.string()});
    if (!run) return tl::unexpected(run.error());
    if (run->exit_code != 0)
        return fail(ErrorKind::internal,
                    fmt::format("fio --create_only=1 failed (exit {}): {}", run->exit_code,
                                run->err.substr(0, run->err.find('\n'))));
    return {};
}

// Everything but the job, fio's report and the model: the 64 MiB data files.
void remove_data_files(const fs::path& dir) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        std::string name = entry.path().filename().string();
        if (name != kJobFile && name != kFioReport && name != kSessionDir)
            fs::remove(entry.path(), ec);
    }
}

}  // namespace

void add_demo_command(CLI::App& app, DemoOptions& options) {
    CLI::App* cmd = app.add_subcommand(
        "demo", "Diagnose a bundled fio workload (random reads + synced log writes) end to end, as "
                "`iodiag diagnose --yes` would, and print the report's top findings");
    cmd->add_option("--keep", options.keep_dir,
                    "Run in this folder and keep the data files (default: a temporary folder; "
                    "only the job, fio's report and the diagnosis folder are kept)");
    cmd->add_flag("--progress", options.progress,
                  "Progress lines on stderr even when it is not a terminal");
}

int run_demo(const DemoOptions& options) {
    auto fio = find_in_path("fio");
    if (!fio)
        return report_error({ErrorKind::missing_tool, "fio is not installed (not found in PATH)",
                             "apt-get install fio"});
    auto dir = demo_dir(options);
    if (!dir) return report_error(dir.error());
    const fs::path job_path = *dir / kJobFile;
    if (auto status = write_job(job_path, *dir); !status) return report_error(status.error());

    fmt::print("iodiag demo in {}\n", dir->string());
    fmt::print("laying out the data files (fio --create_only=1) ...\n");
    std::fflush(stdout);
    if (auto status = create_files(*fio, job_path); !status) {
        if (options.keep_dir.empty()) remove_data_files(*dir);
        return report_error(status.error());
    }
    fmt::print("diagnosing fio {} with the {} playbook, straight through (about 40 s) ...\n", job_path.string(),
               wizard::kDefaultPlaybook);
    std::fflush(stdout);

    // `iodiag diagnose --yes -- fio demo.fio`, with short fio runs: each tracing step runs the job again.
    const fs::path session_dir = *dir / kSessionDir;
    std::error_code ec;
    if (fs::exists(session_dir / wizard::kSessionFile, ec)) fs::remove_all(session_dir, ec);  // an earlier demo's
    wizard::DiagnoseRequest request;
    request.target.command = {*fio, "--output=" + (*dir / kFioReport).string(), job_path.string()};
    request.target.progress = options.progress;
    request.playbook = wizard::kDefaultPlaybook;
    request.session_dir = session_dir.string();
    const nlohmann::ordered_json answers = {{"reproduce.runtime", kReproduceRuntime},
                                            {"reproduce.target", (*dir / kReproduceDir).string()},
                                            {"probe-depth1.runtime", kProbeRuntime},
                                            {"probe-syncwrite.runtime", kProbeRuntime},
                                            {"size", kProbeSize},
                                            {"slow.min", kSlowMin}};
    wizard::BatchPrompter prompter(answers, std::cout);
    wizard::LibraryActions actions;
    wizard::SystemFacts facts;
    StderrObserver status;  // tracing progress on stderr, as the other commands show it
    auto result = wizard::diagnose(request, prompter, actions, facts, &status);
    if (options.keep_dir.empty()) remove_data_files(*dir);
    if (!result) return report_error(result.error());

    const std::string model_path = (session_dir / kModelFile).string();
    if (auto model = model::load_model(model_path)) {
        fmt::print("\n");
        print_model_summary(usecase::ModelRun{std::move(*model), 0, {}}, model_path);
    }
    fmt::print("fio's own report: {}\nthe job traced: {}\n", (*dir / kFioReport).string(), job_path.string());
    if (result->end != wizard::EngineEnd::finished) {
        fmt::print("the diagnosis stopped; continue it with: iodiag diagnose --resume {}\n", session_dir.string());
        return result->end == wizard::EngineEnd::aborted ? kExitAborted : kExitOk;
    }
    fmt::print("\nreport: {}\n", (session_dir / "report.html").string());
    for (const auto& line : report::top_findings(result->report, 5)) fmt::print("  {}\n", line);
    return kExitOk;
}

}  // namespace iodiag::cli
