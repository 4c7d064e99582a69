// Block rows of the bpf source for files whose st_dev is no block device (issue 11): btrfs gives
// files an anonymous device number and overlay its own, so the block tracer must find the disks
// the way `iodiag stack` does. fio's direct writes on real loop devices must show up as the loop
// device's requests (`iodiag latency`, which shares the tracer with `model --source bpf`).
#include <nlohmann/json.hpp>

#include "bpf_harness.hpp"
#include "test_stack_support.hpp"

using namespace iodiag;
using namespace iodiag::testing;
using iodiag::test::LoopDevice;
using iodiag::test::make_image;
using iodiag::test::mkfs_command;
using iodiag::test::Mounted;
using iodiag::test::must_run;

namespace {

// Traces 3 s of fio's 4k O_DIRECT sequential writes to `file` with `iodiag latency` and checks the
// loop device `device`'s block row against fio's own count: each write is one request (psync,
// depth 1: nothing to merge), and the file system adds a few metadata writes. The tracer finds the
// device at its first rescan after fio opened the file (100 ms apart in a trace's first seconds),
// so the first tenth of a second or so of writes is missed: 0.85 at least.
void check_loop_rows(const ScratchDir& dir, const std::string& file, const std::string& device) {
    const std::string report = dir / "fio.json";
    auto run = run_iodiag({"latency", "--json", "--", "fio", "--name=w", "--filename=" + file, "--rw=write",
                           "--bs=4k", "--direct=1", "--ioengine=psync", "--size=16m", "--runtime=3",
                           "--time_based", "--output-format=json", "--output=" + report});
    INFO("iodiag stdout:\n" << run.out << "\niodiag stderr:\n" << run.err);
    REQUIRE(run.exit_code == 0);
    const auto fio_writes = nlohmann::json::parse(read_text(report))["jobs"][0]["write"]["total_ios"].get<uint64_t>();
    REQUIRE(fio_writes > 1000);
    const auto latency = nlohmann::json::parse(run.out);
    uint64_t block_writes = 0;
    for (const auto& row : latency["rows"])
        if (row["layer"] == "block device (D2C)" && row["name"] == device + " write")
            block_writes = row["count"].get<uint64_t>();
    INFO("fio's writes " << fio_writes << ", " << device << "'s " << block_writes);
    CHECK(block_writes * 100 >= fio_writes * 85);
    CHECK(block_writes * 100 <= fio_writes * 110);
}

}  // namespace

TEST_CASE("block rows: fio direct writes on btrfs over a loop device", "[model][block][btrfs][loop]") {
    SKIP_UNLESS_ROOT("losetup, mkfs and mount");
    SKIP_UNLESS_BPF_SOURCE("fio", "losetup", "truncate", "mkfs.btrfs", "mount");
    ScratchDir scratch;
    make_image(scratch / "btrfs.img");
    LoopDevice loop(scratch / "btrfs.img", false);
    must_run(mkfs_command("btrfs", loop.path));
    Mounted mounted(loop.path, scratch / "mnt");
    check_loop_rows(scratch, scratch / "mnt/data", loop.name());
}

TEST_CASE("block rows: fio direct writes in an overlay whose layers are on an ext4 loop device",
          "[model][block][overlay][loop]") {
    SKIP_UNLESS_ROOT("losetup, mkfs and mount");
    SKIP_UNLESS_BPF_SOURCE("fio", "losetup", "truncate", "mkfs.ext4", "mount");
    if (read_text("/proc/filesystems").find("\toverlay\n") == std::string::npos) {
        WARN("skipped: this kernel has no overlay file system (not in /proc/filesystems)");
        return;
    }
    ScratchDir scratch;
    make_image(scratch / "ext4.img");
    LoopDevice loop(scratch / "ext4.img", false);
    must_run(mkfs_command("ext4", loop.path));
    Mounted layers(loop.path, scratch / "layers");
    for (const char* sub : {"lower", "upper", "work"}) std::filesystem::create_directories(layers.dir + "/" + sub);
    // All layers on one file system: overlay then gives its files its own st_dev (0:N), which
    // names no block device.
    Mounted overlay({"-t", "overlay", "overlay", "-o",
                     "lowerdir=" + layers.dir + "/lower,upperdir=" + layers.dir + "/upper,workdir=" + layers.dir + "/work"},
                    scratch / "merged");
    check_loop_rows(scratch, overlay.dir + "/data", loop.name());
}
