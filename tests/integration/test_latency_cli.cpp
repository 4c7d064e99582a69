// `iodiag latency` on real fio runs: its syscall and block rows against fio's own counts and
// latencies, reports per interval, and its answers to bad input.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <nlohmann/json.hpp>

#include "bpf_harness.hpp"
#include "fio_harness.hpp"
#include "trace/kernel_ids.hpp"

using namespace iodiag;
using namespace iodiag::testing;
using nlohmann::json;

namespace {

// A 4k O_DIRECT psync random reader for `seconds`, its files laid out; returns the job's path.
std::string direct_reader_job(const ScratchDir& dir, int seconds) {
    return write_fio_job(dir, "reader.fio", "[r]\nrw=randread\nbs=4k\nioengine=psync\ndirect=1\nsize=16m\n", seconds)
        .string();
}

const json* row(const json& rows, const std::string& layer, const std::string& name) {
    for (const auto& r : rows)
        if (r.at("layer") == layer && r.at("name") == name) return &r;
    return nullptr;
}

}  // namespace

TEST_CASE("latency: pread64 calls and the disk's reads match fio's own count and latency", "[latency][bpf][fio]") {
    SKIP_UNLESS_BPF_SOURCE("fio");
    ScratchDir dir;
    const ReaderRun r = run_on_direct_reader(dir, {"latency", "--json"}, 2);
    const json& out = r.out;
    CHECK(out.at("ended") == "ended: target exited");
    const json& rows = out.at("rows");
    const json& read = r.fio_read;
    const uint64_t ios = r.reads;
    REQUIRE(ios > 100);

    // Every read fio made is one pread64 (plus the few the dynamic loader makes on shared
    // libraries at start), each timed entry to exit: fio's completion latency for a synchronous
    // engine is the same interval seen from user space.
    const json* pread = row(rows, "syscall", "pread64");
    REQUIRE(pread);
    CHECK(pread->at("count").get<uint64_t>() >= ios);
    CHECK(pread->at("count").get<uint64_t>() <= ios + 10);
    CHECK(pread->at("errors") == 0);
    const double fio_p50_us = read.at("clat_ns").at("percentile").at("50.000000").get<double>() / 1000;
    const double p50_us = pread->at("us").at("p50").get<double>();
    CHECK(p50_us > fio_p50_us * 0.5);
    CHECK(p50_us < fio_p50_us * 2.0);

    // The disk under the file saw a read request per pread (direct IO), each with its device time,
    // and a request's device time is part of its syscall's.
    const auto disk = whole_disk_under(dir.path());
    if (!disk) {
        WARN("skipped the block checks: " << dir.path() << " is not on a block device");
        return;
    }
    const json* d2c = row(rows, "block device (D2C)", trace::block_device_name(*disk) + " read");
    REQUIRE(d2c);
    // Less the reads before the disk was found under fio's newly opened file (looked for every 100 ms).
    CHECK(d2c->at("count").get<uint64_t>() >= ios * 3 / 4);
    CHECK(d2c->at("us").at("p50").get<double>() <= p50_us);
}

TEST_CASE("latency: --interval prints one report per interval, each of its own interval only", "[latency][bpf][fio]") {
    SKIP_UNLESS_BPF_SOURCE("fio");
    ScratchDir dir;
    const std::string job = direct_reader_job(dir, 2);
    auto run = run_iodiag({"latency", "--json", "-i", "400ms", "--", "fio", "--output=/dev/null", job});
    INFO(run.out << run.err);
    REQUIRE(run.exit_code == 0);
    std::istringstream lines(run.out);
    std::vector<json> reports;
    for (std::string line; std::getline(lines, line);) reports.push_back(json::parse(line));
    REQUIRE(reports.size() >= 3);  // 2 s of fio (and its start) in 400 ms steps
    CHECK(reports.back().at("ended") == "ended: target exited");
    uint64_t steady = 0;
    for (size_t i = 0; i + 1 < reports.size(); ++i) {
        CHECK_FALSE(reports[i].contains("ended"));
        // At least the interval; later by what one poll of the rings takes (more under sanitizers).
        CHECK(reports[i].at("interval_s").get<double>() >= 0.39);
        CHECK(reports[i].at("interval_s").get<double>() < 1.2);
        if (const json* pread = row(reports[i].at("rows"), "syscall", "pread64")) steady += pread->at("count").get<uint64_t>() > 0;
    }
    CHECK(steady >= 2);  // the reads show up interval after interval, not once at the end
}

TEST_CASE("latency: bad input gets a message and an exit code", "[latency][cli]") {
    auto none = run_iodiag({"latency"});
    CHECK(none.exit_code == 2);
    CHECK_THAT(none.err, Catch::Contains("give exactly one of --pid PID or -- COMMAND"));

    auto interval = run_iodiag({"latency", "-i", "10ms", "--", "true"});
    CHECK(interval.exit_code == 2);
    CHECK_THAT(interval.err, Catch::Contains("100ms or more"));

    auto children = run_iodiag({"latency", "--children", "--", "true"});
    CHECK(children.exit_code == 2);

    if (bpf_source_unusable().empty()) {
        auto gone = run_iodiag({"latency", "--pid", "999999999"});
        CHECK(gone.exit_code == 4);
        CHECK_THAT(gone.err, Catch::Contains("no process with pid 999999999"));
    }
}

TEST_CASE("latency: -d 0 traces a launched command to its end", "[latency][bpf][fio]") {
    SKIP_UNLESS_BPF_SOURCE("fio");
    ScratchDir dir;
    auto run = run_iodiag({"latency", "--json", "-d", "0", "--", "fio", "--output=/dev/null", direct_reader_job(dir, 1)});
    INFO(run.out << run.err);
    REQUIRE(run.exit_code == 0);
    const json out = json::parse(run.out);
    CHECK(out.at("ended") == "ended: target exited");
    CHECK(out.at("interval_s").get<double>() >= 0.9);  // all of fio's 1 s run, no deadline before it
}

TEST_CASE("model and latency refuse a duration that is not one alike", "[latency][model][cli]") {
    auto model = run_iodiag({"model", "--pid", "1", "-d", "soon"});
    auto latency = run_iodiag({"latency", "--pid", "1", "-d", "soon"});
    CHECK(model.exit_code == 2);
    CHECK(latency.exit_code == 2);
    CHECK_THAT(model.err, Catch::Contains("not a duration: soon"));
    CHECK(latency.err == model.err);
}
