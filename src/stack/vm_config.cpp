#include "stack/vm_config.hpp"

#include <algorithm>

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

void note_iothread_use(VmConfig& vm) {
    auto defined = [&](const std::string& id) {
        return std::find(vm.iothreads.begin(), vm.iothreads.end(), id) != vm.iothreads.end();
    };
    for (auto& disk : vm.disks)
        for (const auto& id : disk.iothreads)
            if (!defined(id)) disk.notes.push_back("iothread " + id + " is not defined");
    for (const auto& id : vm.iothreads) {
        bool used = std::any_of(vm.disks.begin(), vm.disks.end(), [&](const DiskConfig& disk) {
            return std::find(disk.iothreads.begin(), disk.iothreads.end(), id) != disk.iothreads.end();
        });
        if (!used) vm.notes.push_back("iothread " + id + " serves no disk");
    }
}

}  // namespace iodiag::stack
