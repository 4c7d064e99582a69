// `iodiag demo` is the non-interactive diagnosis of the bundled workload: every step of the
// slow-process playbook runs, the model is reproduced with fio and compared, and it ends with the
// report's path and its top findings.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "fio/job_file.hpp"
#include "fio_harness.hpp"

using namespace iodiag;
using namespace iodiag::testing;
namespace fs = std::filesystem;

namespace {

nlohmann::json read_json(const fs::path& path) {
    std::ifstream in(path);
    REQUIRE(in);
    return nlohmann::json::parse(in);
}

}  // namespace

TEST_CASE("demo: the whole diagnosis of the bundled workload, reproduced and compared", "[reproduce][demo][fio][strace]") {
    SKIP_WITHOUT("fio", "strace");
    ScratchDir dir;
    auto start = std::chrono::steady_clock::now();
    auto run = run_iodiag({"demo", "--keep", dir.path().string()});
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    INFO(run.out << run.err);
    REQUIRE(run.exit_code == 0);
    CHECK(seconds < 120);

    const fs::path session = dir.path() / "diagnosis";
    const auto state = read_json(session / "session.json");
    CHECK(state.at("finished") == true);
    CHECK(state.at("playbook").at("name") == "slow-process");
    for (const auto& step : state.at("steps")) {
        INFO(step.dump());
        // Without the bpf source the bpf-only steps are skipped, saying why; nothing fails.
        CHECK(step.at("state") != "failed");
    }

    std::ifstream in(session / "job.fio");
    std::stringstream text;
    text << in.rdbuf();
    auto job = fio::parse_job(text.str());
    REQUIRE(job);
    CHECK(job->sections.size() >= 3);  // [global], the readers, the logger
    CHECK(job->find("global")->get("directory") == (dir.path() / "reproduce").string());

    // Every job of a group runs: the demo's two reader threads share one file, and a reproduction
    // where only one of them did IO showed half the IOPS. Rate-capped as the demo is, each
    // group's reproduction comes close to what was observed.
    const auto reproduced = read_json(session / "reproduce.json");
    size_t compared = 0;
    for (const auto& group : reproduced.at("comparison").at("groups")) {
        for (const auto& metric : group.at("metrics")) {
            if (metric.at("metric") != "IOPS") continue;
            INFO(group.dump());
            CHECK(metric.at("reproduced").get<double>() >= 0.7 * metric.at("observed").get<double>());
            ++compared;
        }
    }
    CHECK(compared == 2);

    // It ends with the report and its top findings; the model table is there too.
    for (const char* file : {"report.md", "report.json", "report.html"}) CHECK(fs::exists(session / file));
    CHECK(run.out.find("report: " + (session / "report.html").string()) != std::string::npos);
    CHECK(run.out.find(" critical, ") != std::string::npos);
    CHECK(run.out.find("randread-4k-psync") != std::string::npos);
    CHECK(run.out.find("write-4k-psync") != std::string::npos);
    const auto report = read_json(session / "report.json");
    CHECK(report.at("steps").size() == state.at("steps").size());
    CHECK_FALSE(report.at("findings").empty());  // at least the logger's small flushed buffered writes
}
