// perf trace's text output: parse_perf_line splits one line into its parts without allocating;
// PerfReader joins split calls per thread, decodes the named arguments of the syscalls iodiag
// models into RawSyscalls, and holds back opens until their fd is named (perf shows openat's
// filename only as a pointer, but annotates later uses of the fd: "fd: 7</data/f>").
#include "trace/perf_parser.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <span>
#include <unordered_map>

#include <sys/types.h>

#include "trace/io_event.hpp"
#include "trace/io_flags.hpp"
#include "trace/open_flags.hpp"

namespace iodiag::trace {
namespace {

using sv = std::string_view;
constexpr size_t npos = sv::npos;
constexpr uint64_t kNsPerMs = 1'000'000;
constexpr sv kContinued = "... [continued]:";

bool digit(char c) { return c >= '0' && c <= '9'; }
bool word_char(char c) {
    return digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

sv strip(sv s) {
    size_t b = 0, e = s.size();
    while (b < e && blank(s[b])) ++b;
    while (e > b && blank(s[e - 1])) --e;
    return s.substr(b, e - b);
}
sv strip_front(sv s) { return s.substr(std::min(s.size(), s.find_first_not_of(" \t"))); }

// Leading word characters of s.
size_t word_length(sv s) {
    size_t n = 0;
    while (n < s.size() && word_char(s[n])) ++n;
    return n;
}

// A number at the start of s, as perf prints them: "4096", "-1", "0x7f00". Returns the characters
// used, 0 when there is none.
size_t read_number(sv s, int64_t& out) {
    const bool minus = !s.empty() && s[0] == '-';
    const size_t sign = minus ? 1 : 0;
    const bool hex = s.substr(sign).starts_with("0x");
    const size_t start = sign + (hex ? 2 : 0);
    uint64_t magnitude = 0;
    const auto [end, ec] =
        std::from_chars(s.data() + start, s.data() + s.size(), magnitude, hex ? 16 : 10);
    if (ec != std::errc()) return 0;
    out = minus ? -int64_t(magnitude) : int64_t(magnitude);
    return size_t(end - s.data());
}

int64_t number_or(sv s, int64_t absent) {
    int64_t v = 0;
    return read_number(strip(s), v) ? v : absent;
}

// "1477940.852" (ms, as perf prints times) -> ns. False when s is not such a number.
bool ms_to_ns(sv s, uint64_t& ns) {
    uint64_t whole = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), whole);
    if (ec != std::errc()) return false;
    sv frac = s.substr(size_t(end - s.data()));
    uint64_t part = 0, scale = kNsPerMs;
    if (!frac.empty()) {
        if (frac[0] != '.') return false;
        for (char c : frac.substr(1)) {
            if (!digit(c)) return false;
            if (scale > 1) part += uint64_t(c - '0') * (scale /= 10);
        }
    }
    ns = whole * kNsPerMs + part;
    return true;
}

// perf prints errno names ("ENOENT"); glibc knows them all, so no table of our own.
int64_t errno_named(sv name) {
    for (int e = 1; e < 256; ++e) {
        const char* known = strerrorname_np(e);
        if (known != nullptr && name == known) return e;
    }
    return 1;  // a name we do not know is still a failure
}

// ---------------------------------------------------------------------------------------------
// Line parsing

// "1477940.852 " or "? " at the front of s (the entry time; "?" when perf never saw the entry).
// A relative clock starts at 0.000, which RawSyscall reads as "unknown": that one becomes 1 ns.
bool take_timestamp(sv& s, PerfLine& out) {
    const size_t space = s.find(' ');
    if (space == npos) return false;
    const sv stamp = s.substr(0, space);
    if (stamp != "?") {
        if (!ms_to_ns(stamp, out.ts_ns)) return false;
        if (out.ts_ns == 0) out.ts_ns = 1;
    }
    s = strip_front(s.substr(space));
    return true;
}

// "( 0.019 ms): " or "(         ): ". Event lines of `perf trace --no-syscalls` have neither.
bool take_duration(sv& s, PerfLine& out) {
    if (s.empty() || s[0] != '(') return true;
    const size_t close = s.find("): ");
    if (close == npos) return false;
    const sv inside = strip(s.substr(1, close - 1));
    if (!inside.empty()) {
        if (!inside.ends_with(" ms") || !ms_to_ns(strip(inside.substr(0, inside.size() - 3)),
                                                  out.dur_ns))
            return false;
        out.has_dur = true;
    }
    s = s.substr(close + 3);
    return true;
}

// What may follow the thread prefix: a call, a continued call, or another event.
bool starts_body(sv s) {
    if (s.starts_with(kContinued) || s.starts_with("majfault") || s.starts_with("minfault"))
        return true;
    size_t n = 0;
    while (n < s.size() && (word_char(s[n]) || s[n] == ':')) ++n;
    return n > 0 && n < s.size() && s[n] == '(';
}

// "fio/1234 ", "Web Content/77 ", "kworker/u8:2/99 " (perf prints up to 15 characters of comm,
// which may hold spaces and slashes), or a bare "1234 "; perf leaves the prefix out when it
// traces a single thread.
void take_thread(sv& s, PerfLine& out) {
    s = strip_front(s);
    // "N " then the body; true when that is what `from` holds.
    const auto tid_then_body = [&out](sv from, sv& body) {
        int32_t tid = 0;
        const auto [end, ec] = std::from_chars(from.data(), from.data() + from.size(), tid);
        const size_t used = size_t(end - from.data());
        if (ec != std::errc() || used >= from.size() || from[used] != ' ') return false;
        body = strip_front(from.substr(used));
        if (!starts_body(body)) return false;
        out.tid = tid;
        return true;
    };
    constexpr size_t kMaxComm = 16;
    sv body;
    for (size_t slash = s.find('/'); slash != npos && slash <= kMaxComm;
         slash = s.find('/', slash + 1)) {
        if (!tid_then_body(s.substr(slash + 1), body)) continue;
        out.comm = s.substr(0, slash);
        s = body;
        return;
    }
    if (tid_then_body(s, body)) s = body;
}

// s[i] is '"': the index after the closing quote, npos when the line is cut inside the string.
size_t after_quoted(sv s, size_t i) {
    for (++i; i < s.size(); ++i) {
        if (s[i] == '\\') ++i;
        else if (s[i] == '"') return i + 1;
    }
    return npos;
}

struct CallEnd {
    size_t close = npos;  // the ')' that ends the arguments
    size_t result = npos; // the '=' of the result, npos for an entry ("...")
};

// Finds the ')' after which only " = ret" or " ..." follows. Arguments hold parentheses
// ("pid: 12 (fio)") and fd annotations with any character in them, so the call ends at the first
// ')' that the result follows, not at a balanced one.
CallEnd find_call_end(sv s, size_t from) {
    for (size_t i = from; i < s.size(); ++i) {
        if (s[i] == '"') {
            i = after_quoted(s, i);
            if (i == npos) return {};
            --i;
            continue;
        }
        if (s[i] != ')') continue;
        const size_t next = s.find_first_not_of(' ', i + 1);
        if (next == npos) continue;
        if (s[next] == '=') return {i, next};
        if (s.substr(next) == "...") return {i, npos};
    }
    return {};
}

// "-1 ENOENT (No such file or directory)", "4096", "0x7f...", "23525 (fio)", "30</f>", "?", "".
// False when it is cut off (an open "(" or "<").
bool parse_return(sv text, PerfLine& out) {
    out.ret_text = text;
    if (text.find('(') != npos && text.find(')') == npos) return false;
    if (text.find('<') != npos && !text.ends_with('>')) return false;
    int64_t v = 0;
    if (text.empty() || text == "?" || read_number(text, v) == 0) return true;
    out.ret = v;
    out.ret_known = true;
    if (v == -1 && text.starts_with("-1 E")) {
        const sv name = text.substr(3, text.find(' ', 3) - 3);
        out.ret = -errno_named(name);
    }
    return true;
}

void parse_body(sv s, PerfLine& out) {
    if (s.starts_with("majfault") || s.starts_with("minfault")) {
        out.kind = PerfLineKind::event;
        return;
    }
    const bool continued = s.starts_with(kContinued);
    if (continued) s = strip_front(s.substr(kContinued.size()));
    size_t n = 0;
    while (n < s.size() && (word_char(s[n]) || s[n] == ':')) ++n;
    if (n == 0 || n >= s.size() || s[n] != '(') return;
    out.name = s.substr(0, n);
    if (out.name.find(':') != npos) {  // sched:sched_switch(...), block:block_rq_issue(...)
        out.kind = PerfLineKind::event;
        return;
    }
    const CallEnd end = find_call_end(s, n + 1);
    if (end.close == npos) return;
    if (end.result == npos) {
        if (continued) return;
        out.args = s.substr(n + 1, end.close - n - 1);
        out.kind = PerfLineKind::entry;
        return;
    }
    sv ret = s.substr(end.result + 1);
    if (!ret.empty() && ret[0] == ' ') ret.remove_prefix(1);
    ret = strip(ret);
    // perf prints nothing for a pid-valued 0 (wait4 WNOHANG, the child's side of clone).
    if (!parse_return(ret, out)) return;
    if (!continued) out.args = s.substr(n + 1, end.close - n - 1);
    out.kind = continued ? PerfLineKind::continued : PerfLineKind::syscall;
}

}  // namespace

