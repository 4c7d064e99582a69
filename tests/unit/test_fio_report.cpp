#include <catch2/catch.hpp>

#include "fio/comparison.hpp"
#include "fio/fio_report.hpp"
#include "fio/job_file.hpp"
#include "fio/probe.hpp"

using namespace iodiag;
using namespace iodiag::fio;

namespace {

// The shape of fio 3.33's --output-format=json+ (trimmed), one job per section.
const char* kReport = R"(fio: some notice before the JSON
{
  "fio version" : "fio-3.33",
  "jobs" : [
    {
      "jobname" : "randrw-8k-libaio",
      "error" : 0,
      "job_runtime" : 2001,
      "read" : {
        "io_bytes" : 81920000, "iops" : 5000.5, "bw_bytes" : 40960000, "total_ios" : 10000,
        "clat_ns" : { "mean" : 150000.0, "N" : 10000, "bins" : { "100000" : 3 },
          "percentile" : { "50.000000" : 120832, "90.000000" : 200000, "99.000000" : 1003520,
                           "99.900000" : 4145152, "99.990000" : 9000000 } }
      },
      "write" : {
        "io_bytes" : 8192000, "iops" : 500.0, "bw_bytes" : 4096000, "total_ios" : 1000,
        "clat_ns" : { "mean" : 300000.0, "N" : 1000,
          "percentile" : { "50.000000" : 250000, "99.000000" : 900000, "99.900000" : 1000000 } }
      },
      "sync" : { "total_ios" : 0, "lat_ns" : { "N" : 250, "percentile" : { "50.000000" : 240640, "99.000000" : 9240576 } } },
      "iodepth_level" : { "1" : 0.1, "2" : 0.1, "4" : 0.1, "8" : 0.2, "16" : 99.5, "32" : 0.0, ">=64" : 0.0 }
    },
    { "jobname" : "idle", "error" : 0, "read" : { "total_ios" : 0, "iops" : 0, "bw_bytes" : 0,
      "clat_ns" : { "mean" : 0, "N" : 0 } } }
  ]
})";

model::JobGroup observed_group() {
    model::JobGroup g;
    g.name = "randrw-8k-libaio";
    g.engine = "libaio";
    g.evidence.iops = 4800;
    g.evidence.bandwidth_bytes_s = 40000000;
    g.evidence.reads.ops = 9000;
    g.evidence.writes.ops = 900;
    g.evidence.reads.latency_us.count = 9000;
    g.evidence.reads.latency_us.p50 = 100;
    g.evidence.reads.latency_us.p99 = 1000;
    g.evidence.reads.latency_us.p999 = 8000;
    g.evidence.inflight = {{16, 100}};
    g.unknown["latency"] = "not for writes, say";
    return g;
}

}  // namespace

TEST_CASE("fio's json+ report is read per job", "[fio][report]") {
    auto report = parse_fio_json(kReport);
    REQUIRE(report);
    CHECK(report->fio_version == "fio-3.33");
    REQUIRE(report->jobs.size() == 2);
    const JobStats* job = report->find("randrw-8k-libaio");
    REQUIRE(job);
    CHECK(job->runtime_s == Approx(2.001));
    CHECK(job->read.ios == 10000);
    CHECK(job->iops() == Approx(5500.5));
    CHECK(job->bw_bytes() == Approx(45056000));
    CHECK(job->read.clat_us.known);
    CHECK(job->read.clat_us.p50 == Approx(120.832));
    CHECK(job->read.clat_us.p999 == Approx(4145.152));
    CHECK(job->read.clat_mean_us == Approx(150));
    CHECK(job->write.clat_us.p99 == Approx(900));
    CHECK(job->syncs == 250);
    CHECK(job->sync_us.p99 == Approx(9240.576));
    CHECK(depth_quantile(job->depth_levels, 0.5) == 16);
    CHECK(depth_quantile(job->depth_levels, 0.001) == 1);
    const JobStats* idle = report->find("idle");
    REQUIRE(idle);
    CHECK_FALSE(idle->read.clat_us.known);
    CHECK(depth_quantile(idle->depth_levels, 0.5) == 0);
    CHECK_FALSE(report->find("nope"));
}

TEST_CASE("fio's notices before and after its JSON report are kept, not parsed", "[fio][report]") {
    auto report = parse_fio_json("note: both iodepth and numjobs\n" + std::string(kReport) +
                                 "\nfio: file hash not empty on exit\n");
    REQUIRE(report);
    CHECK(report->jobs.size() == 2);
    CHECK(report->notices ==
          "note: both iodepth and numjobs\nfio: some notice before the JSON\n\nfio: file hash not empty on exit");
    auto plain = parse_fio_json(kReport);
    REQUIRE(plain);
    CHECK(plain->notices == "fio: some notice before the JSON");
}

TEST_CASE("a report that is not fio's JSON is bad input", "[fio][report]") {
    CHECK_FALSE(parse_fio_json(""));
    CHECK_FALSE(parse_fio_json("fio: job failed"));
    CHECK_FALSE(parse_fio_json("{\"jobs\": 3}"));
    auto cut = parse_fio_json(std::string(kReport).substr(0, 300));
    REQUIRE_FALSE(cut);
    CHECK(cut.error().kind == ErrorKind::bad_input);
}

TEST_CASE("verdicts say matches within 15%, else how many times off", "[fio][comparison]") {
    CHECK(verdict_of(0.0) == "matches");
    CHECK(verdict_of(0.15) == "matches");
    CHECK(verdict_of(-0.15) == "matches");
    CHECK(verdict_of(1.3) == "2.3x higher");
    CHECK(verdict_of(-0.5) == "2.0x lower");
    CHECK(verdict_of(-1.0) == "none reproduced");
}

