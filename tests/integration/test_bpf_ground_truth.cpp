// Ground truth for the bpf source: real fio jobs with known parameters traced by `iodiag model
// --source bpf` (the real binary); the model must name the parameters back exactly, agree with
// the strace model of the same job, and keep exact in-kernel totals.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <map>

#include "bpf_harness.hpp"
#include "fio_harness.hpp"

using namespace iodiag;
using namespace iodiag::testing;

namespace {

const std::vector<std::string> kBpf = {"--source", "bpf"};
const std::vector<std::string> kStrace = {"--source", "strace"};

const model::JobGroup& single_group(const model::WorkloadModel& m) {
    INFO("model: " << model::to_json(m).dump(2).substr(0, 6000));
    REQUIRE(m.groups.size() == 1);
    return m.groups.front();
}

// The fio options the two sources must agree on exactly (depth separately, within 25%).
constexpr const char* kExactOptions[] = {"rw", "bs", "ioengine", "direct", "numjobs", "thread",
                                         "fsync", "fdatasync", "sync"};

void check_agree(const model::JobGroup& bpf, const model::JobGroup& strace) {
    INFO("bpf: " << bpf.fio.dump() << "\nstrace: " << strace.fio.dump());
    for (const char* key : kExactOptions) CHECK(option(bpf, key) == option(strace, key));
    const auto depth_bpf = option(bpf, "iodepth").get<int>(), depth_strace = option(strace, "iodepth").get<int>();
    CHECK(std::abs(depth_bpf - depth_strace) * 4 <= std::max(depth_bpf, depth_strace));
}

void check_depth(const model::JobGroup& g, int expected) {
    const auto depth = option(g, "iodepth").get<int>();
    CHECK(depth * 4 >= expected * 3);  // within 25%
    CHECK(depth * 4 <= expected * 5);
}

// The bpf run's exact totals hold what the events showed (nothing was dropped at these rates).
void check_totals(const model::WorkloadModel& m, const char* call, uint64_t ops) {
    INFO("totals: " << m.source.totals.dump().substr(0, 3000));
    REQUIRE(m.source.totals.contains("syscalls"));
    const auto& calls = m.source.totals.at("syscalls").at("calls");
    REQUIRE(calls.contains(call));
    CHECK(calls.at(call).at("calls").get<uint64_t>() >= ops);
    CHECK(m.source.totals.at("syscalls").at("dropped") == 0);
    CHECK(m.source.dropped_events == 0);
}

struct Pair {
    model::WorkloadModel bpf, strace;
};

// The same job traced by each source (separate scratch folders, the same parameters).
Pair model_both(const std::string& job, int seconds = 2) {
    ScratchDir bpf_dir, strace_dir;
    Pair p{model_fio_job(bpf_dir, job, seconds, kBpf), model_fio_job(strace_dir, job, seconds, kStrace)};
    CHECK(p.bpf.source.kind == "bpf");
    CHECK(p.strace.source.kind == "strace");
    return p;
}

}  // namespace

TEST_CASE("bpf: sequential buffered psync reads of 128k", "[bpf][fio]") {
    SKIP_UNLESS_BPF_SOURCE("fio", "strace");
    auto p = model_both("[seqread]\nrw=read\nbs=128k\nioengine=psync\nsize=64m\n");
    const auto& g = single_group(p.bpf);
    CHECK(option(g, "rw") == "read");
    CHECK(option(g, "bs") == "128k");
    CHECK(option(g, "ioengine") == "psync");
    CHECK(option(g, "direct") == 0);
    CHECK(option(g, "iodepth") == 1);
    CHECK(option(g, "numjobs") == 1);
    CHECK(g.evidence.reads.pattern.consecutive * 100 >= g.evidence.reads.pattern.ops * 99);
    CHECK(p.bpf.target.comm == "fio");
    CHECK(p.bpf.complete);
    check_totals(p.bpf, "pread64", g.evidence.reads.ops);
    check_agree(g, single_group(p.strace));
}