PerfLine parse_perf_line(std::string_view line) {
    PerfLine out;
    sv s = strip(line);
    if (s.empty()) {
        out.kind = PerfLineKind::blank;
        return out;
    }
    if (s.starts_with("LOST ") && s.ends_with(" events!")) {
        int64_t n = 0;
        if (read_number(s.substr(5), n) > 0 && n >= 0) {
            out.kind = PerfLineKind::lost;
            out.lost = uint64_t(n);
        }
        return out;
    }
    if (s.starts_with("Summary of ")) {
        out.kind = PerfLineKind::summary;
        return out;
    }
    if (!take_timestamp(s, out) || !take_duration(s, out)) return PerfLine{};
    take_thread(s, out);
    parse_body(s, out);
    if (out.kind == PerfLineKind::bad) out = PerfLine{};  // no half-filled fields
    return out;
}

// =============================================================================================
// Argument decoding

namespace {

// "fd: 3</tmp/f>, buf: 0x7f.., count: 4096" as key/value pairs. perf leaves out arguments that
// are zero, so an absent key reads as 0.
class NamedArgs {
public:
    explicit NamedArgs(sv text) {
        size_t i = 0;
        while (i < text.size() && n_ < kMax) {
            const size_t key_len = word_length(text.substr(i));
            if (key_len == 0 || text.substr(i + key_len, 2) != ": ") return;
            const size_t value_at = i + key_len + 2;
            const size_t end = next_key(text, value_at);
            items_[n_++] = {text.substr(i, key_len),
                            text.substr(value_at, (end == npos ? text.size() : end) - value_at)};
            if (end == npos) return;
            i = end + 2;
        }
    }
    sv operator[](sv key) const {
        for (size_t k = 0; k < n_; ++k)
            if (items_[k].first == key) return items_[k].second;
        return {};
    }

private:
    static constexpr size_t kMax = 8;

