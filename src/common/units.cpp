#include "common/units.hpp"

#include <charconv>
#include <cstdio>

namespace iodiag {

std::string fio_size(uint64_t bytes) {
    static constexpr const char* suffixes[] = {"", "k", "m", "g", "t", "p"};
    int unit = 0;
    while (bytes != 0 && bytes % 1024 == 0 && unit < 5) {
        bytes /= 1024;
        ++unit;
    }
    return std::to_string(bytes) + suffixes[unit];
}

std::string human_bytes(uint64_t bytes) {
    static constexpr const char* suffixes[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double value = static_cast<double>(bytes);
    int unit = 0;
    while (value >= 1024.0 && unit < 5) {
        value /= 1024.0;
        ++unit;
    }
    char buf[32];
    if (unit == 0)
        std::snprintf(buf, sizeof buf, "%lluB", static_cast<unsigned long long>(bytes));
    else
        std::snprintf(buf, sizeof buf, "%.1f%s", value, suffixes[unit]);
    return buf;
}

std::optional<uint64_t> parse_duration_ns(std::string_view text) {
    uint64_t number = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (ec != std::errc() || end == text.data()) return std::nullopt;
    std::string_view unit(end, static_cast<size_t>(text.data() + text.size() - end));
    uint64_t scale = 0;
    if (unit.empty() || unit == "s") scale = 1'000'000'000;
    else if (unit == "ms") scale = 1'000'000;
    else if (unit == "us") scale = 1'000;
    else if (unit == "ns") scale = 1;
    else if (unit == "m" || unit == "min") scale = 60'000'000'000;
    else if (unit == "h") scale = 3'600'000'000'000;
    else return std::nullopt;
    if (number > UINT64_MAX / scale) return std::nullopt;
    return number * scale;
}

std::optional<uint64_t> parse_duration_ms(std::string_view text) {
    auto ns = parse_duration_ns(text);
    if (!ns || *ns % 1'000'000 != 0) return std::nullopt;  // whole milliseconds only
    return *ns / 1'000'000;
}

}  // namespace iodiag
