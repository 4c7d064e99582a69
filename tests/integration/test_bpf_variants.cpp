// Every tracer in every attach variant it has, forced with IODIAG_BPF_VARIANT, through the bpf
// source on real fio runs: each must still see what it is there for, and the run's detail must
// name the variant. Then the per-tracer fallback, proven with the IODIAG_BPF_FAIL_VARIANT test
// hook: a tracer whose variant fails retries alone with the next one; a forced variant does not.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <string>

#include "bpf_harness.hpp"
#include "fio_harness.hpp"
#include "support/scoped_env.hpp"
#include "trace/bpf_block.hpp"
#include "trace/bpf_offcpu.hpp"
#include "trace/bpf_source.hpp"
#include "trace/bpf_syscalls.hpp"
#include "trace/bpf_uring.hpp"
#include "trace/kernel_ids.hpp"

using namespace iodiag;
using namespace iodiag::testing;
using trace::BpfVariant;

namespace {

// 4k O_DIRECT reads of a 16 MiB file, one at a time: pread64 calls, block requests, off-CPU waits.
const char* const kDirectReader = "[r]\nrw=randread\nbs=4k\nioengine=psync\ndirect=1\nsize=16m\n";
const char* const kUringReader = "[u]\nrw=randread\nbs=4k\nioengine=io_uring\niodepth=4\ndirect=1\nsize=16m\n";

// pread64 calls per file.
struct Preads final : trace::EventSink {
    void on_event(const trace::IoEvent& e) override {
        if (e.kind == trace::EventKind::data && e.call == trace::Syscall::pread64) ++by_file[e.file_id];
    }
    std::map<uint32_t, uint64_t> by_file;
};

struct VariantRun {
    std::string detail;
    model::ordered_json totals;
    uint64_t fio_reads = 0;      // what fio says it did
    uint64_t data_preads = 0;    // the pread64 calls the syscall tracer saw on fio's data file
};

// Runs `job_body` for a second under the bpf source (every tracer, off-CPU too) with the
// variables set as given (nullptr: unset).
VariantRun trace_fio(const ScratchDir& dir, const std::string& job_body, const char* forced, const char* failing) {
    ScopedEnv variant("IODIAG_BPF_VARIANT", forced);
    ScopedEnv fail("IODIAG_BPF_FAIL_VARIANT", failing);
    const std::string job = write_fio_job(dir.path().string(), job_body, 1);
    const std::string report = (dir.path() / "fio.json").string();
    trace::BpfOptions options;
    options.command = {"fio", "--output-format=json", "--output=" + report, job};
    options.offcpu = true;
    auto source = trace::BpfSource::start(options);
    INFO((source ? "" : source.error().message));
    REQUIRE(source);
    Preads sink;
    trace::FileTable files;
    auto run = (*source)->run(sink, files);
    REQUIRE(run);
    REQUIRE(run->exit_status == 0);
    VariantRun out;
    for (const auto& [file, calls] : sink.by_file)
        if (file && files.get(file).path.starts_with(dir.path().string() + "/")) out.data_preads += calls;
    out.detail = run->detail;
    out.totals = model::to_json(run->totals);
    std::ifstream in(report);
    auto fio = model::ordered_json::parse(in, nullptr, false);
    REQUIRE_FALSE(fio.is_discarded());
    for (const auto& job_report : fio["jobs"]) out.fio_reads += job_report["read"]["total_ios"].get<uint64_t>();
    REQUIRE(out.fio_reads > 0);
    return out;
}

bool names(const std::string& detail, const std::string& text) { return detail.find(text) != std::string::npos; }

// The variants of `tracer` that attach here; WARNs naming each that does not.
template <class Tracer>
std::vector<BpfVariant> attachable_variants() {
    std::vector<BpfVariant> out;
    for (BpfVariant v : Tracer().variants()) {
        Tracer fresh;
        if (auto why = attach_problem(fresh, v); !why.empty())
            WARN("skipped the " << trace::variant_name(v) << " variant of the " << fresh.name()
                                << " tracer: the kernel lacks it: " << why);
        else
            out.push_back(v);
    }
    return out;
}

// Runs `check` on a traced run of `job_body` in each variant of `Tracer` that attaches here,
// forced, after checking the detail names the variant for that tracer.
template <class Tracer, class Check>
void in_each_variant(const std::string& job_body, Check check) {
    for (BpfVariant v : attachable_variants<Tracer>()) {
        const std::string variant(trace::variant_name(v));
        SECTION(variant) {
            ScratchDir dir;
            VariantRun run = trace_fio(dir, job_body, variant.c_str(), nullptr);
            INFO("detail: " << run.detail << "\ntotals: " << run.totals.dump().substr(0, 4000));
            CHECK(names(run.detail, std::string(Tracer().name()) + " (" + variant + ")"));
            CHECK(names(run.detail, "IODIAG_BPF_VARIANT=" + variant));
            check(run);
        }
    }
}

uint64_t pread_calls(const VariantRun& run) {
    const auto& calls = run.totals.at("syscalls").at("calls");
    return calls.contains("pread64") ? calls.at("pread64").at("calls").get<uint64_t>() : 0;
}

}  // namespace

TEST_CASE("bpf variants: the syscall tracer counts every fio pread in each variant", "[bpf][variants][fio]") {
    SKIP_UNLESS_BPF_SOURCE("fio");
    in_each_variant<trace::BpfSyscalls>(kDirectReader, [](const VariantRun& run) {
        CHECK(run.data_preads == run.fio_reads);
        CHECK(pread_calls(run) >= run.fio_reads);  // the totals also count fio's other preads
        CHECK(run.totals.at("syscalls").at("dropped") == 0);
    });
}

