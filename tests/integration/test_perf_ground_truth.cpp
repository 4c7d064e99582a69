// Ground truth for the perf source: real fio jobs with known parameters, traced live by
// `iodiag model --source perf` (perf trace), and a saved `perf trace -o` log read back with
// --perf-log; the model must name the parameters back. They skip, saying what is missing, where
// perf trace does not work.
#include <catch2/catch.hpp>

#include <signal.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "fio_harness.hpp"
#include "trace/perf_source.hpp"

using namespace iodiag;
using namespace iodiag::testing;

namespace {

// Why these tests cannot run here, or empty: fio or perf missing, or perf trace not working.
std::string perf_unusable() {
    if (std::string missing = missing_tools({"fio", "perf"}); !missing.empty())
        return "not installed: " + missing;
    auto usable = trace::probe_perf();
    if (usable) return {};
    std::string why = usable.error().message;
    if (!usable.error().hint.empty()) why += " (" + usable.error().hint + ")";
    return why;
}

#define SKIP_WITHOUT_PERF()                                    \
    do {                                                       \
        if (std::string why = perf_unusable(); !why.empty()) { \
            WARN("skipped: " << why);                          \
            return;                                            \
        }                                                      \
    } while (0)

const std::vector<std::string> kPerf = {"--source", "perf"};

// The group doing the job's IO: fio's own set-up reads may form a second, tiny group.
const model::JobGroup& job_group(const model::WorkloadModel& m, const std::string& rw) {
    const model::JobGroup& g = group_with(m, "rw", rw);
    INFO("model: " << model::to_json(m).dump(2).substr(0, 6000));
    CHECK(m.source.kind == "perf");
    CHECK(m.source.bad_lines == 0);
    return g;
}

// Lays out a job's files untraced and returns the job file.
std::filesystem::path write_job(const ScratchDir& dir, const std::string& body, int seconds) {
    const auto job = dir.path() / "job.fio";
    std::ofstream(job) << "[global]\ndirectory=" << dir.path().string() << "\nruntime=" << seconds
                       << "\ntime_based=1\n" << body;
    auto layout = run_capture({"fio", "--create_only=1", "--output=/dev/null", job.string()});
    REQUIRE(layout);
    REQUIRE(layout->exit_code == 0);
    return job;
}

}  // namespace

TEST_CASE("perf: sequential buffered psync reads of 128k", "[perf][fio]") {
    SKIP_WITHOUT_PERF();
    ScratchDir dir;
    auto m = model_fio_job(dir, "[seqread]\nrw=read\nbs=128k\nioengine=psync\nsize=64m\n", 2, kPerf);
    const auto& g = job_group(m, "read");
    CHECK(option(g, "bs") == "128k");
    CHECK(option(g, "ioengine") == "psync");
    CHECK(option(g, "direct") == 0);
    CHECK(option(g, "iodepth") == 1);
    CHECK(option(g, "numjobs") == 1);
    // Consecutive but where time_based fio wraps to the file's start (64m = 512 reads).
    CHECK(g.evidence.reads.pattern.consecutive * 100 >= g.evidence.reads.pattern.ops * 95);
    REQUIRE(g.files.size() == 1);
    CHECK(g.files[0].path == (dir.path() / "seqread.0.0").string());
    CHECK(m.target.comm == "fio");
    CHECK(m.complete);
    CHECK(m.source.detail.find("perf trace -T -e ") != std::string::npos);
}

TEST_CASE("perf: random direct psync writes of 4k", "[perf][fio]") {
    SKIP_WITHOUT_PERF();
    ScratchDir dir;
    auto m = model_fio_job(dir, "[randwrite]\nrw=randwrite\nbs=4k\nioengine=psync\ndirect=1\nsize=32m\n",
                           2, kPerf);
    const auto& g = job_group(m, "randwrite");
    CHECK(option(g, "bs") == "4k");
    CHECK(option(g, "direct") == 1);  // from openat's flags, though perf never shows its filename
    CHECK(option(g, "ioengine") == "psync");
    REQUIRE(g.files.size() == 1);
    CHECK(g.files[0].path == (dir.path() / "randwrite.0.0").string());
}

TEST_CASE("perf: sequential 4k writes with fdatasync=1", "[perf][fio]") {
    SKIP_WITHOUT_PERF();
    ScratchDir dir;
    auto m = model_fio_job(dir, "[log]\nrw=write\nbs=4k\nioengine=psync\nfdatasync=1\nsize=16m\n", 2,
                           kPerf);
    const auto& g = job_group(m, "write");
    CHECK(option(g, "bs") == "4k");
    CHECK(option(g, "fdatasync") == 1);
    CHECK(g.evidence.fdatasyncs > 10);
}

TEST_CASE("perf: dd writing 64k direct is a sequential 64k direct writer", "[perf]") {
    SKIP_WITHOUT_PERF();
    ScratchDir dir;
    const std::string out = (dir.path() / "dd.out").string();
    const std::string model_path = (dir.path() / "model.json").string();
    auto run = run_iodiag({"model", "--source", "perf", "-o", model_path, "--", "dd", "if=/dev/zero",
                           "of=" + out, "bs=64k", "count=300", "oflag=direct", "status=none"});
    INFO(run.err);
    REQUIRE(run.exit_code == 0);
    auto m = model::load_model(model_path);
    REQUIRE(m);
    const auto& g = job_group(*m, "write");
    CHECK(option(g, "bs") == "64k");
    CHECK(option(g, "direct") == 1);  // openat; dup2(3, 1); close(3): named through fd 1
    CHECK(g.evidence.writes.ops == 300);
    CHECK(g.evidence.writes.pattern.consecutive == 299);
    REQUIRE(g.files.size() == 1);
    CHECK(g.files[0].path == out);
}

