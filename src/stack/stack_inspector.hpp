// The IO stack under a path or under every file a process has open: the mount and its file
// system, then the block devices down to the disks (partition -> disk, dm/md -> slaves, loop ->
// backing file and that file's own stack). Reads everything through a SysRoot.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "stack/block_device.hpp"
#include "stack/mountinfo.hpp"
#include "stack/sysroot.hpp"

namespace iodiag::stack {

struct StackReport;

struct DeviceNode {
    BlockDevice device;
    std::vector<DeviceNode> below;       // partition -> its disk; dm, md -> their slaves
    std::vector<StackReport> backing;    // loop: the stack of its backing file (0 or 1)
    std::vector<std::string> notes;
};

struct StackReport {
    std::string path;                    // as inspected (resolved)
    std::optional<Mount> mount;          // none for a block device node
    FsKind fs_kind = FsKind::block;
    std::vector<DeviceNode> devices;     // the file system's devices (btrfs: all of them)
    std::vector<StackReport> upper;      // overlay: the stack of its upperdir (0 or 1)
    std::vector<std::string> notes;      // no device below, what could not be read
};

struct OpenFile {
    int32_t fd = -1;
    std::string path;
    uint32_t open_flags = 0;             // trace::OpenFlag bits (0 when fdinfo was unreadable)
    bool deleted = false;
};

struct FileGroup {
    StackReport stack;
    std::vector<OpenFile> files;
};

struct PidStackReport {
    int32_t pid = 0;
    std::string comm;
    std::vector<FileGroup> groups;       // one per file system (or block device) used
    size_t other_fds = 0;                // pipes, sockets, anon inodes
    std::vector<std::string> notes;
};

// The block devices that hold the files of the file system `report` describes: its own (each of
// a btrfs's), an overlay's upperdir's. Not the devices below those (a partition's disk, a loop's
// backing file): IO there is theirs again. What the block tracer watches for a file.
std::vector<DevNumber> holding_devices(const StackReport& report);

class StackInspector {
public:
    explicit StackInspector(SysRoot root, int max_depth = 8);

    // not_found when the path does not exist; the stack of a block device node is the device.
    Result<StackReport> inspect_path(const std::string& path) const;
    // Every file the process has open, grouped by file system; not_found / permission for the pid.
    Result<PidStackReport> inspect_pid(int32_t pid) const;
    // The stack of the file the process has open on `fd`, as inspect_pid describes its group.
    Result<StackReport> inspect_fd(int32_t pid, int32_t fd) const;

    const SysRoot& root() const { return root_; }

private:
    struct Location {
        std::string path;
        std::optional<DevNumber> st_dev;      // from stat, on the live system
        std::optional<DevNumber> block_dev;   // the path is a block device node
    };
    struct Walk;

    Result<Location> locate(const std::string& path) const;
    std::optional<Location> locate_fd(int32_t pid, int32_t fd, const std::string& path) const;
    Result<std::vector<Mount>> mounts_of(int32_t pid, std::vector<std::string>& notes) const;
    StackReport describe(const Location& location, const std::vector<Mount>& mounts, Walk& walk) const;
    void describe_mount(StackReport& report, const Mount& mount, Walk& walk) const;
    DeviceNode node_for(BlockDevice device, Walk& walk) const;
    std::optional<DeviceNode> node_by_name(const std::string& name, Walk& walk,
                                           std::vector<std::string>& notes) const;
    Result<StackReport> inspect_nested(const std::string& path, Walk& walk) const;

    SysRoot root_;
    int max_depth_;
};

}  // namespace iodiag::stack
