// strace's argument text -> RawSyscall fields (strace_args.hpp).
#include "trace/strace_args.hpp"

#include <fcntl.h>

#include <span>
#include <string>

#include "trace/io_event.hpp"
#include "trace/io_flags.hpp"
#include "trace/open_flags.hpp"
#include "trace/strace_parser.hpp"
#include "trace/strace_text.hpp"

namespace iodiag::trace::strace {

namespace {

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
    c.open_flags = open_flags_of_text(flags);
}

void decode_creat(RawSyscall& c, const Args& a) {
    assign_quoted(c.path, a[0]);
    c.open_flags = creat_open_flags();
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
        c.open_flags = setfl_open_flags(a[2]);
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

// io_getevents(ctx, min_nr, nr, [{data=D, obj=IOCB, res=R, res2=R2}, ...], timeout).
void decode_io_getevents(RawSyscall& c, const Args& a) {
    c.ctx = u64_of(a[0]);
    c.count = u32_of(a[1]);
    c.count2 = u32_of(a[2]);
    for_each_item(strip_wrapper(a[3], '[', ']'), [&](sv item) {
        if (!item.starts_with('{')) return item != "...";
        c.aio_events.push_back({u64_of(field(item, "data")), u64_of(field(item, "obj"))});
        return true;
    });
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

// Names other architectures or older kernels print for calls we follow.
struct Alias {
    sv name;
    Syscall call;
};
constexpr Alias kAliases[] = {
    {"pread", Syscall::pread64}, {"pwrite", Syscall::pwrite64}, {"_llseek", Syscall::lseek},
    {"fcntl64", Syscall::fcntl}, {"mmap2", Syscall::mmap},
};

}  // namespace

Syscall lookup_syscall(sv name) {
    const Syscall call = syscall_from_name(name);
    if (call != Syscall::unknown) return call;
    for (const Alias& a : kAliases)
        if (a.name == name) return a.call;
    return Syscall::unknown;
}

bool is_spawn(Syscall call) {
    return call == Syscall::clone || call == Syscall::clone3 || call == Syscall::fork ||
           call == Syscall::vfork;
}

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
    c.aio_events.clear();
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

void decode_returned_path(RawSyscall& c, sv ret_text) {
    if (returns_fd(c.call)) assign_unescaped(c.ret_path, parse_fd(ret_text).path);
}

}  // namespace iodiag::trace::strace
