// Ground truth for the io_uring tracer: real fio io_uring jobs traced in-process by
// BpfUringTracer into the classifier (source "bpf"); the model must name the job back, with
// per-request latency, exact depth and submit batches, also on SQPOLL rings.
#include <catch2/catch.hpp>

#include <fstream>

#include "bpf_harness.hpp"
#include "fio_harness.hpp"
#include "model/classifier.hpp"
#include "trace/bpf_uring.hpp"

using namespace iodiag;
using namespace iodiag::testing;

namespace {

// Empty when io_uring jobs can be traced here, else why not (named so the skip says it).
std::string uring_unavailable() {
    if (auto missing = missing_tools({"fio"}); !missing.empty()) return "not installed: " + missing;
    if (auto why = bpf_unavailable(); !why.empty()) return "BPF: " + why;
    std::ifstream disabled("/proc/sys/kernel/io_uring_disabled");
    int value = 0;
    if (disabled >> value && value != 0) return "io_uring is disabled (kernel.io_uring_disabled=" + std::to_string(value) + ")";
    trace::BpfUringTracer probe;
    if (auto why = attach_problem(probe); !why.empty()) return "io_uring tracepoints: " + why;
    return {};
}

#define SKIP_UNLESS_URING()                                  \
    do {                                                     \
        std::string why = uring_unavailable();               \
        if (!why.empty()) {                                  \
            WARN("skipped: " << why);                        \
            return;                                          \
        }                                                    \
    } while (0)

struct UringTrace {
    model::WorkloadModel model;
    model::ordered_json totals;
    TracedRun run;
    uint64_t fio_ios = 0;  // what fio itself says it did (reads + writes)
};

UringTrace trace_fio(const ScratchDir& dir, const std::string& job_body, int seconds,
                     const trace::BpfFeatures* features = nullptr) {
    const std::string job = write_fio_job(dir.path().string(), job_body, seconds);
    model::ClassifierOptions options;
    options.source_kind = "bpf";
    model::Classifier classifier(options);
    trace::FileTable files;
    trace::BpfUringTracer tracer;
    UringTrace out;
    const std::string report = dir.path().string() + "/fio.json";
    out.run = run_traced({"fio", "--output-format=json", "--output=" + report, job}, {&tracer}, classifier, files,
                         features);
    REQUIRE(out.run.exit_code == 0);
    std::ifstream in(report);
    auto fio = model::ordered_json::parse(in, nullptr, false);
    REQUIRE_FALSE(fio.is_discarded());
    for (const auto& job_report : fio["jobs"])
        out.fio_ios += job_report["read"]["total_ios"].get<uint64_t>() + job_report["write"]["total_ios"].get<uint64_t>();
    out.totals = totals_json(tracer);
    CHECK(tracer.dropped() == 0);
    model::WorkloadModel base;
    base.source.kind = "bpf";
    out.model = classifier.finish(files, base);
    return out;
}

const model::JobGroup& uring_group(const UringTrace& t) {
    INFO("model: " << model::to_json(t.model).dump(2).substr(0, 6000) << "\ntotals: " << t.totals.dump(2));
    REQUIRE(t.model.groups.size() == 1);
    const auto& g = t.model.groups.front();
    REQUIRE(option(g, "ioengine") == "io_uring");
    return g;
}

}  // namespace

