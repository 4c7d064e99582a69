// Which attach variants a tracer tries, in which order (trace/bpf_attach): from the feature
// probe, the variants the tracer has, IODIAG_BPF_VARIANT; and the IODIAG_BPF_FAIL_VARIANT test hook.
#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

#include "feature_probe.h"
#include "support/scoped_env.hpp"
#include "trace/bpf_attach.hpp"

using namespace iodiag;
using namespace iodiag::trace;
using iodiag::testing::ScopedEnv;
using V = BpfVariant;

namespace {

BpfFeatures probed_tp_btf() {  // what the probe finds on a recent kernel: it stops at tp_btf
    BpfFeatures f;
    f.tp_btf = true;
    f.probed = IODIAG_ATTACH_TP_BTF;
    return f;
}

}  // namespace

TEST_CASE("bpf variants: a tracer falls back through every variant it has that the probe did not see fail",
          "[bpf_variants]") {
    SECTION("tp_btf works: raw_tp and tracepoint, not probed, come after it") {
        auto plan = plan_variants(probed_tp_btf(), kAllVariants, std::nullopt, "block");
        REQUIRE(plan);
        CHECK(plan->order == std::vector<V>{V::tp_btf, V::raw_tp, V::tracepoint});
        CHECK_FALSE(plan->forced);
        CHECK(plan->note.empty());
    }
    SECTION("a tracer without classic tracepoint programs stops at raw_tp") {
        auto plan = plan_variants(probed_tp_btf(), kBtfAndRawVariants, std::nullopt, "syscalls");
        REQUIRE(plan);
        CHECK(plan->order == std::vector<V>{V::tp_btf, V::raw_tp});
    }
    SECTION("a variant the probe saw fail is not tried") {
        BpfFeatures f;
        f.raw_tp = true;
        f.probed = IODIAG_ATTACH_TP_BTF | IODIAG_ATTACH_RAW_TP;
        auto plan = plan_variants(f, kAllVariants, std::nullopt, "io_uring");
        REQUIRE(plan);
        CHECK(plan->order == std::vector<V>{V::raw_tp, V::tracepoint});
    }
    SECTION("nothing left to try names the tracer") {
        BpfFeatures f;
        f.tracepoint = true;
        f.probed = IODIAG_ATTACH_TP_BTF | IODIAG_ATTACH_RAW_TP | IODIAG_ATTACH_TRACEPOINT;
        auto plan = plan_variants(f, kBtfAndRawVariants, std::nullopt, "offcpu");
        REQUIRE_FALSE(plan);
        CHECK(plan.error().kind == ErrorKind::unsupported);
        CHECK(plan.error().message.find("offcpu") != std::string::npos);
    }
}

TEST_CASE("bpf variants: IODIAG_BPF_VARIANT forces one variant without fallback where the tracer has it",
          "[bpf_variants]") {
    {
        ScopedEnv env("IODIAG_BPF_VARIANT", "raw_tp");
        auto forced = forced_variant();
        REQUIRE(forced);
        REQUIRE(*forced == V::raw_tp);
        auto plan = plan_variants(probed_tp_btf(), kAllVariants, *forced, "block");
        REQUIRE(plan);
        CHECK(plan->order == std::vector<V>{V::raw_tp});
        CHECK(plan->forced);
    }
    {
        ScopedEnv env("IODIAG_BPF_VARIANT", "tracepoint");
        auto plan = plan_variants(probed_tp_btf(), kBtfAndRawVariants, V::tracepoint, "syscalls");
        REQUIRE(plan);
        CHECK(plan->order == std::vector<V>{V::tp_btf, V::raw_tp});
        CHECK_FALSE(plan->forced);
        CHECK(plan->note.find("no tracepoint programs") != std::string::npos);
    }
    {
        ScopedEnv env("IODIAG_BPF_VARIANT", "kprobe");
        auto forced = forced_variant();
        REQUIRE_FALSE(forced);
        CHECK(forced.error().kind == ErrorKind::usage);
    }
    {
        ScopedEnv env("IODIAG_BPF_VARIANT", nullptr);
        auto forced = forced_variant();
        REQUIRE(forced);
        CHECK_FALSE(forced->has_value());
    }
}

TEST_CASE("bpf variants: the IODIAG_BPF_FAIL_VARIANT test hook fails the variants it lists", "[bpf_variants]") {
    {
        ScopedEnv env("IODIAG_BPF_FAIL_VARIANT", nullptr);
        CHECK(fail_on_purpose("syscalls", V::tp_btf));
    }
    {
        ScopedEnv env("IODIAG_BPF_FAIL_VARIANT", "tp_btf");
        auto status = fail_on_purpose("block", V::tp_btf);
        REQUIRE_FALSE(status);
        CHECK(status.error().message.find("test hook") != std::string::npos);
        CHECK(fail_on_purpose("block", V::raw_tp));
    }
    {
        ScopedEnv env("IODIAG_BPF_FAIL_VARIANT", "syscalls:tp_btf,block:raw_tp");
        CHECK_FALSE(fail_on_purpose("syscalls", V::tp_btf));
        CHECK(fail_on_purpose("syscalls", V::raw_tp));
        CHECK(fail_on_purpose("block", V::tp_btf));
        CHECK_FALSE(fail_on_purpose("block", V::raw_tp));
        CHECK(fail_on_purpose("io_uring", V::tp_btf));
    }
}
