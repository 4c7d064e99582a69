#include "model/incidental.hpp"

#include <array>

namespace iodiag::model {
namespace {

// `path` is `prefix` or lies below it ("/etc" matches "/etc" and "/etc/x", not "/etcetera").
bool under(std::string_view path, std::string_view prefix) {
    if (!path.starts_with(prefix)) return false;
    return path.size() == prefix.size() || path[prefix.size()] == '/';
}

}  // namespace

PathPlace path_place(std::string_view path, trace::FileKind kind) {
    if (under(path, "/proc") || under(path, "/sys")) return PathPlace::pseudo;
    if (under(path, "/dev")) {
        // A disk the target reads or writes is data, whatever the source knew of its kind.
        bool block = kind == trace::FileKind::block || trace::FileTable::kind_from_path(path) == trace::FileKind::block;
        return block ? PathPlace::data : PathPlace::pseudo;
    }
    static constexpr std::array<std::string_view, 6> kSystem = {"/etc",      "/usr/share", "/usr/lib",
                                                                "/usr/lib64", "/lib",       "/lib64"};
    for (std::string_view prefix : kSystem)
        if (under(path, prefix)) return PathPlace::system;
    return PathPlace::data;
}

std::set<uint32_t> incidental_files(const std::vector<FileActivity>& files, const IncidentalLimits& limits) {
    std::set<uint32_t> incidental;
    std::vector<uint32_t> small_system;
    uint64_t all_ops = 0, all_bytes = 0, system_ops = 0, system_bytes = 0;
    for (const auto& f : files) {
        all_ops += f.ops;
        all_bytes += f.bytes;
        if (f.file_id == 0) continue;  // unknown file: nothing to judge by
        PathPlace place = path_place(f.path, f.kind);
        if (place == PathPlace::pseudo) {
            incidental.insert(f.file_id);
        } else if (place == PathPlace::system && !f.written && f.ops <= limits.max_ops &&
                   f.bytes <= limits.max_bytes) {
            small_system.push_back(f.file_id);
            system_ops += f.ops;
            system_bytes += f.bytes;
        }
    }
    auto at_least = [&](uint64_t part, uint64_t whole) {
        return whole > 0 && static_cast<double>(part) >= limits.workload_share * static_cast<double>(whole);
    };
    bool they_are_the_workload = at_least(system_ops, all_ops) && at_least(system_bytes, all_bytes);
    if (!they_are_the_workload) incidental.insert(small_system.begin(), small_system.end());
    return incidental;
}

}  // namespace iodiag::model
