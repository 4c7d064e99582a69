// strace's text output: parse_strace_line splits one line into its parts without allocating;
// StraceReader joins "<unfinished ...>" / "<... resumed>" halves per pid and decodes the
// arguments of the syscalls iodiag models into RawSyscalls.
#include "trace/strace_parser.hpp"

#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <span>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace iodiag::trace {
namespace {

using sv = std::string_view;
constexpr size_t npos = sv::npos;

constexpr uint64_t kNsPerSec = 1'000'000'000ull;
constexpr uint64_t kDayNs = 86'400ull * kNsPerSec;
constexpr uint64_t kHalfDayNs = kDayNs / 2;
constexpr sv kUnfinished = "<unfinished ...>";

// ---------------------------------------------------------------------------------------------
// Small text helpers

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_word(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

sv trim_left(sv s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    return s;
}
sv trim_right(sv s) {
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}
sv trim(sv s) { return trim_right(trim_left(s)); }

bool consume(sv& s, sv prefix) {
    if (!s.starts_with(prefix)) return false;
    s.remove_prefix(prefix.size());
    return true;
}

// Leading decimal digits of s into out; returns how many were read.
template <class T>
size_t parse_digits(sv s, T& out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() ? size_t(end - s.data()) : 0;
}

// A number as strace prints it at the start of s: "-10", "4096", "0x7f00"; false when none.
bool parse_int(sv s, int64_t& out) {
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

int64_t int_or(sv s, int64_t fallback) {
    int64_t v = 0;
    return parse_int(trim(s), v) ? v : fallback;
}
uint64_t u64_of(sv s) { return uint64_t(int_or(s, 0)); }
uint32_t u32_of(sv s) { return uint32_t(int_or(s, 0)); }

// ---------------------------------------------------------------------------------------------
// Nesting-aware scanning of argument text

// s[i] is '"': returns the index after the closing quote, npos when the string is cut off.
// memchr finds each candidate quote; an odd run of backslashes before it means it is escaped.
size_t skip_string(sv s, size_t i) {
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
size_t skip_comment(sv s, size_t i) {
    const size_t end = s.find("*/", i + 2);
    return end == npos ? npos : end + 2;
}

// s[i] is the '<' of an fd annotation: "3</tmp/f>", "3</dev/vda<block 254:0>>",
// "7<TCP:[127.0.0.1:5432->127.0.0.1:40000]>". strace escapes paths as it does strings (\", \t,
// \74 for '<', \76 for '>'), so a literal '>' closes, except the "->" of socket endpoints in [...].
size_t skip_annotation(sv s, size_t i) {
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
bool opens_annotation(sv s, size_t i) {
    return i > 0 && is_word(s[i - 1]) && (i + 1 == s.size() || s[i + 1] != '<');
}

struct ScanResult {
    size_t pos = npos;    // first stop character at nesting level 0, or npos
    bool closed = false;  // the text ended at level 0 (nothing left open)
};

// Characters the scanner must look at; everything else is skipped in a tight loop.
constexpr std::array<bool, 256> kScanSpecial = [] {
    std::array<bool, 256> t{};
    for (unsigned char c : sv("\"()[]{}/<,")) t[c] = true;
    return t;
}();

// Index of the next character the scanner must look at (s.size() if none): eight table lookups
// per branch, as most argument text is plain.
size_t next_special(sv s, size_t i) {
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
ScanResult scan_top_level(sv s, size_t from, char stop1, char stop2) {
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
sv strip_wrapper(sv s, char open, char close) {
    s = trim(s);
    if (s.size() >= 2 && s.front() == open && s.back() == close) return s.substr(1, s.size() - 2);
    return s;
}

// Value of key=value among the top-level items of a struct's text ({...} or bare); empty if absent.
sv field(sv text, sv key) {
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

// ---------------------------------------------------------------------------------------------
// errno names (x86_64 / generic values); strace prints "-1 ENOENT (...)".

struct NameValue {
    sv name;
    uint32_t value;
};

constexpr NameValue kErrnos[] = {
    {"EPERM", 1}, {"ENOENT", 2}, {"ESRCH", 3}, {"EINTR", 4}, {"EIO", 5}, {"ENXIO", 6},
    {"E2BIG", 7}, {"ENOEXEC", 8}, {"EBADF", 9}, {"ECHILD", 10}, {"EAGAIN", 11},
    {"EWOULDBLOCK", 11}, {"ENOMEM", 12}, {"EACCES", 13}, {"EFAULT", 14}, {"ENOTBLK", 15},
    {"EBUSY", 16}, {"EEXIST", 17}, {"EXDEV", 18}, {"ENODEV", 19}, {"ENOTDIR", 20},
    {"EISDIR", 21}, {"EINVAL", 22}, {"ENFILE", 23}, {"EMFILE", 24}, {"ENOTTY", 25},
    {"ETXTBSY", 26}, {"EFBIG", 27}, {"ENOSPC", 28}, {"ESPIPE", 29}, {"EROFS", 30},
    {"EMLINK", 31}, {"EPIPE", 32}, {"EDOM", 33}, {"ERANGE", 34}, {"EDEADLK", 35},
    {"ENAMETOOLONG", 36}, {"ENOLCK", 37}, {"ENOSYS", 38}, {"ENOTEMPTY", 39}, {"ELOOP", 40},
    {"ENODATA", 61}, {"ETIME", 62}, {"EOVERFLOW", 75}, {"EBADFD", 77}, {"EILSEQ", 84},
    {"ENOTSOCK", 88}, {"EOPNOTSUPP", 95}, {"ENOTSUP", 95}, {"EADDRINUSE", 98},
    {"ECONNRESET", 104}, {"ENOBUFS", 105}, {"ETIMEDOUT", 110}, {"ECONNREFUSED", 111},
    {"EALREADY", 114}, {"EINPROGRESS", 115}, {"ESTALE", 116}, {"EDQUOT", 122},
    {"ECANCELED", 125},
};

int64_t errno_value(sv name) {
    for (const NameValue& e : kErrnos)
        if (e.name == name) return e.value;
    return 1;  // unknown name: still a failure, -1
}

// ---------------------------------------------------------------------------------------------
// Line parsing

// "[pid  1234] " (strace -f to stderr) or "1234  " (strace -f -o file).
bool parse_pid(sv& s, StraceLine& out) {
    if (consume(s, "[pid")) {
        s = trim_left(s);
        const size_t n = parse_digits(s, out.pid);
        if (n == 0 || n >= s.size() || s[n] != ']') return false;
        s = trim_left(s.substr(n + 1));
        out.pid_in_brackets = true;
        return true;
    }
    int32_t pid = 0;
    const size_t n = parse_digits(s, pid);
    if (n > 0 && n < s.size() && s[n] == ' ') {  // digits then '.' or ':' are a timestamp
        out.pid = pid;
        s = trim_left(s.substr(n));
    }
    return true;
}

// ".123456" -> ns: up to nine digits after the point, scaled by a table (no division per digit).
size_t parse_fraction_ns(sv s, uint64_t& ns) {
    static constexpr uint64_t kScale[10] = {1000000000, 100000000, 10000000, 1000000, 100000,
                                            10000,      1000,      100,      10,      1};
    ns = 0;
    if (s.empty() || s[0] != '.') return 0;
    size_t i = 1;
    uint64_t v = 0;
    for (; i < s.size() && i <= 9 && is_digit(s[i]); ++i) v = v * 10 + uint64_t(s[i] - '0');
    ns = v * kScale[i - 1];
    while (i < s.size() && is_digit(s[i])) ++i;  // finer than 1 ns: dropped
    return i;
}

// -t "12:34:56", -tt "12:34:56.123456" (ns since midnight), -ttt / -r "1795658926.062022".
bool parse_timestamp(sv& s, StraceLine& out) {
    if (s.empty() || !is_digit(s[0])) return true;
    uint64_t secs = 0, part = 0;
    size_t i = parse_digits(s, secs);
    if (i < s.size() && s[i] == ':') {
        for (int k = 0; k < 2; ++k) {
            if (i >= s.size() || s[i] != ':') return false;
            const size_t n = parse_digits(s.substr(i + 1), part);
            if (n == 0) return false;
            secs = secs * 60 + part;
            i += 1 + n;
        }
    }
    uint64_t frac = 0;
    i += parse_fraction_ns(s.substr(i), frac);
    if (i >= s.size() || s[i] != ' ') return false;
    out.ts_ns = secs * kNsPerSec + frac;
    s = trim_left(s.substr(i));
    return true;
}

// " <0.000012>" at the end of s: strips it (and "<unavailable>") and fills dur_ns.
void strip_duration(sv& s, StraceLine& out) {
    if (!s.ends_with('>')) return;
    const size_t open = s.rfind('<');
    if (open == npos || open == 0 || s[open - 1] != ' ') return;
    const sv body = s.substr(open + 1, s.size() - open - 2);
    if (body == "unavailable") {
        s = trim_right(s.substr(0, open));
        return;
    }
    uint64_t secs = 0, frac = 0;
    const size_t n = parse_digits(body, secs);
    if (n == 0 || parse_fraction_ns(body.substr(n), frac) + n != body.size()) return;
    out.dur_ns = secs * kNsPerSec + frac;
    out.has_dur = true;
    s = trim_right(s.substr(0, open));
}

// "-1 ENOENT (...)", "3</tmp/f>", "0x7f...", "? ERESTARTSYS (...)".
void parse_ret_value(sv text, StraceLine& out) {
    int64_t v = 0;
    if (text.starts_with('?') || !parse_int(text, v)) return;
    out.ret = v;
    out.ret_known = true;
    if (v != -1) return;
    const size_t sp = text.find(' ');
    if (sp == npos || sp + 1 >= text.size() || text[sp + 1] != 'E') return;
    sv name = text.substr(sp + 1);
    name = name.substr(0, name.find(' '));
    out.ret = -errno_value(name);
}

// What follows the closing ')': "   = ret [<dur>]". False when it is missing or cut off.
bool parse_result(sv rest, StraceLine& out) {
    rest = trim(rest);
    if (!consume(rest, "=")) return false;
    strip_duration(rest, out);
    rest = trim(rest);
    if (rest.empty()) return false;
    const ScanResult scan = scan_top_level(rest, 0, ')', ')');
    if (scan.pos != npos || !scan.closed) return false;  // a cut-off "(..." or "3</..."
    const size_t lt = rest.rfind(" <");
    if (lt != npos && rest.find('>', lt) == npos) return false;  // a cut-off " <0.00"
    out.ret_text = rest;
    parse_ret_value(rest, out);
    return true;
}

// "name(args) = ret" or "name(args <unfinished ...>".
void parse_call(sv s, StraceLine& out) {
    size_t n = 0;
    while (n < s.size() && is_word(s[n])) ++n;
    if (n == 0 || n >= s.size() || s[n] != '(') return;
    out.name = s.substr(0, n);
    if (s.ends_with(kUnfinished)) {
        sv args = s.substr(n + 1, s.size() - n - 1 - kUnfinished.size());
        if (args.ends_with(' ')) args.remove_suffix(1);  // strace's separator before the marker
        out.args = args;
        out.kind = StraceLineKind::unfinished;
        return;
    }
    const size_t close = scan_top_level(s, n + 1, ')', ')').pos;
    if (close == npos) return;
    out.args = s.substr(n + 1, close - n - 1);
    if (parse_result(s.substr(close + 1), out)) out.kind = StraceLineKind::syscall;
}

// "<... name resumed>args) = ret".
void parse_resumed(sv s, StraceLine& out) {
    const size_t mark = s.find(" resumed>");
    if (mark == npos) return;
    out.name = trim(s.substr(0, mark));
    s.remove_prefix(mark + 9);
    const size_t close = scan_top_level(s, 0, ')', ')').pos;
    if (close == npos) return;
    out.args = s.substr(0, close);
    if (parse_result(s.substr(close + 1), out)) out.kind = StraceLineKind::resumed;
}

// "--- SIGCHLD {si_signo=...} ---".
void parse_signal(sv s, StraceLine& out) {
    if (!s.ends_with(" ---")) return;
    out.name = s.substr(0, s.find(' '));
    out.kind = StraceLineKind::signal;
}

// "+++ exited with 0 +++", "+++ killed by SIGKILL (core dumped) +++", "+++ superseded by ...".
void parse_exit(sv s, StraceLine& out) {
    if (!s.ends_with("+++")) return;
    if (consume(s, "exited with ")) {
        if (parse_digits(s, out.exit_code) == 0) return;
        out.kind = StraceLineKind::exited;
    } else if (consume(s, "killed by ")) {
        out.name = s.substr(0, s.find(' '));
        out.kind = StraceLineKind::killed;
    } else {
        out.kind = StraceLineKind::info;
    }
}

void parse_body(sv s, StraceLine& out) {
    if (s.starts_with("strace: ") || s.starts_with("[ Process ") || s.starts_with("> ") ||
        s.ends_with("<detached ...>")) {
        // strace's messages; "> " is a -k stack frame; "read(3,  <detached ...>" is a call
        // strace stopped watching when it detached (Ctrl-C, --duration): it never completes.
        out.kind = StraceLineKind::info;
    } else if (consume(s, "--- ")) {
        parse_signal(s, out);
    } else if (consume(s, "+++ ")) {
        parse_exit(s, out);
    } else if (consume(s, "<... ")) {
        parse_resumed(s, out);
    } else {
        parse_call(s, out);
    }
}

}  // namespace

StraceLine parse_strace_line(std::string_view line) {
    StraceLine out;
    sv s = trim(line);
    if (s.empty()) {
        out.kind = StraceLineKind::blank;
        return out;
    }
    if (s.starts_with("strace: ")) {
        out.kind = StraceLineKind::info;
        return out;
    }
    if (!parse_pid(s, out) || !parse_timestamp(s, out)) return out;
    parse_body(s, out);
    if (out.kind == StraceLineKind::bad) out = StraceLine{};  // no half-filled fields
    return out;
}

// =============================================================================================
// Argument decoding

namespace {

// Kernel O_* values on x86_64 (numeric flag text is taken as x86_64 too).
constexpr uint32_t kOWronly = 01, kORdwr = 02, kOCreat = 0100, kOTrunc = 01000,
                   kOAppend = 02000, kODsync = 010000, kODirect = 040000, kOSyncBit = 04000000;

constexpr NameValue kOpenFlagNames[] = {
    {"O_RDONLY", 0}, {"O_WRONLY", kOWronly}, {"O_RDWR", kORdwr}, {"O_CREAT", kOCreat},
    {"O_TRUNC", kOTrunc}, {"O_APPEND", kOAppend}, {"O_DSYNC", kODsync},
    {"O_DIRECT", kODirect}, {"O_SYNC", kOSyncBit | kODsync}, {"O_FSYNC", kOSyncBit | kODsync},
    {"O_EXCL", 0200}, {"O_NOCTTY", 0400}, {"O_NONBLOCK", 04000}, {"O_NDELAY", 04000},
    {"O_ASYNC", 020000}, {"O_LARGEFILE", 0100000}, {"O_DIRECTORY", 0200000},
    {"O_NOFOLLOW", 0400000}, {"O_NOATIME", 01000000}, {"O_CLOEXEC", 02000000},
    {"O_PATH", 010000000}, {"O_TMPFILE", 020200000},
};

constexpr NameValue kCloneFlagNames[] = {
    {"CLONE_VM", 0x100}, {"CLONE_FS", 0x200}, {"CLONE_FILES", 0x400},
    {"CLONE_SIGHAND", 0x800}, {"CLONE_PIDFD", 0x1000}, {"CLONE_PTRACE", 0x2000},
    {"CLONE_VFORK", 0x4000}, {"CLONE_PARENT", 0x8000}, {"CLONE_THREAD", 0x10000},
    {"CLONE_NEWNS", 0x20000}, {"CLONE_SYSVSEM", 0x40000}, {"CLONE_SETTLS", 0x80000},
    {"CLONE_PARENT_SETTID", 0x100000}, {"CLONE_CHILD_CLEARTID", 0x200000},
    {"CLONE_DETACHED", 0x400000}, {"CLONE_UNTRACED", 0x800000},
    {"CLONE_CHILD_SETTID", 0x1000000}, {"CLONE_NEWCGROUP", 0x2000000},
    {"CLONE_NEWUTS", 0x4000000}, {"CLONE_NEWIPC", 0x8000000}, {"CLONE_NEWUSER", 0x10000000},
    {"CLONE_NEWPID", 0x20000000}, {"CLONE_NEWNET", 0x40000000}, {"CLONE_IO", 0x80000000},
};

constexpr NameValue kRwfNames[] = {
    {"RWF_HIPRI", kRwfHipri}, {"RWF_DSYNC", kRwfDsync}, {"RWF_SYNC", kRwfSync},
    {"RWF_NOWAIT", kRwfNowait}, {"RWF_APPEND", kRwfAppend},
};

constexpr NameValue kUringSetupNames[] = {
    {"IORING_SETUP_IOPOLL", 1}, {"IORING_SETUP_SQPOLL", 2}, {"IORING_SETUP_SQ_AFF", 4},
    {"IORING_SETUP_CQSIZE", 8}, {"IORING_SETUP_CLAMP", 16}, {"IORING_SETUP_ATTACH_WQ", 32},
    {"IORING_SETUP_R_DISABLED", 64}, {"IORING_SETUP_SUBMIT_ALL", 128},
    {"IORING_SETUP_COOP_TASKRUN", 256}, {"IORING_SETUP_TASKRUN_FLAG", 512},
    {"IORING_SETUP_SQE128", 1024}, {"IORING_SETUP_CQE32", 2048},
    {"IORING_SETUP_SINGLE_ISSUER", 4096}, {"IORING_SETUP_DEFER_TASKRUN", 8192},
};

constexpr NameValue kUringEnterNames[] = {
    {"IORING_ENTER_GETEVENTS", 1}, {"IORING_ENTER_SQ_WAKEUP", 2}, {"IORING_ENTER_SQ_WAIT", 4},
    {"IORING_ENTER_EXT_ARG", 8}, {"IORING_ENTER_REGISTERED_RING", 16},
};

constexpr NameValue kSyncFileRangeNames[] = {
    {"SYNC_FILE_RANGE_WAIT_BEFORE", 1}, {"SYNC_FILE_RANGE_WRITE", 2},
    {"SYNC_FILE_RANGE_WAIT_AFTER", 4},
};

constexpr NameValue kWhenceNames[] = {
    {"SEEK_SET", kSeekSet}, {"SEEK_CUR", kSeekCur}, {"SEEK_END", kSeekEnd},
    {"SEEK_DATA", 3}, {"SEEK_HOLE", 4},
};

constexpr NameValue kFcntlNames[] = {
    {"F_DUPFD", uint32_t(kFcntlDupfd)}, {"F_SETFL", uint32_t(kFcntlSetfl)},
    {"F_DUPFD_CLOEXEC", uint32_t(kFcntlDupfdCloexec)},
};

constexpr NameValue kMmapProtNames[] = {{"PROT_READ", 1}, {"PROT_WRITE", 2}, {"PROT_EXEC", 4}};
constexpr NameValue kMmapFlagNames[] = {
    {"MAP_SHARED", 1}, {"MAP_PRIVATE", 2}, {"MAP_SHARED_VALIDATE", 3}, {"MAP_FIXED", 0x10},
    {"MAP_ANONYMOUS", 0x20}, {"MAP_POPULATE", 0x8000},
};

constexpr NameValue kIocbCmdNames[] = {
    {"IOCB_CMD_PREAD", kIocbPread}, {"IOCB_CMD_PWRITE", kIocbPwrite},
    {"IOCB_CMD_FSYNC", kIocbFsync}, {"IOCB_CMD_FDSYNC", kIocbFdsync},
    {"IOCB_CMD_POLL", kIocbPoll}, {"IOCB_CMD_NOOP", kIocbNoop},
    {"IOCB_CMD_PREADV", kIocbPreadv}, {"IOCB_CMD_PWRITEV", kIocbPwritev},
};

// Flag text such as "O_RDWR|O_CREAT|0x3000" or "8192*1024" parts: names from the table,
// numbers (hex, octal "0644", decimal) as raw bits; unknown names and /* comments */ ignored.
uint32_t parse_flags(sv text, std::span<const NameValue> table) {
    uint32_t bits = 0;
    text = trim(text.substr(0, text.find("/*")));
    while (!text.empty()) {
        const size_t bar = text.find('|');
        const sv part = trim(text.substr(0, bar));
        if (!part.empty() && is_digit(part[0])) {
            uint64_t v = 0;
            if (part.size() > 1 && part[0] == '0' && part[1] != 'x')
                std::from_chars(part.data() + 1, part.data() + part.size(), v, 8);
            else
                v = u64_of(part);
            bits |= uint32_t(v);
        } else {
            for (const NameValue& f : table)
                if (f.name == part) bits |= f.value;
        }
        if (bar == npos) break;
        text.remove_prefix(bar + 1);
    }
    return bits;
}

// Kernel O_* bits -> our portable OpenFlag bits.
uint32_t open_flag_bits(uint32_t k) {
    uint32_t bits = kOpenFlagsKnown;
    const uint32_t mode = k & 3;
    if (mode == 0 || mode == kORdwr) bits |= kOpenRead;
    if (mode == kOWronly || mode == kORdwr) bits |= kOpenWrite;
    if (k & kODirect) bits |= kOpenDirect;
    if (k & kOSyncBit) bits |= kOpenSync;                   // O_SYNC (which includes O_DSYNC)
    else if (k & kODsync) bits |= kOpenDsync;
    if (k & kOAppend) bits |= kOpenAppend;
    if (k & kOCreat) bits |= kOpenCreate;
    if (k & kOTrunc) bits |= kOpenTrunc;
    return bits;
}

// Appends strace-quoted text to out, undoing its escapes: \" \\ \n \t ..., octal \33, hex \x1b.
void append_unescaped(std::string& out, sv s) {
    size_t i = 0;
    while (i < s.size()) {
        const size_t bs = s.find('\\', i);
        out.append(s.substr(i, bs == npos ? npos : bs - i));
        if (bs == npos || bs + 1 >= s.size()) return;
        i = bs + 1;
        const char c = s[i++];
        unsigned v = 0;
        switch (c) {
            case 'n': out += '\n'; break;
            case 't': out += '\t'; break;
            case 'r': out += '\r'; break;
            case 'v': out += '\v'; break;
            case 'f': out += '\f'; break;
            case 'x':
                for (int k = 0; k < 2 && i < s.size() && std::isxdigit(uint8_t(s[i])); ++k, ++i)
                    v = v * 16 + unsigned(is_digit(s[i]) ? s[i] - '0' : (s[i] | 0x20) - 'a' + 10);
                out += char(v);
                break;
            default:
                if (c >= '0' && c <= '7') {
                    v = unsigned(c - '0');
                    for (int k = 0; k < 2 && i < s.size() && s[i] >= '0' && s[i] <= '7'; ++k, ++i)
                        v = v * 8 + unsigned(s[i] - '0');
                    out += char(v);
                } else {
                    out += c;  // \" \\ and anything else stand for themselves
                }
        }
    }
}

void assign_unescaped(std::string& out, sv s) {
    out.clear();
    append_unescaped(out, s);
}

// A quoted path argument: "\"/tmp/a\\\"b\"" -> /tmp/a"b (a truncated "..."... keeps its text).
void assign_quoted(std::string& out, sv arg) {
    arg = trim(arg);
    if (arg.size() < 2 || arg[0] != '"') {
        out.clear();
        return;
    }
    const size_t end = skip_string(arg, 0);
    assign_unescaped(out, arg.substr(1, (end == npos ? arg.size() + 1 : end) - 2));
}

struct FdArg {
    int32_t fd = -1;
    sv path;  // the -y annotation, still escaped; -yy device suffixes removed
};

// "3", "3</tmp/f>", "5</tmp/f>(deleted)", "3</dev/vda<block 254:0>>", "AT_FDCWD</tmp>", "-1".
FdArg parse_fd(sv arg) {
    FdArg out;
    arg = trim(arg);
    size_t n = 0;
    if (consume(arg, "AT_FDCWD")) {
        out.fd = kAtFdcwd;
    } else {
        int64_t v = 0;
        if (!parse_int(arg, v)) return out;
        out.fd = int32_t(v);
        while (n < arg.size() && (is_word(arg[n]) || arg[n] == '-')) ++n;
    }
    if (n >= arg.size() || arg[n] != '<') return out;
    const size_t end = skip_annotation(arg, n);
    if (end == npos) return out;
    sv path = arg.substr(n + 1, end - n - 2);
    if (path.ends_with('>') && path.front() == '/') path = path.substr(0, path.find('<'));
    out.path = path;
    return out;
}

void assign_fd(sv arg, int32_t& fd, std::string& path) {
    const FdArg a = parse_fd(arg);
    fd = a.fd;
    assign_unescaped(path, a.path);
}

// Sum of iov_len over "[{iov_base=..., iov_len=100}, ...]"; `complete` is false when strace
// abbreviated the list ("...") or printed only an address.
uint64_t iov_sum(sv list, bool& complete) {
    uint64_t sum = 0;
    complete = list.starts_with('[');
    for_each_item(strip_wrapper(list, '[', ']'), [&](sv item) {
        if (item == "...") complete = false;
        else sum += u64_of(field(item, "iov_len"));
        return true;
    });
    return sum;
}

// Positional arguments, split once per call.
struct Args {
    static constexpr size_t kMax = 8;
    std::array<sv, kMax> v{};
    size_t n = 0;

    explicit Args(sv text) {
        for_each_item(text, [this](sv item) {
            v[n++] = item;
            return n < kMax;
        });
    }
    sv operator[](size_t i) const { return i < n ? v[i] : sv{}; }
};

// The argument written "key=value" (clone's flags=...), empty when absent.
sv named_arg(const Args& a, sv key) {
    for (size_t i = 0; i < a.n; ++i)
        if (a.v[i].starts_with(key) && a.v[i].size() > key.size() && a.v[i][key.size()] == '=')
            return a.v[i].substr(key.size() + 1);
    return {};
}

// -------- per-syscall decoders: text arguments -> RawSyscall fields

void set_offset(RawSyscall& c, sv arg) {
    c.offset = u64_of(arg);
    c.has_offset = true;
}

void set_vector_bytes(RawSyscall& c, sv iov) {
    bool complete = false;
    c.bytes = iov_sum(iov, complete);
    if (!complete && c.ret_known && c.ret >= 0) c.bytes = uint64_t(c.ret);
}

void decode_rw(RawSyscall& c, const Args& a) {
    assign_fd(a[0], c.fd, c.fd_path);
    c.bytes = u64_of(a[2]);
    if (c.call == Syscall::pread64 || c.call == Syscall::pwrite64) set_offset(c, a[3]);
}

void decode_vector(RawSyscall& c, const Args& a) {
    assign_fd(a[0], c.fd, c.fd_path);
    set_vector_bytes(c, a[1]);
    if (c.call == Syscall::readv || c.call == Syscall::writev) return;
    if (int_or(a[3], -1) != -1) set_offset(c, a[3]);  // preadv2 offset -1: file position
    c.flags = parse_flags(a[4], kRwfNames);
}

void decode_lseek(RawSyscall& c, const Args& a) {
    assign_fd(a[0], c.fd, c.fd_path);
    set_offset(c, a[1]);
    c.cmd = int32_t(parse_flags(a[2], kWhenceNames));
}

void decode_sync_file_range(RawSyscall& c, const Args& a) {
    assign_fd(a[0], c.fd, c.fd_path);
    set_offset(c, a[1]);
    c.bytes = u64_of(a[2]);
    c.flags = parse_flags(a[3], kSyncFileRangeNames);
}

// open(path, flags[, mode]), openat(dirfd, path, flags[, mode]),
// openat2(dirfd, path, {flags=...}, size)
void decode_open(RawSyscall& c, const Args& a) {
    size_t first = 0;
    if (c.call != Syscall::open) {
        assign_fd(a[0], c.fd, c.fd_path);
        first = 1;
    }
    assign_quoted(c.path, a[first]);
    sv flags = a[first + 1];
    if (c.call == Syscall::openat2) flags = field(flags, "flags");
    c.open_flags = open_flag_bits(parse_flags(flags, kOpenFlagNames));
}

void decode_creat(RawSyscall& c, const Args& a) {
    assign_quoted(c.path, a[0]);
    c.open_flags = open_flag_bits(kOCreat | kOWronly | kOTrunc);
}

void decode_dup(RawSyscall& c, const Args& a) {
    assign_fd(a[0], c.fd, c.fd_path);
    if (c.call != Syscall::dup) c.fd2 = parse_fd(a[1]).fd;
}

// Only F_SETFL (the flags fcntl can change: O_APPEND, O_DIRECT, ...) and F_DUPFD* matter;
// returns false for other commands.
bool decode_fcntl(RawSyscall& c, const Args& a) {
    const sv cmd = trim(a[1]);
    if (cmd != "F_SETFL" && cmd != "F_DUPFD" && cmd != "F_DUPFD_CLOEXEC") return false;
    assign_fd(a[0], c.fd, c.fd_path);
    c.cmd = int32_t(parse_flags(cmd, kFcntlNames));
    if (c.cmd == kFcntlSetfl) {
        const uint32_t bits = open_flag_bits(parse_flags(a[2], kOpenFlagNames));
        c.open_flags = kOpenFlagsKnown | (bits & (kOpenDirect | kOpenAppend));
    }
    return true;
}

// io_setup(nr, [ctx]): the context appears in brackets once the call succeeded.
void decode_io_setup(RawSyscall& c, const Args& a) {
    c.count = u32_of(a[0]);
    if (a[1].starts_with('[')) c.ctx = u64_of(strip_wrapper(a[1], '[', ']'));
}

// Resets a reused iocb slot, keeping its path string's capacity.
void reset(RawIocb& cb) {
    cb.opcode = kIocbPread;
    cb.fd = -1;
    cb.fd_path.clear();
    cb.bytes = cb.offset = cb.data = 0;
}

void decode_iocb(sv item, RawIocb& cb) {
    reset(cb);
    sv buf;
    for_each_item(strip_wrapper(item, '{', '}'), [&](sv f) {
        const size_t eq = f.find('=');
        const sv key = f.substr(0, eq), value = eq == npos ? sv{} : f.substr(eq + 1);
        if (key == "aio_data") cb.data = u64_of(value);
        else if (key == "aio_lio_opcode") cb.opcode = uint8_t(parse_flags(value, kIocbCmdNames));
        else if (key == "aio_fildes") assign_fd(value, cb.fd, cb.fd_path);
        else if (key == "aio_buf") buf = value;
        else if (key == "aio_nbytes") cb.bytes = u64_of(value);
        else if (key == "aio_offset") cb.offset = u64_of(value);
        return true;
    });
    if (cb.opcode == kIocbPreadv || cb.opcode == kIocbPwritev) {
        bool complete = false;
        cb.bytes = iov_sum(buf, complete);
    }
}

// io_submit(ctx, nr, [iocbs]); "[...]" when strace abbreviated them. RawIocb slots (and their
// path strings) are reused from call to call.
void decode_io_submit(RawSyscall& c, const Args& a) {
    c.ctx = u64_of(a[0]);
    c.count = u32_of(a[1]);
    size_t used = 0;
    for_each_item(strip_wrapper(a[2], '[', ']'), [&](sv item) {
        if (!item.starts_with('{')) return item != "...";
        if (used == c.iocbs.size()) c.iocbs.emplace_back();
        decode_iocb(item, c.iocbs[used++]);
        return true;
    });
    c.iocbs.resize(used);
}

void decode_io_getevents(RawSyscall& c, const Args& a) {
    c.ctx = u64_of(a[0]);
    c.count = u32_of(a[1]);
    c.count2 = u32_of(a[2]);
}

void decode_io_uring_setup(RawSyscall& c, const Args& a) {
    c.count = u32_of(a[0]);
    c.flags = parse_flags(field(a[1], "flags"), kUringSetupNames);
}

void decode_io_uring_enter(RawSyscall& c, const Args& a) {
    assign_fd(a[0], c.fd, c.fd_path);
    c.count = u32_of(a[1]);
    c.count2 = u32_of(a[2]);
    c.flags = parse_flags(a[3], kUringEnterNames);
}

// mmap(addr, len, prot, flags, fd, off): cmd = PROT_* bits, flags = MAP_* bits.
void decode_mmap(RawSyscall& c, const Args& a, uint64_t offset_unit) {
    c.bytes = u64_of(a[1]);
    c.cmd = int32_t(parse_flags(a[2], kMmapProtNames));
    c.flags = parse_flags(a[3], kMmapFlagNames);
    assign_fd(a[4], c.fd, c.fd_path);
    set_offset(c, a[5]);
    c.offset *= offset_unit;
}

// CLONE_* bits of a clone/clone3/fork/vfork call (also of its unfinished first half).
uint32_t spawn_flags(Syscall call, sv args) {
    switch (call) {
        case Syscall::clone: return parse_flags(named_arg(Args(args), "flags"), kCloneFlagNames);
        case Syscall::clone3: {  // "{flags=...} => {parent_tid=[N]}, 88": the struct before "=>"
            const sv in = Args(args)[0];
            return parse_flags(field(in.substr(0, in.find(" => ")), "flags"), kCloneFlagNames);
        }
        case Syscall::vfork: return 0x100 | 0x4000;  // CLONE_VM | CLONE_VFORK
        default: return 0;
    }
}

// Fills the call-specific fields; false when the call is one we do not follow after all.
bool decode_args(RawSyscall& c, const Args& a, sv args) {
    switch (c.call) {
        case Syscall::read: case Syscall::write: case Syscall::pread64: case Syscall::pwrite64:
            decode_rw(c, a); break;
        case Syscall::readv: case Syscall::writev: case Syscall::preadv: case Syscall::pwritev:
        case Syscall::preadv2: case Syscall::pwritev2:
            decode_vector(c, a); break;
        case Syscall::lseek: decode_lseek(c, a); break;
        case Syscall::fsync: case Syscall::fdatasync: case Syscall::close:
        case Syscall::io_uring_register:
            assign_fd(a[0], c.fd, c.fd_path); break;
        case Syscall::sync_file_range: decode_sync_file_range(c, a); break;
        case Syscall::open: case Syscall::openat: case Syscall::openat2: decode_open(c, a); break;
        case Syscall::creat: decode_creat(c, a); break;
        case Syscall::dup: case Syscall::dup2: case Syscall::dup3: decode_dup(c, a); break;
        case Syscall::fcntl: return decode_fcntl(c, a);
        case Syscall::io_setup: decode_io_setup(c, a); break;
        case Syscall::io_destroy: c.ctx = u64_of(a[0]); break;
        case Syscall::io_submit: decode_io_submit(c, a); break;
        case Syscall::io_getevents: case Syscall::io_pgetevents: decode_io_getevents(c, a); break;
        case Syscall::io_uring_setup: decode_io_uring_setup(c, a); break;
        case Syscall::io_uring_enter: decode_io_uring_enter(c, a); break;
        case Syscall::mmap: decode_mmap(c, a, 1); break;
        case Syscall::clone: case Syscall::clone3: case Syscall::fork: case Syscall::vfork:
            c.flags = spawn_flags(c.call, args); break;
        case Syscall::exit: case Syscall::exit_group: case Syscall::unknown: break;
    }
    return true;
}

// Resets the reused call, keeping the capacity of its strings (and, for io_submit, its iocbs).
void reset(RawSyscall& c, Syscall which) {
    c.call = which;
    c.fd = c.fd2 = -1;
    c.cmd = 0;
    c.offset = c.bytes = c.ctx = 0;
    c.has_offset = false;
    c.count = c.count2 = c.flags = c.open_flags = 0;
    c.path.clear();
    c.fd_path.clear();
    c.ret_path.clear();
    if (which != Syscall::io_submit) c.iocbs.clear();
}

// Calls whose returned fd strace -y annotates and the decoder wants named.
bool returns_fd(Syscall call) {
    switch (call) {
        case Syscall::open: case Syscall::openat: case Syscall::openat2: case Syscall::creat:
        case Syscall::dup: case Syscall::dup2: case Syscall::dup3: case Syscall::fcntl:
        case Syscall::io_uring_setup:
            return true;
        default: return false;
    }
}

bool is_spawn(Syscall call) {
    return call == Syscall::clone || call == Syscall::clone3 || call == Syscall::fork ||
           call == Syscall::vfork;
}

// Names other architectures or older kernels print for calls we follow.
struct Alias {
    sv name;
    Syscall call;
};
constexpr Alias kAliases[] = {
    {"pread", Syscall::pread64}, {"pwrite", Syscall::pwrite64}, {"_llseek", Syscall::lseek},
    {"fcntl64", Syscall::fcntl}, {"mmap2", Syscall::mmap},
};

Syscall lookup_syscall(sv name) {
    const Syscall call = syscall_from_name(name);
    if (call != Syscall::unknown) return call;
    for (const Alias& a : kAliases)
        if (a.name == name) return a.call;
    return Syscall::unknown;
}

// _llseek(fd, hi, lo, [result], whence) and mmap2 (offset in 4 KiB pages) differ from their
// x86_64 twins only in argument layout.
bool decode_all_args(RawSyscall& c, sv name, sv args) {
    const Args a(args);
    if (name == "_llseek") {
        assign_fd(a[0], c.fd, c.fd_path);
        c.offset = u64_of(a[1]) << 32 | (u64_of(a[2]) & 0xffffffffu);
        c.has_offset = true;
        c.cmd = int32_t(parse_flags(a[4], kWhenceNames));
        return true;
    }
    if (name == "mmap2") {
        decode_mmap(c, a, 4096);
        return true;
    }
    return decode_args(c, a, args);
}

// "strace: Process 123 attached" / "... detached" -> pid and which; false for other messages.
bool parse_process_message(sv s, int32_t& pid, bool& attached) {
    s = trim(s);
    if (!consume(s, "strace: Process ")) return false;
    const size_t n = parse_digits(s, pid);
    if (n == 0) return false;
    s = trim_left(s.substr(n));
    attached = s.starts_with("attached");
    return attached || s.starts_with("detached");
}

// strace -f writing to stderr prints its own "strace: Process N attached" in the middle of the
// line being written; returns where that message starts, or npos.
size_t find_spliced_message(sv line) {
    const size_t at = line.find("strace: Process ");
    if (at == npos || at == 0) return npos;
    int32_t pid = 0;
    bool attached = false;
    return parse_process_message(line.substr(at), pid, attached) ? at : npos;
}

constexpr size_t kShownBadText = 200;

// "WHERE: not strace output: TEXT", WHERE being "line N" or "FILE:N".
Error bad_line_error(const std::string& where, sv text) {
    std::string msg = where + ": not strace output";
    if (!text.empty()) msg += ": " + std::string(text.substr(0, kShownBadText));
    return Error{ErrorKind::bad_input, std::move(msg),
                 "give a log written by strace (e.g. strace -f -tt -T -y -o LOG), or read it "
                 "without strict mode to skip damaged lines"};
}

}  // namespace

// =============================================================================================
// StraceReader

struct StraceReader::Impl {
    struct Pending {
        Syscall call = Syscall::unknown;  // unknown: a call we ignore, kept only to match its end
        std::string name;
        std::string args;
        uint64_t ts_ns = 0;
    };

    RawSyscallSink& sink;
    ReaderOptions options;
    ReaderStats& stats;

    std::unordered_map<int32_t, Pending> pending;  // at most one open call per pid
    std::unordered_map<int32_t, uint64_t> exiting;  // called exit*, "+++" line not seen yet
    RawSyscall call;       // reused: its strings and iocb slots keep their capacity
    std::string joined;    // args of a joined unfinished+resumed pair
    std::string held;      // head of a line cut by a spliced strace message
    bool splice_open = false;

    // "[pid N]" logs omit the prefix while one process is traced; these find out whose it is.
    bool bracket_mode = false;
    std::unordered_set<int32_t> live;
    int32_t unprefixed_pid = 0;
    bool line_had_pid = false;  // the line being handled carried its own pid

    uint64_t last_raw_ts = 0, day_offset = 0;

    Impl(RawSyscallSink& s, ReaderOptions o, ReaderStats& st)
        : sink(s), options(o), stats(st), unprefixed_pid(o.default_pid) {}

    Status feed(sv line);
    Status handle(StraceLine& l, sv text);
    Status bad_line(sv text);
    int32_t resolve_pid(const StraceLine& l);
    void note_process_message(sv text);
    uint64_t adjust_ts(uint64_t raw);
    uint64_t time_of_day(uint64_t raw);
    void on_exit_line(const StraceLine& l);
    void on_unfinished(const StraceLine& l);
    void on_resumed(const StraceLine& l);
    Pending* find_pending(const StraceLine& l);
    void emit(Syscall which, sv name, sv args, const StraceLine& l, uint64_t ts_ns);
    void finish();
};

Status StraceReader::Impl::feed(sv line) {
    ++stats.lines;
    if (splice_open) {  // this line continues the one cut by strace's message
        held.append(line);
        splice_open = false;
        line = held;
    }
    StraceLine l = parse_strace_line(line);
    if (l.kind == StraceLineKind::bad) {
        const size_t at = find_spliced_message(line);
        if (at != npos) {
            note_process_message(line.substr(at));
            if (line.data() != held.data()) held.assign(line.substr(0, at));
            else held.resize(at);
            splice_open = true;
            return {};
        }
    }
    return handle(l, line);
}

Status StraceReader::Impl::handle(StraceLine& l, sv text) {
    if (l.kind == StraceLineKind::blank) return {};
    if (l.kind == StraceLineKind::bad) return bad_line(text);
    if (l.kind == StraceLineKind::info) {
        note_process_message(text);
        return {};
    }
    line_had_pid = l.pid != 0;
    l.pid = resolve_pid(l);
    if (l.ts_ns != 0) l.ts_ns = adjust_ts(l.ts_ns);
    switch (l.kind) {
        case StraceLineKind::syscall:
            emit(lookup_syscall(l.name), l.name, l.args, l, l.ts_ns);
            break;
        case StraceLineKind::unfinished: on_unfinished(l); break;
        case StraceLineKind::resumed: on_resumed(l); break;
        case StraceLineKind::signal: ++stats.signals; break;
        case StraceLineKind::exited: case StraceLineKind::killed: on_exit_line(l); break;
        default: break;
    }
    return {};
}

Status StraceReader::Impl::bad_line(sv text) {
    ++stats.bad_lines;
    if (stats.first_bad_line == 0) {
        stats.first_bad_line = stats.lines;
        stats.first_bad_text.assign(text.substr(0, kShownBadText));
    }
    if (!options.strict) return {};
    return tl::unexpected(bad_line_error("line " + std::to_string(stats.lines), text));
}

// Lines without a pid belong to default_pid, except in "[pid N]" logs, where they belong to the
// only live process (strace drops the prefix then), learned from the prefixes as they appear.
int32_t StraceReader::Impl::resolve_pid(const StraceLine& l) {
    if (l.pid_in_brackets) {
        bracket_mode = true;
        if (live.insert(l.pid).second && unprefixed_pid == 0) unprefixed_pid = l.pid;
        return l.pid;
    }
    if (l.pid != 0) return l.pid;
    if (bracket_mode && live.size() == 1) return *live.begin();
    return unprefixed_pid;
}

void StraceReader::Impl::note_process_message(sv text) {
    int32_t pid = 0;
    bool attached = false;
    if (!parse_process_message(text, pid, attached)) return;
    if (attached) live.insert(pid);
    else live.erase(pid);
}

uint64_t StraceReader::Impl::adjust_ts(uint64_t raw) {
    const uint64_t ts = raw < kDayNs ? time_of_day(raw) : raw;
    if (stats.first_ts_ns == 0) stats.first_ts_ns = ts;
    if (ts > stats.last_ts_ns) stats.last_ts_ns = ts;
    return ts;
}

// -t/-tt stamps restart at midnight: a jump back of more than 12 hours is the next day; a jump
// forward of more than 12 hours after that is a late line from before midnight.
uint64_t StraceReader::Impl::time_of_day(uint64_t raw) {
    if (last_raw_ts != 0 && last_raw_ts > raw + kHalfDayNs) {
        day_offset += kDayNs;
    } else if (last_raw_ts != 0 && raw > last_raw_ts + kHalfDayNs && day_offset >= kDayNs) {
        return raw + day_offset - kDayNs;
    }
    last_raw_ts = raw;
    return raw + day_offset;
}

void StraceReader::Impl::on_exit_line(const StraceLine& l) {
    live.erase(l.pid);
    exiting.erase(l.pid);
    pending.erase(l.pid);  // a call cut by the exit never resumes
    sink.on_thread_exit(l.pid, l.ts_ns);
}

void StraceReader::Impl::on_unfinished(const StraceLine& l) {
    const Syscall which = lookup_syscall(l.name);
    Pending& p = pending[l.pid];  // replaces a call that never resumed
    p.call = which;
    p.name.assign(l.name);
    p.ts_ns = l.ts_ns;
    if (which != Syscall::unknown) p.args.assign(l.args);
    if (is_spawn(which)) sink.on_pending_spawn(l.pid, spawn_flags(which, l.args));
}

// The open call of this pid. In "[pid N]" logs either half may have been printed without the
// prefix: then a call of the same name started without a pid (or ends without one) matches.
StraceReader::Impl::Pending* StraceReader::Impl::find_pending(const StraceLine& l) {
    if (auto it = pending.find(l.pid); it != pending.end() && !it->second.name.empty()) {
        if (it->second.name == l.name) return &it->second;
        it->second.name.clear();  // a thread runs one call at a time: that one's end was lost
        it->second.call = Syscall::unknown;
        return nullptr;
    }
    for (auto& [pid, p] : pending) {
        const bool started_unprefixed = pid == 0 || pid == options.default_pid;
        if (p.name != l.name || (line_had_pid && !started_unprefixed)) continue;
        if (line_had_pid && unprefixed_pid == options.default_pid) unprefixed_pid = l.pid;
        return &p;
    }
    return nullptr;
}

void StraceReader::Impl::on_resumed(const StraceLine& l) {
    Pending* p = find_pending(l);
    if (p == nullptr) {
        ++stats.orphan_resumed;
        return;
    }
    const Syscall which = p->call;
    const uint64_t ts = p->ts_ns != 0 ? p->ts_ns : l.ts_ns;
    if (which != Syscall::unknown) {
        joined.assign(p->args);
        joined.append(l.args);
    }
    p->name.clear();
    p->call = Syscall::unknown;
    emit(which, l.name, joined, l, ts);
}

void StraceReader::Impl::emit(Syscall which, sv name, sv args, const StraceLine& l,
                              uint64_t ts_ns) {
    if (which == Syscall::unknown) {
        ++stats.ignored_syscalls;
        return;
    }
    RawSyscall& c = call;
    reset(c, which);
    c.ts_ns = ts_ns;
    c.dur_ns = l.dur_ns;
    c.tid = l.pid;
    c.ret = l.ret;
    c.ret_known = l.ret_known;
    if (!decode_all_args(c, name, args)) {
        ++stats.ignored_syscalls;
        return;
    }
    if (returns_fd(which)) assign_unescaped(c.ret_path, parse_fd(l.ret_text).path);
    if (which == Syscall::exit || which == Syscall::exit_group) exiting[l.pid] = ts_ns;
    ++stats.syscalls;
    sink.on_syscall(c);
}

void StraceReader::Impl::finish() {
    if (splice_open) {  // the log ended inside a spliced line: count it like any cut line
        splice_open = false;
        (void)bad_line(held);
    }
    for (const auto& [pid, p] : pending)
        if (!p.name.empty()) ++stats.unfinished_at_end;
    pending.clear();
    for (const auto& [tid, ts] : exiting) sink.on_thread_exit(tid, ts);
    exiting.clear();
}

StraceReader::StraceReader(RawSyscallSink& sink, ReaderOptions options)
    : impl_(std::make_unique<Impl>(sink, options, stats_)) {}

StraceReader::~StraceReader() = default;

Status StraceReader::feed_line(std::string_view line) { return impl_->feed(line); }

void StraceReader::finish() { impl_->finish(); }

// =============================================================================================
// Files

namespace {

// "prefix.1234" (strace -ff -o prefix) -> 1234; 0 otherwise.
int32_t pid_from_file_name(const std::string& path) {
    const sv name = sv(path).substr(path.find_last_of('/') + 1);
    const size_t dot = name.rfind('.');
    if (dot == npos || dot + 1 == name.size()) return 0;
    const sv digits = name.substr(dot + 1);
    int32_t pid = 0;
    return parse_digits(digits, pid) == digits.size() ? pid : 0;
}

Error open_error(const std::string& path, int err) {
    const std::string what = "cannot open strace log " + path + ": " + std::strerror(err);
    if (err == ENOENT || err == ENOTDIR)
        return Error{ErrorKind::not_found, what, "check the path of the log"};
    if (err == EACCES || err == EPERM)
        return Error{ErrorKind::permission, what, "read it as a user allowed to, e.g. with sudo"};
    return Error{ErrorKind::bad_input, what, {}};
}

struct FileCloser {
    void operator()(FILE* f) const { std::fclose(f); }
};

// Reads `file` in large chunks and hands out whole lines; the buffer grows only for a line longer
// than itself, so memory stays flat however long the log.
class LineSplitter {
public:
    explicit LineSplitter(FILE* file) : file_(file), buf_(kChunk) {}

    // Next line without its newline; false at the end. A last line without newline still comes.
    bool next(sv& line) {
        for (;;) {
            const char* start = buf_.data() + begin_;
            if (const void* nl = std::memchr(start, '\n', end_ - begin_)) {
                const size_t len = size_t(static_cast<const char*>(nl) - start);
                line = sv(start, len);
                begin_ += len + 1;
                return true;
            }
            if (eof_) return take_rest(line);
            refill();
        }
    }
    bool failed() const { return std::ferror(file_) != 0; }

private:
    static constexpr size_t kChunk = 1 << 20;

    bool take_rest(sv& line) {
        if (begin_ == end_) return false;
        line = sv(buf_.data() + begin_, end_ - begin_);
        begin_ = end_;
        return true;
    }

    void refill() {
        std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
        if (buf_.size() - end_ < kChunk / 2) buf_.resize(buf_.size() * 2);
        const size_t n = std::fread(buf_.data() + end_, 1, buf_.size() - end_, file_);
        end_ += n;
        if (n == 0) eof_ = true;
    }

    FILE* file_;
    std::vector<char> buf_;
    size_t begin_ = 0, end_ = 0;
    bool eof_ = false;
};

}  // namespace

Result<ReaderStats> read_strace_file(const std::string& path, RawSyscallSink& sink,
                                     ReaderOptions options) {
    std::unique_ptr<FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
    if (!file) return tl::unexpected(open_error(path, errno));
    if (options.default_pid == 0) options.default_pid = pid_from_file_name(path);
    StraceReader reader(sink, options);
    LineSplitter lines(file.get());
    sv line;
    while (lines.next(line)) {
        if (!reader.feed_line(line)) {  // strict: the failing line is the first bad one
            const ReaderStats& st = reader.stats();
            return tl::unexpected(bad_line_error(path + ":" + std::to_string(st.first_bad_line),
                                                 st.first_bad_text));
        }
    }
    if (lines.failed())
        return fail(ErrorKind::bad_input, "cannot read strace log " + path + ": " +
                                              std::strerror(errno));
    reader.finish();
    return reader.stats();
}

}  // namespace iodiag::trace
