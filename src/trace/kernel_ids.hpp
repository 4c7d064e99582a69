// The kernel's names for what user space knows by path, for the BPF tracers: the (device, inode)
// behind each open fd of a process, dev_t in the kernel's encoding, the whole disk a partition
// belongs to, and a block device's name. Reads /proc and /sys below a root (default "/").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "trace/io_event.hpp"

namespace iodiag::trace {

struct OpenFileId {
    int32_t fd = -1;
    std::string path;      // the fd's link target
    uint32_t dev = 0;      // st_dev, kernel encoding
    uint32_t rdev = 0;     // st_rdev for device files, kernel encoding
    uint64_t ino = 0;
    uint64_t size = 0;     // regular files
    FileKind kind = FileKind::unknown;
};

// glibc's dev_t <-> the kernel's MKDEV(major, minor) = major << 20 | minor.
uint32_t kernel_dev(uint64_t user_dev);
uint64_t user_dev(uint32_t kernel_dev);

// Every fd of `pid` that could be stat'ed (fds closing meanwhile are skipped); empty when the
// process is gone or not readable.
std::vector<OpenFileId> open_file_ids(int32_t pid, const std::string& root = "/");

// The whole disk of a block device (itself when it is one); nullopt when /sys does not know it.
std::optional<uint32_t> whole_disk(uint32_t dev, const std::string& root = "/");

// "vda", "loop3", "nvme0n1p2"; "major:minor" when /sys does not name it.
std::string block_device_name(uint32_t dev, const std::string& root = "/");

}  // namespace iodiag::trace
