// `iodiag kvm compare`: real probe outputs and real fio json+ reports through the real binary.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "fio_harness.hpp"

using namespace iodiag;
using namespace iodiag::testing;
namespace fs = std::filesystem;

namespace {

const std::string kData = std::string(IODIAG_TEST_DATA) + "/kvm_compare/";

// `iodiag probe NAME --json` on a fresh target in `dir`, saved as `out`.
void probe_into(const ScratchDir& dir, const std::string& probe, const std::string& side, const fs::path& out) {
    auto run = run_iodiag({"probe", probe, "--target", (dir.path() / side).string(), "--runtime", "2", "--size", "32m",
                           "--json"});
    INFO(run.out << run.err);
    REQUIRE(run.exit_code == 0);
    std::ofstream(out) << run.out;
}

void check_comparison(const nlohmann::json& j, bool intervals) {
    REQUIRE(j["differences"].size() == 5);
    for (const auto& d : j["differences"]) {
        CHECK(d["cost_us"].get<double>() ==
              Approx(d["lat_vm_us"].get<double>() - d["lat_host_us"].get<double>()));
        if (intervals) {
            REQUIRE(d["interval_us"].size() == 2);
            CHECK(d["interval_us"][0].get<double>() <= d["interval_us"][1].get<double>());
        } else {
            CHECK(d["interval_us"].is_null());
        }
    }
    CHECK(j["differences"][1]["stat"] == "p50");
    CHECK(j["uncertainty"]["known"] == intervals);
    CHECK(j["iops_ratio"].get<double>() > 0);
    CHECK_FALSE(j["verdict"].get<std::string>().empty());
}

}  // namespace

TEST_CASE("kvm compare: two real syncwrite probes give the world switch cost with an interval", "[kvm_compare][fio]") {
    if (!missing_tools({"fio"}).empty()) {
        WARN("skipped: fio is not installed");
        return;
    }
    ScratchDir dir;
    const fs::path guest = dir.path() / "guest.json", host = dir.path() / "host.json";
    probe_into(dir, "syncwrite", "guest", guest);
    probe_into(dir, "syncwrite", "host", host);

    auto run = run_iodiag({"kvm", "compare", "--guest", guest.string(), "--host", host.string(), "--json"});
    INFO(run.out << run.err);
    REQUIRE(run.exit_code == 0);
    auto j = nlohmann::json::parse(run.out);
    check_comparison(j, true);
    CHECK(j["world_switch"] == true);
    CHECK(j["cost_name"] == "world switch cost");
    CHECK(j["guest"]["probe"] == "syncwrite");
    CHECK(j["guest"]["job"]["sync"] == "1");
    CHECK(j["uncertainty"]["resamples"] == 1000);

    auto text = run_iodiag({"kvm", "compare", "--guest", guest.string(), "--host", host.string()});
    INFO(text.out << text.err);
    REQUIRE(text.exit_code == 0);
    CHECK_THAT(text.out, Catch::Contains("world switch cost us") && Catch::Contains("p99.9") &&
                             Catch::Contains("90% interval") && Catch::Contains("verdict:") &&
                             Catch::Contains("guest/host"));

    // A different probe is a different job: exit 3, naming what differs.
    const fs::path depth1 = dir.path() / "depth1.json";
    probe_into(dir, "depth1", "other", depth1);
    auto different = run_iodiag({"kvm", "compare", "--guest", depth1.string(), "--host", host.string()});
    INFO(different.out << different.err);
    CHECK(different.exit_code == 3);
    CHECK_THAT(different.err, Catch::Contains("not the same job") && Catch::Contains("probe (guest depth1, host syncwrite)") &&
                                  Catch::Contains("ioengine (guest libaio, host psync)"));
}

TEST_CASE("kvm compare: real fio json+ reports", "[kvm_compare][fio]") {
    auto run = run_iodiag({"kvm", "compare", "--guest", kData + "guest-syncwrite.json", "--host",
                           kData + "host-syncwrite.json", "--json"});
    INFO(run.out << run.err);
    REQUIRE(run.exit_code == 0);
    auto j = nlohmann::json::parse(run.out);
    check_comparison(j, true);
    CHECK(j["guest"]["job"]["bs"] == "4096");
    CHECK_THAT(j["verdict"].get<std::string>(), Catch::Contains("of the guest's median latency"));
}

TEST_CASE("kvm compare: mismatched jobs, truncated and missing files exit with a clear message", "[kvm_compare]") {
    auto different = run_iodiag({"kvm", "compare", "--guest", kData + "guest-syncwrite.json", "--host",
                                 kData + "host-write-8k.json"});
    CHECK(different.exit_code == 3);
    CHECK(different.out.empty());
    CHECK_THAT(different.err, Catch::Contains("bs (guest 4096, host 8192)") && Catch::Contains("sync (guest 1, host 0)"));

    auto truncated = run_iodiag({"kvm", "compare", "--guest", kData + "truncated.json", "--host",
                                 kData + "host-syncwrite.json"});
    CHECK(truncated.exit_code == 3);
    CHECK_THAT(truncated.err, Catch::Contains("truncated.json") && Catch::Contains("truncated"));

    auto foreign = run_iodiag({"kvm", "compare", "--guest", kData + "foreign.json", "--host",
                               kData + "host-syncwrite.json"});
    CHECK(foreign.exit_code == 3);
    CHECK_THAT(foreign.err, Catch::Contains("foreign.json"));

    auto missing = run_iodiag({"kvm", "compare", "--guest", kData + "nothing-here.json", "--host",
                               kData + "host-syncwrite.json"});
    CHECK(missing.exit_code == 4);
    CHECK_THAT(missing.err, Catch::Contains("nothing-here.json"));

    // Under --json an error is one JSON object on stdout.
    for (const auto& guest : {kData + "truncated.json", kData + "guest-syncwrite.json"}) {
        auto run = run_iodiag({"kvm", "compare", "--guest", guest, "--host", kData + "host-write-8k.json", "--json"});
        INFO(run.out << run.err);
        CHECK(run.exit_code == 3);
        auto j = nlohmann::json::parse(run.out);
        CHECK(j["exit_code"] == 3);
        CHECK(j["error"]["kind"].is_string());
        CHECK_FALSE(j["error"]["message"].get<std::string>().empty());
    }
}
