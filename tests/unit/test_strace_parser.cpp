// strace text parsing: single lines (parse_strace_line) and whole logs recorded from real fio,
// dd and test-program runs under strace 6.1 (tests/data/strace/, one file per flag combination).
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "model/classifier.hpp"
#include "text_reader_harness.hpp"
#include "trace/strace_parser.hpp"
#include "trace/syscall_decoder.hpp"

using namespace iodiag;
using namespace iodiag::trace;

namespace {

std::string fixture(const std::string& name) {
    return std::string(IODIAG_TEST_DATA) + "/strace/" + name;
}

using Capture = testing::RawCapture;
using Run = testing::ReaderRun<ReaderStats>;

Run read_fixture(const std::string& name, ReaderOptions options = {}) {
    return testing::read_with<ReaderStats>(
        [&](RawSyscallSink& sink) { return read_strace_file(fixture(name), sink, options); });
}

// Feeds literal lines through a reader (for cases no fixture covers).
Run feed(const std::vector<std::string>& lines, ReaderOptions options = {}) {
    return testing::feed_lines<StraceReader>(lines, options);
}

RawSyscall one_call(const std::string& line) {
    return testing::one_call<StraceReader>(line, ReaderOptions{});
}

constexpr uint32_t kCloneVm = 0x100;

}  // namespace

// ------------------------------------------------------------------------------------------
// parse_strace_line

TEST_CASE("strace line: leading pid as strace -f -o writes it", "[strace]") {
    const StraceLine l = parse_strace_line(
        "2281  1795658926.437074 openat(AT_FDCWD</tmp>, \"/tmp/tfile\", O_RDONLY|O_DIRECT) = "
        "7</tmp/tfile> <0.000011>");
    CHECK(l.kind == StraceLineKind::syscall);
    CHECK(l.pid == 2281);
    CHECK_FALSE(l.pid_in_brackets);
    CHECK(l.ts_ns == 1795658926437074000ull);
    CHECK(l.name == "openat");
    CHECK(l.args == "AT_FDCWD</tmp>, \"/tmp/tfile\", O_RDONLY|O_DIRECT");
    CHECK(l.ret == 7);
    CHECK(l.ret_known);
    CHECK(l.ret_text == "7</tmp/tfile>");
    CHECK(l.has_dur);
    CHECK(l.dur_ns == 11000);
}

TEST_CASE("strace line: [pid N] prefix and the aligned '=' of strace writing to stderr",
          "[strace]") {
    const StraceLine l =
        parse_strace_line("[pid  3988] <... rseq resumed>)         = 0 <0.000022>");
    CHECK(l.kind == StraceLineKind::resumed);
    CHECK(l.pid == 3988);
    CHECK(l.pid_in_brackets);
    CHECK(l.name == "rseq");
    CHECK(l.args.empty());
    CHECK(l.ret == 0);
    CHECK(l.dur_ns == 22000);
}

TEST_CASE("strace line: no pid, no timestamp, no duration", "[strace]") {
    const StraceLine l = parse_strace_line("close(3)                                = 0");
    CHECK(l.kind == StraceLineKind::syscall);
    CHECK(l.pid == 0);
    CHECK(l.ts_ns == 0);
    CHECK(l.name == "close");
    CHECK(l.args == "3");
    CHECK(l.ret == 0);
    CHECK_FALSE(l.has_dur);
}

TEST_CASE("strace line: -t, -tt and -ttt timestamps", "[strace]") {
    constexpr uint64_t kDayTime = (2 * 3600 + 10 * 60 + 44) * 1'000'000'000ull;
    CHECK(parse_strace_line("3969  02:10:44 brk(NULL) = 0x55b676f5d000").ts_ns == kDayTime);
    CHECK(parse_strace_line("3960  02:10:44.554020 io_destroy(0x7f6) = 0").ts_ns ==
          kDayTime + 554020000);
    CHECK(parse_strace_line("02:10:44.554020 io_destroy(0x7f6) = 0").ts_ns == kDayTime + 554020000);
    const StraceLine ttt = parse_strace_line("1795659101.283235 getpid() = 4525");
    CHECK(ttt.ts_ns == 1795659101283235000ull);
    CHECK(ttt.pid == 0);
    CHECK(ttt.ret == 4525);
    CHECK(parse_strace_line("getpid() = 4525").ts_ns == 0);
}

TEST_CASE("strace line: -T durations, <unavailable> and none", "[strace]") {
    StraceLine l =
        parse_strace_line("4497  1795659101.226003 fsync(3</tmp/st/c/data>) = 0 <1.000201>");
    CHECK(l.has_dur);
    CHECK(l.dur_ns == 1000201000);
    l = parse_strace_line("[pid 12] <... read resumed>) = ? <unavailable>");
    CHECK(l.kind == StraceLineKind::resumed);
    CHECK_FALSE(l.has_dur);
    CHECK(l.ret_text == "?");
    l = parse_strace_line("4497  02:12:06.004121 brk(NULL)         = 0x5588d9f6a000");
    CHECK_FALSE(l.has_dur);
    CHECK(l.dur_ns == 0);
}

TEST_CASE("strace line: '= ?' leaves the return unknown", "[strace]") {
    const StraceLine l = parse_strace_line("4499  1795659101.246889 exit_group(3)   = ?");
    CHECK(l.kind == StraceLineKind::syscall);
    CHECK(l.name == "exit_group");
    CHECK_FALSE(l.ret_known);
    const StraceLine restart = parse_strace_line(
        "02:12:08.972066 restart_syscall(<... resuming interrupted read ...>) = ? "
        "ERESTART_RESTARTBLOCK (Interrupted by signal) <0.299161>");
    CHECK(restart.kind == StraceLineKind::syscall);
    CHECK(restart.args == "<... resuming interrupted read ...>");
    CHECK_FALSE(restart.ret_known);
    CHECK(restart.dur_ns == 299161000);
}

TEST_CASE("strace line: error returns become -errno", "[strace]") {
    const StraceLine l = parse_strace_line(
        "4497  1795659101.226613 openat(AT_FDCWD</tmp/st/c>, \"/nonexistent/x\", O_RDONLY) = -1 "
        "ENOENT (No such file or directory) <0.000009>");
    CHECK(l.ret == -2);
    CHECK(l.ret_text == "-1 ENOENT (No such file or directory)");
    CHECK(l.dur_ns == 9000);
    const auto ret_of = [](const char* err) {
        return parse_strace_line(std::string("read(3, 0x1, 1) = -1 ") + err + " (text)").ret;
    };
    CHECK(ret_of("EPERM") == -1);
    CHECK(ret_of("EINTR") == -4);
    CHECK(ret_of("EBADF") == -9);
    CHECK(ret_of("EAGAIN") == -11);
    CHECK(ret_of("EINVAL") == -22);
    CHECK(ret_of("ERANGE") == -34);
    CHECK(ret_of("ENOSYS") == -38);
    CHECK(ret_of("EOPNOTSUPP") == -95);
    CHECK(ret_of("ENOTSUP") == -95);
    CHECK(ret_of("EMADEUP") == -1);
}

