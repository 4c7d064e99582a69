#include "stack/mountinfo.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <sstream>

namespace iodiag::stack {
namespace {

template <class Int>
std::optional<Int> to_int(std::string_view text) {
    Int value{};
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

// mountinfo writes space, tab, newline and backslash as \ooo.
std::string unescape(std::string_view text) {
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\\' && i + 3 < text.size()) {
            auto code = text.substr(i + 1, 3);
            bool octal = std::all_of(code.begin(), code.end(),
                                     [](char c) { return c >= '0' && c <= '7'; });
            if (octal) {
                out += static_cast<char>((code[0] - '0') * 64 + (code[1] - '0') * 8 + (code[2] - '0'));
                i += 3;
                continue;
            }
        }
        out += text[i];
    }
    return out;
}

std::vector<std::string_view> fields_of(std::string_view line) {
    std::vector<std::string_view> out;
    size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && line[i] == ' ') ++i;
        size_t start = i;
        while (i < line.size() && line[i] != ' ') ++i;
        if (i > start) out.push_back(line.substr(start, i - start));
    }
    return out;
}

std::optional<Mount> parse_line(std::string_view line) {
    auto fields = fields_of(line);
    // id parent maj:min root mount-point options [optional...] - fstype source super-options
    if (fields.size() < 9) return std::nullopt;
    size_t dash = 6;
    while (dash < fields.size() && fields[dash] != "-") ++dash;
    if (dash + 2 >= fields.size()) return std::nullopt;
    Mount mount;
    auto id = to_int<int32_t>(fields[0]);
    auto parent = to_int<int32_t>(fields[1]);
    auto colon = fields[2].find(':');
    if (!id || !parent || colon == std::string_view::npos) return std::nullopt;
    auto major = to_int<uint32_t>(fields[2].substr(0, colon));
    auto minor = to_int<uint32_t>(fields[2].substr(colon + 1));
    if (!major || !minor) return std::nullopt;
    mount.id = *id;
    mount.parent = *parent;
    mount.dev = {*major, *minor};
    mount.root = unescape(fields[3]);
    mount.mount_point = unescape(fields[4]);
    mount.mount_options = unescape(fields[5]);
    mount.fstype = unescape(fields[dash + 1]);
    mount.source = unescape(fields[dash + 2]);
    if (dash + 3 < fields.size()) mount.super_options = unescape(fields[dash + 3]);
    return mount;
}

// Is `prefix` the path itself or one of its parent folders?
bool covers(const std::string& prefix, const std::string& path) {
    if (prefix == "/") return true;
    if (path.compare(0, prefix.size(), prefix) != 0) return false;
    return path.size() == prefix.size() || path[prefix.size()] == '/';
}

}  // namespace

std::string_view fs_kind_name(FsKind kind) {
    switch (kind) {
        case FsKind::block: return "block";
        case FsKind::memory: return "memory";
        case FsKind::kernel: return "kernel";
        case FsKind::overlay: return "overlay";
        case FsKind::network: return "network";
        case FsKind::shared: return "shared";
    }
    return "block";
}

FsKind fs_kind(std::string_view fstype) {
    static constexpr std::array<std::string_view, 4> kMemory = {"tmpfs", "ramfs", "devtmpfs",
                                                                "hugetlbfs"};
    static constexpr std::array<std::string_view, 20> kKernel = {
        "proc",       "sysfs",   "cgroup",  "cgroup2", "debugfs", "tracefs",   "securityfs",
        "pstore",     "bpf",     "configfs", "devpts", "mqueue",  "fusectl",   "binfmt_misc",
        "autofs",     "efivarfs", "nsfs",   "selinuxfs", "rpc_pipefs", "nfsd"};
    static constexpr std::array<std::string_view, 9> kNetwork = {
        "nfs", "nfs4", "cifs", "smb3", "ceph", "glusterfs", "lustre", "fuse", "afs"};
    static constexpr std::array<std::string_view, 2> kShared = {"virtiofs", "9p"};
    auto in = [&](const auto& list) {
        return std::find(list.begin(), list.end(), fstype) != list.end();
    };
    if (in(kMemory)) return FsKind::memory;
    if (in(kKernel)) return FsKind::kernel;
    if (fstype == "overlay" || fstype == "aufs") return FsKind::overlay;
    if (in(kShared)) return FsKind::shared;
    if (in(kNetwork) || fstype.substr(0, 5) == "fuse.") return FsKind::network;
    return FsKind::block;
}

Result<MountTable> parse_mountinfo(std::string_view text) {
    MountTable table;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(start, end - start);
        start = end + 1;
        if (line.empty()) continue;
        if (auto mount = parse_line(line)) table.mounts.push_back(std::move(*mount));
        else ++table.bad_lines;
    }
    if (table.mounts.empty())
        return fail(ErrorKind::bad_input,
                    table.bad_lines ? "the mount table is garbled (" +
                                          std::to_string(table.bad_lines) + " unreadable lines)"
                                    : std::string("the mount table is empty"),
                    "is /proc mounted?");
    return table;
}

Result<MountTable> read_mountinfo(const SysRoot& root, std::optional<int32_t> pid) {
    const std::string path =
        pid ? "/proc/" + std::to_string(*pid) + "/mountinfo" : std::string("/proc/self/mountinfo");
    auto text = root.read(path);
    if (!text) {
        Error error = text.error();
        if (error.kind == ErrorKind::not_found && pid)
            error = {ErrorKind::not_found, "no process with pid " + std::to_string(*pid),
                     "check the pid (ps -p " + std::to_string(*pid) + ")"};
        else if (error.kind == ErrorKind::not_found)
            error.hint = "is /proc mounted under " + root.root() + "?";
        return tl::unexpected(error);
    }
    return parse_mountinfo(*text);
}

const Mount* find_mount(const std::vector<Mount>& mounts, const std::string& path,
                        std::optional<DevNumber> dev) {
    auto best_of = [&](bool match_dev) -> const Mount* {
        const Mount* best = nullptr;
        for (const auto& mount : mounts) {
            if (match_dev && !(mount.dev == *dev)) continue;
            if (!covers(mount.mount_point, path)) continue;
            // Later lines are mounted later and shadow earlier ones on the same point.
            if (!best || mount.mount_point.size() >= best->mount_point.size()) best = &mount;
        }
        return best;
    };
    if (dev)
        if (const Mount* mount = best_of(true)) return mount;
    return best_of(false);
}

std::optional<std::string> mount_option(const std::string& options, std::string_view key) {
    std::istringstream in(options);
    std::string item;
    while (std::getline(in, item, ',')) {
        auto eq = item.find('=');
        std::string_view name = std::string_view(item).substr(0, eq);
        if (name != key) continue;
        return eq == std::string::npos ? std::string() : item.substr(eq + 1);
    }
    return std::nullopt;
}

}  // namespace iodiag::stack
