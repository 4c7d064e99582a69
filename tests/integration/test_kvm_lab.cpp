// The VM lab (scripts/vm-lab.sh): a real TCG guest runs `iodiag probe` on its virtio disk, the
// host runs the same probe under the image, and `iodiag kvm compare` sees the guest slower.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
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

}  // namespace

TEST_CASE("kvm lab: a TCG guest's depth1 probe is slower than the host's", "[kvm_lab][fio]") {
    const std::vector<std::vector<std::string>> matrix = {
        {"--format", "raw", "--bus", "virtio-blk", "--aio", "threads"},
        {"--format", "qcow2", "--bus", "virtio-scsi", "--aio", "io_uring"},
    };
    for (const auto& config : matrix) {
        ScratchDir dir;
        std::vector<std::string> argv = {"bash", kLab, "run", "--workdir", dir.path().string(), "--probe", "depth1",
                                         "--runtime", "2", "--iodiag", IODIAG_BINARY};
        argv.insert(argv.end(), config.begin(), config.end());
        auto run = run_capture(argv);
        REQUIRE(run);
        INFO(run->out << run->err);
        // Exit 2 with "missing: ..." is the lab's missing prerequisite (qemu, busybox, the kernel
        // package); any other failure, a shell syntax error's exit 2 included, fails the test.
        if (run->exit_code == 2 && run->err.find("missing: ") != std::string::npos) {
            WARN("skipped: " + run->err);
            return;
        }
        REQUIRE(run->exit_code == 0);
        auto guest = read_json(dir.path() / "guest.json");
        CHECK(guest["probe"] == "depth1");
        CHECK(guest["ios"].get<double>() > 0);
        auto compare = read_json(dir.path() / "compare.json");
        const auto& p50 = compare["differences"][1];
        CHECK(p50["stat"] == "p50");
        CHECK(p50["lat_vm_us"].get<double>() > p50["lat_host_us"].get<double>());
    }
}