TEST_CASE("strace line: hex and annotated returns", "[strace]") {
    StraceLine l = parse_strace_line(
        "4497  1795659101.226545 mmap(NULL, 8192, PROT_READ, MAP_SHARED, 3</tmp/st/c/data>, 0) = "
        "0x7f8b2b0d7000 <0.000015>");
    CHECK(l.ret == 0x7f8b2b0d7000);
    l = parse_strace_line(
        "4497  1795659101.226516 fcntl(3</tmp/st/c/data>, F_GETFL) = 0xc402 (flags "
        "O_RDWR|O_APPEND|O_DIRECT|O_LARGEFILE) <0.000007>");
    CHECK(l.ret == 0xc402);
    CHECK(l.ret_text == "0xc402 (flags O_RDWR|O_APPEND|O_DIRECT|O_LARGEFILE)");
    l = parse_strace_line(
        "4497  1795659101.244956 accept(8<TCP:[127.0.0.1:37233]>, NULL, NULL) = "
        "9<TCP:[127.0.0.1:37233->127.0.0.1:60250]> <0.000012>");
    CHECK(l.kind == StraceLineKind::syscall);
    CHECK(l.ret == 9);
    CHECK(l.ret_text == "9<TCP:[127.0.0.1:37233->127.0.0.1:60250]>");
    CHECK(l.dur_ns == 12000);
}

TEST_CASE("strace line: <unfinished ...> keeps the arguments printed so far", "[strace]") {
    StraceLine l = parse_strace_line(
        "3960  02:10:44.563988 io_submit(0x7f652b35b000, 1, [{aio_data=0, "
        "aio_lio_opcode=IOCB_CMD_PREAD, aio_fildes=6</tmp/st/tfile>, aio_buf=0x557db94a1000, "
        "aio_nbytes=4096, aio_offset=983040}] <unfinished ...>");
    CHECK(l.kind == StraceLineKind::unfinished);
    CHECK(l.name == "io_submit");
    CHECK(l.args.ends_with("aio_offset=983040}]"));
    CHECK_FALSE(l.ret_known);
    l = parse_strace_line("3955  02:10:44.564121 wait4(3960,  <unfinished ...>");
    CHECK(l.kind == StraceLineKind::unfinished);
    CHECK(l.args == "3960, ");
}

TEST_CASE("strace line: <... resumed> carries the rest and the result", "[strace]") {
    const StraceLine l = parse_strace_line(
        "2277  1795658926.194764 <... clone3 resumed> => {parent_tid=[2278]}, 88) = 2278 "
        "<0.000122>");
    CHECK(l.kind == StraceLineKind::resumed);
    CHECK(l.pid == 2277);
    CHECK(l.name == "clone3");
    CHECK(l.args == " => {parent_tid=[2278]}, 88");
    CHECK(l.ret == 2278);
    CHECK(l.dur_ns == 122000);
}

TEST_CASE("strace line: signals", "[strace]") {
    const StraceLine l = parse_strace_line(
        "3778  1795659044.209722 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=3951, "
        "si_uid=0, si_status=0, si_utime=0, si_stime=2 /* 0.02 s */} ---");
    CHECK(l.kind == StraceLineKind::signal);
    CHECK(l.pid == 3778);
    CHECK(l.name == "SIGCHLD");
    CHECK(l.ts_ns == 1795659044209722000ull);
    CHECK(parse_strace_line("--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EX").kind ==
          StraceLineKind::bad);
}

TEST_CASE("strace line: exits and kills", "[strace]") {
    StraceLine l = parse_strace_line("4499  1795659101.246985 +++ exited with 3 +++");
    CHECK(l.kind == StraceLineKind::exited);
    CHECK(l.pid == 4499);
    CHECK(l.exit_code == 3);
    l = parse_strace_line("4978  02:12:08.960365 +++ killed by SIGKILL +++");
    CHECK(l.kind == StraceLineKind::killed);
    CHECK(l.name == "SIGKILL");
    CHECK(l.exit_code == 0);
    l = parse_strace_line("[pid 77] +++ killed by SIGSEGV (core dumped) +++");
    CHECK(l.kind == StraceLineKind::killed);
    CHECK(l.name == "SIGSEGV");
    CHECK(parse_strace_line("12 +++ superseded by execve in pid 10 +++").kind ==
          StraceLineKind::info);
}

TEST_CASE("strace line: strace's own messages are info", "[strace]") {
    CHECK(parse_strace_line("strace: Process 123 attached").kind == StraceLineKind::info);
    CHECK(parse_strace_line("strace: Process 123 detached").kind == StraceLineKind::info);
    // A call in progress when strace detached: never completes, and is not a bad line.
    CHECK(parse_strace_line("123   pread64(3,  <detached ...>").kind == StraceLineKind::info);
    CHECK(parse_strace_line("[pid 124] <... read resumed> <detached ...>").kind == StraceLineKind::info);
    CHECK(parse_strace_line("strace: Process 4983 attached with 3 threads").kind ==
          StraceLineKind::info);
    CHECK(parse_strace_line("[ Process PID=1234 runs in 32 bit mode. ]").kind ==
          StraceLineKind::info);
    CHECK(parse_strace_line("").kind == StraceLineKind::blank);
    CHECK(parse_strace_line("   \r").kind == StraceLineKind::blank);
}

TEST_CASE("strace line: cut-off and foreign lines are bad", "[strace]") {
    for (const char* text : {
             "3983  02:10:45.452244 pwritev2(6</tmp/st/tfile>, [{iov_base=\"5\\340(\\3148\\24",
             "3951  1795659044.091015 pread64(6</tmp/st/tfile>, \"\"..., 4096, 249856) = 40",
             "3951  1795659044.091015 pread64(6</tmp/st/tfile>, \"\"..., 4096, 249856) = 4096 "
             "<0.00",
             "3951  1795659044.091015 pread64(6</tmp/st/t",
             "3951  1795659044.091015 openat(AT_FDCWD, \"/a\", O_RDONLY) = 3</a",
             "3951  1795659044.091015 getpid() =",
             "3951  1795659044.",
             "t: (groupid=0, jobs=1): err= 0: pid=3983",
             "[pid 12",
         }) {
        INFO(text);
        const StraceLine l = parse_strace_line(text);
        // "= 40" is indistinguishable from a complete return; every other cut is caught.
        if (std::string(text).ends_with("= 40")) CHECK(l.kind == StraceLineKind::syscall);
        else CHECK(l.kind == StraceLineKind::bad);
    }
    const StraceLine bad = parse_strace_line("[pid 12] nonsense");
    CHECK(bad.kind == StraceLineKind::bad);
    CHECK(bad.pid == 0);  // nothing half-filled
}