TEST_CASE("bpf variants: the io_uring tracer sees every fio request in each variant", "[bpf][variants][uring][fio]") {
    SKIP_UNLESS_BPF_SOURCE("fio");
    std::ifstream disabled("/proc/sys/kernel/io_uring_disabled");
    if (int value = 0; disabled >> value && value != 0) {
        WARN("skipped: io_uring is disabled (kernel.io_uring_disabled=" << value << ")");
        return;
    }
    in_each_variant<trace::BpfUringTracer>(kUringReader, [](const VariantRun& run) {
        REQUIRE(run.totals.contains("io_uring"));
        CHECK(run.totals.at("io_uring").at("reads").get<uint64_t>() == run.fio_reads);
        CHECK(run.totals.at("io_uring").at("dropped") == 0);
    });
}

TEST_CASE("bpf variants: the block tracer sees fio's requests on the disk in each variant", "[bpf][variants][block][fio]") {
    SKIP_UNLESS_BPF_SOURCE("fio");
    const ScratchDir probe_dir;
    const auto disk = whole_disk_under(probe_dir.path());
    if (!disk) {
        WARN("skipped: " << probe_dir.path() << " is not on a block device");
        return;
    }
    const std::string device = trace::block_device_name(*disk);
    in_each_variant<trace::BpfBlockTracer>(kDirectReader, [&](const VariantRun& run) {
        REQUIRE(run.totals.contains("block"));
        REQUIRE(run.totals.at("block").contains(device));
        const auto& d = run.totals.at("block").at(device);
        INFO(device << ": " << d.dump());
        // fio's direct reads reach the disk one request each, inserted or issued by fio; the
        // disk is found from fio's open files, rescanned every 100 ms: the first reads may pass.
        const auto attributed = d.at("attributed").get<uint64_t>();
        CHECK(attributed * 10 >= run.fio_reads * 9);
        CHECK(attributed <= d.at("requests").get<uint64_t>());
        CHECK(d.at("dropped") == 0);
    });
}

TEST_CASE("bpf variants: the offcpu tracer sees the reader leave the CPU in each variant", "[bpf][variants][offcpu][fio]") {
    SKIP_UNLESS_BPF_SOURCE("fio");
    in_each_variant<trace::BpfOffcpuTracer>(kDirectReader, [](const VariantRun& run) {
        REQUIRE(run.totals.contains("offcpu"));
        CHECK(run.totals.at("offcpu").at("switches").get<uint64_t>() > 0);
        CHECK_FALSE(run.totals.at("offcpu").at("stacks").empty());
    });
}

TEST_CASE("bpf variants: with tp_btf failing every tracer falls back to raw_tp and still traces",
          "[bpf][variants][fallback][fio]") {
    SKIP_UNLESS_BPF_SOURCE("fio");
    trace::BpfSyscalls probe;
    if (auto why = attach_problem(probe, BpfVariant::raw_tp); !why.empty()) {
        WARN("skipped: the kernel has no raw_tp to fall back to: " << why);
        return;
    }
    ScratchDir dir;
    VariantRun run = trace_fio(dir, kDirectReader, nullptr, "tp_btf");
    INFO("detail: " << run.detail);
    for (const char* tracer : {"syscalls", "io_uring", "block", "offcpu"})
        CHECK(names(run.detail, std::string(tracer) + " (raw_tp; tp_btf failed: "));
    CHECK(names(run.detail, "test hook IODIAG_BPF_FAIL_VARIANT=tp_btf"));
    CHECK(run.data_preads == run.fio_reads);
    CHECK(run.totals.at("offcpu").at("switches").get<uint64_t>() > 0);
}

TEST_CASE("bpf variants: a tracer falls back alone, the others keep their variant", "[bpf][variants][fallback][fio]") {
    SKIP_UNLESS_BPF_SOURCE("fio");
    auto features = trace::probe_bpf_features();
    REQUIRE(features);
    if (!features->tp_btf) {
        WARN("skipped: the kernel has no tp_btf programs to fall back from (" << features->summary() << ")");
        return;
    }
    ScratchDir dir;
    VariantRun run = trace_fio(dir, kDirectReader, nullptr, "syscalls:tp_btf");
    INFO("detail: " << run.detail);
    CHECK(names(run.detail, "syscalls (raw_tp; tp_btf failed: "));
    CHECK(names(run.detail, "block (tp_btf)"));
    CHECK(names(run.detail, "offcpu (tp_btf)"));
    CHECK(run.data_preads == run.fio_reads);
}

TEST_CASE("bpf variants: a forced variant that fails is an error naming it, with no fallback", "[bpf][variants][fallback]") {
    SKIP_UNLESS_BPF_SOURCE();
    ScopedEnv variant("IODIAG_BPF_VARIANT", "raw_tp");
    ScopedEnv fail("IODIAG_BPF_FAIL_VARIANT", "syscalls:raw_tp");
    trace::BpfOptions options;
    options.command = {"true"};
    auto source = trace::BpfSource::start(options);
    REQUIRE_FALSE(source);
    INFO(source.error().message);
    CHECK(names(source.error().message, "syscalls: the variant IODIAG_BPF_VARIANT forces failed (raw_tp failed: "));
    CHECK_FALSE(names(source.error().message, "tp_btf failed"));
    CHECK(names(source.error().hint, "unset IODIAG_BPF_VARIANT"));
}