TEST_CASE("bpf io_uring: randread 4k iodepth 32 in batches of 8", "[bpf][uring][fio]") {
    SKIP_UNLESS_URING();
    ScratchDir dir;
    // fio refills as soon as iodepth_batch_complete_min requests completed (default 1, which makes
    // steady-state batches of 1 whatever iodepth_batch_submit says): ask for 8 to get batches of 8.
    auto t = trace_fio(dir,
                       "[uring]\nrw=randread\nbs=4k\nioengine=io_uring\niodepth=32\niodepth_batch_submit=8\n"
                       "iodepth_batch_complete_min=8\ndirect=1\nsize=64m\n",
                       2);
    const auto& g = uring_group(t);
    INFO("group: " << model::to_json(t.model).dump(2).substr(0, 6000));
    CHECK(option(g, "rw") == "randread");
    CHECK(option(g, "bs") == "4k");
    CHECK(option(g, "direct") == 1);
    const uint64_t depth = option(g, "iodepth").get<uint64_t>();
    CHECK(depth >= 24);
    CHECK(depth <= 40);
    CHECK(option(g, "iodepth_batch_submit") == 8);
    CHECK_FALSE(g.fio.contains("sqthread_poll"));
    // Per-request latency, from submit to CQE.
    CHECK(g.evidence.reads.latency_us.count == g.evidence.reads.ops);
    CHECK(g.evidence.reads.latency_us.p50 > 0);
    CHECK(g.evidence.reads.latency_us.p99 >= g.evidence.reads.latency_us.p50);
    CHECK(g.unknown.count("latency") == 0);
    CHECK_FALSE(g.evidence.complete_batch.empty());
    REQUIRE(g.files.size() == 1);
    CHECK(g.files[0].path.find(dir.path().string()) == 0);
    // The exact in-kernel counts agree with what reached the classifier.
    CHECK(t.totals["io_uring"]["reads"].get<uint64_t>() == g.evidence.reads.ops);
    CHECK(t.totals["io_uring"]["submitted_by_opcode"].contains("READ"));
    CHECK(g.evidence.reads.ops > 1000);
    CHECK(g.evidence.reads.ops == t.fio_ios);  // every request fio made, no more
}

TEST_CASE("bpf io_uring: an SQPOLL ring on registered files still yields its requests", "[bpf][uring][fio]") {
    SKIP_UNLESS_URING();
    ScratchDir dir;
    auto t = trace_fio(dir,
                       "[sqpoll]\nrw=randread\nbs=4k\nioengine=io_uring\niodepth=8\nsqthread_poll=1\n"
                       "registerfiles=1\ndirect=1\nsize=32m\n",
                       2);
    const auto& g = uring_group(t);
    INFO("model: " << model::to_json(t.model).dump(2).substr(0, 6000));
    CHECK(g.evidence.reads.ops > 100);
    CHECK(g.evidence.reads.ops == t.fio_ios);
    CHECK(option(g, "rw") == "randread");
    CHECK(option(g, "bs") == "4k");
    CHECK(option(g, "sqthread_poll") == 1);
    CHECK(g.evidence.reads.latency_us.count > 0);
    // Registered files are named through their inode, not left as "fixed file N".
    REQUIRE(g.files.size() == 1);
    CHECK(g.files[0].path.find(dir.path().string()) == 0);
    // Requests are charged to fio's job thread, not to the kernel's iou-sqp thread.
    REQUIRE(g.threads.size() == 1);
    CHECK(g.processes.size() == 1);
}

TEST_CASE("bpf io_uring: the raw_tp and classic tracepoint variants see the same requests", "[bpf][uring][fio]") {
    SKIP_UNLESS_URING();
    for (const std::string variant : {"raw_tp", "tracepoint"}) {
        INFO("variant " << variant);
        trace::BpfFeatures only;
        if (variant == "raw_tp") only.raw_tp = true;
        else only.tracepoint = true;
        if (only.tracepoint && !trace::ensure_tracefs()) {
            WARN("skipped the tracepoint variant: tracefs cannot be mounted here");
            continue;
        }
        ScratchDir dir;
        auto t = trace_fio(dir, "[v]\nrw=randwrite\nbs=8k\nioengine=io_uring\niodepth=4\ndirect=1\nsize=16m\n", 1,
                           &only);
        const auto& g = uring_group(t);
        CHECK(option(g, "rw") == "randwrite");
        CHECK(option(g, "bs") == "8k");
        CHECK(g.evidence.writes.ops > 100);
        CHECK(g.evidence.writes.ops == t.fio_ios);
        CHECK(g.evidence.writes.latency_us.count > 0);
    }
}