TEST_CASE("strace line: quoted strings with escapes and brackets do not end the arguments",
          "[strace]") {
    const StraceLine l = parse_strace_line(
        R"(write(1, "a\")(,=\"...[{<", 9) = 9 <0.000010>)");
    CHECK(l.kind == StraceLineKind::syscall);
    CHECK(l.args == R"(1, "a\")(,=\"...[{<", 9)");
    CHECK(l.ret == 9);
    const StraceLine esc = parse_strace_line(R"(write(1, "\\", 1) = 1)");
    CHECK(esc.args == R"(1, "\\", 1)");
    CHECK(esc.ret == 1);
    const StraceLine comment = parse_strace_line(
        "io_uring_register(6, IORING_REGISTER_PROBE, {last_op=62 /* IORING_OP_??? ) */, "
        "ops_len=63}, 256) = 0");
    CHECK(comment.kind == StraceLineKind::syscall);
    CHECK(comment.args.ends_with("ops_len=63}, 256"));
}

TEST_CASE("strace line: -y / -yy fd annotations, nested and with '>' inside", "[strace]") {
    for (const char* fd : {"3<TCP:[127.0.0.1:5432->127.0.0.1:40000]>", "3</dev/vda<block 254:0>>",
                           "4<pipe:[1234]>", "5<socket:[5678]>", "6<anon_inode:[io_uring]>",
                           "5</tmp/st/c/dsync>(deleted)", "7</tmp/st/c/a\\76b>",
                           "5</tmp/st/c/created \\\"q\\\"\\t\\1>"}) {
        INFO(fd);
        const std::string line = std::string("read(") + fd + ", \"x)\", 1) = 1 <0.000008>";
        const StraceLine l = parse_strace_line(line);
        CHECK(l.kind == StraceLineKind::syscall);
        CHECK(l.args == std::string(fd) + ", \"x)\", 1");
        CHECK(l.dur_ns == 8000);
    }
}

// ------------------------------------------------------------------------------------------
// StraceReader: argument decoding, on logs recorded from a test program (one call of each kind)

TEST_CASE("strace reader: read/write/pread64/pwrite64 with -y paths", "[strace]") {
    Run run = read_fixture("calls_o_ttt_T_yy.log");
    const auto writes = run.sink.of(Syscall::write);
    REQUIRE(writes.size() >= 2);
    CHECK(writes[0].tid == 4497);
    CHECK(writes[0].ts_ns == 1795659101225218000ull);
    CHECK(writes[0].dur_ns == 15000);
    CHECK(writes[0].fd == 3);
    CHECK(writes[0].fd_path == "/tmp/st/c/data");
    CHECK(writes[0].bytes == 4096);
    CHECK_FALSE(writes[0].has_offset);
    CHECK(writes[0].ret == 4096);
    const RawSyscall pw = run.sink.of(Syscall::pwrite64).at(0);
    CHECK(pw.offset == 4096);
    CHECK(pw.has_offset);
    CHECK(pw.bytes == 4096);
    const auto preads = run.sink.of(Syscall::pread64);
    REQUIRE(preads.size() == 1);
    CHECK(preads[0].tid == 4498);
    CHECK(preads[0].fd == 7);
    CHECK(preads[0].bytes == 512);
    CHECK(preads[0].offset == 1024);
    const auto reads = run.sink.of(Syscall::read);
    REQUIRE(reads.size() >= 2);
    CHECK(reads[0].bytes == 100);
    CHECK(reads[1].fd == 999);
    CHECK(reads[1].ret == -9);  // EBADF
    CHECK(reads[1].fd_path.empty());
    CHECK(run.stats.bad_lines == 0);
}

TEST_CASE("strace reader: readv/writev sum iov_len, an abbreviated list uses the return",
          "[strace]") {
    Run run = read_fixture("calls_o_ttt_T_yy.log");
    const RawSyscall wv = run.sink.of(Syscall::writev).at(0);
    CHECK(wv.bytes == 600);
    CHECK(wv.ret == 600);
    const RawSyscall rv = run.sink.of(Syscall::readv).at(0);
    CHECK(rv.bytes == 600);  // asked for 600, got 0 at end of file
    CHECK(rv.ret == 0);

    const RawSyscall abbreviated = one_call(
        "12  writev(3, [{iov_base=\"a\", iov_len=100}, {iov_base=\"b\", iov_len=200}, ...], 40) = "
        "8000");
    CHECK(abbreviated.bytes == 8000);
    const RawSyscall address_only = one_call("12  readv(3, 0x7ffd0000, 2) = 300");
    CHECK(address_only.bytes == 300);
}

TEST_CASE("strace reader: preadv/pwritev and preadv2/pwritev2 offsets and RWF flags", "[strace]") {
    Run run = read_fixture("calls_o_ttt_T_yy.log");
    const RawSyscall pwv = run.sink.of(Syscall::pwritev).at(0);
    CHECK(pwv.bytes == 300);
    CHECK(pwv.offset == 8192);
    CHECK(pwv.has_offset);
    CHECK(pwv.flags == 0);
    const RawSyscall prv = run.sink.of(Syscall::preadv).at(0);
    CHECK(prv.offset == 0);
    CHECK(prv.has_offset);
    const RawSyscall pwv2 = run.sink.of(Syscall::pwritev2).at(0);
    CHECK_FALSE(pwv2.has_offset);  // offset -1: the file position
    CHECK(pwv2.bytes == 100);
    CHECK(pwv2.flags == kRwfDsync);
    CHECK(pwv2.dur_ns == 359000);
    const RawSyscall prv2 = run.sink.of(Syscall::preadv2).at(0);
    CHECK(prv2.offset == 512);
    CHECK(prv2.bytes == 600);
    CHECK(prv2.flags == (kRwfHipri | kRwfNowait));
}

TEST_CASE("strace reader: lseek whence and negative offsets", "[strace]") {
    Run run = read_fixture("calls_o_ttt_T_yy.log");
    const auto seeks = run.sink.of(Syscall::lseek);
    REQUIRE(seeks.size() == 3);
    CHECK(seeks[0].cmd == kSeekSet);
    CHECK(seeks[0].offset == 0);
    CHECK(seeks[1].cmd == kSeekCur);
    CHECK(seeks[1].offset == 100);
    CHECK(seeks[1].ret == 200);
    CHECK(seeks[2].cmd == kSeekEnd);
    CHECK(int64_t(seeks[2].offset) == -10);
    CHECK(seeks[2].ret == 8182);
}

