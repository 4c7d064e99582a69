#include "cli/cmd_demo.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/cmd_model.hpp"
#include "cli/cmd_reproduce.hpp"
#include "cli/exit_codes.hpp"
#include "cli/stderr_observer.hpp"
#include "common/subprocess.hpp"
#include "demo_job.hpp"
#include "model/workload_model.hpp"
#include "usecase/model.hpp"
#include "usecase/output_path.hpp"
#include "usecase/reproduce.hpp"

namespace iodiag::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* kJobFile = "demo.fio";
constexpr const char* kFioReport = "fio-output.txt";
constexpr const char* kModelFile = "model.json";
constexpr const char* kReproduceJob = "reproduce.fio";
constexpr const char* kReproduceDir = "reproduce";  // the scratch directory fio reproduces in
constexpr const char* kReproduceRuntime = "3s";
constexpr const char* kDirVariable = "${IODIAG_DEMO_DIR}";
// The job runs ~4 s; this only guards against a hung fio.
constexpr uint64_t kDurationCapMs = 60'000;

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
        if (name != kJobFile && name != kFioReport && name != kModelFile)
            fs::remove(entry.path(), ec);
    }
}

}  // namespace

void add_demo_command(CLI::App& app, DemoOptions& options) {
    CLI::App* cmd = app.add_subcommand(
        "demo", "Trace a bundled fio workload (random reads + synced log writes) end to end");
    cmd->add_option("--keep", options.keep_dir,
                    "Run in this folder and keep the data files (default: a temporary folder; "
                    "only the job, fio's report and model.json are kept)");
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
    fmt::print("tracing fio {} (about 5 s) ...\n", job_path.string());
    std::fflush(stdout);

    // As `iodiag model -- fio demo.fio -o model.json` would, with fio's report kept in a file.
    StderrObserver observer;
    const std::string model_path = (*dir / kModelFile).string();
    usecase::ModelRequest model;
    model.target.command = {*fio, job_path.string()};
    model.target.command_stdout = (*dir / kFioReport).string();
    model.target.duration_ms = kDurationCapMs;
    model.target.progress = options.progress;
    auto traced = [&]() -> Status {
        if (auto status = usecase::check_output_writable(model_path); !status) return status;
        auto run = usecase::build_model(model, observer);
        if (!run) return tl::unexpected(run.error());
        if (auto status = model::save_model(run->model, model_path); !status) return status;
        print_model_summary(*run, model_path);
        return {};
    }();

    if (options.keep_dir.empty()) remove_data_files(*dir);
    if (!traced) return report_model_error(traced.error());
    fmt::print("fio's own report: {}\nthe job traced: {}\n", model.target.command_stdout, job_path.string());

    // Close the loop: the model back into an fio job, run untraced, compared with the trace.
    fmt::print("\nreproducing the model with fio ({}) ...\n", kReproduceRuntime);
    std::fflush(stdout);
    usecase::ReproduceRequest reproduce;
    reproduce.model = model_path;
    reproduce.output = (*dir / kReproduceJob).string();
    reproduce.target = (*dir / kReproduceDir).string();
    reproduce.runtime = kReproduceRuntime;
    reproduce.run = true;
    reproduce.keep = !options.keep_dir.empty();
    auto reproduced = usecase::reproduce(reproduce, observer);
    if (!reproduced) return report_error(reproduced.error());
    print_reproduce(reproduce, *reproduced);
    return kExitOk;
}

}  // namespace iodiag::cli
