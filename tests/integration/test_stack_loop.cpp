// `iodiag stack` on the live system: ext4, xfs and btrfs on real loop devices (and a partitioned
// one), a process holding files there, this machine's own disk and virtualization, pseudo file
// systems and bad input. Loop devices and mounts are undone by RAII even when a check fails.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <chrono>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "stack/stack_inspector.hpp"
#include "test_stack_support.hpp"

using namespace iodiag;
using namespace iodiag::stack;
using iodiag::test::LoopDevice;
using iodiag::test::make_image;
using iodiag::test::mkfs_command;
using iodiag::test::Mounted;
using iodiag::test::must_run;
using iodiag::testing::run_iodiag;
using iodiag::testing::ScratchDir;
using json = nlohmann::json;

namespace {

// A child that keeps `file` open on fd 3 until it is killed.
struct Holder {
    pid_t pid = -1;
    explicit Holder(const std::string& file) {
        auto started = spawn({{"sh", "-c", "exec 3<\"$0\"; exec sleep 60", file}});
        REQUIRE(started);
        pid = *started;
        // Wait until the shell has opened the file and become sleep.
        for (int i = 0; i < 100; ++i) {
            std::error_code ec;
            auto target = std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/fd/3", ec);
            if (!ec && target == file) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        FAIL("the holder never opened " << file);
    }
    ~Holder() {
        if (pid > 0) {
            kill(pid, SIGKILL);
            wait_for(pid);
        }
    }
};

bool cpuinfo_says_guest() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("flags", 0) == 0 && (line + " ").find(" hypervisor ") != std::string::npos) return true;
    return false;
}

}  // namespace

TEST_CASE("stack: ext4, xfs and btrfs on a loop device over a file", "[stack][loop]") {
    SKIP_UNLESS_ROOT("losetup, mkfs and mount");
    for (const std::string fstype : {"ext4", "xfs", "btrfs"}) {
        SECTION(fstype) {
            SKIP_WITHOUT("losetup", "truncate", "mount", mkfs_command(fstype, "").front());
            ScratchDir scratch;
            const std::string image = scratch / "backing.img";
            make_image(image);
            LoopDevice loop(image, false);
            must_run(mkfs_command(fstype, loop.path));
            Mounted mounted(loop.path, scratch / "mnt");
            const std::string file = scratch / "mnt/data.bin";
            std::ofstream(file) << "some data\n";

            // The library.
            auto report = StackInspector(SysRoot("/")).inspect_path(file);
            REQUIRE(report);
            REQUIRE(report->mount);
            CHECK(report->mount->fstype == fstype);
            CHECK(report->mount->mount_point == mounted.dir);
            CHECK(report->fs_kind == FsKind::block);
            REQUIRE(report->devices.size() == 1);
            const DeviceNode& node = report->devices[0];
            CHECK(node.device.name == loop.name());
            CHECK(node.device.driver == "loop");
            REQUIRE(node.device.loop);
            CHECK(node.device.loop->backing_file == image);
            REQUIRE(node.device.queue);
            CHECK(node.device.queue->logical_block_size > 0);
            // The loop's backing file has its own stack: the file system /var/tmp is on.
            REQUIRE(node.backing.size() == 1);
            CHECK(node.backing[0].path == image);
            REQUIRE(node.backing[0].mount);
            CHECK(image.rfind(node.backing[0].mount->mount_point, 0) == 0);

            // The binary, as JSON and as text.
            auto run = run_iodiag({"stack", "--path", file, "--json"});
            REQUIRE(run.exit_code == 0);
            auto out = json::parse(run.out);
            CHECK(out["target"]["path"] == file);
            CHECK(out["stack"]["mount"]["fstype"] == fstype);
            CHECK(out["stack"]["devices"][0]["name"] == loop.name());
            CHECK(out["stack"]["devices"][0]["loop"]["backing_file"] == image);
            CHECK(out["stack"]["devices"][0]["backing_stack"]["path"] == image);
            bool loop_finding = false;
            for (const auto& finding : out["findings"])
                if (finding["id"] == "stack.loop_buffered") loop_finding = true;
            CHECK(loop_finding);   // losetup without --direct-io

            auto text = run_iodiag({"stack", "--path", file});
            REQUIRE(text.exit_code == 0);
            CHECK_THAT(text.out, Catch::Contains("mount " + mounted.dir + "  " + fstype + " on " + loop.path));
            CHECK_THAT(text.out, Catch::Contains("└─ " + loop.name() + "  "));
            CHECK_THAT(text.out, Catch::Contains("backing file " + image));
        }
    }
}