TEST_CASE("strace reader: fsync, fdatasync and sync_file_range", "[strace]") {
    Run run = read_fixture("calls_o_ttt_T_yy.log");
    const RawSyscall fs = run.sink.of(Syscall::fsync).at(0);
    CHECK(fs.fd == 3);
    CHECK(fs.dur_ns == 201000);
    CHECK(run.sink.of(Syscall::fdatasync).at(0).dur_ns == 39000);
    const RawSyscall sfr = run.sink.of(Syscall::sync_file_range).at(0);
    CHECK(sfr.offset == 0);
    CHECK(sfr.has_offset);
    CHECK(sfr.bytes == 4096);
    CHECK(sfr.flags == (2u | 4u));  // SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER
}

TEST_CASE("strace reader: open, openat, openat2 and creat flags and paths", "[strace]") {
    Run run = read_fixture("calls_o_ttt_T_yy.log");
    const auto opens = run.sink.of(Syscall::openat);
    REQUIRE(opens.size() == 6);
    const RawSyscall& data = opens[0];
    CHECK(data.path == "/tmp/st/c/data");
    CHECK(data.fd == kAtFdcwd);
    CHECK(data.fd_path == "/tmp/st/c");  // the working directory
    CHECK(data.ret == 3);
    CHECK(data.ret_path == "/tmp/st/c/data");
    CHECK(data.open_flags ==
          (kOpenFlagsKnown | kOpenRead | kOpenWrite | kOpenCreate | kOpenTrunc));
    CHECK(opens[1].path == "/nonexistent/x");
    CHECK(opens[1].ret == -2);
    CHECK(opens[1].ret_path.empty());
    CHECK(opens[2].open_flags ==
          (kOpenFlagsKnown | kOpenWrite | kOpenCreate | kOpenAppend | kOpenDsync));
    CHECK(opens[3].open_flags == (kOpenFlagsKnown | kOpenRead | kOpenDirect));  // /dev/vda
    CHECK(opens[3].ret == -1);                                                  // EPERM
    CHECK(opens[4].path == "/tmp/st/c/a>b");
    CHECK(opens[4].ret_path == "/tmp/st/c/a>b");  // "\76" in the annotation

    const RawSyscall creat = run.sink.of(Syscall::creat).at(0);
    CHECK(creat.path == "/tmp/st/c/created \"q\"\t\x01");
    CHECK(creat.ret_path == creat.path);
    CHECK(creat.open_flags == (kOpenFlagsKnown | kOpenWrite | kOpenCreate | kOpenTrunc));

    const RawSyscall o2 = run.sink.of(Syscall::openat2).at(0);
    CHECK(o2.path == "/tmp/st/c/data");
    CHECK(o2.open_flags == (kOpenFlagsKnown | kOpenRead));
    CHECK(o2.ret == 5);

    const RawSyscall sync = one_call("1 open(\"/db/log\", O_RDWR|O_SYNC|O_CLOEXEC) = 4");
    CHECK(sync.call == Syscall::open);
    CHECK(sync.fd == -1);
    // O_SYNC carries O_DSYNC, as in fdinfo, perf and BPF (trace/open_flags.hpp).
    CHECK(sync.open_flags == (kOpenFlagsKnown | kOpenRead | kOpenWrite | kOpenSync | kOpenDsync));
    const RawSyscall numeric = one_call("1 openat(3</data>, \"f\", O_RDONLY|0x4000) = 5");
    CHECK(numeric.fd == 3);
    CHECK(numeric.fd_path == "/data");
    CHECK(numeric.open_flags == (kOpenFlagsKnown | kOpenRead | kOpenDirect));
    CHECK(one_call("1 open(\"f\", 0x4041) = 5").open_flags ==
          (kOpenFlagsKnown | kOpenWrite | kOpenDirect | kOpenCreate));
}

TEST_CASE("strace reader: close, dup, dup2, dup3 and fcntl", "[strace]") {
    Run run = read_fixture("calls_o_ttt_T_yy.log");
    const RawSyscall dup = run.sink.of(Syscall::dup).at(0);
    CHECK(dup.fd == 3);
    CHECK(dup.ret == 4);
    CHECK(dup.ret_path == "/tmp/st/c/data");
    const RawSyscall dup2 = run.sink.of(Syscall::dup2).at(0);
    CHECK(dup2.fd == 3);
    CHECK(dup2.fd2 == 20);
    const RawSyscall dup3 = run.sink.of(Syscall::dup3).at(0);
    CHECK(dup3.fd2 == 21);
    CHECK(dup3.ret_path == "/tmp/st/c/data");

    const auto fcntls = run.sink.of(Syscall::fcntl);
    REQUIRE(fcntls.size() == 2);  // F_GETFL is not followed
    CHECK(fcntls[0].cmd == kFcntlSetfl);
    CHECK(fcntls[0].open_flags == (kOpenFlagsKnown | kOpenAppend | kOpenDirect));
    CHECK(fcntls[1].cmd == kFcntlDupfdCloexec);
    CHECK(fcntls[1].ret == 30);
    CHECK(fcntls[1].ret_path == "/tmp/st/c/data");

    const auto closes = run.sink.of(Syscall::close);
    REQUIRE_FALSE(closes.empty());
    CHECK(closes.back().fd == 3);
    CHECK(closes.back().fd_path == "/tmp/st/c/data");
    // "(deleted)" follows the annotation: the path stays the file's name.
    bool saw_deleted = false;
    for (const RawSyscall& c : closes)
        if (c.fd == 5 && c.fd_path == "/tmp/st/c/dsync") saw_deleted = true;
    CHECK(saw_deleted);
}

TEST_CASE("strace reader: -yy sockets, pipes and block devices", "[strace]") {
    Run run = read_fixture("calls_o_ttt_T_yy.log");
    bool pipe = false, tcp = false;
    for (const RawSyscall& c : run.sink.of(Syscall::write)) {
        if (c.fd == 6 && c.fd_path == "pipe:[8010]") pipe = true;
        if (c.fd == 7 && c.fd_path == "TCP:[127.0.0.1:60250->127.0.0.1:37233]") tcp = true;
    }
    CHECK(pipe);
    CHECK(tcp);

    Run dd = read_fixture("dd_blockdev_T_yy.log");
    const RawSyscall open = dd.sink.of(Syscall::openat).at(0);
    CHECK(open.path == "/dev/loop0");
    CHECK(open.ret_path == "/dev/loop0");  // "<block 7:0>" dropped
    CHECK(open.open_flags == (kOpenFlagsKnown | kOpenRead | kOpenDirect));
    const RawSyscall dup2 = dd.sink.of(Syscall::dup2).at(0);
    CHECK(dup2.fd == 3);
    CHECK(dup2.fd2 == 0);
    CHECK(dup2.ret_path == "/dev/loop0");
    const auto reads = dd.sink.of(Syscall::read);
    REQUIRE(reads.size() == 2);
    CHECK(reads[1].fd == 0);
    CHECK(reads[1].fd_path == "/dev/loop0");
    CHECK(reads[1].dur_ns == 2112000);
    CHECK(dd.sink.of(Syscall::write).at(0).fd_path == "/dev/null");
    CHECK(dd.stats.ignored_syscalls == 1);  // execve
}

