// Scanning strace's text, shared by the line grammar (strace_line.cpp) and the argument decoders
// (strace_args.cpp): numbers as strace prints them, and a walk over argument text that skips
// "strings", /* comments */, fd annotations and nesting. Inline: the parser spends its time here.
// Internal to the strace parser.
#pragma once

#include <array>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace iodiag::trace::strace {

using sv = std::string_view;
inline constexpr size_t npos = sv::npos;

inline constexpr uint64_t kNsPerSec = 1'000'000'000ull;

// ---------------------------------------------------------------------------------------------
// Small text helpers

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_word(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
inline bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

inline sv trim_left(sv s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    return s;
}
inline sv trim_right(sv s) {
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}
inline sv trim(sv s) { return trim_right(trim_left(s)); }

inline bool consume(sv& s, sv prefix) {
    if (!s.starts_with(prefix)) return false;
    s.remove_prefix(prefix.size());
    return true;
}

// Leading decimal digits of s into out; returns how many were read.
template <class T>
inline size_t parse_digits(sv s, T& out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() ? size_t(end - s.data()) : 0;
}

// A number as strace prints it at the start of s: "-10", "4096", "0x7f00"; false when none.
inline bool parse_int(sv s, int64_t& out) {
    bool neg = consume(s, "-");
    uint64_t v = 0;
    size_t used = 0;
    if (s.starts_with("0x")) {
        auto [end, ec] = std::from_chars(s.data() + 2, s.data() + s.size(), v, 16);
        used = ec == std::errc() ? size_t(end - s.data()) : 0;
    } else {
        used = parse_digits(s, v);
    }
    if (used == 0) return false;
    out = neg ? -int64_t(v) : int64_t(v);
    return true;
}

inline int64_t int_or(sv s, int64_t fallback) {
    int64_t v = 0;
    return parse_int(trim(s), v) ? v : fallback;
}
inline uint64_t u64_of(sv s) { return uint64_t(int_or(s, 0)); }
inline uint32_t u32_of(sv s) { return uint32_t(int_or(s, 0)); }

// ---------------------------------------------------------------------------------------------
// Nesting-aware scanning of argument text

// s[i] is '"': returns the index after the closing quote, npos when the string is cut off.
// memchr finds each candidate quote; an odd run of backslashes before it means it is escaped.
inline size_t skip_string(sv s, size_t i) {
    for (size_t from = i + 1; from < s.size();) {
        const void* hit = std::memchr(s.data() + from, '"', s.size() - from);
        if (hit == nullptr) return npos;
        const size_t q = size_t(static_cast<const char*>(hit) - s.data());
        size_t slashes = 0;
        while (q - slashes > from && s[q - slashes - 1] == '\\') ++slashes;
        if (slashes % 2 == 0) return q + 1;
        from = q + 1;
    }
    return npos;
}

// s[i] starts "/*": returns the index after "*/", npos when cut off.
inline size_t skip_comment(sv s, size_t i) {
    const size_t end = s.find("*/", i + 2);
    return end == npos ? npos : end + 2;
}

// s[i] is the '<' of an fd annotation: "3</tmp/f>", "3</dev/vda<block 254:0>>",
// "7<TCP:[127.0.0.1:5432->127.0.0.1:40000]>". strace escapes paths as it does strings (\", \t,
// \74 for '<', \76 for '>'), so a literal '>' closes, except the "->" of socket endpoints in [...].
inline size_t skip_annotation(sv s, size_t i) {
    int level = 0, brackets = 0;
    for (; i < s.size(); ++i) {
        const char c = s[i];
        if (c == '\\') {
            ++i;
        } else if (c == '<') {
            ++level;
        } else if (c == '[') {
            ++brackets;
        } else if (c == ']') {
            if (brackets > 0) --brackets;
        } else if (c == '>' && !(brackets > 0 && s[i - 1] == '-')) {
            if (--level == 0) return i + 1;
        }
    }
    return npos;
}

// An fd annotation opens right after a word character ("3<", "AT_FDCWD<"); "<<" is a shift and
// "(<... resuming interrupted read ...>)" is not an annotation.
inline bool opens_annotation(sv s, size_t i) {
    return i > 0 && is_word(s[i - 1]) && (i + 1 == s.size() || s[i + 1] != '<');
}

struct ScanResult {
    size_t pos = npos;    // first stop character at nesting level 0, or npos
    bool closed = false;  // the text ended at level 0 (nothing left open)
};

// Characters the scanner must look at; everything else is skipped in a tight loop.
inline constexpr std::array<bool, 256> kScanSpecial = [] {
    std::array<bool, 256> t{};
    for (unsigned char c : sv("\"()[]{}/<,")) t[c] = true;
    return t;
}();

// Index of the next character the scanner must look at (s.size() if none): eight table lookups
// per branch, as most argument text is plain.
inline size_t next_special(sv s, size_t i) {
    const auto special = [&s](size_t k) { return kScanSpecial[uint8_t(s[k])]; };
    for (; i + 8 <= s.size(); i += 8) {
        if (special(i) | special(i + 1) | special(i + 2) | special(i + 3) | special(i + 4) |
            special(i + 5) | special(i + 6) | special(i + 7))
            break;
    }
    while (i < s.size() && !special(i)) ++i;
    return i;
}

// Walks strace argument text from `from`, skipping "strings", /* comments */, fd annotations and
// (), [], {} nesting. Stray closers (the other half of a split call) are ignored. Stops may only
// be ',' or ')'.
inline ScanResult scan_top_level(sv s, size_t from, char stop1, char stop2) {
    int depth = 0;
    size_t i = from;
    while ((i = next_special(s, i)) < s.size()) {
        const char c = s[i];
        if (depth == 0 && (c == stop1 || c == stop2)) return {i, true};
        size_t next = i + 1;
        switch (c) {
            case '"': next = skip_string(s, i); break;
            case '(': case '[': case '{': ++depth; break;
            case ')': case ']': case '}': if (depth > 0) --depth; break;
            case '/': if (next < s.size() && s[next] == '*') next = skip_comment(s, i); break;
            case '<':
                if (opens_annotation(s, i)) next = skip_annotation(s, i);
                else if (next < s.size() && s[next] == '<') ++next;
                break;
            default: break;
        }
        if (next == npos) return {npos, false};
        i = next;
    }
    return {npos, depth == 0};
}

// Calls fn(item) for each comma-separated item of s at nesting level 0 (trimmed); fn returns
// false to stop early.
template <class Fn>
void for_each_item(sv s, Fn&& fn) {
    size_t start = 0;
    while (start <= s.size()) {
        const size_t end = scan_top_level(s, start, ',', ',').pos;
        const sv item = trim(s.substr(start, end == npos ? npos : end - start));
        if (!item.empty() && !fn(item)) return;
        if (end == npos) return;
        start = end + 1;
    }
}

// The inside of "{...}" or "[...]"; s itself when it is not wrapped that way.
inline sv strip_wrapper(sv s, char open, char close) {
    s = trim(s);
    if (s.size() >= 2 && s.front() == open && s.back() == close) return s.substr(1, s.size() - 2);
    return s;
}

// Value of key=value among the top-level items of a struct's text ({...} or bare); empty if absent.
inline sv field(sv text, sv key) {
    sv found;
    for_each_item(strip_wrapper(text, '{', '}'), [&](sv item) {
        if (item.size() > key.size() && item.starts_with(key) && item[key.size()] == '=') {
            found = item.substr(key.size() + 1);
            return false;
        }
        return true;
    });
    return found;
}

// A name in one of strace's symbolic tables (errno, flags, commands) and its value.
struct NameValue {
    sv name;
    uint32_t value;
};

}  // namespace iodiag::trace::strace
