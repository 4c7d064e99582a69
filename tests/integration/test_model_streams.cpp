// Streams inside one thread (issue 11) on a real program: sqlite3 in WAL mode appends every commit
// to the WAL and fdatasyncs it, and its checkpoint writes the pages into the database file, all in
// one thread. The model must show two groups fed by that one thread.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "bpf_harness.hpp"
#include "fio_harness.hpp"
#include "model/workload_model.hpp"

using namespace iodiag;
using namespace iodiag::testing;

namespace {

// The group whose files include `path`, or null.
const model::JobGroup* group_of_file(const model::WorkloadModel& m, const std::string& path) {
    for (const auto& g : m.groups)
        for (const auto& f : g.files)
            if (f.path == path) return &g;
    return nullptr;
}

}  // namespace

TEST_CASE("real apps: sqlite3 in WAL mode in one thread is a WAL stream and a database-file stream",
          "[model][real apps][streams]") {
    SKIP_WITHOUT("sqlite3", "strace");
    ScratchDir dir;
    const std::string db = (dir.path() / "db.sqlite").string();
    const std::string script = (dir.path() / "load.sql").string();
    {
        // Many small transactions, each a WAL append and an fdatasync of the WAL; the final
        // checkpoint copies the pages into the database file.
        std::ofstream sql(script);
        sql << "PRAGMA journal_mode=WAL;\nPRAGMA synchronous=FULL;\n"
               "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB);\n";
        for (int i = 0; i < 1500; ++i) sql << "INSERT INTO t(v) VALUES(randomblob(600));\n";
        sql << "PRAGMA wal_checkpoint(TRUNCATE);\n";
    }
    for (const std::string source : {"strace", "bpf"}) {
        DYNAMIC_SECTION("source " << source) {
            if (source == "bpf") SKIP_UNLESS_BPF_SOURCE("sqlite3");
            std::filesystem::remove(db);
            std::filesystem::remove(db + "-wal");
            const std::string model_path = (dir.path() / ("model-" + source + ".json")).string();
            auto run = run_iodiag({"model", "--source", source, "-o", model_path, "--", "sqlite3", db, ".read " + script});
            INFO("iodiag stdout:\n" << run.out << "\niodiag stderr:\n" << run.err);
            REQUIRE(run.exit_code == 0);
            auto m = model::load_model(model_path);
            REQUIRE(m);
            INFO(model::to_json(*m).dump(2));

            const model::JobGroup* wal = group_of_file(*m, db + "-wal");
            const model::JobGroup* data = group_of_file(*m, db);
            REQUIRE(wal);
            REQUIRE(data);
            CHECK(wal != data);
            REQUIRE(wal->files.size() == 1);  // not the script sqlite3 read beside it
            // Sequential appends with a flush every commit (header and page: 2 writes); the few
            // reads are the checkpoint reading the frames back.
            CHECK(wal->pattern == "sequential");
            CHECK((option(*wal, "rw") == "write" || option(*wal, "rw") == "rw"));
            CHECK(wal->evidence.writes.ops >= 9 * wal->evidence.reads.ops);
            CHECK((option(*wal, "fdatasync") == 2 || option(*wal, "fsync") == 2));
            CHECK(wal->evidence.fdatasyncs + wal->evidence.fsyncs >= 1500);  // one per commit
            CHECK(wal->evidence.writes.ops >= 3000);                         // a frame header and a page each
            CHECK(data->evidence.fdatasyncs + data->evidence.fsyncs < 10);   // the checkpoint's only
            CHECK(data->evidence.writes.ops > 100);                          // the pages checkpointed
            CHECK(option(*data, "bs") == "4k");                              // whole pages
            // One thread feeds both groups, and the model and the summary say so.
            REQUIRE(wal->threads.size() == 1);
            CHECK(data->threads == wal->threads);
            const auto thread = std::find_if(m->threads.begin(), m->threads.end(),
                                             [&](const model::ThreadUse& t) { return t.tid == wal->threads[0]; });
            REQUIRE(thread != m->threads.end());
            CHECK(thread->comm == "sqlite3");
            CHECK(std::count(thread->groups.begin(), thread->groups.end(), wal->name) == 1);
            CHECK(std::count(thread->groups.begin(), thread->groups.end(), data->name) == 1);
            CHECK(run.out.find("(sqlite3) feeds") != std::string::npos);
        }
    }
}
