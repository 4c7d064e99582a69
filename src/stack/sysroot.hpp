// Every /sys, /proc and /dev lookup of the stack module goes through a SysRoot: a folder that
// stands for "/" (the real one, a saved snapshot, or a test fixture). Symlinks are resolved inside
// the root, so an absolute link in a snapshot does not escape to the live system.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace iodiag::stack {

class SysRoot {
public:
    explicit SysRoot(std::string root = "/");

    // True when the root is the live system: stat() and CPUID then describe the same machine.
    bool is_live() const { return root_.empty(); }
    const std::string& root() const { return display_root_; }

    // The host path of an absolute path inside the root (its links resolved inside the root).
    std::string host_path(const std::string& path) const;

    bool exists(const std::string& path) const;
    bool is_dir(const std::string& path) const;

    // Whole file; not_found / permission / internal errors name the path.
    Result<std::string> read(const std::string& path) const;
    // First line without surrounding blanks; nullopt when missing or unreadable.
    std::optional<std::string> read_line(const std::string& path) const;
    std::optional<int64_t> read_int(const std::string& path) const;

    // Entry names of a directory, sorted; empty when it is missing.
    std::vector<std::string> list(const std::string& path) const;

    // The raw target of a symlink; nullopt when `path` is not one.
    std::optional<std::string> link_target(const std::string& path) const;
    // The last component of a symlink's target (e.g. a driver's name); nullopt when no link.
    std::optional<std::string> link_name(const std::string& path) const;

    // `path` with every symlink resolved inside the root (absolute links restart at the root);
    // not_found when a component is missing.
    Result<std::string> resolve(const std::string& path) const;

private:
    std::string raw_host_path(const std::string& path) const;

    std::string root_;          // "" for the live root, else the folder without a trailing '/'
    std::string display_root_;  // as given, for messages
};

// "a/b/../c" -> "a/c", keeping a leading '/'; no filesystem access.
std::string normalize_path(const std::string& path);
// Last path component ("" for "/").
std::string base_name(const std::string& path);
// Everything before the last component ("/" for "/x").
std::string dir_name(const std::string& path);

}  // namespace iodiag::stack