    // The ", " that starts the next "key: ". Paths in fd annotations may hold ", " too, but not
    // followed by a word and ": ".
    static size_t next_key(sv text, size_t from) {
        for (size_t i = from; i + 1 < text.size(); ++i) {
            if (text[i] == '"') {
                i = after_quoted(text, i);
                if (i == npos) return npos;
                --i;
            } else if (text[i] == ',' && text[i + 1] == ' ') {
                const size_t len = word_length(text.substr(i + 2));
                if (len > 0 && text.substr(i + 2 + len, 2) == ": ") return i;
            }
        }
        return npos;
    }

    std::array<std::pair<sv, sv>, kMax> items_{};
    size_t n_ = 0;
};

struct Named {
    sv name;
    uint64_t bits;
};

// perf's spellings, without the CLONE_/SEEK_/... prefixes strace prints; x86_64 values.
constexpr Named kCloneFlags[] = {
    {"VM", 0x100},          {"FS", 0x200},         {"FILES", kCloneFiles},
    {"SIGHAND", 0x800},     {"VFORK", 0x4000},     {"THREAD", kCloneThread},
};
// What glibc's pthread_create passes to clone3, whose flags perf cannot show.
constexpr uint32_t kPthreadCloneFlags = 0x100 | 0x200 | kCloneFiles | 0x800 | kCloneThread;
constexpr uint32_t kVforkFlags = 0x100 | 0x4000;
constexpr Named kWhence[] = {
    {"SET", kSeekSet}, {"CUR", kSeekCur}, {"END", kSeekEnd}, {"DATA", 3}, {"HOLE", 4},
};
constexpr Named kSyncFileRangeFlags[] = {{"WAIT_BEFORE", 1}, {"WRITE", 2}, {"WAIT_AFTER", 4}};
constexpr Named kFcntlCommands[] = {
    {"DUPFD", kFcntlDupfd}, {"SETFL", kFcntlSetfl}, {"DUPFD_CLOEXEC", kFcntlDupfdCloexec},
};
constexpr Named kMmapProt[] = {{"READ", 1}, {"WRITE", 2}, {"EXEC", 4}};
constexpr Named kMmapFlags[] = {
    {"SHARED", 1}, {"PRIVATE", 2}, {"FIXED", 0x10}, {"ANONYMOUS", 0x20}, {"POPULATE", 0x8000},
};
constexpr uint32_t kMapAnonymous = 0x20;

// The table's value for a name; false when the table does not have it.
bool lookup(sv name, std::span<const Named> table, uint64_t& out) {
    for (const Named& entry : table) {
        if (entry.name != name) continue;
        out = entry.bits;
        return true;
    }
    return false;
}

// "RDWR|CREAT|0x101000", "READ", "5": names from the table, numbers as raw bits.
uint64_t flag_bits(sv text, std::span<const Named> table) {
    uint64_t bits = 0;
    text = strip(text);
    while (!text.empty()) {
        const size_t bar = text.find('|');
        const sv part = strip(text.substr(0, bar));
        int64_t v = 0;
        uint64_t named = 0;
        if (!part.empty() && read_number(part, v) == part.size()) bits |= uint64_t(v);
        else if (lookup(part, table, named)) bits |= named;
        if (bar == npos) break;
        text.remove_prefix(bar + 1);
    }
    return bits;
}

// "3", "3</tmp/f>", "CWD", "-1". The annotation is what /proc/PID/fd/N said when perf printed
// the line; perf does not escape it.
void assign_fd(sv value, int32_t& fd, std::string& path) {
    value = strip(value);
    path.clear();
    if (value == "CWD") {
        fd = kAtFdcwd;
        return;
    }
    int64_t v = 0;
    const size_t used = read_number(value, v);
    fd = value.empty() ? 0 : used ? int32_t(v) : -1;  // absent: perf hid a zero
    if (used > 0 && used + 1 < value.size() && value[used] == '<' && value.ends_with('>'))
        path.assign(value.substr(used + 1, value.size() - used - 2));
}

// A path argument: "\"/etc/x\"" when perf could read the string, a bare path from older
// vfs_getname set-ups, or a user pointer "0x7ffd..." that names nothing.
void assign_path(sv value, std::string& path) {
    value = strip(value);
    path.clear();
    if (value.starts_with("0x") || value.empty()) return;
    if (value.front() == '"') {
        const size_t end = after_quoted(value, 0);
        value = value.substr(1, (end == npos ? value.size() + 1 : end) - 2);
    }
    path.assign(value);
}

uint64_t u64_arg(const NamedArgs& a, sv key) { return uint64_t(number_or(a[key], 0)); }
uint32_t u32_arg(const NamedArgs& a, sv key) { return uint32_t(number_or(a[key], 0)); }

void set_offset(RawSyscall& c, int64_t offset) {
    c.offset = uint64_t(offset);
    c.has_offset = true;
}

// readv and friends show only the iovec's address: the bytes moved are the return value.
void decode_vector(RawSyscall& c, const NamedArgs& a) {
    assign_fd(a["fd"], c.fd, c.fd_path);
    c.bytes = c.ret_known && c.ret > 0 ? uint64_t(c.ret) : 0;
    switch (c.call) {
        case Syscall::preadv: case Syscall::pwritev:
            set_offset(c, number_or(a["pos_l"], 0));
            break;
        case Syscall::preadv2: case Syscall::pwritev2:
            if (const int64_t pos = number_or(a["pos_l"], 0); pos != -1) set_offset(c, pos);
            c.flags = uint32_t(flag_bits(a["flags"], {}));
            break;
        default: break;
    }
}

void decode_open(RawSyscall& c, const NamedArgs& a) {
    if (c.call == Syscall::openat || c.call == Syscall::openat2) assign_fd(a["dfd"], c.fd, c.fd_path);
    assign_path(c.call == Syscall::creat ? a["pathname"] : a["filename"], c.path);
    if (c.call == Syscall::creat) c.open_flags = creat_open_flags();
    // openat2's flags sit behind the `how` pointer perf does not follow: read only is a guess.
    else if (c.call == Syscall::openat2) c.open_flags = open_flags_of_text("RDONLY");
    else c.open_flags = open_flags_of_text(a["flags"]);
}

// Only F_SETFL (O_DIRECT/O_APPEND may change) and F_DUPFD* matter; false for other commands.
bool decode_fcntl(RawSyscall& c, const NamedArgs& a) {
    const sv name = strip(a["cmd"]);
    uint64_t cmd = kFcntlDupfd;  // F_DUPFD is 0, which perf leaves out
    if (!name.empty() && !lookup(name, kFcntlCommands, cmd)) return false;
    assign_fd(a["fd"], c.fd, c.fd_path);
    c.cmd = int32_t(cmd);
    if (c.cmd == kFcntlSetfl)
        c.open_flags = setfl_open_flags(a["arg"]);
    return true;
}

void decode_mmap(RawSyscall& c, const NamedArgs& a) {
    c.bytes = u64_arg(a, "len");
    c.cmd = int32_t(flag_bits(a["prot"], kMmapProt));
    c.flags = uint32_t(flag_bits(a["flags"], kMmapFlags));
    assign_fd(a["fd"], c.fd, c.fd_path);
    if (a["fd"].empty() && (c.flags & kMapAnonymous)) c.fd = -1;  // perf hides an anonymous fd
    set_offset(c, number_or(a["off"], 0));
}

uint32_t spawn_flags(Syscall call, const NamedArgs& a) {
    switch (call) {
        case Syscall::clone: return uint32_t(flag_bits(a["clone_flags"], kCloneFlags));
        case Syscall::clone3: return kPthreadCloneFlags;
        case Syscall::vfork: return kVforkFlags;
        default: return 0;
    }
}

// Fills the call-specific fields; false when the call is one we do not follow after all.
bool decode_args(RawSyscall& c, const NamedArgs& a) {
    switch (c.call) {
        case Syscall::read: case Syscall::write:
            assign_fd(a["fd"], c.fd, c.fd_path);
            c.bytes = u64_arg(a, "count");
            break;
        case Syscall::pread64: case Syscall::pwrite64:
            assign_fd(a["fd"], c.fd, c.fd_path);
            c.bytes = u64_arg(a, "count");
            set_offset(c, number_or(a["pos"], 0));
            break;
        case Syscall::readv: case Syscall::writev: case Syscall::preadv: case Syscall::pwritev:
        case Syscall::preadv2: case Syscall::pwritev2:
            decode_vector(c, a);
            break;
        case Syscall::lseek:
            assign_fd(a["fd"], c.fd, c.fd_path);
            set_offset(c, number_or(a["offset"], 0));
            c.cmd = int32_t(flag_bits(a["whence"], kWhence));
            break;
        case Syscall::fsync: case Syscall::fdatasync: case Syscall::close:
        case Syscall::io_uring_register:
            assign_fd(a["fd"], c.fd, c.fd_path);
            break;
        case Syscall::sync_file_range:
            assign_fd(a["fd"], c.fd, c.fd_path);
            set_offset(c, number_or(a["offset"], 0));
            c.bytes = u64_arg(a, "nbytes");
            c.flags = uint32_t(flag_bits(a["flags"], kSyncFileRangeFlags));
            break;
        case Syscall::open: case Syscall::openat: case Syscall::openat2: case Syscall::creat:
            decode_open(c, a);
            break;
        case Syscall::dup:
            assign_fd(a["fildes"], c.fd, c.fd_path);
            break;
        case Syscall::dup2: case Syscall::dup3: {
            std::string ignored;
            assign_fd(a["oldfd"], c.fd, c.fd_path);
            assign_fd(a["newfd"], c.fd2, ignored);
            break;
        }
        case Syscall::fcntl: return decode_fcntl(c, a);
        case Syscall::io_setup: c.count = u32_arg(a, "nr_events"); break;  // ctx: behind ctxp
        case Syscall::io_destroy: c.ctx = u64_arg(a, "ctx"); break;
        case Syscall::io_submit:  // the iocbs sit behind iocbpp, which perf does not follow
            c.ctx = u64_arg(a, "ctx_id");
            c.count = u32_arg(a, "nr");
            break;
        case Syscall::io_getevents: case Syscall::io_pgetevents:
            c.ctx = u64_arg(a, "ctx_id");
            c.count = u32_arg(a, "min_nr");
            c.count2 = u32_arg(a, "nr");
            break;
        case Syscall::io_uring_setup: c.count = u32_arg(a, "entries"); break;  // flags: in params
        case Syscall::io_uring_enter:
            assign_fd(a["fd"], c.fd, c.fd_path);
            c.count = u32_arg(a, "to_submit");
            c.count2 = u32_arg(a, "min_complete");
            c.flags = uint32_t(flag_bits(a["flags"], {}));
            break;
        case Syscall::mmap: decode_mmap(c, a); break;
        case Syscall::clone: case Syscall::clone3: case Syscall::fork: case Syscall::vfork:
            c.flags = spawn_flags(c.call, a);
            break;
        case Syscall::exit: case Syscall::exit_group: case Syscall::unknown: break;
    }
    return true;
}

bool one_of(Syscall call, std::initializer_list<Syscall> calls) {
    return std::find(calls.begin(), calls.end(), call) != calls.end();
}
bool is_open(Syscall call) {
    return one_of(call, {Syscall::open, Syscall::openat, Syscall::openat2, Syscall::creat});
}
bool is_spawn(Syscall call) {
    return one_of(call, {Syscall::clone, Syscall::clone3, Syscall::fork, Syscall::vfork});
}
// Calls whose `fd` is one of the process's fds (openat's is a directory, io_* take contexts).
bool names_fd(Syscall call) {
    return !is_open(call) && !is_spawn(call) &&
           !one_of(call, {Syscall::io_setup, Syscall::io_destroy, Syscall::io_submit,
                          Syscall::io_getevents, Syscall::io_pgetevents, Syscall::io_uring_setup,
                          Syscall::exit, Syscall::exit_group});
}

constexpr size_t kShownBadText = 200;

Error bad_line_error(const std::string& where, sv text) {
    std::string msg = where + ": not perf trace output";
    if (!text.empty()) msg += ": " + std::string(text.substr(0, kShownBadText));
    return Error{ErrorKind::bad_input, std::move(msg),
                 "give the output of perf trace (e.g. perf trace -T -o FILE -p PID), or read it "
                 "without --strict to skip damaged lines"};
}

uint64_t fd_key(int32_t tid, int32_t fd) { return uint64_t(uint32_t(tid)) << 32 | uint32_t(fd); }

}  // namespace

