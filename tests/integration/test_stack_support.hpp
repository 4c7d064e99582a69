// Helpers for the stack and kvm integration tests beyond tests/support/: running a helper program
// (losetup, mkfs, qemu-img) that must succeed; loop devices with a file system, mounted. Loop
// devices and mounts are undone by RAII even when a check fails.
#pragma once

#include <sys/mount.h>

#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "common/subprocess.hpp"
#include "fio_harness.hpp"

namespace iodiag::test {

// Runs a helper program; its failure fails the test with its output.
inline std::string must_run(const std::vector<std::string>& argv) {
    auto run = run_capture(argv);
    REQUIRE(run);
    INFO(argv.front() << " exit " << run->exit_code << ": " << run->err);
    REQUIRE(run->exit_code == 0);
    return run->out;
}

inline constexpr const char* kImageSize = "320M";   // mkfs.xfs wants 300 MB at least

inline void make_image(const std::string& path) { must_run({"truncate", "-s", kImageSize, path}); }

inline std::vector<std::string> mkfs_command(const std::string& fstype, const std::string& device) {
    if (fstype == "xfs") return {"mkfs.xfs", "-q", "-f", device};
    if (fstype == "btrfs") return {"mkfs.btrfs", "-q", "-f", device};
    return {"mkfs.ext4", "-q", "-F", device};
}

// losetup --find --show on construction, losetup -d on destruction.
struct LoopDevice {
    std::string path;
    LoopDevice(const std::string& image, bool partscan) {
        std::vector<std::string> argv{"losetup", "--find", "--show"};
        if (partscan) argv.push_back("--partscan");
        argv.push_back(image);
        path = must_run(argv);
        while (!path.empty() && (path.back() == '\n' || path.back() == ' ')) path.pop_back();
    }
    ~LoopDevice() {
        if (!path.empty()) (void)run_capture({"losetup", "-d", path});
    }
    LoopDevice(const LoopDevice&) = delete;
    LoopDevice& operator=(const LoopDevice&) = delete;
    std::string name() const { return path.substr(path.rfind('/') + 1); }
};

// mount on construction; unmount (lazily if busy) on destruction.
struct Mounted {
    std::string dir;
    Mounted(const std::string& device, const std::string& where) : Mounted(std::vector<std::string>{device}, where) {}
    // `mount ARGS... where`: -t overlay overlay -o lowerdir=...
    Mounted(std::vector<std::string> args, const std::string& where) {
        std::filesystem::create_directories(where);
        args.insert(args.begin(), "mount");
        args.push_back(where);
        must_run(args);
        dir = where;
    }
    ~Mounted() {
        if (!dir.empty() && umount2(dir.c_str(), 0) != 0) umount2(dir.c_str(), MNT_DETACH);
    }
    Mounted(const Mounted&) = delete;
    Mounted& operator=(const Mounted&) = delete;
};

}  // namespace iodiag::test
