// Byte sizes and durations written the way fio and people read them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace iodiag {

// fio's value syntax: 4096 -> "4k", 1048576 -> "1m", 1536 -> "1536" (exact, never rounded).
std::string fio_size(uint64_t bytes);

// Human-readable, for tables: 4096 -> "4.0KiB", 1536 -> "1.5KiB".
std::string human_bytes(uint64_t bytes);

// Parses "10", "10s", "500ms", "2m", "1h" into milliseconds; nullopt when malformed (or not whole
// milliseconds).
std::optional<uint64_t> parse_duration_ms(std::string_view text);

// The same with "us" and "ns" too, into nanoseconds: thresholds such as "250us".
std::optional<uint64_t> parse_duration_ns(std::string_view text);

}  // namespace iodiag
