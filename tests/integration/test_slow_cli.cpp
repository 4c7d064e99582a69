// `iodiag slow` on a real fio run: with a threshold every read passes, each is listed with fio's
// file, an offset inside it and its size, and --limit caps the list but not the counts; with a
// threshold nothing reaches, nothing is listed but everything is counted.
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>

#include "bpf_harness.hpp"
#include "fio_harness.hpp"

using namespace iodiag::testing;
using nlohmann::json;

TEST_CASE("slow: every pread of a direct reader over 1us is counted, listed up to --limit, with its file and offset",
          "[slow][bpf][fio]") {
    SKIP_UNLESS_BPF_SOURCE("fio");
    ScratchDir dir;
    const ReaderRun r = run_on_direct_reader(dir, {"slow", "--json", "--min", "1us", "--limit", "2000"}, 1);
    const json& out = r.out;
    const uint64_t ios = r.reads;
    REQUIRE(ios > 3000);
    CHECK(out.at("counts").at("syscall").at("slow").get<uint64_t>() >= ios);
    CHECK(out.at("listed") == 2000);
    REQUIRE(out.at("ops").size() == 2000);
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
    CHECK(reads >= 500);  // after the loader's opens and reads of shared libraries, beside the disk's requests

    const json none = run_on_direct_reader(dir, {"slow", "--json", "--min", "10s"}, 1).out;
    CHECK(none.at("ops").empty());
    CHECK(none.at("counts").at("syscall").at("seen").get<uint64_t>() >= ios / 2);  // a second run, about as many
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