// =============================================================================================
// PerfReader

struct PerfReader::Impl {
    struct Entry {
        Syscall call = Syscall::unknown;
        std::string name;   // empty: no call open
        std::string args;
        uint64_t ts_ns = 0;
    };

    RawSyscallSink& sink;
    PerfReaderOptions options;
    PerfReaderStats& stats;
    std::unordered_map<int32_t, Entry> entries;     // per thread: the call whose end is to come
    // Successful opens whose file perf did not name, by (tid, fd), until a call names the fd.
    std::unordered_map<uint64_t, RawSyscall> held;
    std::unordered_map<int32_t, uint32_t> held_per_fd;  // fd -> held opens returning it
    bool in_summary = false;

    Impl(RawSyscallSink& s, PerfReaderOptions o, PerfReaderStats& st)
        : sink(s), options(std::move(o)), stats(st) {}

    Status feed(sv line);
    Status bad_line(sv text);
    void note_time(uint64_t ts);
    void on_entry(const PerfLine& l, int32_t tid);
    void on_continued(const PerfLine& l, int32_t tid);
    void emit(Syscall which, sv args, const PerfLine& l, int32_t tid, uint64_t ts_ns);
    void deliver(const RawSyscall& c);
    void release(int32_t tid, int32_t fd, const std::string& annotation, bool own_only = false);
    void name_held_fd(sv args, int32_t tid);
    std::string dup_name(const RawSyscall& c, sv args) const;
    void release_all(int32_t tid);
    std::string live_fd_path(int32_t tid, int32_t fd) const;
    uint32_t clone3_flags(int32_t parent, int64_t child) const;
    void finish();
};

