#include "trace/open_flags.hpp"

#include <fcntl.h>

#include <charconv>

#include "trace/io_event.hpp"

namespace iodiag::trace {
namespace {

struct FlagName {
    std::string_view name;  // without the "O_" strace prints and perf leaves out
    uint64_t bits;
};

constexpr FlagName kFlagNames[] = {
    {"RDONLY", O_RDONLY},     {"WRONLY", O_WRONLY},       {"RDWR", O_RDWR},
    {"CREAT", O_CREAT},       {"EXCL", O_EXCL},           {"NOCTTY", O_NOCTTY},
    {"TRUNC", O_TRUNC},       {"APPEND", O_APPEND},       {"NONBLOCK", O_NONBLOCK},
    {"NDELAY", O_NDELAY},     {"DSYNC", O_DSYNC},         {"SYNC", O_SYNC},
    {"FSYNC", O_FSYNC},       {"ASYNC", O_ASYNC},         {"DIRECT", O_DIRECT},
    {"LARGEFILE", O_LARGEFILE}, {"DIRECTORY", O_DIRECTORY}, {"NOFOLLOW", O_NOFOLLOW},
    {"NOATIME", O_NOATIME},   {"CLOEXEC", O_CLOEXEC},     {"PATH", O_PATH},
    {"TMPFILE", O_TMPFILE},
};

// O_SYNC is O_DSYNC plus a bit of its own (the kernel's __O_SYNC): that bit tells O_SYNC.
constexpr uint64_t kSyncOnly = O_SYNC & ~uint64_t(O_DSYNC);

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

// "0x4000", "040000" (octal, as strace prints modes), "16384"; the leading digits only.
uint64_t number_of(std::string_view s) {
    int base = 10;
    if (s.starts_with("0x")) {
        s.remove_prefix(2);
        base = 16;
    } else if (s.size() > 1 && s[0] == '0') {
        s.remove_prefix(1);
        base = 8;
    }
    uint64_t v = 0;
    std::from_chars(s.data(), s.data() + s.size(), v, base);
    return v;
}

uint64_t named_bits(std::string_view name) {
    if (name.starts_with("O_")) name.remove_prefix(2);
    for (const FlagName& f : kFlagNames)
        if (f.name == name) return f.bits;
    return 0;
}

}  // namespace

uint32_t open_flags_from_kernel(uint64_t flags) {
    uint32_t out = kOpenFlagsKnown;
    switch (flags & O_ACCMODE) {
        case O_RDONLY: out |= kOpenRead; break;
        case O_WRONLY: out |= kOpenWrite; break;
        default: out |= kOpenRead | kOpenWrite; break;
    }
    if (flags & O_APPEND) out |= kOpenAppend;
    if (flags & O_DIRECT) out |= kOpenDirect;
    if (flags & kSyncOnly) out |= kOpenSync;
    if (flags & O_DSYNC) out |= kOpenDsync;
    return out;
}

uint32_t open_flags_of_call(uint64_t flags) {
    uint32_t out = open_flags_from_kernel(flags);
    if (flags & O_CREAT) out |= kOpenCreate;
    if (flags & O_TRUNC) out |= kOpenTrunc;
    return out;
}

uint64_t kernel_open_flags(std::string_view text) {
    uint64_t bits = 0;
    text = trim(text.substr(0, text.find("/*")));
    while (!text.empty()) {
        const size_t bar = text.find('|');
        const std::string_view part = trim(text.substr(0, bar));
        if (!part.empty() && part[0] >= '0' && part[0] <= '9') bits |= number_of(part);
        else bits |= named_bits(part);
        if (bar == std::string_view::npos) break;
        text.remove_prefix(bar + 1);
    }
    return bits;
}

uint32_t open_flags_of_text(std::string_view text) { return open_flags_of_call(kernel_open_flags(text)); }

uint32_t setfl_open_flags(std::string_view text) {
    return kOpenFlagsKnown | (open_flags_of_text(text) & kSetflOpenFlags);
}

}  // namespace iodiag::trace
