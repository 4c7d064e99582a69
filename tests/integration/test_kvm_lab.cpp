// The VM lab (scripts/vm-lab.sh): a real TCG guest runs `iodiag probe` on its virtio disk, the
// host runs the same probe under the image, and `iodiag kvm compare` sees the guest slower.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/subprocess.hpp"
#include "fio_harness.hpp"

using namespace iodiag;
using namespace iodiag::testing;
namespace fs = std::filesystem;

namespace {

const std::string kLab = std::string(IODIAG_TEST_DATA) + "/../../scripts/vm-lab.sh";

nlohmann::json read_json(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return nlohmann::json::parse(text.str());
}

// Runs `vm-lab.sh MODE` with a 2 s depth1 probe in `dir`; nullopt when a prerequisite is missing.
// Exit 2 with "missing: ..." is the lab's missing prerequisite (qemu, busybox, the kernel package);
// any other failure, a shell syntax error's exit 2 included, fails the test.
std::optional<CommandOutput> run_lab(const std::string& mode, const std::vector<std::string>& options,
                                     const ScratchDir& dir) {
    std::vector<std::string> argv = {"bash", kLab, mode, "--workdir", dir.path().string(), "--probe", "depth1",
                                     "--runtime", "2", "--iodiag", IODIAG_BINARY};
    argv.insert(argv.end(), options.begin(), options.end());
    auto run = run_capture(argv);
    REQUIRE(run);
    INFO(run->out << run->err);
    if (run->exit_code == 2 && run->err.find("missing: ") != std::string::npos) {
        WARN("skipped: " + run->err);
        return std::nullopt;
    }
    REQUIRE(run->exit_code == 0);
    return *run;
}

}  // namespace

TEST_CASE("kvm lab: a TCG guest's depth1 probe is slower than the host's", "[kvm_lab][fio]") {
    const std::vector<std::vector<std::string>> matrix = {
        {"--format", "raw", "--bus", "virtio-blk", "--aio", "threads"},
        {"--format", "qcow2", "--bus", "virtio-scsi", "--aio", "io_uring"},
    };
    for (const auto& config : matrix) {
        ScratchDir dir;
        if (!run_lab("run", config, dir)) return;
        auto guest = read_json(dir.path() / "guest.json");
        CHECK(guest["probe"] == "depth1");
        CHECK(guest["ios"].get<double>() > 0);
        auto compare = read_json(dir.path() / "compare.json");
        const auto& p50 = compare["differences"][1];
        CHECK(p50["stat"] == "p50");
        CHECK(p50["lat_vm_us"].get<double>() > p50["lat_host_us"].get<double>());
    }
}

TEST_CASE("kvm lab: kvm trace follows the guest's requests from the vCPU's kick back to the vCPU", "[kvm_lab][fio][bpf]") {
    struct Config {
        std::vector<std::string> args;
        std::string io_role;       // the QEMU thread role that issues the image IO
        std::string submit_call;   // its syscall per request
    };
    const std::vector<Config> matrix = {
        {{"--format", "raw", "--bus", "virtio-blk", "--aio", "native"}, "iothread", "io_submit"},
        {{"--format", "qcow2", "--bus", "virtio-scsi", "--aio", "threads"}, "worker", "pwrite64"},
    };
    for (const auto& config : matrix) {
        ScratchDir dir;
        std::vector<std::string> options = {"--trace"};
        options.insert(options.end(), config.args.begin(), config.args.end());
        if (!run_lab("guest", options, dir)) return;
        const auto guest = read_json(dir.path() / "guest.json");
        const auto trace = read_json(dir.path() / "trace.json");
        INFO(trace.dump(1));
        const auto guest_ios = guest["ios"].get<uint64_t>();
        REQUIRE(guest_ios > 100);

        CHECK(trace["named_threads"] == true);
        if (trace["accel"] == "tcg") {
            CHECK(trace["vm_exits"].is_null());
            CHECK_THAT(trace["vm_exits_note"].get<std::string>(), Catch::Contains("TCG"));
        } else {
            CHECK(trace["vm_exits"]["exits"].get<uint64_t>() > 0);
        }

        // QEMU issued what the guest did, plus the boot's partition scan.
        const auto& request = trace["request"];
        CHECK(request["io_role"] == config.io_role);
        const auto requests = request["guest_requests"].get<uint64_t>();
        CHECK(requests >= guest_ios);
        CHECK(requests <= guest_ios + 100);
        uint64_t submits = 0;
        for (const auto& role : trace["roles"])
            if (role["role"] == config.io_role)
                for (const auto& call : role["syscalls"])
                    if (call["call"] == config.submit_call) submits += call["count"].get<uint64_t>();
        CHECK(submits >= guest_ios);
        CHECK(submits <= guest_ios + 100);

        // vCPU -> ... -> the IO role -> ... -> vCPU, each hop a real wakeup with its latency.
        const auto& steps = request["steps"];
        REQUIRE(steps.size() >= 3);
        CHECK_THAT(steps.front()["step"].get<std::string>(), Catch::StartsWith("kick: vcpu wakes"));
        CHECK_THAT(steps.back()["step"].get<std::string>(), Catch::StartsWith("notify: ") && Catch::EndsWith("wakes vcpu"));
        for (const auto& step : steps)
            if (step["step"].get<std::string>().find("wakes") != std::string::npos)
                CHECK(step["samples"].get<uint64_t>() > guest_ios / 4);
        CHECK(request["host_us"].get<double>() > 0);
    }
}