Status PerfReader::Impl::feed(sv line) {
    ++stats.lines;
    PerfLine l = parse_perf_line(line);
    if (in_summary) {  // everything after the summary's heading belongs to it
        if (l.kind != PerfLineKind::blank) ++stats.summary_lines;
        return {};
    }
    const int32_t tid = l.tid != 0 ? l.tid : options.default_pid;
    switch (l.kind) {
        case PerfLineKind::blank: return {};
        case PerfLineKind::bad: return bad_line(line);
        case PerfLineKind::summary:
            in_summary = true;
            ++stats.summary_lines;
            return {};
        case PerfLineKind::lost: stats.lost_events += l.lost; return {};
        case PerfLineKind::event: ++stats.other_events; return {};
        case PerfLineKind::syscall:
            note_time(l.ts_ns);
            emit(syscall_from_name(l.name), l.args, l, tid, l.ts_ns);
            return {};
        case PerfLineKind::entry: note_time(l.ts_ns); on_entry(l, tid); return {};
        case PerfLineKind::continued: note_time(l.ts_ns); on_continued(l, tid); return {};
    }
    return {};
}

Status PerfReader::Impl::bad_line(sv text) {
    if (stats.bad_lines++ == 0) {  // the first one is kept for the error message
        stats.first_bad_line = stats.lines;
        stats.first_bad_text = std::string(text.substr(0, kShownBadText));
    }
    if (!options.strict) return {};
    return tl::unexpected(bad_line_error("line " + std::to_string(stats.lines), text));
}

