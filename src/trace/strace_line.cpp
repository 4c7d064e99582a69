// strace's line grammar: parse_strace_line splits one line into its parts (pid prefix,
// timestamp, call or resumed half, return value, duration) without allocating.
#include "trace/strace_parser.hpp"
#include "trace/strace_text.hpp"

namespace iodiag::trace {

using namespace strace;

namespace {

constexpr sv kUnfinished = "<unfinished ...>";

// ---------------------------------------------------------------------------------------------
// errno names (x86_64 / generic values); strace prints "-1 ENOENT (...)".


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

}  // namespace iodiag::trace
