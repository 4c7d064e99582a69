// The mount table (/proc/<pid>/mountinfo): which mount holds a path, what file system it is, and
// whether a block device can be below it at all.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "stack/sysroot.hpp"

namespace iodiag::stack {

struct DevNumber {
    uint32_t major = 0;
    uint32_t minor = 0;
    bool operator==(const DevNumber&) const = default;
    std::string str() const { return std::to_string(major) + ":" + std::to_string(minor); }
};

struct Mount {
    int32_t id = 0;
    int32_t parent = 0;
    DevNumber dev;              // st_dev of files on it (0:N for btrfs, tmpfs, overlay, ...)
    std::string root;           // the folder of the file system mounted here (bind, subvolume)
    std::string mount_point;
    std::string mount_options;  // per mount: rw,relatime
    std::string fstype;
    std::string source;         // /dev/vda1, tmpfs, overlay, server:/export
    std::string super_options;  // per file system: discard,errors=remount-ro
};

// What can be below a file system.
enum class FsKind {
    block,    // a block device (or several: btrfs)
    memory,   // tmpfs, ramfs: pages in RAM, no device
    kernel,   // proc, sysfs, cgroup, ...: made up by the kernel
    overlay,  // overlayfs: writes go to upperdir, on another file system
    network,  // nfs, cifs, ceph, fuse: the server's storage, not ours
    shared,   // virtiofs, 9p: a host folder shared into a guest
};

std::string_view fs_kind_name(FsKind kind);
// From the fs type alone (block for unknown types, which then must have a device).
FsKind fs_kind(std::string_view fstype);

// Garbled lines are skipped and counted; bad_input only when no line is usable.
struct MountTable {
    std::vector<Mount> mounts;
    size_t bad_lines = 0;
};
Result<MountTable> parse_mountinfo(std::string_view text);

// /proc/self/mountinfo, or the mount namespace of `pid`.
Result<MountTable> read_mountinfo(const SysRoot& root, std::optional<int32_t> pid = std::nullopt);

// The mount that holds `path` (absolute, normalised): the longest mount point above it, the
// latest when mounts stack. With `dev` (from stat), mounts of that device win, which keeps bind
// mounts and namespaces right on the live system.
const Mount* find_mount(const std::vector<Mount>& mounts, const std::string& path,
                        std::optional<DevNumber> dev = std::nullopt);

// A comma-separated option's value ("upperdir" in "lowerdir=/a,upperdir=/b"); nullopt if absent.
std::optional<std::string> mount_option(const std::string& options, std::string_view key);

}  // namespace iodiag::stack
