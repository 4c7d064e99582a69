// `stack`: the IO stack under a path or under every file a process has open, whether this runs
// in a guest, and the findings of both.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "stack/finding.hpp"
#include "stack/stack_inspector.hpp"
#include "stack/virtualization.hpp"

namespace iodiag::usecase {

struct StackRequest {
    std::string path;          // a file, folder or block device, or
    int32_t pid = 0;           // every file this process has open
    std::string root = "/";    // where /proc, /sys and /dev are read (a copied tree, a fixture)
};

struct StackResult {
    std::string path;          // what was asked: the path, or
    int32_t pid = 0;           // the pid
    std::variant<stack::StackReport, stack::PidStackReport> report;
    stack::VirtInfo virtualization;
    std::vector<stack::Finding> findings;   // the stack's, then the guest's
};

// usage: not exactly one of path and pid, or a root that is not a folder; else the inspector's.
Result<StackResult> inspect_stack(const StackRequest& request);

// {"target", "stack", "virtualization", "findings"}: `iodiag stack --json`.
nlohmann::ordered_json to_json(const StackResult& result);

}  // namespace iodiag::usecase
