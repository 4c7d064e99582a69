#include "stack/vm_config.hpp"

namespace iodiag::stack {
namespace {

struct NamedMode {
    const char* name;
    CacheMode mode;
};

constexpr NamedMode kModes[] = {
    {"writeback", {true, false, false}},   {"none", {true, true, false}},
    {"writethrough", {false, false, false}}, {"directsync", {false, true, false}},
    {"unsafe", {true, false, true}},
};

}  // namespace

std::string CacheMode::name() const {
    for (const auto& named : kModes)
        if (named.mode == *this) return named.name;
    auto onoff = [](bool on) { return on ? "on" : "off"; };
    return std::string("custom(writeback=") + onoff(writeback) + ",direct=" + onoff(direct) +
           ",no-flush=" + onoff(no_flush) + ")";
}

std::optional<CacheMode> cache_mode_from_name(const std::string& name) {
    for (const auto& named : kModes)
        if (name == named.name) return named.mode;
    return std::nullopt;
}

}  // namespace iodiag::stack
