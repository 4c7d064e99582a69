// `iodiag offcpu` on a real fio run: a direct reader's threads wait for the disk in pread64, and
// the stack says so from the syscall down to the IO wait, named in both the kernel and libc.
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <nlohmann/json.hpp>

#include "bpf_harness.hpp"
#include "fio_harness.hpp"

using namespace iodiag::testing;
using nlohmann::json;

namespace {

bool any_frame(const json& frames, const std::string& part) {
    for (const auto& f : frames)
        if (f.get<std::string>().find(part) != std::string::npos) return true;
    return false;
}

}  // namespace

TEST_CASE("offcpu: a direct reader waits for the disk in pread64, named from the syscall to the IO wait",
          "[offcpu][bpf][fio]") {
    SKIP_UNLESS_BPF_SOURCE("fio", "bpftool");
    ScratchDir dir;
    const ReaderRun r = run_on_direct_reader(dir, {"offcpu", "--json", "--state", "disk"}, 1);
    const json& out = r.out;
    const uint64_t ios = r.reads;
    REQUIRE(ios > 100);

    const json& stacks = out.at("stacks");
    REQUIRE_FALSE(stacks.empty());
    const json& top = stacks.at(0);
    CHECK(top.at("state") == "disk");
    CHECK(top.at("comm") == "fio");
    // Each read waits once for its completion (a few may finish before the thread sleeps).
    CHECK(top.at("count").get<uint64_t>() >= ios / 2);
    CHECK(top.at("total_ms").get<double>() < out.at("duration_s").get<double>() * 1000);
    const json& kernel = top.at("kernel");
    CHECK(any_frame(kernel, "io_schedule"));
    CHECK(any_frame(kernel, "pread64"));
    CHECK_FALSE(kernel.at(0).get<std::string>().rfind("bpf_", 0) == 0);  // our own program is not shown
    CHECK(any_frame(top.at("user"), "pread"));                            // libc, named from its ELF file

    // Nothing of the off-CPU tracer stays loaded.
    auto progs = iodiag::run_capture({"bpftool", "prog", "show"});
    REQUIRE(progs);
    CHECK(progs->out.find("offcpu_switch") == std::string::npos);
}

TEST_CASE("offcpu: --folded prints one flame-graph line per stack, time in us last", "[offcpu][bpf]") {
    SKIP_UNLESS_BPF_SOURCE("dd");
    ScratchDir dir;
    auto run = run_iodiag({"offcpu", "--folded", "--", "dd", "if=/dev/zero", "of=" + (dir.path() / "f").string(),
                           "bs=4k", "count=2000", "oflag=direct"});
    INFO(run.out << run.err);
    REQUIRE(run.exit_code == 0);
    REQUIRE_FALSE(run.out.empty());
    std::istringstream lines(run.out);
    bool waited_for_disk = false;
    for (std::string line; std::getline(lines, line);) {
        // The launched command is named after iodiag until its exec is through.
        CHECK((line.rfind("dd;", 0) == 0 || line.rfind("iodiag;", 0) == 0));
        const auto space = line.rfind(' ');
        REQUIRE(space != std::string::npos);
        CHECK(line.find_first_not_of("0123456789", space + 1) == std::string::npos);
        if (line.rfind("dd;", 0) == 0 && line.find("io_schedule") != std::string::npos) waited_for_disk = true;
    }
    CHECK(waited_for_disk);  // each direct write waits for its completion
}

TEST_CASE("wakeup: a direct reader is woken by its reads' completions, from the block layer", "[offcpu][bpf][fio]") {
    SKIP_UNLESS_BPF_SOURCE("fio");
    ScratchDir dir;
    const ReaderRun r = run_on_direct_reader(dir, {"wakeup", "--json", "--top", "50"}, 1);
    const json& out = r.out;
    const uint64_t ios = r.reads;
    REQUIRE(ios > 100);
    uint64_t completions = 0;  // wakeups of fio by a read's completion (end of a request or a bio)
    for (const auto& w : out.at("wakeups")) {
        if (!w.at("woken").get<bool>() || w.at("wakee").at("comm") != "fio") continue;
        if (any_frame(w.at("waker_kernel"), "end_io") || any_frame(w.at("waker_kernel"), "end_request"))
            completions += w.at("count").get<uint64_t>();
    }
    CHECK(completions >= ios / 4);
}

TEST_CASE("offcpu and wakeup: bad input gets a message and an exit code", "[offcpu][cli]") {
    auto state = run_iodiag({"offcpu", "--state", "waiting", "--", "true"});
    CHECK(state.exit_code == 2);
    CHECK_THAT(state.err, Catch::Contains("waiting"));
    auto both = run_iodiag({"wakeup", "--pid", "1", "--", "true"});
    CHECK(both.exit_code == 2);
    auto top = run_iodiag({"wakeup", "--top", "0", "--", "true"});
    CHECK(top.exit_code == 2);
}
