// The syscall tracer on its own, in-process, in each attach variant this kernel offers (tp_btf and
// raw_tp): exact file offsets from the kernel's file position, open flags and paths by inode,
// libaio requests paired with their completions, totals that match the events.
#include <catch2/catch.hpp>

#include <vector>

#include "bpf_harness.hpp"
#include "fio_harness.hpp"
#include "model/classifier.hpp"
#include "trace/bpf_syscalls.hpp"

using namespace iodiag;
using namespace iodiag::testing;

namespace {

// The variants to run: the kernel's own choice and raw_tp (if it attaches here), each named.
std::vector<std::pair<std::string, trace::BpfFeatures>> variants() {
    std::vector<std::pair<std::string, trace::BpfFeatures>> out;
    auto probed = trace::probe_bpf_features();
    if (!probed) return out;
    if (probed->tp_btf) out.emplace_back("tp_btf", *probed);
    trace::BpfFeatures raw;
    raw.raw_tp = true;
    raw.probed = probed->probed;
    trace::BpfSyscalls probe;
    trace::BpfTarget self;
    self.tgid = static_cast<uint32_t>(::getpid());
    Status status = probe.load(self, raw);
    if (status) status = probe.attach();
    probe.detach();
    if (status) out.emplace_back("raw_tp", raw);
    else WARN("raw_tp variant not tested: " << status.error().message);
    return out;
}

#define SKIP_UNLESS_BPF()                                            \
    do {                                                             \
        if (std::string why = bpf_unavailable(); !why.empty()) {     \
            WARN("skipped: BPF: " << why);                           \
            return;                                                  \
        }                                                            \
    } while (0)

struct Capture final : trace::EventSink {
    std::vector<trace::IoEvent> data;
    std::vector<trace::AsyncRequest> requests;
    void on_event(const trace::IoEvent& e) override {
        if (e.kind == trace::EventKind::data) data.push_back(e);
    }
    void on_async(const trace::AsyncRequest& r) override { requests.push_back(r); }
};

}  // namespace

TEST_CASE("bpf syscalls: write offsets come from the kernel's file position, flags and path from the fd",
          "[bpf][syscalls]") {
    SKIP_UNLESS_BPF();
    for (const auto& [variant, features] : variants()) {
        SECTION(variant) {
            ScratchDir dir;
            const std::string out = (dir.path() / "out").string();
            Capture capture;
            trace::FileTable files;
            trace::BpfSyscalls tracer;
            // seek=10: dd lseeks first, so its writes start at 40960 with no offset argument.
            auto run = run_traced({"dd", "if=/dev/zero", "of=" + out, "bs=4k", "count=64", "seek=10", "oflag=direct",
                                   "status=none"},
                                  {&tracer}, capture, files, &features);
            REQUIRE(run.exit_code == 0);
            std::vector<trace::IoEvent> writes;
            for (const auto& e : capture.data)
                if (e.dir == trace::IoDir::write && files.get(e.file_id).path == out) writes.push_back(e);
            REQUIRE(writes.size() == 64);
            for (size_t i = 0; i < writes.size(); ++i) {
                const trace::IoEvent& w = writes[i];
                INFO("write " << i);
                const bool exact = w.call == trace::Syscall::write && w.offset_kind == trace::OffsetKind::absolute &&
                                   w.offset == (10 + i) * 4096 && w.bytes == 4096 && w.ret == 4096;
                const bool described = (w.open_flags & trace::kOpenDirect) && (w.open_flags & trace::kOpenWrite) &&
                                       w.file_kind == trace::FileKind::regular && w.dur_ns > 0 && w.tgid > 0;
                CHECK(exact);
                CHECK(described);
            }
            const model::ordered_json totals = totals_json(tracer);
            INFO(totals.dump());
            CHECK(totals.at("syscalls").at("calls").at("write").at("calls").get<uint64_t>() >= 64);
            CHECK(totals.at("syscalls").at("calls").at("write").at("size_log2").at("4096").get<uint64_t>() >= 64);
            CHECK(tracer.dropped() == 0);
        }
    }
}