void PerfReader::Impl::note_time(uint64_t ts) {
    if (ts == 0) return;
    if (stats.first_ts_ns == 0 || ts < stats.first_ts_ns) stats.first_ts_ns = ts;
    if (ts > stats.last_ts_ns) stats.last_ts_ns = ts;
}

void PerfReader::Impl::on_entry(const PerfLine& l, int32_t tid) {
    const Syscall which = syscall_from_name(l.name);
    Entry& e = entries[tid];  // replaces a call whose end never came
    e.call = which;
    e.name.assign(l.name);
    e.ts_ns = l.ts_ns;
    if (which != Syscall::unknown) e.args.assign(l.args);
    if (is_spawn(which)) sink.on_pending_spawn(tid, spawn_flags(which, NamedArgs(l.args)));
}

void PerfReader::Impl::on_continued(const PerfLine& l, int32_t tid) {
    auto it = entries.find(tid);
    if (it == entries.end() || it->second.name != l.name) {
        // A new thread's own return from clone has no entry; other known calls lost theirs.
        const Syscall which = syscall_from_name(l.name);
        if (which != Syscall::unknown && !is_spawn(which)) ++stats.orphan_resumed;
        return;
    }
    Entry e = std::move(it->second);
    entries.erase(it);
    emit(e.call, e.args, l, tid, e.ts_ns != 0 ? e.ts_ns : l.ts_ns);
}

