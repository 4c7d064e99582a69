// perf trace text parsing: single lines (parse_perf_line) and excerpts of real `perf trace`
// output (perf 6.1 on kernel 6.18) from fio, dd, bash and a test program that makes every call
// iodiag follows (tests/data/perf/, one file per job or line form).
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "trace/perf_parser.hpp"
#include "trace/syscall_decoder.hpp"
#include "text_reader_harness.hpp"

using namespace iodiag;
using namespace iodiag::trace;

namespace {

std::string fixture(const std::string& name) {
    return std::string(IODIAG_TEST_DATA) + "/perf/" + name;
}

// The last open that returned fd.
const RawSyscall& open_of(const testing::RawCapture& sink, int32_t fd) {
    auto it = std::find_if(sink.calls.rbegin(), sink.calls.rend(), [fd](const RawSyscall& c) {
        return c.call == Syscall::openat && c.ret == fd;
    });
    REQUIRE(it != sink.calls.rend());
    return *it;
}

using Capture = testing::RawCapture;
using Run = testing::ReaderRun<PerfReaderStats>;

Run read_fixture(const std::string& name, PerfReaderOptions options = {}) {
    INFO(name);
    return testing::read_with<PerfReaderStats>(
        [&](RawSyscallSink& sink) { return read_perf_file(fixture(name), sink, options); });
}

Run feed(const std::vector<std::string>& lines, PerfReaderOptions options = {}) {
    return testing::feed_lines<PerfReader>(lines, std::move(options));
}

RawSyscall one_call(const std::string& line) {
    return testing::one_call<PerfReader>(line, PerfReaderOptions{});
}

constexpr uint64_t kMs = 1'000'000;

}  // namespace

// ------------------------------------------------------------------------------------------
// parse_perf_line

