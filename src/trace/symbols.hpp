// Names for code addresses in stack traces: the kernel's from /proc/kallsyms, a process's from its
// mapped ELF files (elfutils' libdwfl over /proc/PID/maps). A process's map is read while it runs
// and kept, so its addresses still get names after it exits.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace iodiag::trace {

class KernelSymbols {
public:
    // Reads a kallsyms-format file; empty (every address unnamed) when it cannot be read or shows
    // only zero addresses (kptr_restrict without root).
    explicit KernelSymbols(const std::string& path = "/proc/kallsyms");
    // "vfs_read+0x1a", or "0xffffffff81234567" when unknown.
    std::string name(uint64_t address) const;
    size_t size() const { return symbols_.size(); }

private:
    struct Symbol {
        uint64_t address;
        std::string name;
    };
    std::vector<Symbol> symbols_;  // sorted by address
};

class ProcessSymbols {
public:
    explicit ProcessSymbols(int32_t pid);
    ~ProcessSymbols();
    ProcessSymbols(const ProcessSymbols&) = delete;
    ProcessSymbols& operator=(const ProcessSymbols&) = delete;

    // Reads the process's current mappings (new libraries); false when it is gone. Modules seen
    // before are kept.
    bool refresh();
    // "pread64+0x12 (libc.so.6)", "0x55d0c0ffee (fio)" without a symbol, or the bare address.
    std::string name(uint64_t address) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace iodiag::trace