void PerfReader::Impl::emit(Syscall which, sv args, const PerfLine& l, int32_t tid,
                            uint64_t ts_ns) {
    if (which == Syscall::unknown) {
        ++stats.ignored_syscalls;
        name_held_fd(args, tid);
        return;
    }
    RawSyscall c;  // fresh each time: perf trace's pace makes the allocations immaterial
    c.call = which;
    c.ts_ns = ts_ns;
    c.dur_ns = l.dur_ns;
    c.tid = tid;
    c.ret = l.ret;
    c.ret_known = l.ret_known;
    if (!decode_args(c, NamedArgs(args))) {
        ++stats.ignored_syscalls;
        name_held_fd(args, tid);
        return;
    }
    if (which == Syscall::clone3) c.flags = clone3_flags(tid, l.ret_known ? l.ret : 0);
    const bool dup = which == Syscall::fcntl || which == Syscall::dup ||
                     which == Syscall::dup2 || which == Syscall::dup3;
    if (dup) {
        int32_t ignored = 0;
        assign_fd(l.ret_text, ignored, c.ret_path);
        release(tid, c.fd, dup_name(c, args));
    } else if (names_fd(which)) {
        release(tid, c.fd, c.fd_path);
    }
    if (c.fd2 >= 0) release(tid, c.fd2, {});  // dup2 closes it; perf names the new file there
    const bool opened = is_open(which) && c.ret_known && c.ret >= 0;
    if (opened) release(tid, int32_t(c.ret), {}, true);  // closed where we did not see it
    if (opened && c.path.empty()) {
        held[fd_key(tid, int32_t(c.ret))] = c;
        ++held_per_fd[int32_t(c.ret)];
        return;
    }
    deliver(c);
    if (which == Syscall::exit || which == Syscall::exit_group) {
        release_all(tid);
        sink.on_thread_exit(tid, ts_ns);
    }
}

void PerfReader::Impl::deliver(const RawSyscall& c) {
    ++stats.syscalls;
    sink.on_syscall(c);
}

// A call names fd: the open that returned it (by this thread, or unless `own_only` by the only
// thread holding one for that number) goes out first, named by the annotation or by /proc.
void PerfReader::Impl::release(int32_t tid, int32_t fd, const std::string& annotation,
                               bool own_only) {
    if (fd < 0 || held.empty()) return;
    auto it = held.find(fd_key(tid, fd));
    if (it == held.end()) {
        if (own_only) return;
        auto count = held_per_fd.find(fd);
        if (count == held_per_fd.end() || count->second != 1) return;
        it = std::find_if(held.begin(), held.end(),
                          [fd](const auto& entry) { return entry.second.ret == fd; });
        if (it == held.end()) return;
    }
    RawSyscall open = std::move(it->second);
    held.erase(it);
    if (--held_per_fd[fd] == 0) held_per_fd.erase(fd);
    open.ret_path = !annotation.empty() ? annotation : live_fd_path(open.tid, fd);
    deliver(open);
}

// The file a dup-family call copies. Often the old fd is closed again before perf looks it up
// (`open; dup2(3, 1); close(3)` in dd and shells), but the new fd names the same file: perf's
// annotation of it, or /proc.
std::string PerfReader::Impl::dup_name(const RawSyscall& c, sv args) const {
    if (!c.fd_path.empty() || (c.call == Syscall::fcntl && c.cmd == kFcntlSetfl))
        return c.fd_path;
    if (!c.ret_path.empty()) return c.ret_path;
    int32_t new_fd = -1;
    std::string name;
    assign_fd(NamedArgs(args)["newfd"], new_fd, name);
    if (name.empty() && !held.empty() && c.ret_known && c.ret >= 0)
        name = live_fd_path(c.tid, int32_t(c.ret));
    return name;
}

