// `iodiag probe`: the note's standard fio workloads through the real binary and real fio.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "fio/job_file.hpp"
#include "fio_harness.hpp"

using namespace iodiag;
using namespace iodiag::testing;
namespace fs = std::filesystem;

TEST_CASE("probe depth1 and syncwrite report IOPS and completion latency", "[probe][fio]") {
    SKIP_WITHOUT("fio");
    ScratchDir dir;
    for (const char* probe : {"depth1", "syncwrite"}) {
        INFO(probe);
        const fs::path target = dir.path() / probe;
        auto run = run_iodiag({"probe", probe, "--target", target.string(), "--runtime", "1", "--size", "8m", "--json"});
        INFO(run.out << run.err);
        REQUIRE(run.exit_code == 0);
        auto out = nlohmann::json::parse(run.out);
        CHECK(out["probe"] == probe);
        CHECK(out["direction"] == "write");
        CHECK(out["iops"].get<double>() > 0);
        CHECK(out["ios"].get<uint64_t>() > 0);
        CHECK(out["clat_us"]["p50"].get<double>() > 0);
        CHECK(out["clat_us"]["p99"].get<double>() >= out["clat_us"]["p50"].get<double>());
        // The job is the note's workload, on a file in iodiag's scratch directory, gone after.
        auto job = fio::parse_job(read_text(out["job_file"].get<std::string>()));
        REQUIRE(job);
        const auto& section = job->sections.at(0);
        CHECK(section.get("rw") == "write");
        if (std::string(probe) == "depth1") {
            CHECK(section.get("iodepth") == "1");
            CHECK(section.get("direct") == "1");
        } else {
            CHECK(section.get("sync") == "1");
        }
        const std::string data = out["target"];
        CHECK(fs::path(data).parent_path() == target);
        CHECK(fs::exists(target / ".iodiag-scratch"));
        CHECK_FALSE(fs::exists(data));
    }
    auto text = run_iodiag({"probe", "depth1", "--target", (dir.path() / "t").string(), "--runtime", "1", "--size", "4m"});
    INFO(text.out << text.err);
    REQUIRE(text.exit_code == 0);
    CHECK(text.out.find("IOPS") != std::string::npos);
    CHECK(text.out.find("p99.9") != std::string::npos);
}

TEST_CASE("probe refuses a file it did not create and leaves its bytes unchanged", "[probe][fio][safety]") {
    SKIP_WITHOUT("fio");
    ScratchDir dir;
    const fs::path victim = dir.path() / "precious.db";
    std::string before(256 << 10, '\0');
    for (size_t i = 0; i < before.size(); ++i) before[i] = static_cast<char>(i * 7 + 3);
    std::ofstream(victim, std::ios::binary) << before;
    auto run = run_iodiag({"probe", "syncwrite", "--target", victim.string(), "--runtime", "1"});
    INFO(run.out << run.err);
    CHECK(run.exit_code == 5);
    CHECK(run.err.find("iodiag did not create") != std::string::npos);
    CHECK(read_text(victim) == before);

    auto bad = run_iodiag({"probe", "depth2"});
    CHECK(bad.exit_code == 2);
}