TEST_CASE("perf line: -T timestamp, duration, comm/tid, named args and return", "[perf]") {
    const PerfLine l = parse_perf_line(
        "1478554.204 ( 0.238 ms): fio/23525 pread64(fd: 7</tmp/pt/f1>, buf: 0x559d4143b620, "
        "count: 131072, pos: 131072) = 131072");
    REQUIRE(l.kind == PerfLineKind::syscall);
    CHECK(l.ts_ns == 1478554204 * 1000ull);
    CHECK(l.has_dur);
    CHECK(l.dur_ns == 238'000);
    CHECK(l.comm == "fio");
    CHECK(l.tid == 23525);
    CHECK(l.name == "pread64");
    CHECK(l.args == "fd: 7</tmp/pt/f1>, buf: 0x559d4143b620, count: 131072, pos: 131072");
    CHECK(l.ret_known);
    CHECK(l.ret == 131072);
}

TEST_CASE("perf line: relative clock, unknown entry time, no duration", "[perf]") {
    const PerfLine first = parse_perf_line(
        "     0.000 (         ): true/29135 exit_group()                         = ?");
    REQUIRE(first.kind == PerfLineKind::syscall);
    CHECK(first.ts_ns == 1);  // 0.000 would read as "unknown"
    CHECK_FALSE(first.has_dur);
    CHECK_FALSE(first.ret_known);
    const PerfLine later = parse_perf_line(
        "   320.581 ( 0.011 ms): read(buf: 0x55a2dd0c7000, count: 4096)          = 4096");
    CHECK(later.ts_ns == 320'581'000);
    const PerfLine unseen = parse_perf_line(
        "         ? (         ): fio/23522  ... [continued]: clone3())           = 0");
    REQUIRE(unseen.kind == PerfLineKind::continued);
    CHECK(unseen.ts_ns == 0);
}

TEST_CASE("perf line: no comm/tid when perf traces a single thread", "[perf]") {
    const PerfLine l = parse_perf_line(
        "     0.062 ( 0.296 ms): write(fd: 1</tmp/pt/ddp>, buf: 0x55a2dd0c7000, count: 4096)  = 4096");
    REQUIRE(l.kind == PerfLineKind::syscall);
    CHECK(l.tid == 0);
    CHECK(l.comm.empty());
    CHECK(l.name == "write");
    const PerfLine c = parse_perf_line(
        "         ? (         ):  ... [continued]: write())                      = 4096");
    REQUIRE(c.kind == PerfLineKind::continued);
    CHECK(c.tid == 0);
    CHECK(c.name == "write");
}

TEST_CASE("perf line: comm with spaces, slashes and parentheses", "[perf]") {
    const PerfLine l = parse_perf_line(
        "5312996.700 ( 0.012 ms): io w/7 x/18731 fcntl(fd: 3</tmp/out.dat>, cmd: GETFD) = CLOEXEC");
    REQUIRE(l.kind == PerfLineKind::syscall);
    CHECK(l.comm == "io w/7 x");
    CHECK(l.tid == 18731);
    CHECK(l.name == "fcntl");
    CHECK_FALSE(l.ret_known);  // a symbolic return
    const PerfLine k = parse_perf_line(
        "     1.000 ( 0.010 ms): kworker/u8:2/99 read(fd: 3, count: 8)            = 8");
    CHECK(k.comm == "kworker/u8:2");
    CHECK(k.tid == 99);
    const PerfLine p = parse_perf_line(
        "     1.000 ( 0.010 ms): (sd-pam)/812 close(fd: 3)                         = 0");
    CHECK(p.comm == "(sd-pam)");
    CHECK(p.tid == 812);
    CHECK(p.name == "close");
}

TEST_CASE("perf line: an interrupted call and its continuation", "[perf]") {
    const PerfLine entry = parse_perf_line(
        "1478554.618 (         ): fio/23525 pread64(fd: 7</tmp/pt/f1>, buf: 0x559d4143b620, "
        "count: 131072, pos: 524288) ...");
    REQUIRE(entry.kind == PerfLineKind::entry);
    CHECK(entry.args.ends_with("pos: 524288"));
    const PerfLine end = parse_perf_line(
        "1478554.618 ( 8.129 ms): fio/23525  ... [continued]: pread64())         = 131072");
    REQUIRE(end.kind == PerfLineKind::continued);
    CHECK(end.tid == 23525);
    CHECK(end.name == "pread64");
    CHECK(end.args.empty());
    CHECK(end.dur_ns == 8'129'000);
    CHECK(end.ret == 131072);
}

TEST_CASE("perf line: returns: errors, annotations, pids, empty", "[perf]") {
    const PerfLine enoent = parse_perf_line(
        "1.000 ( 0.012 ms): dd/1 openat(dfd: CWD, filename: 0xb899f3e0, flags: RDONLY|CLOEXEC) "
        "= -1 ENOENT (No such file or directory)");
    CHECK(enoent.ret == -2);
    const PerfLine eagain = parse_perf_line(
        "1.000 ( 0.011 ms): fio/2 read(fd: 4<pipe:[73666]>, buf: 0x7f5a8c08f7cf, count: 1) "
        "= -1 EAGAIN (Resource temporarily unavailable)");
    CHECK(eagain.ret == -11);
    const PerfLine dupfd = parse_perf_line(
        "1.000 ( 0.011 ms): forms/3 fcntl(fd: 4</a, b>c>, cmd: DUPFD, arg: 30</a, b>c>) = 30</a, b>c>");
    CHECK(dupfd.ret == 30);
    CHECK(dupfd.ret_text == "30</a, b>c>");
    const PerfLine pid = parse_perf_line(
        "1.000 ( 1.144 ms): fio/4 clone(clone_flags: CHILD_CLEARTID|CHILD_SETTID|0x11, "
        "child_tidptr: 0x7f2b329dff10) = 23525 (fio)");
    CHECK(pid.ret == 23525);
    const PerfLine nohang = parse_perf_line(
        "1.000 ( 0.015 ms): fio/5 wait4(upid: 24299 (fio), stat_addr: 0x7ffd, options: NOHANG)  = ");
    REQUIRE(nohang.kind == PerfLineKind::syscall);
    CHECK_FALSE(nohang.ret_known);
    CHECK(nohang.args == "upid: 24299 (fio), stat_addr: 0x7ffd, options: NOHANG");
}

TEST_CASE("perf line: LOST, summary, other events, page faults", "[perf]") {
    const PerfLine lost = parse_perf_line("LOST 629 events!");
    REQUIRE(lost.kind == PerfLineKind::lost);
    CHECK(lost.lost == 629);
    CHECK(parse_perf_line(" Summary of events:").kind == PerfLineKind::summary);
    CHECK(parse_perf_line("     0.856 dd/18487 sched:sched_process_exit(comm: \"dd\", pid: 18487 "
                          "(dd), prio: 120, group_dead: 1)")
              .kind == PerfLineKind::event);
    CHECK(parse_perf_line("  1.000 (         ): fio/9 block:block_rq_issue(dev: 8)").kind ==
          PerfLineKind::event);
    CHECK(parse_perf_line("5306529.901 ( 0.000 ms): dd/18636 minfault [elf_load+0x28a] => "
                          "0x5561cd032328 (?k)")
              .kind == PerfLineKind::event);
    CHECK(parse_perf_line("   ").kind == PerfLineKind::blank);
}

TEST_CASE("perf line: cut-off and foreign lines are bad, with no fields filled", "[perf]") {
    for (const char* text : {
             "2213510.773 ( 0.013 ms): forms/28835 openat(dfd: CWD, ",
             "1.000 ( 0.012 ms): dd/1 openat(dfd: CWD, flags: RDONLY) = -1 ENOENT (No such",
             "1.000 ( 0.011 ms): forms/3 fcntl(fd: 4, cmd: DUPFD, arg: 30) = 30</var/tm",
             "1.000 ( 0.011 ms): fio/2 read(fd: 4, count: 1",
             "3+0 records in",
             "12288 bytes (12 kB, 12 KiB) copied, 0.000314166 s, 39.1 MB/s",
             "Problems parsing the target to trace, check your options!",
             "1.000 (",
         }) {
        INFO(text);
        const PerfLine l = parse_perf_line(text);
        CHECK(l.kind == PerfLineKind::bad);
        CHECK(l.name.empty());
        CHECK(l.tid == 0);
    }
}

// ------------------------------------------------------------------------------------------
// Decoding, line by line

TEST_CASE("perf reader: arguments perf hides are zero", "[perf]") {
    const RawSyscall read = one_call("0.035 ( 0.016 ms): read(buf: 0x55a2dd0c7000, count: 4096) = 4096");
    CHECK(read.fd == 0);
    CHECK(read.bytes == 4096);
    const RawSyscall seek = one_call("7.053 ( 0.011 ms): dd/1 lseek(whence: CUR)  = 0");
    CHECK(seek.fd == 0);
    CHECK(seek.offset == 0);
    CHECK(seek.cmd == kSeekCur);
    const RawSyscall first = one_call(
        "1.0 ( 3.273 ms): fio/2 pread64(fd: 7</f1>, buf: 0x559d4143b620, count: 131072) = 131072");
    CHECK(first.has_offset);
    CHECK(first.offset == 0);
    const RawSyscall anon = one_call(
        "1.0 ( 0.019 ms): f/3 mmap(len: 12288, prot: READ|WRITE, flags: PRIVATE|ANONYMOUS) = 0x7efc2cef3000");
    CHECK(anon.fd == -1);
}

TEST_CASE("perf reader: an open is held until a call names its fd", "[perf]") {
    Run run = feed({
        "1.000 ( 0.019 ms): fio/10 openat(dfd: CWD, filename: 0xb46232b0, flags: RDWR|CREAT|DIRECT, mode: IRUSR) = 7",
        "1.100 ( 0.010 ms): fio/10 getpid()  = 10",
        "1.200 ( 0.302 ms): fio/10 pwrite64(fd: 7</data/f>, buf: 0x5603, count: 4096, pos: 8192) = 4096",
    });
    REQUIRE(run.sink.calls.size() == 2);
    const RawSyscall& open = run.sink.calls[0];
    CHECK(open.call == Syscall::openat);
    CHECK(open.fd == kAtFdcwd);
    CHECK(open.ret_path == "/data/f");
    CHECK(open.ts_ns == 1 * kMs);  // its own time, though it went out later
    CHECK((open.open_flags & kOpenDirect) != 0);
    CHECK((open.open_flags & kOpenWrite) != 0);
    CHECK((open.open_flags & kOpenRead) != 0);
    CHECK((open.open_flags & kOpenCreate) != 0);
    CHECK(run.sink.calls[1].call == Syscall::pwrite64);
    CHECK(run.sink.calls[1].offset == 8192);
    CHECK(run.stats.syscalls == 2);
}

TEST_CASE("perf reader: held opens across threads, reuse, close and the end", "[perf]") {
    SECTION("the only thread holding that fd number is released by another thread's call") {
        Run run = feed({
            "1.0 ( 0.01 ms): app/10 openat(dfd: CWD, filename: 0x1, flags: RDONLY|DIRECT) = 5",
            "2.0 ( 0.01 ms): app/11 pread64(fd: 5</db>, count: 4096, pos: 4096) = 4096",
        });
        REQUIRE(run.sink.calls.size() == 2);
        CHECK(run.sink.calls[0].tid == 10);
        CHECK(run.sink.calls[0].ret_path == "/db");
    }
    SECTION("two threads holding the same number: only their own calls release them") {
        Run run = feed({
            "1.0 ( 0.01 ms): a/10 openat(dfd: CWD, filename: 0x1) = 5",
            "1.1 ( 0.01 ms): b/20 openat(dfd: CWD, filename: 0x2) = 5",
            "2.0 ( 0.01 ms): c/30 read(fd: 5</x>, count: 1) = 1",
            "3.0 ( 0.01 ms): b/20 close(fd: 5</b-file>) = 0",
        });
        REQUIRE(run.sink.calls.size() == 4);
        CHECK(run.sink.calls[0].call == Syscall::read);
        CHECK(run.sink.calls[1].tid == 20);
        CHECK(run.sink.calls[1].ret_path == "/b-file");
        CHECK(run.sink.calls[3].tid == 10);  // at the end, unnamed
        CHECK(run.sink.calls[3].ret_path.empty());
    }
    SECTION("an fd opened again was closed unseen: the old open goes out unnamed") {
        Run run = feed({
            "1.0 ( 0.01 ms): a/10 openat(dfd: CWD, filename: 0x1) = 5",
            "2.0 ( 0.01 ms): a/10 openat(dfd: CWD, filename: 0x2, flags: WRONLY) = 5",
            "3.0 ( 0.01 ms): a/10 write(fd: 5</second>, count: 1) = 1",
        });
        REQUIRE(run.sink.calls.size() == 3);
        CHECK(run.sink.calls[0].ret_path.empty());
        CHECK(run.sink.calls[1].ret_path == "/second");
        CHECK((run.sink.calls[1].open_flags & kOpenWrite) != 0);
    }
    SECTION("a live source names what perf could not, from /proc") {
        PerfReaderOptions options;
        std::vector<std::pair<int32_t, int32_t>> asked;
        options.fd_path = [&asked](int32_t tid, int32_t fd) {
            asked.emplace_back(tid, fd);
            return std::string("/live/") + std::to_string(fd);
        };
        Run run = feed({
                           "1.0 ( 0.01 ms): a/10 openat(dfd: CWD, filename: 0x1) = 6",
                           "2.0 ( 0.01 ms): a/10 readv(fd: 6, vec: 0x7ffe, vlen: 2) = 8192",
                           "3.0 ( 0.01 ms): a/10 openat(dfd: CWD, filename: 0x2) = 7",
                       },
                       options);
        REQUIRE(run.sink.calls.size() == 3);
        CHECK(run.sink.calls[0].ret_path == "/live/6");
        CHECK(run.sink.calls[1].bytes == 8192);  // readv: from the return value
        CHECK(run.sink.calls[2].ret_path == "/live/7");  // at the end
        CHECK(asked == std::vector<std::pair<int32_t, int32_t>>{{10, 6}, {10, 7}});
    }
    SECTION("dd's open; dup2(3, 1); close(3): the new fd names the file") {
        PerfReaderOptions live;
        live.fd_path = [](int32_t, int32_t fd) { return fd == 1 ? "/out" : ""; };
        for (const char* dup2 : {"1.1 ( 0.01 ms): dd/10 dup2(oldfd: 3, newfd: 1</out>) = 1",
                                 "1.1 ( 0.01 ms): dd/10 dup2(oldfd: 3, newfd: 1) = 1"}) {
            INFO(dup2);
            Run run = feed({"1.0 ( 0.08 ms): dd/10 openat(dfd: CWD, filename: 0x2e183a40, flags: "
                            "CREAT|TRUNC|WRONLY|DIRECT, mode: IRUGO|IWUGO) = 3",
                            dup2, "1.2 ( 0.01 ms): dd/10 close(fd: 3) = 0"},
                           live);
            REQUIRE(run.sink.calls.size() == 3);
            CHECK(run.sink.calls[0].ret_path == "/out");
            CHECK((run.sink.calls[0].open_flags & kOpenDirect) != 0);
            CHECK(run.sink.calls[1].call == Syscall::dup2);
        }
    }
    SECTION("failed opens and opens with a readable filename go out at once") {
        Run run = feed({
            "1.0 ( 0.01 ms): a/10 openat(dfd: CWD, filename: 0x1) = -1 ENOENT (No such file or directory)",
            "2.0 ( 0.01 ms): a/10 openat(dfd: CWD, filename: \"/etc/hosts\", flags: RDONLY) = 3",
            "3.0 ( 0.01 ms): a/10 open(filename: /etc/motd, flags: WRONLY|APPEND) = 4",
        });
        REQUIRE(run.sink.calls.size() == 3);
        CHECK(run.sink.calls[0].ret == -2);
        CHECK(run.sink.calls[1].path == "/etc/hosts");
        CHECK(run.sink.calls[2].path == "/etc/motd");
        CHECK((run.sink.calls[2].open_flags & kOpenAppend) != 0);
    }
}

TEST_CASE("perf reader: clone flags, clone3 guesses, pending spawns and exits", "[perf]") {
    Run run = feed({
        "1.0 (         ): fio/1 clone(clone_flags: VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS, newsp: 0x7f) ...",
        "1.5 ( 0.01 ms): fio/2 getpid() = 1",
        "1.0 ( 0.20 ms): fio/1  ... [continued]: clone())  = 2 (fio)",
        "2.0 ( 0.10 ms): fio/1 clone3(uargs: 0x7ffc791d3c90, size: 88)  = 3",
        "    ? (         ): fio/3  ... [continued]: clone3())  = 0",
        "3.0 (         ): fio/3 exit()  = ?",
    });
    REQUIRE(run.sink.spawns.size() == 1);
    CHECK(run.sink.spawns[0].first == 1);
    CHECK((run.sink.spawns[0].second & kCloneThread) != 0);
    const auto clones = run.sink.of(Syscall::clone);
    REQUIRE(clones.size() == 1);
    CHECK(clones[0].ret == 2);
    CHECK(clones[0].ts_ns == 1 * kMs);  // the entry's time
    CHECK(clones[0].dur_ns == 200'000);
    const auto clone3 = run.sink.of(Syscall::clone3);
    REQUIRE(clone3.size() == 1);
    CHECK((clone3[0].flags & kCloneThread) != 0);  // pthread_create's, perf shows no flags
    CHECK(run.stats.orphan_resumed == 0);           // the child's own return is expected
    REQUIRE(run.sink.exits.size() == 1);
    CHECK(run.sink.exits[0] == std::pair<int32_t, uint64_t>{3, 3 * kMs});

    PerfReaderOptions live;
    live.tgid_of = [](int32_t tid) { return tid; };  // every task its own process: forks
    Run forked = feed({"2.0 ( 0.10 ms): fio/1 clone3(uargs: 0x7ffc791d3c90, size: 88)  = 3"}, live);
    CHECK((forked.sink.calls.at(0).flags & kCloneThread) == 0);
}

TEST_CASE("perf reader: strict mode names the line, default mode counts and skips", "[perf]") {
    PerfReaderOptions strict;
    strict.strict = true;
    Capture sink;
    PerfReader reader(sink, strict);
    REQUIRE(reader.feed_line("1.0 ( 0.01 ms): a/1 close(fd: 3) = 0"));
    auto status = reader.feed_line("garbage here");
    REQUIRE_FALSE(status);
    CHECK(status.error().message == "line 2: not perf trace output: garbage here");
    CHECK(status.error().kind == ErrorKind::bad_input);

    Run lenient = feed({"garbage here", "1.0 ( 0.01 ms): a/1 close(fd: 3) = 0", "more garbage"});
    CHECK(lenient.stats.bad_lines == 2);
    CHECK(lenient.stats.first_bad_line == 1);
    CHECK(lenient.stats.first_bad_text == "garbage here");
    CHECK(lenient.sink.calls.size() == 1);
}

// ------------------------------------------------------------------------------------------
// Real perf trace output

TEST_CASE("perf fixture: fio psync 128k sequential reads", "[perf]") {
    Run run = read_fixture("fio_psync_read_128k_T.txt");
    CHECK(run.stats.bad_lines == 0);
    CHECK(run.stats.unfinished_at_end == 2);  // pselect6, clock_nanosleep: ends past the excerpt
    CHECK(run.stats.orphan_resumed == 0);
    const auto reads = run.sink.of(Syscall::pread64);
    REQUIRE(reads.size() == 36);
    for (size_t i = 0; i < reads.size(); ++i) {
        INFO("pread " << i);
        CHECK(reads[i].tid == 23525);
        CHECK(reads[i].fd == 7);
        CHECK(reads[i].fd_path == "/var/tmp/perf/f1");
        CHECK(reads[i].bytes == 131072);
        CHECK(reads[i].has_offset);
        CHECK(reads[i].offset == i * 131072);
    }
    // The fifth was split around another thread's line: joined, with the continuation's duration.
    CHECK(reads[4].ts_ns == 1478554618000ull);
    CHECK(reads[4].dur_ns == 8'129'000);
    const RawSyscall& open = open_of(run.sink, 7);
    CHECK(open.ret_path == "/var/tmp/perf/f1");
    CHECK((open.open_flags & (kOpenRead | kOpenWrite | kOpenDirect)) == kOpenRead);
    const auto forks = run.sink.of(Syscall::clone);
    REQUIRE(forks.size() == 1);
    CHECK(forks[0].ret == 23525);
    CHECK((forks[0].flags & kCloneThread) == 0);
    CHECK(run.sink.exits.size() == 2);
    CHECK(run.stats.first_ts_ns == 1477940852000ull);
    CHECK(run.stats.last_ts_ns == 1479581723000ull);
}

TEST_CASE("perf fixture: fio random direct 4k writes", "[perf]") {
    Run run = read_fixture("fio_randwrite_direct_4k_T.txt");
    CHECK(run.stats.bad_lines == 0);
    const auto writes = run.sink.of(Syscall::pwrite64);
    REQUIRE(writes.size() == 76);
    for (const RawSyscall& w : writes) {
        CHECK(w.bytes == 4096);
        CHECK(w.offset % 4096 == 0);
        CHECK(w.fd_path == "/var/tmp/perf/f_rwdirect");
    }
    CHECK(writes[0].offset == 1011712);
    const RawSyscall& open = open_of(run.sink, 7);
    CHECK(open.ret_path == "/var/tmp/perf/f_rwdirect");
    CHECK((open.open_flags & kOpenDirect) != 0);
    CHECK((open.open_flags & kOpenWrite) != 0);
}

TEST_CASE("perf fixture: fio buffered writes with fdatasync=1", "[perf]") {
    Run run = read_fixture("fio_write_fdatasync_T.txt");
    CHECK(run.stats.bad_lines == 0);
    const auto syncs = run.sink.of(Syscall::fdatasync);
    const auto writes = run.sink.of(Syscall::write);
    CHECK(syncs.size() >= 18);
    for (const RawSyscall& s : syncs) {
        CHECK(s.fd == 7);
        CHECK(s.fd_path == "/var/tmp/perf/f_sync");
        CHECK(s.dur_ns > 0);  // joined from its split halves
    }
    size_t data_writes = 0;
    for (const RawSyscall& w : writes) data_writes += w.fd_path == "/var/tmp/perf/f_sync" && w.bytes == 4096;
    CHECK(data_writes >= syncs.size());
}

TEST_CASE("perf fixture: fio libaio: contexts and counts, no iocbs", "[perf]") {
    Run run = read_fixture("fio_libaio_randread_qd8_T.txt");
    CHECK(run.stats.bad_lines == 0);
    const auto setup = run.sink.of(Syscall::io_setup);
    REQUIRE(setup.size() == 1);
    CHECK(setup[0].count == 8);
    const auto submits = run.sink.of(Syscall::io_submit);
    REQUIRE(submits.size() >= 40);
    CHECK(submits[0].ctx == 140178293215232ull);
    CHECK(submits[0].count == 1);
    CHECK(submits[0].iocbs.empty());
    const auto reaps = run.sink.of(Syscall::io_getevents);
    REQUIRE_FALSE(reaps.empty());
    CHECK(reaps[0].ctx == 140178293215232ull);
    CHECK(run.sink.of(Syscall::io_destroy).size() == 1);
}

TEST_CASE("perf fixture: fio io_uring: setup entries, enter counts and flags", "[perf]") {
    Run run = read_fixture("fio_io_uring_randread_qd8_T.txt");
    CHECK(run.stats.bad_lines == 0);
    const auto setup = run.sink.of(Syscall::io_uring_setup);
    REQUIRE(setup.size() == 1);
    CHECK(setup[0].count == 8);
    CHECK(setup[0].ret == 7);
    const auto enters = run.sink.of(Syscall::io_uring_enter);
    REQUIRE(enters.size() >= 70);
    CHECK(enters[0].fd == 7);
    CHECK(enters[0].fd_path == "anon_inode:[io_uring]");
    CHECK(enters[0].count == 1);
    CHECK(enters[0].flags == kUringEnterGetevents);
}

TEST_CASE("perf fixture: fio pvsync2 with sync=1: O_SYNC, pos_l, fds perf does not name", "[perf]") {
    Run run = read_fixture("fio_pvsync2_sync_T.txt");
    CHECK(run.stats.bad_lines == 0);
    const RawSyscall& open = open_of(run.sink, 7);
    CHECK((open.open_flags & kOpenSync) != 0);  // "SYNC|0x101000"
    CHECK(open.ret_path == "/var/tmp/perf/f_pvsync2");  // from fadvise64's annotation
    const auto writes = run.sink.of(Syscall::pwritev2);
    REQUIRE(writes.size() >= 5);
    CHECK(writes[0].fd == 7);
    CHECK(writes[0].fd_path.empty());
    CHECK(writes[0].has_offset);
    CHECK(writes[0].offset == 1007616);
    CHECK(writes[0].bytes == 8192);
}

TEST_CASE("perf fixture: fio vsync: lseek then readv", "[perf]") {
    Run run = read_fixture("fio_vsync_read_16k_T.txt");
    CHECK(run.stats.bad_lines == 0);
    const auto seeks = run.sink.of(Syscall::lseek);
    const auto reads = run.sink.of(Syscall::readv);
    REQUIRE_FALSE(seeks.empty());
    REQUIRE_FALSE(reads.empty());
    CHECK(seeks[0].cmd == kSeekSet);
    for (const RawSyscall& r : reads) CHECK(r.bytes == 16384);
}

TEST_CASE("perf fixture: every call iodiag follows, as perf 6.1 prints it", "[perf]") {
    Run run = read_fixture("calls_T.txt");
    CHECK(run.stats.bad_lines == 0);
    const std::string odd = "/var/tmp/perf/c/data file, with>odd";
    CHECK(open_of(run.sink, 4).ret_path == odd);
    CHECK(run.sink.of(Syscall::creat).at(0).ret == 5);
    CHECK((run.sink.of(Syscall::creat).at(0).open_flags & kOpenTrunc) != 0);

    const auto seeks = run.sink.of(Syscall::lseek);
    REQUIRE(seeks.size() == 3);
    CHECK(seeks[0].offset == 4096);
    CHECK(seeks[0].cmd == kSeekSet);
    CHECK(seeks[1].cmd == kSeekEnd);
    CHECK(int64_t(seeks[2].offset) == -10);
    CHECK(seeks[2].cmd == kSeekCur);
    CHECK(seeks[2].fd_path == odd);

    CHECK(run.sink.of(Syscall::pwritev).at(0).offset == 0);
    CHECK(run.sink.of(Syscall::pwritev).at(0).bytes == 8192);
    CHECK(run.sink.of(Syscall::preadv).at(0).offset == 4096);
    CHECK(run.sink.of(Syscall::readv).at(0).bytes == 10);
    const auto v2w = run.sink.of(Syscall::pwritev2);
    REQUIRE(v2w.size() == 2);
    CHECK(v2w[0].flags == kRwfDsync);
    CHECK(v2w[1].flags == (kRwfHipri | kRwfSync));
    CHECK(v2w[1].offset == 8192);
    CHECK_FALSE(run.sink.of(Syscall::preadv2).at(0).has_offset);  // pos_l: -1

    const auto sfr = run.sink.of(Syscall::sync_file_range);
    REQUIRE(sfr.size() == 1);
    CHECK(sfr[0].bytes == 4096);
    CHECK(sfr[0].flags == 2);  // SYNC_FILE_RANGE_WRITE
    CHECK(run.sink.of(Syscall::fsync).size() == 1);
    CHECK(run.sink.of(Syscall::fdatasync).size() == 1);

    CHECK(run.sink.of(Syscall::dup).at(0).fd == 4);
    CHECK(run.sink.of(Syscall::dup2).at(0).fd2 == 20);
    CHECK(run.sink.of(Syscall::dup3).at(0).fd2 == 21);
    const auto fcntls = run.sink.of(Syscall::fcntl);
    REQUIRE(fcntls.size() == 3);  // F_GETFL is not followed
    CHECK(fcntls[0].cmd == kFcntlDupfd);
    CHECK(fcntls[0].ret_path == odd);
    CHECK(fcntls[1].cmd == kFcntlDupfdCloexec);
    CHECK(fcntls[2].cmd == kFcntlSetfl);
    CHECK(fcntls[2].open_flags == (kOpenFlagsKnown | kOpenDirect | kOpenAppend));

    const auto maps = run.sink.of(Syscall::mmap);
    const auto shared = std::find_if(maps.begin(), maps.end(),
                                     [](const RawSyscall& m) { return m.fd == 4 && m.flags == 1; });
    REQUIRE(shared != maps.end());
    CHECK(shared->offset == 4096);
    CHECK(shared->bytes == 8192);

    CHECK((open_of(run.sink, 7).open_flags & kOpenSync) != 0);
    CHECK((open_of(run.sink, 8).open_flags & (kOpenDsync | kOpenAppend)) ==
          (kOpenDsync | kOpenAppend));
    CHECK((open_of(run.sink, 8).open_flags & kOpenSync) == 0);
    CHECK((open_of(run.sink, 9).open_flags & kOpenDirect) != 0);
    CHECK(open_of(run.sink, 9).ret_path == "/var/tmp/perf/c/direct.dat");
    const auto preads = run.sink.of(Syscall::pread64);
    CHECK(preads.back().offset == 123456789);

    CHECK(run.sink.of(Syscall::io_setup).at(0).count == 8);
    CHECK(run.sink.of(Syscall::io_destroy).at(0).ctx == 139621552762880ull);
    CHECK(run.sink.of(Syscall::io_getevents).at(0).count == 1);
    CHECK(run.sink.of(Syscall::io_getevents).at(0).count2 == 1);
    CHECK(run.sink.of(Syscall::io_uring_setup).at(0).count == 4);
    const auto enter = run.sink.of(Syscall::io_uring_enter).at(0);
    CHECK(enter.fd == 11);
    CHECK(enter.count == 0);
    CHECK(enter.flags == (kUringEnterGetevents | kUringEnterSqWakeup));
    CHECK(run.sink.of(Syscall::openat2).at(0).fd == kAtFdcwd);
    CHECK(run.sink.of(Syscall::clone).at(0).ret == 28971);
    CHECK(run.sink.exits.size() == 1);
}

TEST_CASE("perf fixture: attached to one thread, lines carry no tid", "[perf]") {
    PerfReaderOptions options;
    options.default_pid = 24678;
    Run run = read_fixture("attach_one_thread.txt", options);
    CHECK(run.stats.bad_lines == 0);
    CHECK(run.stats.orphan_resumed == 1);  // the write perf joined in the middle of
    const auto writes = run.sink.of(Syscall::write);
    REQUIRE(writes.size() > 40);
    for (const RawSyscall& w : writes) {
        CHECK(w.tid == 24678);
        CHECK(w.fd == 1);
        CHECK(w.fd_path == "/var/tmp/perf/ddp");
    }
    CHECK(run.stats.first_ts_ns == 35'000);
}

TEST_CASE("perf fixture: LOST events are counted as drops", "[perf]") {
    Run run = read_fixture("lost_relative.txt");
    CHECK(run.stats.lost_events == 629 + 379);
    CHECK(run.stats.bad_lines == 0);
    CHECK(run.stats.syscalls > 50);
}

TEST_CASE("perf fixture: -S adds a summary, which is skipped", "[perf]") {
    Run run = read_fixture("with_summary_S.txt");
    CHECK(run.stats.bad_lines == 0);
    CHECK(run.stats.summary_lines > 20);
    CHECK(run.sink.of(Syscall::write).size() == 13);
}

TEST_CASE("perf fixture: a summary-only or events-only log is refused with a hint", "[perf]") {
    for (const char* name : {"summary_only_s.txt", "no_syscalls_events.txt"}) {
        Capture sink;
        auto result = read_perf_file(fixture(name), sink);
        INFO(name);
        REQUIRE_FALSE(result);
        CHECK(result.error().kind == ErrorKind::bad_input);
        CHECK(result.error().message.find("has no syscall lines") != std::string::npos);
        CHECK(result.error().hint.find("without -s or --no-syscalls") != std::string::npos);
    }
}

TEST_CASE("perf fixture: page faults (-F) are other events", "[perf]") {
    Run run = read_fixture("pagefaults_F_T.txt");
    CHECK(run.stats.bad_lines == 0);
    CHECK(run.stats.other_events == 54);
    CHECK(run.stats.syscalls > 0);
}

TEST_CASE("perf fixture: bash with a comm holding a space and a slash", "[perf]") {
    Run run = read_fixture("comm_with_space_and_slash_T.txt");
    CHECK(run.stats.bad_lines == 0);
    REQUIRE_FALSE(run.sink.calls.empty());
    for (const RawSyscall& c : run.sink.calls) CHECK(c.tid == 18731);
}

TEST_CASE("perf fixture: a cut-off last line is counted, or fails --strict at file:line", "[perf]") {
    Run run = read_fixture("cut_off_T.txt");
    CHECK(run.stats.bad_lines == 1);
    CHECK(run.stats.first_bad_line == 66);
    CHECK(run.stats.first_bad_text.starts_with("2213510.773 ( 0.013 ms): forms/28835 openat("));
    CHECK(run.sink.of(Syscall::pread64).size() == 4);

    PerfReaderOptions strict;
    strict.strict = true;
    Capture sink;
    auto result = read_perf_file(fixture("cut_off_T.txt"), sink, strict);
    REQUIRE_FALSE(result);
    CHECK(result.error().message.starts_with(fixture("cut_off_T.txt") + ":66: not perf trace output"));
    CHECK_FALSE(result.error().hint.empty());
}

TEST_CASE("perf fixture: the workload's own stderr mixed in is skipped", "[perf]") {
    Run run = read_fixture("stderr_mixed_with_dd_T.txt");
    CHECK(run.stats.bad_lines == 3);
    CHECK(run.stats.first_bad_line == 1);
    CHECK(run.stats.first_bad_text == "3+0 records in");
    CHECK(run.sink.of(Syscall::write).size() >= 3);
}

TEST_CASE("perf file: a missing file is not_found", "[perf]") {
    Capture sink;
    auto result = read_perf_file(fixture("no-such-file.txt"), sink);
    REQUIRE_FALSE(result);
    CHECK(result.error().kind == ErrorKind::not_found);
}

// ------------------------------------------------------------------------------------------
// Through the decoder: the events the strace source would give

namespace {

struct Events final : EventSink {
    std::vector<IoEvent> events;
    void on_event(const IoEvent& e) override { events.push_back(e); }
};

}  // namespace

TEST_CASE("perf + decoder: fio's reads land on the file, direct writes keep O_DIRECT", "[perf]") {
    for (const auto& [name, file, call] :
         {std::tuple{"fio_psync_read_128k_T.txt", "/var/tmp/perf/f1", Syscall::pread64},
          std::tuple{"fio_randwrite_direct_4k_T.txt", "/var/tmp/perf/f_rwdirect", Syscall::pwrite64},
          std::tuple{"fio_pvsync2_sync_T.txt", "/var/tmp/perf/f_pvsync2", Syscall::pwritev2}}) {
        INFO(name);
        FileTable files;
        Events sink;
        SyscallDecoder decoder(sink, files);
        REQUIRE(read_perf_file(fixture(name), decoder));
        size_t on_file = 0;
        for (const IoEvent& e : sink.events) {
            if (e.kind != EventKind::data || e.call != call) continue;
            CHECK(files.get(e.file_id).path == file);
            CHECK(e.offset_kind == OffsetKind::absolute);
            if (call == Syscall::pwrite64) CHECK((e.open_flags & kOpenDirect) != 0);
            if (call == Syscall::pwritev2) CHECK((e.open_flags & kOpenSync) != 0);
            ++on_file;
        }
        CHECK(on_file >= 5);
    }
}
