// StraceReader: joins "<unfinished ...>" / "<... resumed>" halves per pid, works out whose
// unprefixed lines are, and hands each complete call, its arguments decoded (strace_args.cpp),
// to a RawSyscallSink; read_strace_file streams a log through it. Lines are split by
// parse_strace_line (strace_line.cpp).
#include "trace/strace_parser.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "trace/strace_args.hpp"
#include "trace/strace_text.hpp"

namespace iodiag::trace {

using namespace strace;

namespace {

constexpr uint64_t kDayNs = 86'400ull * kNsPerSec;
constexpr uint64_t kHalfDayNs = kDayNs / 2;

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
    decode_returned_path(c, l.ret_text);
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