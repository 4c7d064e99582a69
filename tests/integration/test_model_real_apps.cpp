// `iodiag model` on real programs (issue 11): start-up reads must not change the workload's
// groups (dd), and a --pid target whose children do the IO must be told about --children (fio).
#include <signal.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <thread>

#include "bpf_harness.hpp"
#include "common/subprocess.hpp"
#include "fio_harness.hpp"
#include "model/workload_model.hpp"

using namespace iodiag;
using namespace iodiag::testing;
using std::chrono::milliseconds;

TEST_CASE("real apps: dd with oflag=direct is one write group of 1m direct, its locale reads incidental",
          "[model][real apps]") {
    SKIP_UNLESS_BPF_SOURCE("dd");
    ScratchDir dir;
    const std::string model_path = (dir.path() / "model.json").string();
    auto run = run_iodiag({"model", "--source", "bpf", "-o", model_path, "--", "dd", "if=/dev/zero",
                           "of=" + (dir.path() / "out").string(), "bs=1M", "count=64", "oflag=direct"});
    INFO("iodiag stdout:\n" << run.out << "\niodiag stderr:\n" << run.err);
    REQUIRE(run.exit_code == 0);
    auto m = model::load_model(model_path);
    REQUIRE(m);
    INFO(model::to_json(*m).dump(2));
    REQUIRE(m->groups.size() == 1);
    const auto& g = m->groups.front();
    CHECK(option(g, "rw") == "write");
    CHECK(option(g, "bs") == "1m");
    CHECK(option(g, "bssplit").is_null());
    CHECK(option(g, "direct") == 1);
    CHECK(g.evidence.writes.ops == 64);
    CHECK(g.evidence.reads.ops == 0);
    REQUIRE(m->ignored.count("incidental"));
    CHECK(m->ignored.at("incidental") > 0);
}

TEST_CASE("real apps: --pid on fio's main process without --children points at --children",
          "[model][real apps][fio]") {
    SKIP_UNLESS_BPF_SOURCE("fio");
    ScratchDir dir;
    const std::string job = (dir.path() / "job.fio").string();
    // Two job processes (no thread=1): fio's main process only starts and watches them.
    std::ofstream(job) << "[global]\ndirectory=" << dir.path().string()
                       << "\nruntime=20\ntime_based=1\n[w]\nrw=randwrite\nbs=8k\nioengine=psync\nnumjobs=2\nsize=16m\n";
    REQUIRE(run_capture({"fio", "--create_only=1", "--output=/dev/null", job})->exit_code == 0);
    auto fio = spawn({{"fio", "--output=/dev/null", job}});
    REQUIRE(fio);
    std::this_thread::sleep_for(milliseconds(1000));
    const std::string model_path = (dir.path() / "model.json").string();
    const std::string pid = std::to_string(*fio);
    auto alone = run_iodiag({"model", "--source", "bpf", "--pid", pid, "-d", "2s", "-o", model_path});
    auto with_children =
        run_iodiag({"model", "--source", "bpf", "--pid", pid, "--children", "-d", "2s", "-o", model_path});
    kill(*fio, SIGINT);
    wait_for(*fio);

    {
        INFO("without --children:\n" << alone.out << alone.err);
        CHECK(alone.exit_code == 7);
        CHECK(alone.err.find("no IO seen") != std::string::npos);
        CHECK(alone.err.find("child process") != std::string::npos);
        CHECK(alone.err.find("--children") != std::string::npos);
    }
    INFO("with --children:\n" << with_children.out << with_children.err);
    REQUIRE(with_children.exit_code == 0);
    auto m = model::load_model(model_path);
    REQUIRE(m);
    const auto& g = group_with(*m, "rw", "randwrite");
    CHECK(option(g, "bs") == "8k");
    CHECK(option(g, "numjobs") == 2);
}
