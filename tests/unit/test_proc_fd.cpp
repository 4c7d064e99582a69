// ProcFs against a fixture tree built at run time (symlinks and all) and against the real
// /proc/self.
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>

#include "trace/io_event.hpp"
#include "trace/proc_fd.hpp"
#include "support/support.hpp"

using namespace iodiag;
using namespace iodiag::trace;
namespace fs = std::filesystem;
using iodiag::testing::ScratchDir;

namespace {

void write_file(const fs::path& path, const std::string& text) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
}

// root/proc/42: two threads, two fds (an O_DIRECT read-write file and a write-only pipe), three
// children spread over both threads.
void make_fixture(const fs::path& root) {
    fs::path pid = root / "proc" / "42";
    fs::create_directories(pid / "fd");
    fs::create_symlink("/data/db/table.ibd", pid / "fd" / "3");
    fs::create_symlink("pipe:[1234]", pid / "fd" / "4");
    write_file(pid / "fdinfo" / "3", "pos:\t4096\nflags:\t0140002\nmnt_id:\t28\nino:\t12\n");
    write_file(pid / "fdinfo" / "4", "pos:\t0\nflags:\t01\nmnt_id:\t15\n");
    write_file(pid / "task" / "42" / "children", "100 101 ");
    write_file(pid / "task" / "43" / "children", "102");
    write_file(pid / "comm", "mysqld\n");
    write_file(pid / "cmdline", std::string("/usr/sbin/mysqld\0--datadir=/data\0", 33));
}

}  // namespace

TEST_CASE("ProcFs reads a fixture tree", "[proc_fd]") {
    ScratchDir dir;
    make_fixture(dir.path());
    ProcFs proc(dir.path().string());

    CHECK(proc.exists(42));
    CHECK_FALSE(proc.exists(7));

    auto fds = proc.fds(42);
    REQUIRE(fds);
    REQUIRE(fds->size() == 2);
    const ProcFd& file = (*fds)[0];
    CHECK(file.fd == 3);
    CHECK(file.target == "/data/db/table.ibd");
    CHECK(file.open_flags == (kOpenFlagsKnown | kOpenRead | kOpenWrite | kOpenDirect));
    CHECK(file.position == std::optional<uint64_t>(4096));
    const ProcFd& pipe = (*fds)[1];
    CHECK(pipe.fd == 4);
    CHECK(pipe.target == "pipe:[1234]");
    CHECK(pipe.open_flags == (kOpenFlagsKnown | kOpenWrite));

    auto threads = proc.threads(42);
    REQUIRE(threads);
    CHECK(*threads == std::vector<int32_t>{42, 43});
    auto children = proc.children(42);
    REQUIRE(children);
    CHECK(*children == std::vector<int32_t>{100, 101, 102});
    CHECK(proc.comm(42).value() == "mysqld");
    CHECK(proc.cmdline(42).value() ==
          std::vector<std::string>{"/usr/sbin/mysqld", "--datadir=/data"});
}

TEST_CASE("ProcFs: a missing fdinfo leaves the flags unknown", "[proc_fd]") {
    ScratchDir dir;
    make_fixture(dir.path());
    fs::remove(dir.path() / "proc" / "42" / "fdinfo" / "3");
    auto fd = ProcFs(dir.path().string()).fd(42, 3);
    REQUIRE(fd);
    CHECK(fd->target == "/data/db/table.ibd");
    CHECK(fd->open_flags == 0);
    CHECK_FALSE(fd->position);
}

TEST_CASE("ProcFs errors say what is missing", "[proc_fd]") {
    ScratchDir dir;
    make_fixture(dir.path());
    ProcFs proc(dir.path().string());

    auto gone = proc.fds(7);
    REQUIRE_FALSE(gone);
    CHECK(gone.error().kind == ErrorKind::not_found);
    CHECK(gone.error().message == "no process with pid 7");
    CHECK_FALSE(proc.comm(7));

    auto no_fd = proc.fd(42, 99);
    REQUIRE_FALSE(no_fd);
    CHECK(no_fd.error().kind == ErrorKind::not_found);
    CHECK(no_fd.error().message.find("no fd 99") != std::string::npos);
}

TEST_CASE("ProcFs: unreadable fd folder is a permission error with a hint", "[proc_fd]") {
    ScratchDir dir;
    make_fixture(dir.path());
    fs::permissions(dir.path(), fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
    fs::path fd_dir = dir.path() / "proc" / "42" / "fd";
    fs::permissions(fd_dir, fs::perms::none);

    // Root reads a mode-000 folder anyway: look as nobody, from a child process.
    auto kind_seen = [&]() -> int {
        auto fds = ProcFs(dir.path().string()).fds(42);
        if (fds) return 100;
        if (fds.error().hint.find("ptrace_scope") == std::string::npos) return 101;
        return static_cast<int>(fds.error().kind);
    };
    int kind = 0;
    if (geteuid() != 0) {
        kind = kind_seen();
    } else {
        pid_t child = fork();
        REQUIRE(child >= 0);
        if (child == 0) {
            if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0)
                _exit(102);
            _exit(kind_seen());
        }
        int status = 0;
        waitpid(child, &status, 0);
        REQUIRE(WIFEXITED(status));
        kind = WEXITSTATUS(status);
    }
    fs::permissions(fd_dir, fs::perms::owner_all);
    CHECK(kind == static_cast<int>(ErrorKind::permission));
}

TEST_CASE("ProcFs reads the real /proc/self", "[proc_fd]") {
    ScratchDir dir;
    const std::string path = (dir.path() / "appended").string();
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, "0123456789", 10) == 10);

    ProcFs proc;
    const int32_t pid = getpid();
    auto entry = proc.fd(pid, fd);
    REQUIRE(entry);
    CHECK(entry->target == path);
    CHECK(entry->open_flags == (kOpenFlagsKnown | kOpenWrite | kOpenAppend));
    CHECK(entry->position == std::optional<uint64_t>(10));

    auto fds = proc.fds(pid);
    REQUIRE(fds);
    CHECK(std::any_of(fds->begin(), fds->end(),
                      [&](const ProcFd& e) { return e.fd == fd && e.target == path; }));
    close(fd);

    auto threads = proc.threads(pid);
    REQUIRE(threads);
    CHECK(std::find(threads->begin(), threads->end(), static_cast<int32_t>(syscall(SYS_gettid))) !=
          threads->end());
    CHECK_FALSE(proc.comm(pid).value().empty());
    CHECK_FALSE(proc.cmdline(pid).value().empty());

    pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        pause();
        _exit(0);
    }
    auto children = proc.children(pid);
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    REQUIRE(children);
    CHECK(std::find(children->begin(), children->end(), child) != children->end());
}
