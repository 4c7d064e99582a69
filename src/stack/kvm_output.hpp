// `kvm inspect` reports as JSON and as text: a one-line-per-disk table, then each disk's chain,
// settings, defaults, notes and host stack, then QEMU's threads by role.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "stack/image_format.hpp"
#include "stack/kvm_inspector.hpp"

namespace iodiag::stack {

nlohmann::ordered_json to_json(const ImageInfo& info);
nlohmann::ordered_json to_json(const KvmReport& report);
std::string render_text(const KvmReport& report);

}  // namespace iodiag::stack
