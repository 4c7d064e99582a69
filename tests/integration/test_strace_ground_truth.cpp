// Ground truth: real fio jobs with known parameters, traced live by the strace source through the
// real `iodiag model` binary; the model must name the parameters back.
#include <catch2/catch.hpp>

#include <fstream>

#include "fio_harness.hpp"

using namespace iodiag;
using namespace iodiag::testing;

namespace {

// auto prefers bpf where it loads: these tests are about the strace source.
const std::vector<std::string> kStrace = {"--source", "strace"};

const model::JobGroup& single_group(const model::WorkloadModel& m) {
    INFO("model: " << model::to_json(m).dump(2).substr(0, 6000));
    REQUIRE(m.groups.size() == 1);
    return m.groups.front();
}

}  // namespace

TEST_CASE("strace: sequential buffered psync reads of 128k", "[strace][fio]") {
    SKIP_WITHOUT("fio", "strace");
    ScratchDir dir;
    auto m = model_fio_job(dir, "[seqread]\nrw=read\nbs=128k\nioengine=psync\nsize=64m\n", 2, kStrace);
    const auto& g = single_group(m);
    CHECK(option(g, "rw") == "read");
    CHECK(option(g, "bs") == "128k");
    CHECK(option(g, "ioengine") == "psync");
    CHECK(option(g, "direct") == 0);
    CHECK(option(g, "iodepth") == 1);
    CHECK(option(g, "numjobs") == 1);
    CHECK(m.source.kind == "strace");
    CHECK(m.target.comm == "fio");
    CHECK(m.complete);
}

TEST_CASE("strace: random direct psync writes of 4k", "[strace][fio]") {
    SKIP_WITHOUT("fio", "strace");
    ScratchDir dir;
    auto m = model_fio_job(dir, "[randwrite]\nrw=randwrite\nbs=4k\nioengine=psync\ndirect=1\nsize=32m\n", 2, kStrace);
    const auto& g = single_group(m);
    CHECK(option(g, "rw") == "randwrite");
    CHECK(option(g, "bs") == "4k");
    CHECK(option(g, "direct") == 1);
    CHECK(option(g, "ioengine") == "psync");
}

TEST_CASE("strace: randrw 70/30 4k with numjobs=4", "[strace][fio]") {
    SKIP_WITHOUT("fio", "strace");
    ScratchDir dir;
    auto m = model_fio_job(dir, "[mix]\nrw=randrw\nrwmixread=70\nbs=4k\nioengine=psync\nnumjobs=4\nsize=16m\n", 2, kStrace);
    const auto& g = single_group(m);
    CHECK(option(g, "rw") == "randrw");
    CHECK(option(g, "numjobs") == 4);
    CHECK(option(g, "bs") == "4k");
    int mix = option(g, "rwmixread").get<int>();
    CHECK(mix >= 65);
    CHECK(mix <= 75);
    CHECK(g.threads.size() == 4);
    CHECK(g.processes.size() == 4);  // fio forks a process per job
    CHECK_FALSE(g.fio.contains("thread"));
}

TEST_CASE("strace: sequential 4k writes with fdatasync=1", "[strace][fio]") {
    SKIP_WITHOUT("fio", "strace");
    ScratchDir dir;
    auto m = model_fio_job(dir, "[log]\nrw=write\nbs=4k\nioengine=psync\nfdatasync=1\nsize=16m\n", 2, kStrace);
    const auto& g = single_group(m);
    CHECK(option(g, "rw") == "write");
    CHECK(option(g, "bs") == "4k");
    CHECK(option(g, "fdatasync") == 1);
    CHECK(g.evidence.fdatasyncs > 10);
}

TEST_CASE("strace: libaio random direct reads of 8k at iodepth 16", "[strace][fio]") {
    SKIP_WITHOUT("fio", "strace");
    ScratchDir dir;
    auto m = model_fio_job(dir, "[aio]\nrw=randread\nbs=8k\nioengine=libaio\ndirect=1\niodepth=16\nsize=32m\n", 2, kStrace);
    const auto& g = single_group(m);
    CHECK(option(g, "ioengine") == "libaio");
    CHECK(option(g, "rw") == "randread");
    CHECK(option(g, "bs") == "8k");
    CHECK(option(g, "direct") == 1);
    auto depth = option(g, "iodepth").get<int>();
    CHECK(depth >= 12);  // 16 ± 25%
    CHECK(depth <= 20);
}