TEST_CASE("bpf syscalls: libaio iocbs paired with their completions", "[bpf][syscalls][fio]") {
    SKIP_UNLESS_BPF();
    SKIP_WITHOUT("fio");
    for (const auto& [variant, features] : variants()) {
        SECTION(variant) {
            ScratchDir dir;
            const std::string job = write_fio_job(
                dir.path().string(), "[aio]\nrw=randread\nbs=8k\nioengine=libaio\ndirect=1\niodepth=16\nsize=32m\n", 2);
            model::ClassifierOptions options;
            options.source_kind = "bpf";
            model::Classifier classifier(options);
            Capture capture;
            FanOut both({&classifier, &capture});
            trace::FileTable files;
            trace::BpfSyscalls tracer;
            auto run = run_traced({"fio", "--output=/dev/null", job}, {&tracer}, both, files, &features);
            REQUIRE(run.exit_code == 0);

            REQUIRE(capture.requests.size() > 100);
            uint64_t completed = 0, as_submitted = 0, as_completed = 0;
            for (const auto& r : capture.requests) {
                as_submitted += r.dir == trace::IoDir::read && r.bytes == 8192 && r.offset % 8192 == 0 &&
                                (r.open_flags & trace::kOpenDirect) != 0;
                if (r.complete_ns) {
                    ++completed;
                    as_completed += r.complete_ns > r.submit_ns && r.res == 8192;
                }
            }
            CHECK(as_submitted == capture.requests.size());  // 8k O_DIRECT reads at 8k offsets
            CHECK(as_completed == completed);                // after submission, all 8k read
            // Only the requests in flight when fio stopped may lack a completion.
            CHECK(capture.requests.size() - completed <= 16);
            const model::ordered_json totals = totals_json(tracer);
            CHECK(totals.at("syscalls").at("aio_iocbs").get<uint64_t>() == capture.requests.size());

            model::WorkloadModel m = classifier.finish(files, {});
            INFO(model::to_json(m).dump(2).substr(0, 4000));
            const auto& g = group_with(m, "rw", "randread");
            CHECK(option(g, "ioengine") == "libaio");
            CHECK(option(g, "bs") == "8k");
            const auto depth = option(g, "iodepth").get<int>();
            CHECK(depth >= 12);
            CHECK(depth <= 20);
            CHECK(g.unknown.count("latency") == 0);
            CHECK(g.evidence.reads.latency_us.count == completed);
        }
    }
}

// fio's userspace_reap with iodepth_batch_complete_min=0 takes completions from the aio ring
// itself, as qemu does: no io_getevents at all. The tracer reads the ring's head at each io_submit.
TEST_CASE("bpf syscalls: libaio completions taken from the ring in user space are paired too",
          "[bpf][syscalls][fio]") {
    SKIP_UNLESS_BPF();
    SKIP_WITHOUT("fio");
    for (const auto& [variant, features] : variants()) {
        SECTION(variant) {
            ScratchDir dir;
            const std::string job = write_fio_job(dir.path().string(),
                                                  "[aio]\nrw=randread\nbs=8k\nioengine=libaio\ndirect=1\niodepth=16\n"
                                                  "size=32m\nuserspace_reap=1\niodepth_batch_complete_min=0\n",
                                                  2);
            model::ClassifierOptions options;
            options.source_kind = "bpf";
            model::Classifier classifier(options);
            Capture capture;
            FanOut both({&classifier, &capture});
            trace::FileTable files;
            trace::BpfSyscalls tracer;
            auto run = run_traced({"fio", "--output=/dev/null", job}, {&tracer}, both, files, &features);
            REQUIRE(run.exit_code == 0);

            REQUIRE(capture.requests.size() > 100);
            uint64_t completed = 0, as_completed = 0;
            for (const auto& r : capture.requests)
                if (r.complete_ns) {
                    ++completed;
                    as_completed += r.complete_ns > r.submit_ns && r.res == 8192;
                }
            CHECK(as_completed == completed);
            // Those fio took after its last io_submit are not seen: at most its depth.
            CHECK(capture.requests.size() - completed <= 16);
            const model::ordered_json totals = totals_json(tracer);
            CHECK(totals.at("syscalls").at("aio_completions").get<uint64_t>() == 0);  // no io_getevents
            CHECK(totals.at("syscalls").at("aio_completions_from_ring").get<uint64_t>() >= completed);

            model::WorkloadModel m = classifier.finish(files, {});
            INFO(model::to_json(m).dump(2).substr(0, 4000));
            const auto& g = group_with(m, "rw", "randread");
            CHECK(option(g, "ioengine") == "libaio");
            // fio itself reports depth 1 here (it reaps after each submit, 100% at depth 1 in its
            // iodepth_level); without the ring read, depth was every request submitted.
            CHECK(option(g, "iodepth").get<int>() <= 4);
            CHECK(g.evidence.reads.latency_us.count == completed);
        }
    }
}