TEST_CASE("stack: a partition of a partitioned loop device", "[stack][loop]") {
    SKIP_UNLESS_ROOT("losetup, sfdisk, mkfs and mount");
    SKIP_WITHOUT("losetup", "truncate", "sfdisk", "mkfs.ext4", "mount");
    ScratchDir scratch;
    const std::string image = scratch / "disk.img";
    make_image(image);
    must_run({"sh", "-c", "printf 'label: dos\\n,,L\\n' | sfdisk -q \"$0\"", image});
    LoopDevice loop(image, true);
    const std::string partition = loop.path + "p1";
    for (int i = 0; i < 100 && access(partition.c_str(), F_OK) != 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (access(partition.c_str(), F_OK) != 0) {
        WARN("skipped: the kernel made no " << partition
                                            << " (it reads no partition tables: CONFIG_MSDOS_PARTITION and "
                                               "CONFIG_EFI_PARTITION unset?)");
        return;
    }
    must_run(mkfs_command("ext4", partition));
    Mounted mounted(partition, scratch / "mnt");

    auto report = StackInspector(SysRoot("/")).inspect_path(mounted.dir);
    REQUIRE(report);
    REQUIRE(report->devices.size() == 1);
    const DeviceNode& part = report->devices[0];
    CHECK(part.device.name == loop.name() + "p1");
    CHECK(part.device.partition);
    CHECK(part.device.partition_number == 1);
    CHECK(part.device.driver == "loop");
    REQUIRE(part.below.size() == 1);
    CHECK(part.below[0].device.name == loop.name());
    CHECK(part.below[0].device.loop->backing_file == image);
    CHECK(part.below[0].backing.size() == 1);
}

TEST_CASE("stack --pid: a process's files on a loop file system, grouped", "[stack][loop]") {
    SKIP_UNLESS_ROOT("losetup, mkfs and mount");
    SKIP_WITHOUT("losetup", "truncate", "mkfs.ext4", "mount", "sh", "sleep");
    ScratchDir scratch;
    const std::string image = scratch / "backing.img";
    make_image(image);
    LoopDevice loop(image, false);
    must_run(mkfs_command("ext4", loop.path));
    Mounted mounted(loop.path, scratch / "mnt");
    const std::string file = scratch / "mnt/held.log";
    std::ofstream(file) << "x";
    Holder holder(file);

    auto run = run_iodiag({"stack", "--pid", std::to_string(holder.pid), "--json"});
    REQUIRE(run.exit_code == 0);
    auto out = json::parse(run.out);
    CHECK(out["stack"]["pid"] == holder.pid);
    CHECK(out["stack"]["comm"] == "sleep");
    bool found = false;
    for (const auto& group : out["stack"]["groups"]) {
        if (group["stack"]["path"] != mounted.dir) continue;
        found = true;
        CHECK(group["files"][0]["fd"] == 3);
        CHECK(group["files"][0]["path"] == file);
        CHECK(group["files"][0]["flags"] == "r");
        CHECK(group["stack"]["devices"][0]["name"] == loop.name());
    }
    CHECK(found);

    auto text = run_iodiag({"stack", "--pid", std::to_string(holder.pid)});
    REQUIRE(text.exit_code == 0);
    CHECK_THAT(text.out, Catch::Contains(mounted.dir + ": 1 file\n  fd 3    " + file + "  [r]\n"));
}

TEST_CASE("stack: this machine's root disk and virtualization", "[stack][live]") {
    auto run = run_iodiag({"stack", "--path", "/", "--json"});
    REQUIRE(run.exit_code == 0);
    auto out = json::parse(run.out);
    CHECK(out["stack"]["mount"]["mount_point"] == "/");
    const bool guest = cpuinfo_says_guest();
    CHECK(out["virtualization"]["guest"] == guest);
    if (guest) {
        CHECK_FALSE(out["virtualization"]["hypervisor"].is_null());
        CHECK(out["virtualization"]["evidence"].size() >= 1);
    }
    // Whatever holds /, its disks report queue settings from sysfs.
    if (out["stack"]["fs_kind"] == "block" && !out["stack"]["devices"].empty()) {
        auto node = out["stack"]["devices"][0];
        while (!node["below"].empty()) node = node["below"][0];
        CHECK_FALSE(node["queue"].is_null());
        CHECK(node["queue"]["logical_block_size"].get<int>() >= 512);
    }
}

TEST_CASE("stack: pseudo file systems and bad input", "[stack][live]") {
    auto proc = run_iodiag({"stack", "--path", "/proc/self/status", "--json"});
    REQUIRE(proc.exit_code == 0);
    auto out = json::parse(proc.out);
    CHECK(out["stack"]["fs_kind"] == "kernel");
    CHECK(out["stack"]["devices"].empty());
    CHECK(out["stack"]["notes"][0].get<std::string>().find("no storage below") != std::string::npos);

    if (access("/dev/shm", F_OK) == 0) {
        auto shm = run_iodiag({"stack", "--path", "/dev/shm"});
        REQUIRE(shm.exit_code == 0);
        CHECK_THAT(shm.out, Catch::Contains("tmpfs keeps files in memory"));
    }

    auto missing = run_iodiag({"stack", "--path", "/no/such/path"});
    CHECK(missing.exit_code == 4);
    CHECK(missing.err == "iodiag: error: no such file or directory: /no/such/path\n");

    auto no_pid = run_iodiag({"stack", "--pid", "999999999"});
    CHECK(no_pid.exit_code == 4);
    CHECK_THAT(no_pid.err, Catch::StartsWith("iodiag: error: no process with pid 999999999\n"));

    auto both = run_iodiag({"stack", "--path", "/", "--pid", "1"});
    CHECK(both.exit_code == 2);
    auto neither = run_iodiag({"stack"});
    CHECK(neither.exit_code == 2);
    CHECK_THAT(neither.err, Catch::Contains("give exactly one of --path PATH or --pid PID"));

    auto bad_root = run_iodiag({"stack", "--path", "/", "--root", "/no/such/root"});
    CHECK(bad_root.exit_code == 2);
}

TEST_CASE("stack --pid: an unreadable /proc entry", "[stack][live]") {
    // Where pid 1's fds are closed to us (another user's process, or a sandbox that hides them
    // even from root), that is a permission error with its own exit code.
    std::error_code ec;
    auto target = std::filesystem::read_symlink("/proc/1/fd/0", ec);
    (void)target;
    if (ec != std::errc::permission_denied) {
        WARN("skipped: /proc/1/fd/0 is " << (ec ? ec.message() : std::string("readable")) << " here");
        return;
    }
    auto run = run_iodiag({"stack", "--pid", "1"});
    CHECK(run.exit_code == 5);
    CHECK_THAT(run.err, Catch::StartsWith("iodiag: error: cannot read /proc/1/fd/"));
    CHECK_THAT(run.err, Catch::Contains("or inspect a path it uses: iodiag stack --path PATH\n"));
}