// Calls iodiag does not follow (fadvise64, fallocate, fstat...) still name their fd.
void PerfReader::Impl::name_held_fd(sv args, int32_t tid) {
    if (held.empty()) return;
    int32_t fd = -1;
    std::string path;
    assign_fd(NamedArgs(args)["fd"], fd, path);
    if (!path.empty()) release(tid, fd, path);
}

void PerfReader::Impl::release_all(int32_t tid) {
    for (auto it = held.begin(); it != held.end();) {
        if (tid != 0 && it->second.tid != tid) {
            ++it;
            continue;
        }
        RawSyscall open = std::move(it->second);
        const auto fd = int32_t(open.ret);
        it = held.erase(it);
        if (--held_per_fd[fd] == 0) held_per_fd.erase(fd);
        open.ret_path = live_fd_path(open.tid, fd);
        deliver(open);
    }
}

std::string PerfReader::Impl::live_fd_path(int32_t tid, int32_t fd) const {
    return options.fd_path && tid > 0 ? options.fd_path(tid, fd) : std::string();
}

// clone3 hides its flags behind a pointer. A live source can ask /proc whether the child joined
// the parent's process; otherwise assume pthread_create, glibc's user of clone3.
uint32_t PerfReader::Impl::clone3_flags(int32_t parent, int64_t child) const {
    if (!options.tgid_of || parent <= 0 || child <= 0) return kPthreadCloneFlags;
    const int32_t parent_tgid = options.tgid_of(parent);
    const int32_t child_tgid = options.tgid_of(int32_t(child));
    if (parent_tgid == 0 || child_tgid == 0) return kPthreadCloneFlags;
    return parent_tgid == child_tgid ? kPthreadCloneFlags : 0;
}

void PerfReader::Impl::finish() {
    for (const auto& [tid, e] : entries)
        if (!e.name.empty()) ++stats.unfinished_at_end;
    entries.clear();
    release_all(0);
}

PerfReader::PerfReader(RawSyscallSink& sink, PerfReaderOptions options)
    : impl_(std::make_unique<Impl>(sink, std::move(options), stats_)) {}

PerfReader::~PerfReader() = default;

Status PerfReader::feed_line(std::string_view line) { return impl_->feed(line); }

void PerfReader::finish() { impl_->finish(); }

// =============================================================================================
// Files

namespace {

struct LineBuffer {
    char* data = nullptr;
    size_t capacity = 0;
    ~LineBuffer() { std::free(data); }
};

Error cannot_open(const std::string& path, int err) {
    const std::string what = "cannot open perf trace output " + path + ": " + std::strerror(err);
    switch (err) {
        case ENOENT: case ENOTDIR: return {ErrorKind::not_found, what, "check the path"};
        case EACCES: case EPERM:
            return {ErrorKind::permission, what, "read it as a user allowed to, e.g. with sudo"};
        default: return {ErrorKind::bad_input, what, {}};
    }
}

}  // namespace

Result<PerfReaderStats> read_perf_file(const std::string& path, RawSyscallSink& sink,
                                       PerfReaderOptions options) {
    std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
    if (!file) return tl::unexpected(cannot_open(path, errno));
    PerfReader reader(sink, std::move(options));
    LineBuffer buf;  // getline reuses it: memory stays flat however long the log
    for (ssize_t n; (n = getline(&buf.data, &buf.capacity, file.get())) >= 0;) {
        sv line(buf.data, size_t(n));
        if (line.ends_with('\n')) line.remove_suffix(1);
        if (!reader.feed_line(line)) {  // strict: the failing line is the first bad one
            const PerfReaderStats& st = reader.stats();
            return tl::unexpected(bad_line_error(path + ":" + std::to_string(st.first_bad_line),
                                                 st.first_bad_text));
        }
    }
    if (std::ferror(file.get()))
        return fail(ErrorKind::bad_input, "cannot read perf trace output " + path + ": " +
                                              std::strerror(errno));
    reader.finish();
    const PerfReaderStats& st = reader.stats();
    if (st.syscalls + st.ignored_syscalls == 0 && (st.summary_lines > 0 || st.other_events > 0))
        return fail(ErrorKind::bad_input,
                    path + " has no syscall lines, only perf trace's " +
                        (st.summary_lines > 0 ? "summary (-s)" : "other events (--no-syscalls)"),
                    "record the calls themselves: perf trace -T -o FILE -p PID (without -s or "
                    "--no-syscalls; -S prints the calls and the summary)");
    return st;
}

}  // namespace iodiag::trace
