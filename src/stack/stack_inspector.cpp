#include "stack/stack_inspector.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "trace/proc_fd.hpp"

namespace iodiag::stack {
namespace {

constexpr std::string_view kDeletedSuffix = " (deleted)";

DevNumber dev_of(dev_t dev) { return {major(dev), minor(dev)}; }

bool strip_deleted(std::string& path) {
    if (path.size() > kDeletedSuffix.size() &&
        path.compare(path.size() - kDeletedSuffix.size(), kDeletedSuffix.size(), kDeletedSuffix) == 0) {
        path.resize(path.size() - kDeletedSuffix.size());
        return true;
    }
    return false;
}

std::string pseudo_note(const Mount& mount, FsKind kind) {
    const std::string fs = mount.fstype;
    switch (kind) {
        case FsKind::memory:
            return fs + " keeps files in memory (page cache): no block device below; its speed is "
                        "memory's, and its size counts against RAM";
        case FsKind::kernel:
            return fs + " is made up by the kernel: no storage below";
        case FsKind::overlay:
            return "overlay: reads come from the lower layers, writes go to upperdir (a first write "
                   "to a lower file copies the whole file up)";
        case FsKind::network:
            return fs + " on " + mount.source + ": IO goes over the network to the server's storage; "
                        "inspect the server for the device stack";
        case FsKind::shared:
            return fs + " (" + mount.source + ") is a host folder shared into this guest: the host's "
                        "stack serves the IO; run iodiag stack on the host for the shared folder";
        case FsKind::block: break;
    }
    return {};
}

}  // namespace

struct StackInspector::Walk {
    int depth = 0;
    std::set<std::string> visiting;             // devices on the current chain (cycle guard)
    std::optional<std::vector<Mount>> self_mounts;
};

StackInspector::StackInspector(SysRoot root, int max_depth)
    : root_(std::move(root)), max_depth_(max_depth) {}

Result<StackInspector::Location> StackInspector::locate(const std::string& path) const {
    if (path.empty()) return fail(ErrorKind::usage, "empty path");
    Location location;
    if (root_.is_live()) {
        struct stat st {};
        if (stat(path.c_str(), &st) != 0) {
            int err = errno;
            if (err == ENOENT || err == ENOTDIR)
                return fail(ErrorKind::not_found, "no such file or directory: " + path);
            if (err == EACCES || err == EPERM)
                return fail(ErrorKind::permission, "cannot look at " + path + ": " + std::strerror(err),
                            "run as root, or give a path you can read");
            return fail(ErrorKind::internal, "cannot stat " + path + ": " + std::strerror(err));
        }
        char resolved[PATH_MAX];
        location.path = realpath(path.c_str(), resolved) ? std::string(resolved)
                                                          : std::filesystem::absolute(path).string();
        location.st_dev = dev_of(st.st_dev);
        if (S_ISBLK(st.st_mode)) location.block_dev = dev_of(st.st_rdev);
        return location;
    }
    const std::string absolute = path.front() == '/' ? path : "/" + path;
    auto resolved = root_.resolve(absolute);
    if (!resolved) return fail(ErrorKind::not_found, "no such file or directory: " + path);
    location.path = *resolved;
    if (location.path.rfind("/dev/", 0) == 0)
        if (auto device = block_device_by_name(root_, base_name(location.path)))
            location.block_dev = device->dev;
    return location;
}

Result<StackReport> StackInspector::inspect_path(const std::string& path) const {
    auto location = locate(path);
    if (!location) return tl::unexpected(location.error());
    auto table = read_mountinfo(root_);
    if (!table) return tl::unexpected(table.error());
    Walk walk;
    walk.self_mounts = table->mounts;
    return describe(*location, table->mounts, walk);
}

Result<StackReport> StackInspector::inspect_nested(const std::string& path, Walk& walk) const {
    if (walk.depth >= max_depth_)
        return fail(ErrorKind::unsupported,
                    "stack deeper than " + std::to_string(max_depth_) + " levels; stopped here");
    auto location = locate(path);
    if (!location) return tl::unexpected(location.error());
    if (!walk.self_mounts) {
        auto table = read_mountinfo(root_);
        if (!table) return tl::unexpected(table.error());
        walk.self_mounts = table->mounts;
    }
    ++walk.depth;
    StackReport report = describe(*location, *walk.self_mounts, walk);
    --walk.depth;
    return report;
}

// On the live system stat goes through the fd link: right for deleted files and other mount
// namespaces. nullopt when the fd was closed meanwhile.
std::optional<StackInspector::Location> StackInspector::locate_fd(int32_t pid, int32_t fd,
                                                                   const std::string& path) const {
    Location location;
    location.path = path;
    if (root_.is_live()) {
        struct stat st {};
        const std::string link = "/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd);
        if (stat(link.c_str(), &st) != 0) return std::nullopt;
        location.st_dev = dev_of(st.st_dev);
        if (S_ISBLK(st.st_mode)) location.block_dev = dev_of(st.st_rdev);
    } else if (path.rfind("/dev/", 0) == 0) {
        if (auto device = block_device_by_name(root_, base_name(path))) location.block_dev = device->dev;
    }
    return location;
}

// The process's mount table (its paths are in its namespace), else iodiag's own with a note.
Result<std::vector<Mount>> StackInspector::mounts_of(int32_t pid, std::vector<std::string>& notes) const {
    auto table = read_mountinfo(root_, pid);
    if (table) return std::move(table->mounts);
    auto self = read_mountinfo(root_);
    if (!self) return tl::unexpected(self.error());
    notes.push_back("cannot read the process's mount table (" + table.error().message +
                    "); paths are looked up in iodiag's own");
    return std::move(self->mounts);
}

StackReport StackInspector::describe(const Location& location, const std::vector<Mount>& mounts,
                                     Walk& walk) const {
    StackReport report;
    report.path = location.path;
    if (location.block_dev) {
        auto device = block_device_by_dev(root_, *location.block_dev);
        if (!device) {
            report.notes.push_back(device.error().message);
            return report;
        }
        for (const auto& mount : mounts)
            if (mount.dev == *location.block_dev)
                report.notes.push_back("mounted on " + mount.mount_point + " (" + mount.fstype + ")");
        report.devices.push_back(node_for(std::move(*device), walk));
        return report;
    }
    const Mount* mount = find_mount(mounts, location.path, location.st_dev);
    if (!mount) {
        report.notes.push_back("no mount in the mount table holds " + location.path);
        return report;
    }
    describe_mount(report, *mount, walk);
    return report;
}

void StackInspector::describe_mount(StackReport& report, const Mount& mount, Walk& walk) const {
    report.mount = mount;
    report.fs_kind = fs_kind(mount.fstype);
    if (mount.dev.major != 0) {
        report.fs_kind = FsKind::block;
        auto device = block_device_by_dev(root_, mount.dev);
        if (device) report.devices.push_back(node_for(std::move(*device), walk));
        else report.notes.push_back(device.error().message);
        return;
    }
    switch (report.fs_kind) {
        case FsKind::block: {
            // btrfs (and other multi-device file systems) give files an anonymous device number;
            // the devices are listed per file system in sysfs.
            std::string source_name = base_name(mount.source);
            if (mount.source.rfind("/dev/", 0) == 0)
                if (auto resolved = root_.resolve(mount.source)) source_name = base_name(*resolved);
            if (mount.fstype == "btrfs") {
                for (const auto& fsid : root_.list("/sys/fs/btrfs")) {
                    const std::string devices_dir = "/sys/fs/btrfs/" + fsid + "/devices";
                    auto names = root_.list(devices_dir);
                    if (std::find(names.begin(), names.end(), source_name) == names.end()) continue;
                    for (const auto& name : names)
                        if (auto node = node_by_name(name, walk, report.notes))
                            report.devices.push_back(std::move(*node));
                    if (names.size() > 1)
                        report.notes.push_back("btrfs spreads this file system over " +
                                               std::to_string(names.size()) + " devices");
                    return;
                }
            }
            if (mount.source.rfind("/dev/", 0) == 0) {
                if (auto node = node_by_name(source_name, walk, report.notes))
                    report.devices.push_back(std::move(*node));
                return;
            }
            report.notes.push_back("no block device found for " + mount.fstype + " " + mount.source +
                                   " (device " + mount.dev.str() + ")");
            return;
        }
        case FsKind::overlay: {
            report.notes.push_back(pseudo_note(mount, report.fs_kind));
            auto upper = mount_option(mount.super_options, "upperdir");
            if (!upper || upper->empty()) {
                report.notes.push_back("overlay without upperdir: read-only, nothing is written");
                return;
            }
            auto nested = inspect_nested(*upper, walk);
            if (nested) report.upper.push_back(std::move(*nested));
            else report.notes.push_back("upperdir " + *upper + ": " + nested.error().message);
            return;
        }
        default:
            report.notes.push_back(pseudo_note(mount, report.fs_kind));
            return;
    }
}

std::optional<DeviceNode> StackInspector::node_by_name(const std::string& name, Walk& walk,
                                                       std::vector<std::string>& notes) const {
    auto device = block_device_by_name(root_, name);
    if (!device) {
        notes.push_back(device.error().message);
        return std::nullopt;
    }
    return node_for(std::move(*device), walk);
}

DeviceNode StackInspector::node_for(BlockDevice device, Walk& walk) const {
    DeviceNode node;
    node.device = std::move(device);
    const BlockDevice& dev = node.device;
    const std::string key = dev.dev.str();
    if (walk.visiting.count(key)) {
        node.notes.push_back("cycle: " + dev.name + " is already on this chain");
        return node;
    }
    walk.visiting.insert(key);
    if (dev.partition) {
        if (auto disk = node_by_name(dev.parent, walk, node.notes)) node.below.push_back(std::move(*disk));
    }
    for (const auto& slave : dev.slaves)
        if (auto below = node_by_name(slave, walk, node.notes)) node.below.push_back(std::move(*below));
    if (dev.loop) {
        std::string backing = dev.loop->backing_file;
        if (backing.empty()) {
            node.notes.push_back("loop device without a backing file (detached)");
        } else {
            if (strip_deleted(backing)) node.notes.push_back("the backing file was deleted");
            auto nested = inspect_nested(backing, walk);
            if (nested) node.backing.push_back(std::move(*nested));
            else node.notes.push_back("backing file " + backing + ": " + nested.error().message);
        }
    }
    walk.visiting.erase(key);
    return node;
}

Result<PidStackReport> StackInspector::inspect_pid(int32_t pid) const {
    trace::ProcFs proc(root_.is_live() ? "/" : root_.root());
    if (!proc.exists(pid))
        return fail(ErrorKind::not_found, "no process with pid " + std::to_string(pid),
                    "check the pid (ps -p " + std::to_string(pid) + ")");
    PidStackReport report;
    report.pid = pid;
    report.comm = proc.comm(pid).value_or("");
    auto fds = proc.fds(pid);
    if (!fds) {
        Error error = fds.error();
        if (error.kind == ErrorKind::permission)
            error.hint += "; or inspect a path it uses: iodiag stack --path PATH";
        return tl::unexpected(error);
    }

    auto mounts = mounts_of(pid, report.notes);
    if (!mounts) return tl::unexpected(mounts.error());

    struct Pending {
        Location location;
        std::vector<OpenFile> files;
    };
    std::map<std::string, size_t> index;   // group key -> position in `pending`
    std::vector<Pending> pending;
    for (const auto& fd : *fds) {
        if (fd.target.empty() || fd.target.front() != '/') {
            ++report.other_fds;
            continue;
        }
        OpenFile file;
        file.fd = fd.fd;
        file.path = fd.target;
        file.deleted = strip_deleted(file.path);
        file.open_flags = fd.open_flags;

        auto located = locate_fd(pid, fd.fd, file.path);
        if (!located) continue;   // closed meanwhile
        const Location& location = *located;
        std::string key;
        if (location.block_dev) {
            key = "block " + location.block_dev->str();
        } else {
            const Mount* mount = find_mount(*mounts, location.path, location.st_dev);
            key = mount ? "mount " + std::to_string(mount->id) : "none";
        }
        auto [it, added] = index.emplace(key, pending.size());
        if (added) pending.push_back({location, {}});
        pending[it->second].files.push_back(std::move(file));
    }

    for (auto& group : pending) {
        Walk walk;
        FileGroup out;
        out.stack = describe(group.location, *mounts, walk);
        if (out.stack.mount) out.stack.path = out.stack.mount->mount_point;
        out.files = std::move(group.files);
        report.groups.push_back(std::move(out));
    }
    if (report.groups.empty())
        report.notes.push_back("pid " + std::to_string(pid) + " has no files open (" +
                               std::to_string(report.other_fds) + " pipes, sockets and other fds)");
    return report;
}

Result<StackReport> StackInspector::inspect_fd(int32_t pid, int32_t fd) const {
    trace::ProcFs proc(root_.is_live() ? "/" : root_.root());
    auto entry = proc.fd(pid, fd);
    if (!entry) return tl::unexpected(entry.error());
    std::string path = entry->target;
    strip_deleted(path);
    const std::string what = "fd " + std::to_string(fd) + " of pid " + std::to_string(pid);
    if (path.empty() || path.front() != '/') return fail(ErrorKind::not_found, what + " is no file: " + entry->target);
    std::vector<std::string> notes;
    auto mounts = mounts_of(pid, notes);
    if (!mounts) return tl::unexpected(mounts.error());
    auto location = locate_fd(pid, fd, path);
    if (!location) return fail(ErrorKind::not_found, what + " was closed");
    Walk walk;
    StackReport report = describe(*location, *mounts, walk);
    report.notes.insert(report.notes.end(), notes.begin(), notes.end());
    return report;
}

std::vector<DevNumber> holding_devices(const StackReport& report) {
    std::vector<DevNumber> out;
    for (const auto& node : report.devices) out.push_back(node.device.dev);
    for (const auto& upper : report.upper)
        for (const DevNumber& dev : holding_devices(upper)) out.push_back(dev);
    return out;
}

}  // namespace iodiag::stack