TEST_CASE("bpf: random direct psync writes of 4k", "[bpf][fio]") {
    SKIP_UNLESS_BPF_SOURCE("fio", "strace");
    auto p = model_both("[randwrite]\nrw=randwrite\nbs=4k\nioengine=psync\ndirect=1\nsize=32m\n");
    const auto& g = single_group(p.bpf);
    CHECK(option(g, "rw") == "randwrite");
    CHECK(option(g, "bs") == "4k");
    CHECK(option(g, "direct") == 1);
    CHECK(option(g, "ioengine") == "psync");
    CHECK(g.evidence.direct_ops == g.evidence.writes.ops);
    CHECK(g.evidence.writes.latency_us.count == g.evidence.writes.ops);
    check_totals(p.bpf, "pwrite64", g.evidence.writes.ops);
    check_agree(g, single_group(p.strace));
}

TEST_CASE("bpf: randrw 70/30 4k with numjobs=4 (processes)", "[bpf][fio]") {
    SKIP_UNLESS_BPF_SOURCE("fio", "strace");
    auto p = model_both("[mix]\nrw=randrw\nrwmixread=70\nbs=4k\nioengine=psync\nnumjobs=4\nsize=16m\n");
    const auto& g = single_group(p.bpf);
    CHECK(option(g, "rw") == "randrw");
    CHECK(option(g, "numjobs") == 4);
    CHECK(option(g, "bs") == "4k");
    const int mix = option(g, "rwmixread").get<int>();
    CHECK(mix >= 65);
    CHECK(mix <= 75);
    CHECK(g.threads.size() == 4);
    CHECK(g.processes.size() == 4);  // fio forks a process per job: followed through the fork hook
    CHECK_FALSE(g.fio.contains("thread"));
    check_agree(g, single_group(p.strace));
}

TEST_CASE("bpf: sequential 4k writes with fdatasync=1", "[bpf][fio]") {
    SKIP_UNLESS_BPF_SOURCE("fio", "strace");
    auto p = model_both("[log]\nrw=write\nbs=4k\nioengine=psync\nfdatasync=1\nsize=16m\n");
    const auto& g = single_group(p.bpf);
    CHECK(option(g, "rw") == "write");
    CHECK(option(g, "bs") == "4k");
    CHECK(option(g, "fdatasync") == 1);
    CHECK(g.evidence.fdatasyncs > 10);
    CHECK(g.evidence.flush_latency_us.count == g.evidence.fdatasyncs);
    check_totals(p.bpf, "fdatasync", g.evidence.fdatasyncs);
    check_agree(g, single_group(p.strace));
}

TEST_CASE("bpf: sequential 4k writes with fsync=4", "[bpf][fio]") {
    SKIP_UNLESS_BPF_SOURCE("fio", "strace");
    auto p = model_both("[log]\nrw=write\nbs=4k\nioengine=psync\nfsync=4\nsize=16m\n");
    const auto& g = single_group(p.bpf);
    CHECK(option(g, "rw") == "write");
    CHECK(option(g, "bs") == "4k");
    CHECK(option(g, "fsync") == 4);
    CHECK_FALSE(g.fio.contains("fdatasync"));
    check_agree(g, single_group(p.strace));
}