TEST_CASE("strace reader: mmap of a file", "[strace]") {
    Run run = read_fixture("calls_o_ttt_T_yy.log");
    const RawSyscall m = run.sink.of(Syscall::mmap).at(0);
    CHECK(m.fd == 3);
    CHECK(m.bytes == 8192);
    CHECK(m.offset == 0);
    CHECK(m.cmd == 1);    // PROT_READ
    CHECK(m.flags == 1);  // MAP_SHARED
    CHECK(m.ret == 0x7f8b2b0d7000);
    const RawSyscall anon = one_call(
        "1 mmap(NULL, 8392704, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_STACK, -1, 0) = "
        "0x7f8b2a6e8000");
    CHECK(anon.fd == -1);
    CHECK(anon.flags == (2u | 0x20u));
}

TEST_CASE("strace reader: clone3, clone, fork and vfork, pending spawns", "[strace]") {
    Run run = read_fixture("calls_o_ttt_T_yy.log");
    const RawSyscall c3 = run.sink.of(Syscall::clone3).at(0);
    CHECK(c3.ret == 4498);
    CHECK(c3.flags & kCloneThread);
    CHECK(c3.flags & kCloneFiles);
    CHECK(c3.flags & kCloneVm);
    const RawSyscall cl = run.sink.of(Syscall::clone).at(0);  // split by "<unfinished ...>"
    CHECK(cl.tid == 4497);
    CHECK(cl.ret == 4499);
    CHECK(cl.ts_ns == 1795659101246407000ull);  // when the call started
    CHECK(cl.dur_ns == 171000);
    CHECK_FALSE(cl.flags & kCloneThread);
    REQUIRE(run.sink.spawns.size() == 1);
    CHECK(run.sink.spawns[0] == std::make_pair(4497, cl.flags));

    const RawSyscall fork = one_call("10 fork() = 11");
    CHECK(fork.ret == 11);
    CHECK(fork.flags == 0);
    CHECK(one_call("10 vfork() = 12").flags & kCloneVm);

    // The real example from the brief: clone3 split across two lines.
    Run split = feed({
        "2277  1795658926.194629 clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|"
        "CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, "
        "child_tid=0x7f699a6a8990, parent_tid=0x7f699a6a8990, exit_signal=0, "
        "stack=0x7f6999ea8000, stack_size=0x7fba80, tls=0x7f699a6a86c0} <unfinished ...>",
        "2278  1795658926.194700 rseq(0x7f, 0x20, 0, 0x53053053) = 0",
        "2277  1795658926.194764 <... clone3 resumed> => {parent_tid=[2278]}, 88) = 2278 "
        "<0.000122>",
    });
    REQUIRE(split.sink.spawns.size() == 1);
    CHECK(split.sink.spawns[0].first == 2277);
    CHECK(split.sink.spawns[0].second == 0x3d0f00u);
    const RawSyscall joined = split.sink.of(Syscall::clone3).at(0);
    CHECK(joined.ret == 2278);
    CHECK(joined.flags == 0x3d0f00u);
    CHECK(joined.ts_ns == 1795658926194629000ull);
    CHECK(split.stats.ignored_syscalls == 1);
}