TEST_CASE("strace: io_uring engine and submit batch recovered, requests unknown", "[strace][fio]") {
    SKIP_WITHOUT("fio", "strace");
    ScratchDir dir;
    auto m = model_fio_job(dir,
                           "[uring]\nrw=randread\nbs=4k\nioengine=io_uring\ndirect=1\niodepth=32\n"
                           "iodepth_batch_submit=8\niodepth_batch_complete_min=8\nsize=32m\n",
                           2, kStrace);
    const auto& g = single_group(m);
    CHECK(option(g, "ioengine") == "io_uring");
    CHECK(option(g, "iodepth_batch_submit") == 8);
    CHECK(option(g, "iodepth") == 32);
    CHECK(option(g, "direct") == 1);
    CHECK(g.unknown.count("bs") == 1);
    CHECK(g.unknown.count("rw") == 1);
    CHECK(g.pattern == "unknown");
    CHECK_FALSE(g.fio.contains("bs"));
}

TEST_CASE("strace: dd writing 64k direct is a sequential 64k direct writer", "[strace]") {
    SKIP_WITHOUT("dd", "strace");
    ScratchDir dir;
    const std::string out = (dir.path() / "dd.out").string();
    const std::string model_path = (dir.path() / "model.json").string();
    auto run = run_iodiag({"model", "--source", "strace", "-o", model_path, "--", "dd", "if=/dev/zero", "of=" + out, "bs=64k",
                           "count=300", "oflag=direct", "status=none"});
    INFO(run.err);
    REQUIRE(run.exit_code == 0);
    auto m = model::load_model(model_path);
    REQUIRE(m);
    const auto& g = group_with(*m, "rw", "write");
    CHECK(option(g, "bs") == "64k");
    CHECK(option(g, "direct") == 1);
    CHECK(option(g, "ioengine") == "sync");
    CHECK(g.evidence.writes.ops == 300);
    CHECK(g.evidence.writes.pattern.consecutive == 299);
    REQUIRE(g.files.size() == 1);
    CHECK(g.files[0].path == out);
}

TEST_CASE("strace: sqlite3 committing transactions writes and syncs its database", "[strace]") {
    SKIP_WITHOUT("sqlite3", "strace");
    ScratchDir dir;
    const std::string db = (dir.path() / "test.db").string();
    std::string sql = "PRAGMA journal_mode=DELETE; PRAGMA synchronous=FULL; CREATE TABLE t(x BLOB);";
    for (int i = 0; i < 40; ++i) sql += " INSERT INTO t VALUES (randomblob(3000));";
    const std::string model_path = (dir.path() / "model.json").string();
    auto run = run_iodiag({"model", "--source", "strace", "-o", model_path, "--", "sqlite3", db, sql});
    INFO(run.out << run.err);
    REQUIRE(run.exit_code == 0);
    auto m = model::load_model(model_path);
    REQUIRE(m);
    INFO(model::to_json(*m).dump(2).substr(0, 6000));
    // Each autocommit INSERT writes the database and its rollback journal and flushes them.
    uint64_t writes = 0, flushes = 0;
    bool saw_db = false;
    for (const auto& g : m->groups) {
        writes += g.evidence.writes.ops;
        flushes += g.evidence.fsyncs + g.evidence.fdatasyncs;
        for (const auto& f : g.files) saw_db |= f.path == db;
    }
    CHECK(saw_db);
    CHECK(writes >= 40);
    CHECK(flushes >= 40);
}

TEST_CASE("strace: a saved strace -tt log gives the same model as live tracing", "[strace][fio]") {
    SKIP_WITHOUT("fio", "strace");
    ScratchDir dir;
    const auto job = dir.path() / "job.fio";
    {
        std::ofstream(job) << "[global]\ndirectory=" << dir.path().string()
                           << "\nruntime=2\ntime_based=1\n[w]\nrw=randwrite\nbs=16k\nioengine=psync\nsize=16m\n";
    }
    REQUIRE(run_capture({"fio", "--create_only=1", "--output=/dev/null", job.string()})->exit_code == 0);
    const std::string log = (dir.path() / "trace.log").string();
    auto traced = run_capture({"strace", "-f", "-tt", "-T", "-o", log, "fio", "--output=/dev/null", job.string()});
    REQUIRE(traced);
    REQUIRE(traced->exit_code == 0);
    const std::string model_path = (dir.path() / "model.json").string();
    auto run = run_iodiag({"model", "--strace-log", log, "-o", model_path});
    INFO(run.out << run.err);
    REQUIRE(run.exit_code == 0);
    auto m = model::load_model(model_path);
    REQUIRE(m);
    const auto& g = single_group(*m);
    CHECK(option(g, "rw") == "randwrite");
    CHECK(option(g, "bs") == "16k");
    CHECK(option(g, "ioengine") == "psync");
    CHECK(m->source.kind == "strace");
    CHECK(m->source.bad_lines == 0);
}
