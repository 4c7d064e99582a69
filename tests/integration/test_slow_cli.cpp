// `iodiag slow` on a real fio run: with a threshold every read passes, each is listed once with
// fio's file, an offset inside it and its size; --limit caps the list but not the counts; with a
// threshold nothing reaches, nothing is listed but everything is counted.
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>

#include "bpf_harness.hpp"
#include "fio_harness.hpp"

using namespace iodiag::testing;
using nlohmann::json;

TEST_CASE("slow: every pread of a direct reader over 1us is listed with its file and offset, --limit caps the list",
          "[slow][bpf][fio]") {
    SKIP_UNLESS_BPF_SOURCE("fio");
    ScratchDir dir;
    const ReaderRun r = run_on_direct_reader(dir, {"slow", "--json", "--min", "1us", "--limit", "1000000"}, 1);
    const json& out = r.out;
    const uint64_t ios = r.reads;
    REQUIRE(ios > 1000);
    uint64_t slow = 0;
    for (const auto& [layer, counts] : out.at("counts").items()) slow += counts.at("slow").get<uint64_t>();
    CHECK(out.at("listed").get<uint64_t>() == slow);  // under the limit: every slow one is listed
    CHECK(out.at("ops").size() == slow);
    const std::string data_file = r.data_file.string();
    uint64_t reads = 0;
    for (const auto& op : out.at("ops")) {
        CHECK(op.at("latency_ms").get<double>() >= 0.001);
        if (op.at("op") != "pread64" || op.at("file") != data_file) continue;  // the loader's own preads
        ++reads;
        CHECK(op.at("bytes") == 4096);
        CHECK(op.at("offset").get<uint64_t>() % 4096 == 0);
        CHECK(op.at("offset").get<uint64_t>() < 16u << 20);
    }
    CHECK(reads == ios);  // each of fio's reads, none missed, none twice

    const json capped = run_on_direct_reader(dir, {"slow", "--json", "--min", "1us", "--limit", "5"}, 1).out;
    CHECK(capped.at("listed") == 5);
    CHECK(capped.at("ops").size() == 5);
    CHECK(capped.at("counts").at("syscall").at("slow").get<uint64_t>() > 1000);  // all counted

    const json none = run_on_direct_reader(dir, {"slow", "--json", "--min", "10s"}, 1).out;
    CHECK(none.at("ops").empty());
    CHECK(none.at("counts").at("syscall").at("seen").get<uint64_t>() > 1000);
    CHECK(none.at("counts").at("syscall").at("slow") == 0);
}

TEST_CASE("slow: bad input gets a message and an exit code", "[slow][cli]") {
    auto threshold = run_iodiag({"slow", "--min", "fast", "--", "true"});
    CHECK(threshold.exit_code == 2);
    CHECK_THAT(threshold.err, Catch::Contains("not a duration: fast"));
    auto none = run_iodiag({"slow"});
    CHECK(none.exit_code == 2);
    CHECK_THAT(none.err, Catch::Contains("give exactly one of --pid PID or -- COMMAND"));
}
