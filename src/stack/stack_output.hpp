// Stack reports as JSON (for --json and later the report) and as a readable tree for a terminal.
// The tree and the JSON carry the same facts.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "stack/stack_inspector.hpp"
#include "stack/virtualization.hpp"

namespace iodiag::stack {

using ordered_json = nlohmann::ordered_json;

ordered_json to_json(const BlockDevice& device);
ordered_json to_json(const DeviceNode& node);
ordered_json to_json(const StackReport& report);
ordered_json to_json(const PidStackReport& report);
ordered_json to_json(const VirtInfo& info);

// "rw,O_DIRECT,O_DSYNC"; "?" when the flags were not read.
std::string open_flags_text(uint32_t flags);

std::string render_text(const StackReport& report);
std::string render_text(const PidStackReport& report);
std::string render_text(const VirtInfo& info);

}  // namespace iodiag::stack
