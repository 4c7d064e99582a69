#include "trace/symbols.hpp"

#include <elfutils/libdwfl.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace iodiag::trace {

KernelSymbols::KernelSymbols(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    bool any_address = false;
    while (std::getline(in, line)) {
        // "ffffffff81000000 T _stext [module]": text symbols only (t/T, w/W).
        std::istringstream fields(line);
        std::string address, type, name;
        if (!(fields >> address >> type >> name)) continue;
        if (type != "t" && type != "T" && type != "w" && type != "W") continue;
        uint64_t value = 0;
        try {
            value = std::stoull(address, nullptr, 16);
        } catch (...) {
            continue;
        }
        if (value) any_address = true;
        symbols_.push_back({value, std::move(name)});
    }
    if (!any_address) symbols_.clear();
    std::sort(symbols_.begin(), symbols_.end(), [](const Symbol& a, const Symbol& b) { return a.address < b.address; });
}

std::string KernelSymbols::name(uint64_t address) const {
    auto it = std::upper_bound(symbols_.begin(), symbols_.end(), address,
                               [](uint64_t a, const Symbol& s) { return a < s.address; });
    if (it == symbols_.begin()) return fmt::format("0x{:x}", address);
    --it;
    const uint64_t offset = address - it->address;
    return offset ? fmt::format("{}+0x{:x}", it->name, offset) : it->name;
}

struct ProcessSymbols::Impl {
    int32_t pid = 0;
    char* debuginfo_path = nullptr;
    Dwfl_Callbacks callbacks{};
    Dwfl* dwfl = nullptr;

    Impl() {
        callbacks.find_elf = dwfl_linux_proc_find_elf;
        callbacks.find_debuginfo = dwfl_standard_find_debuginfo;
        callbacks.debuginfo_path = &debuginfo_path;
        dwfl = dwfl_begin(&callbacks);
    }
    ~Impl() {
        if (dwfl) dwfl_end(dwfl);
    }
};

ProcessSymbols::ProcessSymbols(int32_t pid) : impl_(std::make_unique<Impl>()) {
    impl_->pid = pid;
    refresh();
}

ProcessSymbols::~ProcessSymbols() = default;

bool ProcessSymbols::refresh() {
    if (!impl_->dwfl) return false;
    if (!std::filesystem::exists("/proc/" + std::to_string(impl_->pid) + "/maps")) return false;
    dwfl_report_begin_add(impl_->dwfl);  // keep the modules already known
    const int err = dwfl_linux_proc_report(impl_->dwfl, impl_->pid);
    dwfl_report_end(impl_->dwfl, nullptr, nullptr);
    return err == 0;
}

std::string ProcessSymbols::name(uint64_t address) const {
    Dwfl_Module* module = impl_->dwfl ? dwfl_addrmodule(impl_->dwfl, address) : nullptr;
    if (!module) return fmt::format("0x{:x}", address);
    const char* module_name = dwfl_module_info(module, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr);
    const std::string file = module_name ? std::filesystem::path(module_name).filename().string() : "?";
    GElf_Off offset = 0;
    GElf_Sym symbol{};
    const char* function = dwfl_module_addrinfo(module, address, &offset, &symbol, nullptr, nullptr, nullptr);
    if (!function) return fmt::format("0x{:x} ({})", address, file);
    return offset ? fmt::format("{}+0x{:x} ({})", function, offset, file) : fmt::format("{} ({})", function, file);
}

}  // namespace iodiag::trace