TEST_CASE("bpf: libaio random direct reads of 8k at iodepth 16, per-request latency", "[bpf][fio]") {
    SKIP_UNLESS_BPF_SOURCE("fio", "strace");
    auto p = model_both("[aio]\nrw=randread\nbs=8k\nioengine=libaio\ndirect=1\niodepth=16\nsize=32m\n");
    const auto& g = single_group(p.bpf);
    CHECK(option(g, "ioengine") == "libaio");
    CHECK(option(g, "rw") == "randread");
    CHECK(option(g, "bs") == "8k");
    CHECK(option(g, "direct") == 1);
    check_depth(g, 16);
    // Each iocb paired with its completion: latency per request, which strace cannot give.
    CHECK(g.unknown.count("latency") == 0);
    CHECK(g.evidence.reads.latency_us.count == g.evidence.reads.ops);
    CHECK(g.evidence.reads.latency_us.p50 > 0);
    const auto& totals = p.bpf.source.totals.at("syscalls");
    CHECK(totals.at("aio_iocbs").get<uint64_t>() >= g.evidence.reads.ops);
    CHECK(totals.at("aio_iocbs_unread") == 0);
    CHECK(single_group(p.strace).unknown.count("latency") == 1);
    check_agree(g, single_group(p.strace));
}

TEST_CASE("bpf: libaio random direct writes of 16k at iodepth 8", "[bpf][fio]") {
    SKIP_UNLESS_BPF_SOURCE("fio", "strace");
    auto p = model_both("[aio]\nrw=randwrite\nbs=16k\nioengine=libaio\ndirect=1\niodepth=8\nsize=32m\n");
    const auto& g = single_group(p.bpf);
    CHECK(option(g, "ioengine") == "libaio");
    CHECK(option(g, "rw") == "randwrite");
    CHECK(option(g, "bs") == "16k");
    CHECK(option(g, "direct") == 1);
    check_depth(g, 8);
    CHECK(g.unknown.count("latency") == 0);
    CHECK(g.evidence.writes.latency_us.count == g.evidence.writes.ops);
    check_agree(g, single_group(p.strace));
}

TEST_CASE("bpf: psync randrw 60/40 8k buffered, numjobs=3 as threads", "[bpf][fio]") {
    SKIP_UNLESS_BPF_SOURCE("fio", "strace");
    auto p = model_both("[mix]\nrw=randrw\nrwmixread=60\nbs=8k\nioengine=psync\nnumjobs=3\nthread=1\nsize=16m\n");
    const auto& g = single_group(p.bpf);
    CHECK(option(g, "rw") == "randrw");
    CHECK(option(g, "bs") == "8k");
    CHECK(option(g, "direct") == 0);
    CHECK(option(g, "numjobs") == 3);
    CHECK(option(g, "thread") == 1);
    CHECK(g.threads.size() == 3);
    CHECK(g.processes.size() == 1);
    const int mix = option(g, "rwmixread").get<int>();
    CHECK(mix >= 55);
    CHECK(mix <= 65);
    check_agree(g, single_group(p.strace));
}

TEST_CASE("bpf: one process, a sequential sync-write log thread and random-read threads", "[bpf][fio]") {
    SKIP_UNLESS_BPF_SOURCE("fio", "strace");
    const std::string job =
        "[log]\nthread=1\nrw=write\nbs=4k\nioengine=psync\nfdatasync=1\nsize=16m\n"
        "[readers]\nthread=1\nrw=randread\nbs=4k\nioengine=psync\nnumjobs=2\nsize=32m\n";
    auto p = model_both(job);
    for (const auto* m : {&p.bpf, &p.strace}) {
        INFO("source " << m->source.kind);
        REQUIRE(m->groups.size() == 2);
        const auto& log = group_with(*m, "rw", "write");
        const auto& readers = group_with(*m, "rw", "randread");
        CHECK(option(log, "bs") == "4k");
        CHECK(option(log, "fdatasync") == 1);
        CHECK(option(log, "numjobs") == 1);
        CHECK(option(readers, "bs") == "4k");
        CHECK(option(readers, "numjobs") == 2);
        CHECK(option(readers, "thread") == 1);
        CHECK(log.processes == readers.processes);  // one process
    }
    check_agree(group_with(p.bpf, "rw", "write"), group_with(p.strace, "rw", "write"));
    check_agree(group_with(p.bpf, "rw", "randread"), group_with(p.strace, "rw", "randread"));
}