TEST_CASE("perf: a saved perf trace -o log gives the same model as live tracing", "[perf][fio]") {
    SKIP_WITHOUT_PERF();
    ScratchDir dir;
    const std::string body = "[w]\nrw=randwrite\nbs=16k\nioengine=psync\ndirect=1\nsize=16m\n";
    auto live = model_fio_job(dir, body, 2, kPerf);

    ScratchDir saved_dir;
    const auto job = write_job(saved_dir, body, 2);
    const std::string log = (saved_dir.path() / "perf.txt").string();
    auto traced = run_capture({"perf", "trace", "-T", "-o", log, "--", "fio", "--output=/dev/null",
                               job.string()});
    REQUIRE(traced);
    INFO(traced->err);
    REQUIRE(traced->exit_code == 0);
    const std::string model_path = (saved_dir.path() / "model.json").string();
    auto run = run_iodiag({"model", "--perf-log", log, "--strict", "-o", model_path});
    INFO(run.out << run.err);
    REQUIRE(run.exit_code == 0);
    auto saved = model::load_model(model_path);
    REQUIRE(saved);
    const auto& from_log = job_group(*saved, "randwrite");
    const auto& from_live = job_group(live, "randwrite");
    for (const char* key : {"rw", "bs", "ioengine", "direct", "iodepth", "numjobs"}) {
        INFO(key);
        CHECK(option(from_log, key) == option(from_live, key));
    }
    CHECK(option(from_log, "bs") == "16k");
    CHECK(saved->source.why == "saved perf trace output");
    CHECK(saved->end_reason == "end of log");
    CHECK(saved->duration_s > 1.0);
}

TEST_CASE("perf: --pid attaches to a running fio and its job process", "[perf][fio]") {
    SKIP_WITHOUT_PERF();
    ScratchDir dir;
    const auto job = write_job(dir, "[rw]\nrw=randwrite\nbs=8k\nioengine=psync\ndirect=1\nsize=16m\n", 6);
    auto fio = spawn({{"fio", "--output=/dev/null", job.string()}});
    REQUIRE(fio);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // the job process runs by now
    const std::string model_path = (dir.path() / "model.json").string();
    auto run = run_iodiag({"model", "--source", "perf", "--pid", std::to_string(*fio), "-d", "2s",
                           "-o", model_path});
    kill(*fio, SIGKILL);
    wait_for(*fio);
    INFO(run.out << run.err);
    REQUIRE(run.exit_code == 0);
    auto m = model::load_model(model_path);
    REQUIRE(m);
    CHECK(m->end_reason == "duration");
    CHECK(m->target.pid == *fio);
    const auto& g = job_group(*m, "randwrite");
    CHECK(option(g, "bs") == "8k");
    CHECK(option(g, "direct") == 1);  // opened before the trace: from /proc/PID/fdinfo
}

TEST_CASE("perf: --perf-log errors name the file and line, with a hint", "[perf][cli]") {
    ScratchDir dir;
    const std::string data = std::string(IODIAG_TEST_DATA) + "/perf/";
    const std::string out = (dir.path() / "model.json").string();

    auto missing = run_iodiag({"model", "--perf-log", data + "no-such.txt", "-o", out});
    CHECK(missing.exit_code == 4);

    auto strict = run_iodiag({"model", "--perf-log", data + "cut_off_T.txt", "--strict", "-o", out});
    CHECK(strict.exit_code == 3);
    CHECK(strict.err.find(data + "cut_off_T.txt:66: not perf trace output") != std::string::npos);

    auto summary = run_iodiag({"model", "--perf-log", data + "summary_only_s.txt", "-o", out});
    CHECK(summary.exit_code == 3);
    CHECK(summary.err.find("only perf trace's summary (-s)") != std::string::npos);
    CHECK(summary.err.find("hint: ") != std::string::npos);

    // Without --strict the cut-off line is counted and the rest is modelled.
    auto lenient = run_iodiag({"model", "--perf-log", data + "cut_off_T.txt", "-o", out});
    INFO(lenient.out << lenient.err);
    CHECK(lenient.exit_code == 0);
    CHECK(lenient.out.find("skipped 1 unreadable trace lines") != std::string::npos);
}

TEST_CASE("perf: perf missing from PATH exits 6 with an install hint", "[perf][cli]") {
    ScratchDir dir;
    auto run = run_capture({"/usr/bin/env", "PATH=" + dir.path().string(), IODIAG_BINARY, "model",
                            "--source", "perf", "-o", (dir.path() / "m.json").string(), "--",
                            "/bin/true"});
    REQUIRE(run);
    CHECK(run->exit_code == 6);
    CHECK(run->err.find("perf is not installed") != std::string::npos);
    CHECK(run->err.find("hint: apt-get install linux-perf") != std::string::npos);
}