TEST_CASE("the comparison maps fio's sections back to the model's groups", "[fio][comparison]") {
    auto report = parse_fio_json(kReport);
    REQUIRE(report);
    model::WorkloadModel m;
    m.source.kind = "strace";
    m.groups = {observed_group()};
    Comparison c = compare(m, {"randrw-8k-libaio"}, *report);
    REQUIRE(c.groups.size() == 1);
    const GroupComparison& g = c.groups[0];
    const Metric* iops = g.find("IOPS");
    REQUIRE(iops);
    CHECK(*iops->observed == Approx(4800));
    CHECK(*iops->reproduced == Approx(5500.5));
    CHECK(*iops->relative == Approx(700.5 / 4800));
    CHECK(iops->verdict == "matches");
    CHECK(g.verdict.rfind("faithful", 0) == 0);
    CHECK(g.find("read lat p50")->verdict == "1.2x higher");
    const Metric* write_p50 = g.find("write lat p50");
    REQUIRE(write_p50);
    CHECK(write_p50->verdict == "unknown");
    CHECK(write_p50->why == "not for writes, say");
    CHECK(g.find("depth p50")->verdict == "matches");
    CHECK(g.find("flush lat p50")->verdict == "unknown");
    REQUIRE(c.notes.size() == 1);  // strace's overhead

    std::string table = render_comparison(c);
    CHECK(table.find("randrw-8k-libaio: faithful") != std::string::npos);
    CHECK(table.find("unknown write lat p50, write lat p99, write lat p99.9, flush lat p50, flush lat p99") ==
          std::string::npos);  // different reasons are listed apart
    CHECK(table.find("unknown write lat p50, write lat p99, write lat p99.9: not for writes, say") != std::string::npos);
    auto json = comparison_json(c);
    CHECK(json["groups"][0]["metrics"][0]["metric"] == "IOPS");
    CHECK(json["groups"][0]["section"] == "randrw-8k-libaio");
}

TEST_CASE("a group fio did not report says so", "[fio][comparison]") {
    auto report = parse_fio_json(kReport);
    REQUIRE(report);
    model::WorkloadModel m;
    m.groups = {observed_group()};
    Comparison c = compare(m, {"missing"}, *report);
    REQUIRE(c.groups.size() == 1);
    CHECK(c.groups[0].metrics.empty());
    CHECK(c.groups[0].verdict.find("no result") != std::string::npos);
    CHECK(c.notes.empty());
}

TEST_CASE("a slower reproduction is called slower, a faster one under strace expected", "[fio][comparison]") {
    auto report = parse_fio_json(kReport);
    REQUIRE(report);
    model::WorkloadModel m;
    m.source.kind = "strace";
    m.groups = {observed_group()};
    m.groups[0].evidence.iops = 1000;
    CHECK(compare(m, {"randrw-8k-libaio"}, *report).groups[0].verdict.find("5.5x faster than observed (expected") !=
          std::string::npos);
    m.groups[0].evidence.iops = 20000;
    CHECK(compare(m, {"randrw-8k-libaio"}, *report).groups[0].verdict == "reproduction 3.6x slower than observed");
}

TEST_CASE("probe templates get the target, size and runtime, and nothing else", "[fio][probe]") {
    ProbeParams p{"/scratch/probe.dat", 256ull << 20, 10};
    auto job = instantiate("[p]\nfilename=${IODIAG_FILENAME}\nsize=${IODIAG_SIZE}\nruntime=${IODIAG_RUNTIME}\n", p);
    REQUIRE(job);
    CHECK(*job == "[p]\nfilename=/scratch/probe.dat\nsize=256m\nruntime=10\n");
    // A template that writes somewhere else than the target is refused.
    CHECK_FALSE(instantiate("[p]\nfilename=/dev/sda\nsize=${IODIAG_SIZE}\nruntime=${IODIAG_RUNTIME}\n", p));
    CHECK_FALSE(instantiate("[p]\nfilename=${IODIAG_FILENAME}\nsize=${IODIAG_SIZE}\nruntime=${IODIAG_RUNTIME}\n"
                            "bs=${IODIAG_BS}\n",
                            p));
    REQUIRE(find_probe("depth1"));
    REQUIRE(find_probe("syncwrite"));
    CHECK_FALSE(find_probe("depth2"));
}

TEST_CASE("the bundled probe templates are the note's workloads", "[fio][probe]") {
    auto job_of = [](const char* name) {
        auto text = load_template(*find_probe(name), {std::string(IODIAG_SOURCE_DIR) + "/workloads"});
        REQUIRE(text);
        auto job = instantiate(*text, {"/scratch/p", 1 << 20, 1});
        REQUIRE(job);
        auto parsed = parse_job(*job);
        REQUIRE(parsed);
        REQUIRE(parsed->sections.size() == 1);
        return parsed->sections[0];
    };
    // fio --depth=1 --direct=1 --rw=write
    JobSection depth1 = job_of("depth1");
    CHECK(depth1.get("iodepth") == "1");
    CHECK(depth1.get("direct") == "1");
    CHECK(depth1.get("rw") == "write");
    CHECK(depth1.get("filename") == "/scratch/p");
    CHECK(depth1.get("size") == "1m");
    // fio --rw=write --sync=1
    JobSection syncwrite = job_of("syncwrite");
    CHECK(syncwrite.get("rw") == "write");
    CHECK(syncwrite.get("sync") == "1");
    CHECK(syncwrite.get("runtime") == "1");

    auto missing = load_template(probe_kinds()[0], {"/nonexistent"});
    REQUIRE_FALSE(missing);
    CHECK(missing.error().kind == ErrorKind::not_found);
    CHECK(missing.error().message.find("/nonexistent") != std::string::npos);
}