TEST_CASE("strace reader: exits reach the sink once per thread", "[strace]") {
    Run run = read_fixture("calls_o_ttt_T_yy.log");
    REQUIRE(run.sink.exits.size() == 3);
    CHECK(run.sink.exits[0] == std::make_pair(4498, uint64_t(1795659101246371000ull)));
    CHECK(run.sink.exits[1].first == 4499);
    CHECK(run.sink.exits[2].first == 4497);
    CHECK(run.sink.of(Syscall::exit).at(0).tid == 4498);
    CHECK_FALSE(run.sink.of(Syscall::exit_group).at(0).ret_known);

    // A log cut after exit_group: finish() still reports the exit.
    Run cut = feed({"7 1.000000 exit_group(0) = ?"});
    REQUIRE(cut.sink.exits.size() == 1);
    CHECK(cut.sink.exits[0] == std::make_pair(7, uint64_t(1'000'000'000)));
}

TEST_CASE("strace reader: killed threads and calls cut by the kill", "[strace]") {
    Run run = read_fixture("killed_o_tt_T.log");
    const auto writes = run.sink.of(Syscall::write);
    REQUIRE(writes.size() == 2);
    CHECK(writes[0].ret == 131072);
    CHECK(writes[1].tid == 4978);
    CHECK_FALSE(writes[1].ret_known);  // "<... write resumed>) = ?"
    CHECK(writes[1].bytes == 131072);
    CHECK(run.sink.of(Syscall::read).at(0).ret == 131072);
    REQUIRE(run.sink.exits.size() == 1);
    CHECK(run.sink.exits[0].first == 4978);
    CHECK(run.stats.signals == 1);
    CHECK(run.stats.unfinished_at_end == 0);
    CHECK(run.stats.bad_lines == 0);
}

// ------------------------------------------------------------------------------------------
// Async IO

TEST_CASE("strace reader: libaio io_setup, io_submit iocbs, io_getevents, io_destroy",
          "[strace]") {
    Run run = read_fixture("aio_ttt_T_y.log");
    const RawSyscall setup = run.sink.of(Syscall::io_setup).at(0);
    CHECK(setup.count == 8);
    CHECK(setup.ctx == 0x7f1ac3883000);
    CHECK(setup.tid == 0);

    const auto submits = run.sink.of(Syscall::io_submit);
    REQUIRE(submits.size() == 2);
    CHECK(submits[0].ctx == 0x7f1ac3883000);
    CHECK(submits[0].count == 2);
    CHECK(submits[0].ret == 2);
    REQUIRE(submits[0].iocbs.size() == 2);
    const RawIocb& w = submits[0].iocbs[0];
    CHECK(w.opcode == kIocbPwrite);
    CHECK(w.fd == 3);
    CHECK(w.fd_path == "/tmp/st/c/aiodata");
    CHECK(w.bytes == 16384);
    CHECK(w.offset == 0);
    CHECK(w.data == 0xb);
    const RawIocb& wv = submits[0].iocbs[1];
    CHECK(wv.opcode == kIocbPwritev);
    CHECK(wv.bytes == 4096 + 8192);  // the iovec sum, not aio_nbytes (the iovec count)
    CHECK(wv.offset == 16384);
    REQUIRE(submits[1].iocbs.size() == 2);
    CHECK(submits[1].iocbs[0].opcode == kIocbFdsync);
    CHECK(submits[1].iocbs[0].bytes == 0);
    CHECK(submits[1].iocbs[1].opcode == kIocbPreadv);
    CHECK(submits[1].iocbs[1].bytes == 12288);
    CHECK(submits[1].iocbs[1].data == 0xe);

    const RawSyscall ev = run.sink.of(Syscall::io_getevents).at(0);
    CHECK(ev.ctx == 0x7f1ac3883000);
    CHECK(ev.count == 2);
    CHECK(ev.count2 == 8);
    CHECK(ev.ret == 2);
    const RawSyscall pev = run.sink.of(Syscall::io_pgetevents).at(0);
    CHECK(pev.count == 1);
    CHECK(pev.count2 == 8);
    CHECK(pev.ret == 1);
    CHECK(run.sink.of(Syscall::io_destroy).at(0).ctx == 0x7f1ac3883000);
}

TEST_CASE("strace reader: io_submit with iocbs abbreviated to [...]", "[strace]") {
    Run run = read_fixture("aio_abbrev_s0.log");
    const auto submits = run.sink.of(Syscall::io_submit);
    REQUIRE(submits.size() == 2);
    CHECK(submits[0].count == 2);
    CHECK(submits[0].ret == 2);
    CHECK(submits[0].iocbs.empty());
    CHECK(submits[1].ts_ns == 1795659122649408000ull);

    // strace -s 1 shows one element and "...": the shown iocbs are kept, count says how many.
    const RawSyscall partial = one_call(
        "io_submit(0x7feaaa64d000, 2, [{aio_data=0xb, aio_lio_opcode=IOCB_CMD_PWRITE, "
        "aio_fildes=3, aio_buf=\"y\"..., aio_nbytes=16384, aio_offset=0}, ...]) = 2");
    CHECK(partial.count == 2);
    REQUIRE(partial.iocbs.size() == 1);
    CHECK(partial.iocbs[0].opcode == kIocbPwrite);
    CHECK(partial.iocbs[0].fd == 3);
    CHECK(partial.iocbs[0].fd_path.empty());
    CHECK(partial.iocbs[0].bytes == 16384);
}

TEST_CASE("strace reader: unfinished/resumed halves interleaved across two pids", "[strace]") {
    Run run = read_fixture("fio_libaio_o_tt_T_yy.log");
    CHECK(run.stats.bad_lines == 0);
    // The excerpt is cut from a longer log: its line 24 resumes a clock_nanosleep that started
    // before it, and the clock_nanosleep of line 48 resumes after it.
    CHECK(run.stats.orphan_resumed == 1);
    CHECK(run.stats.unfinished_at_end == 1);
    CHECK(run.stats.ignored_syscalls == 11);
    const auto submits = run.sink.of(Syscall::io_submit);
    REQUIRE(submits.size() == 14);
    // "3960 02:10:44.563988 io_submit(...aio_offset=983040}] <unfinished ...>" then, after a line
    // of pid 3955, "3960 02:10:44.564110 <... io_submit resumed>) = 1 <0.000068>".
    const RawSyscall* split = nullptr;
    for (const RawSyscall& s : submits)
        if (!s.iocbs.empty() && s.iocbs[0].offset == 983040) split = &s;
    REQUIRE(split != nullptr);
    CHECK(split->tid == 3960);
    CHECK(split->ts_ns == (2 * 3600 + 10 * 60 + 44) * 1'000'000'000ull + 563988000);
    CHECK(split->dur_ns == 68000);
    CHECK(split->ret == 1);
    CHECK(split->count == 1);
    CHECK(split->iocbs[0].bytes == 4096);
    CHECK(split->iocbs[0].fd_path == "/tmp/st/tfile");
    const auto events = run.sink.of(Syscall::io_getevents);
    REQUIRE(events.size() == 12);
    CHECK(events.back().ret == 1);
    CHECK(run.sink.of(Syscall::io_destroy).at(0).dur_ns == 50641000);
    CHECK(run.sink.of(Syscall::openat).at(0).open_flags ==
          (kOpenFlagsKnown | kOpenRead | kOpenDirect));
    CHECK(run.stats.signals == 1);
}

// strace -p on fio (libaio, randread 8k, iodepth=16) already running: the first 16 completions
// are of iocbs submitted before strace attached.
TEST_CASE("strace reader + decoder: libaio attached mid-flight keeps fio's depth 16", "[strace]") {
    const std::string log = "fio_libaio_midflight_p_ttt_T_y.log";
    Run run = read_fixture(log);
    CHECK(run.stats.bad_lines == 0);
    const auto reaps = run.sink.of(Syscall::io_getevents);
    REQUIRE(!reaps.empty());
    REQUIRE(reaps[0].aio_events.size() == 1);
    CHECK(reaps[0].aio_events[0].data == 0);
    CHECK(reaps[0].aio_events[0].obj == 0x7fa400002848);

    FileTable files;
    model::Classifier classifier;
    SyscallDecoder decoder(classifier, files);
    REQUIRE(read_strace_file(fixture(log), decoder));
    CHECK(decoder.stats().aio_unseen_submits == 16);
    const model::WorkloadModel m = classifier.finish(files, model::WorkloadModel{});
    REQUIRE(m.groups.size() == 1);
    INFO(m.groups[0].fio.dump());
    CHECK(m.groups[0].fio["ioengine"] == "libaio");
    CHECK(m.groups[0].fio["iodepth"] == 16);
}

TEST_CASE("strace reader: io_uring setup, register, enter and ring mmaps", "[strace]") {
    Run run = read_fixture("fio_uring_o_t.log");
    const RawSyscall setup = run.sink.of(Syscall::io_uring_setup).at(0);
    CHECK(setup.count == 4);
    CHECK(setup.flags == (8u | 256u | 0x3000u));  // CQSIZE|COOP_TASKRUN|0x3000
    CHECK(setup.ret == 6);
    CHECK(run.sink.of(Syscall::io_uring_register).at(0).fd == 6);
    const auto enters = run.sink.of(Syscall::io_uring_enter);
    REQUIRE(enters.size() == 5);
    CHECK(enters[0].fd == 6);
    CHECK(enters[0].count == 1);
    CHECK(enters[0].count2 == 0);
    CHECK(enters[0].flags == kUringEnterGetevents);
    CHECK(enters[0].ts_ns == (2 * 3600 + 10 * 60 + 45) * 1'000'000'000ull);
    CHECK(enters[0].dur_ns == 0);
    const auto maps = run.sink.of(Syscall::mmap);
    REQUIRE(maps.size() == 3);
    CHECK(maps[1].fd == 6);
    CHECK(maps[1].offset == 0x10000000);
    CHECK(maps[1].bytes == 256);

    Run sq = read_fixture("fio_uring_sqpoll_o_ttt_T_y.log");
    const auto setups = sq.sink.of(Syscall::io_uring_setup);
    REQUIRE(setups.size() == 3);
    CHECK(setups[0].ret == -22);
    CHECK(setups[2].ret == 6);
    CHECK(setups[2].flags == (kUringSetupSqpoll | 8u));
    CHECK(setups[2].ret_path == "anon_inode:[io_uring]");
    const RawSyscall enter = sq.sink.of(Syscall::io_uring_enter).at(0);
    CHECK(enter.flags == kUringEnterSqWakeup);
    CHECK(enter.fd_path == "anon_inode:[io_uring]");
    CHECK(sq.sink.of(Syscall::io_uring_register).size() == 2);
}

// ------------------------------------------------------------------------------------------
// Whole logs: pids, timestamps, stats, bad input

TEST_CASE("strace reader: fio psync log written with -o", "[strace]") {
    Run run = read_fixture("fio_psync_o_ttt_T_y.log");
    CHECK(run.stats.lines == 45);
    CHECK(run.stats.bad_lines == 0);
    CHECK(run.stats.first_ts_ns == 1795659043988770000ull);
    CHECK(run.stats.last_ts_ns == 1795659044209707000ull);
    const auto preads = run.sink.of(Syscall::pread64);
    const auto pwrites = run.sink.of(Syscall::pwrite64);
    REQUIRE(preads.size() == 10);
    REQUIRE(pwrites.size() == 8);
    CHECK(preads[0].tid == 3951);
    CHECK(preads[0].offset == 249856);
    CHECK(preads[0].bytes == 4096);
    CHECK(preads[0].dur_ns == 299000);
    CHECK(preads[0].fd_path == "/tmp/st/tfile");
    CHECK(pwrites.back().offset == 1601536);
    const RawSyscall open = run.sink.of(Syscall::openat).at(0);
    CHECK(open.open_flags ==
          (kOpenFlagsKnown | kOpenRead | kOpenWrite | kOpenDirect | kOpenCreate));
    CHECK(run.sink.of(Syscall::clone).at(0).ret == 3951);
    // futex, set_robust_list, fadvise64, ... are counted, not decoded.
    CHECK(run.stats.syscalls == run.sink.calls.size());
    CHECK(run.stats.syscalls == 10 + 8 + 4);  // preads, pwrites, clone, openat, close, exit_group
    CHECK(run.stats.ignored_syscalls == 13);
    // The log starts mid-run: 3778's newfstatat never resumes in it, and its clock_nanosleep
    // resumes without a start.
    CHECK(run.stats.orphan_resumed == 1);
    CHECK(run.stats.unfinished_at_end == 0);
    REQUIRE(run.sink.exits.size() == 1);
    CHECK(run.sink.exits[0].first == 3951);
}

TEST_CASE("strace reader: -f to stderr: [pid N] prefixes, lines without them, spliced messages",
          "[strace]") {
    Run run = read_fixture("calls_stderr_f_T.log");
    CHECK(run.stats.bad_lines == 0);
    CHECK(run.stats.orphan_resumed == 0);
    CHECK(run.stats.unfinished_at_end == 0);
    // "clone3({...}strace: Process 4519 attached" + " => {parent_tid=[4519]}, 88) = 4519".
    const RawSyscall c3 = run.sink.of(Syscall::clone3).at(0);
    CHECK(c3.ret == 4519);
    CHECK(c3.flags & kCloneThread);
    CHECK(c3.tid == 0);  // printed before any prefix told whose it was
    const RawSyscall pread = run.sink.of(Syscall::pread64).at(0);
    CHECK(pread.tid == 4519);
    CHECK(pread.offset == 1024);
    // "clone(...|SIGCHLDstrace: Process 4520 attached" + ", child_tidptr=...) = 4520": by then
    // the unprefixed process is known to be 4518.
    const RawSyscall cl = run.sink.of(Syscall::clone).at(0);
    CHECK(cl.tid == 4518);
    CHECK(cl.ret == 4520);
    CHECK(cl.dur_ns == 145000);
    const RawSyscall child_write = run.sink.of(Syscall::write).back();
    CHECK(child_write.tid == 4520);
    CHECK(child_write.ret == -22);
    const auto closes = run.sink.of(Syscall::close);
    CHECK(closes.back().tid == 4518);  // unprefixed again once the children exited
    CHECK(closes.back().fd == 3);
    REQUIRE(run.sink.exits.size() == 3);
    CHECK(run.sink.exits[0].first == 4519);
    CHECK(run.sink.exits[1].first == 4520);
    CHECK(run.sink.exits[2].first == 4518);
}

TEST_CASE("strace reader: a resumed half without prefix matches the prefixed start", "[strace]") {
    Run run = feed({
        "read(3, \"abc\", 3) = 3",
        "strace: Process 21 attached",
        "[pid    20] pread64(3, \"\"..., 4096, 8192 <unfinished ...>",
        "[pid    21] pread64(4, \"\"..., 512, 0) = 512",
        "[pid    21] +++ exited with 0 +++",
        "<... pread64 resumed>) = 4096",
    });
    const auto preads = run.sink.of(Syscall::pread64);
    REQUIRE(preads.size() == 2);
    CHECK(preads[1].tid == 20);
    CHECK(preads[1].offset == 8192);
    CHECK(preads[1].ret == 4096);
    CHECK(run.stats.orphan_resumed == 0);

    // ... and the other way round: started before any prefix, ended with one.
    Run rev = feed({
        "pread64(3, \"\"..., 4096, 8192 <unfinished ...>",
        "strace: Process 31 attached",
        "[pid    31] close(0) = 0",
        "[pid    30] <... pread64 resumed>) = 4096",
        "[pid    30] close(1) = 0",
    });
    REQUIRE(rev.sink.of(Syscall::pread64).size() == 1);
    CHECK(rev.sink.of(Syscall::pread64)[0].tid == 30);
    CHECK(rev.sink.of(Syscall::pread64)[0].offset == 8192);
}

TEST_CASE("strace reader: strace -ff -o prefix files take the pid from the name", "[strace]") {
    Run main = read_fixture("calls_ff_ttt_y.4525");
    Run thread = read_fixture("calls_ff_ttt_y.4526");
    CHECK(main.sink.of(Syscall::openat).at(0).tid == 4525);
    CHECK(main.sink.of(Syscall::clone3).at(0).ret == 4526);
    const RawSyscall pread = thread.sink.of(Syscall::pread64).at(0);
    CHECK(pread.tid == 4526);
    CHECK(pread.fd_path == "/tmp/st/c/data");
    CHECK(pread.dur_ns == 0);  // no -T
    REQUIRE(thread.sink.exits.size() == 1);
    CHECK(thread.sink.exits[0] == std::make_pair(4526, uint64_t(1795659101283712000ull)));
    // An explicit pid wins over the name.
    Run forced = read_fixture("calls_ff_ttt_y.4526", ReaderOptions{false, 99});
    CHECK(forced.sink.of(Syscall::pread64).at(0).tid == 99);
}

TEST_CASE("strace reader: a garbled line in the middle and a cut-off last line", "[strace]") {
    Run run = read_fixture("fio_pvsync2_garbled_o_tt_T_y.log");
    CHECK(run.stats.lines == 16);  // the cut last line has no newline
    CHECK(run.stats.bad_lines == 2);
    CHECK(run.stats.first_bad_line == 9);
    CHECK(run.stats.first_bad_text ==
          "t: (groupid=0, jobs=1): err= 0: pid=3983: Thu Nov 26 02:10:45 2026");
    const auto writes = run.sink.of(Syscall::pwritev2);
    REQUIRE(writes.size() == 9);  // the cut tenth is dropped
    CHECK(writes[0].offset == 0);
    CHECK(writes[0].flags == kRwfHipri);
    CHECK(writes[0].bytes == 4096);
    CHECK(writes[8].offset == 32768);
    CHECK(run.sink.of(Syscall::fdatasync).size() == 2);

    Capture sink;
    auto strict = read_strace_file(fixture("fio_pvsync2_garbled_o_tt_T_y.log"), sink,
                                   ReaderOptions{true, 0});
    REQUIRE_FALSE(strict);
    CHECK(strict.error().kind == ErrorKind::bad_input);
    CHECK(strict.error().message.find("fio_pvsync2_garbled_o_tt_T_y.log:9: ") != std::string::npos);
    CHECK(strict.error().message.find("groupid") != std::string::npos);
    CHECK_FALSE(strict.error().hint.empty());

    Capture direct_sink;
    StraceReader reader(direct_sink, ReaderOptions{true, 0});
    REQUIRE(reader.feed_line("1 close(3) = 0"));
    const Status st = reader.feed_line("garbage");
    REQUIRE_FALSE(st);
    CHECK(st.error().message.starts_with("line 2: "));
}

TEST_CASE("strace reader: -t/-tt clocks that pass midnight", "[strace]") {
    constexpr uint64_t kSec = 1'000'000'000ull, kDay = 86400 * kSec;
    Run run = feed({
        "5  23:59:59.900000 pread64(3, \"\"..., 4096, 0) = 4096 <0.000010>",
        "5  00:00:00.100000 pread64(3, \"\"..., 4096, 4096) = 4096 <0.000010>",
        "6  23:59:59.950000 pread64(4, \"\"..., 4096, 0) = 4096 <0.000010>",  // printed late
        "5  00:00:01.000000 pread64(3, \"\"..., 4096, 8192) = 4096 <0.000010>",
    });
    const auto p = run.sink.of(Syscall::pread64);
    REQUIRE(p.size() == 4);
    CHECK(p[0].ts_ns == kDay - kSec / 10);
    CHECK(p[1].ts_ns == kDay + kSec / 10);
    CHECK(p[2].ts_ns == kDay - kSec / 20);
    CHECK(p[3].ts_ns == kDay + kSec);
    CHECK(run.stats.first_ts_ns == p[0].ts_ns);
    CHECK(run.stats.last_ts_ns == p[3].ts_ns);
}

TEST_CASE("strace reader: calls still unfinished at the end are counted", "[strace]") {
    Run run = feed({
        "1 read(3,  <unfinished ...>",
        "2 futex(0x1, FUTEX_WAIT, 0, NULL <unfinished ...>",
        "3 <... write resumed>) = 1",
    });
    CHECK(run.sink.calls.empty());
    CHECK(run.stats.unfinished_at_end == 2);
    CHECK(run.stats.orphan_resumed == 1);
}

TEST_CASE("strace reader: calls iodiag does not model are only counted", "[strace]") {
    Run run = feed({
        "1 mprotect(0x7f, 4096, PROT_READ) = 0",
        "1 fcntl(3</db>, F_SETLK, {l_type=F_WRLCK, l_whence=SEEK_SET, l_start=1073741825, "
        "l_len=1}) = 0",
        "1 syscall_0x1c3(0x1, 0x2) = -1 ENOSYS (Function not implemented)",
        "1 fdatasync(3</db>) = 0",
    });
    CHECK(run.stats.ignored_syscalls == 3);
    CHECK(run.stats.syscalls == 1);
    REQUIRE(run.sink.calls.size() == 1);
    CHECK(run.sink.calls[0].call == Syscall::fdatasync);
}

TEST_CASE("strace reader: files larger than the read buffer and without a final newline",
          "[strace]") {
    const std::string path = (std::filesystem::temp_directory_path() /
                              ("iodiag_strace_big_" + std::to_string(::getpid()) + ".log"))
                                 .string();
    constexpr int kLines = 40000;  // ~3.5 MiB: several 1 MiB chunks
    {
        std::ofstream out(path, std::ios::binary);
        for (int i = 0; i < kLines; ++i) {
            out << "42  1795658926." << std::to_string(100000 + i) << " pwrite64(7</tmp/big>, \""
                << std::string(20, 'x') << "\"..., 4096, " << uint64_t(i) * 4096 << ") = 4096";
            if (i + 1 < kLines) out << (i % 2 ? "\r\n" : "\n");
        }
    }
    Capture sink;
    auto stats = read_strace_file(path, sink);
    std::filesystem::remove(path);
    REQUIRE(stats);
    CHECK(stats->lines == kLines);
    CHECK(stats->bad_lines == 0);
    REQUIRE(sink.calls.size() == size_t(kLines));
    CHECK(sink.calls.back().offset == uint64_t(kLines - 1) * 4096);
    CHECK(sink.calls.back().fd_path == "/tmp/big");
}

TEST_CASE("strace reader: missing or unreadable log files", "[strace]") {
    Capture sink;
    auto missing = read_strace_file(fixture("no_such.log"), sink);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().kind == ErrorKind::not_found);
    CHECK(missing.error().message.find("no_such.log") != std::string::npos);
    CHECK_FALSE(missing.error().hint.empty());

    auto directory = read_strace_file(fixture(""), sink);
    REQUIRE_FALSE(directory);
    CHECK(directory.error().kind == ErrorKind::bad_input);

    if (::geteuid() != 0) {  // root reads anything
        const std::string path = (std::filesystem::temp_directory_path() /
                                  ("iodiag_strace_noperm_" + std::to_string(::getpid())))
                                     .string();
        std::ofstream(path) << "1 close(3) = 0\n";
        std::filesystem::permissions(path, std::filesystem::perms::none);
        auto denied = read_strace_file(path, sink);
        std::filesystem::remove(path);
        REQUIRE_FALSE(denied);
        CHECK(denied.error().kind == ErrorKind::permission);
    }
}
