// Round-trip fidelity: fio ground-truth jobs are traced (strace, and bpf for a subset, through
// `iodiag model -- fio`),
// modelled, turned back into fio jobs by `iodiag reproduce`, and the generated options must equal
// the originals; then the reproduction must run at the original's IOPS, both measured untraced on
// this machine in the same test (strace slows the traced run far too much to compare with).
//
// Set IODIAG_FIDELITY_RESULTS=FILE to append each job's figures (a Markdown table row) to FILE;
// bench/RESULTS.md records them.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bpf_harness.hpp"
#include "fio/job_file.hpp"
#include "fio_harness.hpp"

using namespace iodiag;
using namespace iodiag::testing;

namespace {

constexpr double kIopsTolerance = 0.15;

struct GroundTruth {
    const char* name;
    const char* body;          // the options of the job's one section
    int seconds = 2;
    bool uring = false;        // strace sees no io_uring requests: assert only what it can know
    const char* source = "strace";
};

// The options fio runs with when the original leaves them out, as the generated job spells them.
std::map<std::string, std::string> expected_options(const std::string& body) {
    std::map<std::string, std::string> opts{{"rw", "read"}, {"bs", "4k"}, {"direct", "0"}, {"numjobs", "1"},
                                            {"iodepth", "1"}};
    std::istringstream lines(body);
    for (std::string line; std::getline(lines, line);) {
        auto eq = line.find('=');
        if (eq != std::string::npos) opts[line.substr(0, eq)] = line.substr(eq + 1);
    }
    if (opts.count("sync") && opts["sync"] == "1") opts["sync"] = "sync";  // fio reads sync=1 as O_SYNC
    bool mixed = opts["rw"] == "randrw" || opts["rw"] == "rw" || opts["rw"] == "readwrite";
    if (mixed && !opts.count("rwmixread")) opts["rwmixread"] = "50";
    return opts;
}

std::optional<std::string> value_of(const std::map<std::string, std::string>& opts, const std::string& key) {
    auto it = opts.find(key);
    return it == opts.end() ? std::nullopt : std::optional(it->second);
}

// Serialises the fidelity jobs: two measuring at once (ctest -j) would skew both.
class MeasureLock {
public:
    MeasureLock() : fd_(::open("/var/tmp/iodiag-fidelity.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0666)) {
        if (fd_ >= 0) ::flock(fd_, LOCK_EX);
    }
    ~MeasureLock() {
        if (fd_ >= 0) ::close(fd_);
    }

private:
    int fd_;
};

struct Reproduction {
    fio::JobFile job;
    std::string section;
};

Reproduction generate(const ScratchDir& dir, const std::string& target) {
    const std::string out = (dir.path() / "generated.fio").string();
    auto run = run_iodiag({"reproduce", model_file(dir).string(), "-o", out, "--target", target, "--json"});
    INFO("reproduce stdout:\n" << run.out << "\nstderr:\n" << run.err);
    REQUIRE(run.exit_code == 0);
    auto result = nlohmann::json::parse(run.out);
    // fio itself must accept the job.
    auto parse_only = run_capture({"fio", "--parse-only", out});
    REQUIRE(parse_only);
    INFO("fio --parse-only: " << parse_only->err);
    REQUIRE(parse_only->exit_code == 0);
    std::ifstream in(out);
    std::stringstream text;
    text << in.rdbuf();
    INFO("generated job:\n" << text.str());
    auto job = fio::parse_job(text.str());
    REQUIRE(job);
    REQUIRE(!result.at("sections").empty());
    // The model lists its biggest group first: the workload; others are incidental.
    return {*job, result.at("sections").at(0).at("section").get<std::string>()};
}

double reproduced_iops(const ScratchDir& dir, const std::string& target, int seconds) {
    const std::string out = (dir.path() / "generated.fio").string();
    auto run = run_iodiag({"reproduce", model_file(dir).string(), "-o", out, "--target", target, "--runtime",
                           std::to_string(seconds), "--run", "--json"});
    INFO("reproduce --run stdout:\n" << run.out << "\nstderr:\n" << run.err);
    REQUIRE(run.exit_code == 0);
    auto result = nlohmann::json::parse(run.out);
    for (const auto& metric : result.at("comparison").at("groups").at(0).at("metrics"))
        if (metric.at("metric") == "IOPS") return metric.at("reproduced").get<double>();
    FAIL("no IOPS in the comparison");
    return 0;
}

void record(const GroundTruth& truth, double original, double reproduced, int attempts,
            const std::vector<std::string>& wrong) {
    const char* path = std::getenv("IODIAG_FIDELITY_RESULTS");
    if (!path || !*path) return;
    std::string options = wrong.empty() ? "all equal" : "";
    for (const auto& w : wrong) options += (options.empty() ? "" : "; ") + w;
    std::ofstream(path, std::ios::app) << fmt::format("| {} | {} | {:.0f} | {:.0f} | {:.2f} | {} | {} |\n", truth.name,
                                                      truth.source, original, reproduced, reproduced / original,
                                                      attempts, options);
}

// Checks the generated section against the original job; returns the options that differ
// ("thinktime=4063 (not in the original)"), for the results table.
std::vector<std::string> check_options(const GroundTruth& truth, const fio::JobSection& section) {
    auto expected = expected_options(truth.body);
    std::vector<std::string> wrong;
    auto expect = [&](bool ok, const std::string& key, const std::string& want) {
        std::string got = section.get(key).value_or("(absent)");
        INFO(key << ": generated " << got << ", original " << want);
        CHECK(ok);
        if (!ok) wrong.push_back(key + "=" + got + " (original " + want + ")");
    };
    auto same = [&](const std::string& key) {
        std::optional<std::string> want = value_of(expected, key);
        expect(section.get(key) == want, key, want.value_or("(absent)"));
    };
    auto near = [&](const std::string& key, double tolerance) {
        double want = std::stod(expected.at(key));
        double got = std::stod(section.get(key).value_or("-1000"));
        expect(std::fabs(got - want) <= tolerance, key, expected.at(key));
    };
    // What strace sees for every engine.
    for (const char* key : {"ioengine", "direct", "numjobs"}) same(key);
    near("iodepth", std::max(1.0, 0.1 * std::stod(expected["iodepth"])));
    // The original has no rate limit or think time: none may appear.
    for (const char* key : {"thinktime", "rate_iops", "rate"}) same(key);
    if (expected.count("iodepth_batch_submit")) same("iodepth_batch_submit");
    // The completions a program waits for are an argument of io_getevents and io_uring_enter.
    if (expected.count("iodepth_batch_complete_min")) same("iodepth_batch_complete_min");
    // io_uring's requests (rw, bs, offsets) live in the ring: strace cannot see them.
    if (truth.uring) return wrong;
    for (const char* key : {"rw", "bs", "size", "sync", "fsync", "fdatasync", "nrfiles"}) same(key);
    if (expected.count("rwmixread")) near("rwmixread", 5);
    if (expected.count("percentage_random")) near("percentage_random", 10);
    return wrong;
}

void round_trip(const GroundTruth& truth) {
    const std::string source = truth.source;
    std::vector<std::string> tools{"fio"};
    if (source == "strace") tools.push_back("strace");
    std::string missing = missing_tools(tools);
    if (!missing.empty()) {
        WARN("skipped: not installed: " << missing);
        return;
    }
    if (source == "bpf") {
        if (auto why = bpf_unavailable(); !why.empty()) {
            WARN("skipped: BPF: " << why);
            return;
        }
    }
    MeasureLock lock;
    ScratchDir dir;
    auto model = model_fio_job(dir, "[" + std::string(truth.name) + "]\n" + truth.body + "\n", truth.seconds,
                               {"--source", source});
    INFO("model: " << model::to_json(model).dump(2).substr(0, 4000));
    const std::string target = (dir.path() / "repro").string();
    Reproduction repro = generate(dir, target);
    const fio::JobSection* section = repro.job.find(repro.section);
    REQUIRE(section);
    std::vector<std::string> wrong = check_options(truth, *section);

    // Each measurement starts with no dirty pages left by the previous one to write back.
    auto original_iops = [&] {
        ::sync();
        return measure_fio_iops(traced_job(dir).string());
    };
    auto reproduced_now = [&] {
        ::sync();
        return reproduced_iops(dir, target, truth.seconds);
    };
    double original = original_iops();
    double reproduced = reproduced_now();
    int attempts = 1;
    if (std::fabs(reproduced / original - 1) > kIopsTolerance) {
        // Noise (the disk's flush latency alone varies several-fold from run to run here, and
        // O_DIRECT writes on this shared virtual disk by ±20% between 2 s runs): retry once, with
        // four more runs of each, interleaved, and compare the medians of five.
        std::vector<double> o{original}, r{reproduced};
        for (int i = 0; i < 4; ++i) {
            o.push_back(original_iops());
            r.push_back(reproduced_now());
        }
        std::sort(o.begin(), o.end());
        std::sort(r.begin(), r.end());
        original = o[2];
        reproduced = r[2];
        attempts = 2;
    }
    record(truth, original, reproduced, attempts, wrong);
    INFO(fmt::format("{}: original {:.0f} IOPS untraced, reproduction {:.0f} IOPS ({} attempt(s))", truth.name, original,
                     reproduced, attempts));
    if (truth.uring) return;  // the reproduction runs fio's default rw/bs: IOPS need not match
    CHECK(reproduced >= original * (1 - kIopsTolerance));
    CHECK(reproduced <= original * (1 + kIopsTolerance));
}

}  // namespace

TEST_CASE("fidelity: psync sequential buffered 128k reads", "[fidelity][fio][strace]") {
    round_trip({"psync-seqread-128k", "rw=read\nbs=128k\nioengine=psync\nsize=64m"});
}

TEST_CASE("fidelity: psync random direct 4k writes", "[fidelity][fio][strace]") {
    round_trip({"psync-randwrite-direct", "rw=randwrite\nbs=4k\nioengine=psync\ndirect=1\nsize=4m"});
}

TEST_CASE("fidelity: sync engine random direct 4k reads", "[fidelity][fio][strace]") {
    round_trip({"sync-randread-direct", "rw=randread\nbs=4k\nioengine=sync\ndirect=1\nsize=4m"});
}

TEST_CASE("fidelity: sync engine sequential 8k writes with fsync=16", "[fidelity][fio][strace]") {
    round_trip({"sync-write-fsync16", "rw=write\nbs=8k\nioengine=sync\nfsync=16\nsize=2m"});
}

TEST_CASE("fidelity: sync engine sequential reads over two files", "[fidelity][fio][strace]") {
    round_trip({"sync-seqread-nrfiles2", "rw=read\nbs=4k\nioengine=sync\nnrfiles=2\nsize=8m"});
}

TEST_CASE("fidelity: pvsync random 70/30 direct 16k, two jobs", "[fidelity][fio][strace]") {
    round_trip({"pvsync-randrw-jobs2", "rw=randrw\nrwmixread=70\nbs=16k\nioengine=pvsync\ndirect=1\nnumjobs=2\nsize=8m"});
}

TEST_CASE("fidelity: pvsync2 sequential 4k writes with fdatasync=4", "[fidelity][fio][strace]") {
    round_trip({"pvsync2-write-fdatasync4", "rw=write\nbs=4k\nioengine=pvsync2\nfdatasync=4\nsize=1m"});
}

TEST_CASE("fidelity: psync O_SYNC sequential 4k writes", "[fidelity][fio][strace]") {
    round_trip({"psync-write-sync1", "rw=write\nbs=4k\nioengine=psync\nsync=1\nsize=256k"});
}

TEST_CASE("fidelity: psync random buffered 4k reads, four jobs", "[fidelity][fio][strace]") {
    round_trip({"psync-randread-jobs4", "rw=randread\nbs=4k\nioengine=psync\nnumjobs=4\nsize=8m"});
}

TEST_CASE("fidelity: psync half-random direct 4k reads (mixed pattern)", "[fidelity][fio][strace]") {
    round_trip({"psync-randread-50pct", "rw=randread\npercentage_random=50\nbs=4k\nioengine=psync\ndirect=1\nsize=4m"});
}

TEST_CASE("fidelity: libaio random direct 8k reads at depth 16", "[fidelity][fio][strace]") {
    round_trip({"libaio-randread-qd16", "rw=randread\nbs=8k\nioengine=libaio\ndirect=1\niodepth=16\nsize=16m"});
}

TEST_CASE("fidelity: libaio random direct 4k writes, depth 8 in batches of 4", "[fidelity][fio][strace]") {
    round_trip({"libaio-randwrite-batch4",
                "rw=randwrite\nbs=4k\nioengine=libaio\ndirect=1\niodepth=8\niodepth_batch_submit=4\n"
                "iodepth_batch_complete_min=4\nsize=4m"});
}

TEST_CASE("fidelity: libaio sequential direct 64k writes, depth 4, two jobs", "[fidelity][fio][strace]") {
    round_trip({"libaio-write-qd4-jobs2", "rw=write\nbs=64k\nioengine=libaio\ndirect=1\niodepth=4\nnumjobs=2\nsize=16m"});
}

TEST_CASE("fidelity: io_uring random direct 4k reads at depth 32 (what strace can know)", "[fidelity][fio][strace]") {
    round_trip({"io_uring-randread-qd32",
                "rw=randread\nbs=4k\nioengine=io_uring\ndirect=1\niodepth=32\niodepth_batch_submit=8\n"
                "iodepth_batch_complete_min=8\nsize=16m",
                2, true});
}

// The bpf source sees every io_uring request and libaio iocb: everything is asserted.
TEST_CASE("fidelity (bpf): io_uring random direct 4k reads at depth 32 in batches of 8", "[fidelity][fio][bpf]") {
    round_trip({"io_uring-randread-qd32",
                "rw=randread\nbs=4k\nioengine=io_uring\ndirect=1\niodepth=32\niodepth_batch_submit=8\n"
                "iodepth_batch_complete_min=8\nsize=16m",
                2, false, "bpf"});
}

TEST_CASE("fidelity (bpf): libaio random direct 4k writes, depth 8 in batches of 4", "[fidelity][fio][bpf]") {
    round_trip({"libaio-randwrite-batch4",
                "rw=randwrite\nbs=4k\nioengine=libaio\ndirect=1\niodepth=8\niodepth_batch_submit=4\n"
                "iodepth_batch_complete_min=4\nsize=4m",
                2, false, "bpf"});
}

TEST_CASE("fidelity (bpf): pvsync random 70/30 direct 16k, two jobs", "[fidelity][fio][bpf]") {
    round_trip({"pvsync-randrw-jobs2", "rw=randrw\nrwmixread=70\nbs=16k\nioengine=pvsync\ndirect=1\nnumjobs=2\nsize=8m",
                2, false, "bpf"});
}

TEST_CASE("fidelity (bpf): sync engine sequential 8k writes with fsync=16", "[fidelity][fio][bpf]") {
    round_trip({"sync-write-fsync16", "rw=write\nbs=8k\nioengine=sync\nfsync=16\nsize=2m", 2, false, "bpf"});
}
