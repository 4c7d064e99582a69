// What /proc tells about a live process: its open fds (target, flags, position), threads, name,
// command line and children. Reads below a root folder (default "/") so tests can hand it a
// fixture tree.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace iodiag::trace {

struct ProcFd {
    int32_t fd = -1;
    std::string target;                 // the symlink target: a path, "pipe:[123]", "socket:[4]", ...
    uint32_t open_flags = 0;            // OpenFlag bits (kOpenFlagsKnown set when fdinfo was read)
    std::optional<uint64_t> position;   // fdinfo "pos:", when readable
};

class ProcFs {
public:
    explicit ProcFs(std::string root = "/");

    bool exists(int32_t pid) const;
    // All fds; fds that close while being read are skipped. fdinfo errors leave flags unknown.
    Result<std::vector<ProcFd>> fds(int32_t pid) const;
    Result<ProcFd> fd(int32_t pid, int32_t fd) const;
    Result<std::vector<int32_t>> threads(int32_t pid) const;   // tids, ascending
    Result<std::string> comm(int32_t pid) const;               // without the trailing newline
    Result<std::vector<std::string>> cmdline(int32_t pid) const;
    Result<std::vector<int32_t>> children(int32_t pid) const;  // of all its threads, ascending

private:
    std::string proc_path(int32_t pid, const std::string& rest = {}) const;
    Result<std::string> read_small_file(int32_t pid, const std::string& rest) const;

    std::string root_;
};

}  // namespace iodiag::trace
