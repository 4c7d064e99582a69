// FileTable, path kinds and syscall names.
#include <catch2/catch.hpp>

#include <string>

#include "trace/io_event.hpp"

using namespace iodiag::trace;

TEST_CASE("FileTable interns a path once and keeps id 0 for unknown", "[decoder][file_table]") {
    FileTable files;
    REQUIRE(files.size() == 1);
    CHECK(files.get(0).path.empty());
    CHECK(files.get(0).kind == FileKind::unknown);

    const uint32_t a = files.intern("/data/a", FileKind::regular);
    const uint32_t b = files.intern("/data/b");
    CHECK(a == 1);
    CHECK(b == 2);
    CHECK(files.intern(std::string("/data/a")) == a);  // same path, same id
    CHECK(files.size() == 3);
    CHECK(files.get(a).path == "/data/a");
    CHECK(files.get(a).kind == FileKind::regular);

    // A later intern teaches an unknown kind but never overrides a known one.
    CHECK(files.intern("/data/b", FileKind::block) == b);
    CHECK(files.get(b).kind == FileKind::block);
    CHECK(files.intern("/data/a", FileKind::pipe) == a);
    CHECK(files.get(a).kind == FileKind::regular);

    CHECK(files.intern("") == 0);                 // no path: the unknown file
    CHECK(files.get(999).path.empty());           // out of range reads as unknown
    files.get_mut(a).size = 1 << 20;
    CHECK(files.get(a).size == 1u << 20);
    CHECK_THROWS(files.get_mut(999));
}

TEST_CASE("kind_from_path classifies paths strace and /proc show", "[decoder][file_table]") {
    struct Case {
        const char* path;
        FileKind kind;
    };
    const Case cases[] = {
        {"/var/lib/db/data.ibd", FileKind::regular},
        {"/tmp/x (deleted)", FileKind::regular},
        {"/dev/shm/seg", FileKind::regular},
        {"/dev/sda", FileKind::block},
        {"/dev/sdb1", FileKind::block},
        {"/dev/vda", FileKind::block},
        {"/dev/xvdf", FileKind::block},
        {"/dev/hdc", FileKind::block},
        {"/dev/nvme0n1", FileKind::block},
        {"/dev/nvme12n3p4", FileKind::block},
        {"/dev/nvme0", FileKind::pseudo},  // the controller, a char device
        {"/dev/loop7", FileKind::block},
        {"/dev/loop-control", FileKind::pseudo},
        {"/dev/dm-0", FileKind::block},
        {"/dev/md127", FileKind::block},
        {"/dev/mmcblk0p1", FileKind::block},
        {"/dev/sr0", FileKind::block},
        {"/dev/nbd3", FileKind::block},
        {"/dev/zram0", FileKind::block},
        {"/dev/ram1", FileKind::block},
        {"/dev/rbd0", FileKind::block},
        {"/dev/pmem0", FileKind::block},
        {"/dev/mapper/vg-lv", FileKind::block},
        {"/dev/mapper/control", FileKind::pseudo},
        {"/dev/disk/by-id/wwn-0x5000", FileKind::block},
        {"/dev/weird<block 259:1>", FileKind::block},
        {"/dev/null<char 1:3>", FileKind::pseudo},
        {"/dev/null", FileKind::pseudo},
        {"/dev/zero", FileKind::pseudo},
        {"/dev/urandom", FileKind::pseudo},
        {"/dev/tty", FileKind::pseudo},
        {"/dev/pts/0", FileKind::pseudo},
        {"/dev/sd", FileKind::pseudo},  // no disk letter
        {"/proc/self/stat", FileKind::pseudo},
        {"/sys/block/sda/queue/scheduler", FileKind::pseudo},
        {"/memfd:jit (deleted)", FileKind::pseudo},
        {"anon_inode:[eventfd]", FileKind::pseudo},
        {"anon_inode:[io_uring]", FileKind::pseudo},
        {"memfd:buf", FileKind::pseudo},
        {"net:[4026531840]", FileKind::pseudo},
        {"pipe:[123456]", FileKind::pipe},
        {"socket:[98765]", FileKind::socket},
        {"TCP:[127.0.0.1:5432->127.0.0.1:40000]", FileKind::socket},
        {"TCPv6:[::1:22->::1:5000]", FileKind::socket},
        {"UDP:[0.0.0.0:53]", FileKind::socket},
        {"UNIX:[12345]", FileKind::socket},
        {"UNIX-STREAM:[12345->12346]", FileKind::socket},
        {"NETLINK:[ROUTE:1234]", FileKind::socket},
        {"data/file.db", FileKind::unknown},
        {"", FileKind::unknown},
    };
    for (const Case& c : cases) {
        INFO(c.path);
        CHECK(FileTable::kind_from_path(c.path) == c.kind);
    }
}

TEST_CASE("split_device_suffix strips strace -yy device tags", "[decoder][file_table]") {
    auto [blk, blk_kind] = split_device_suffix("/dev/sda<block 8:0>");
    CHECK(blk == "/dev/sda");
    CHECK(blk_kind == FileKind::block);
    auto [chr, chr_kind] = split_device_suffix("/dev/null<char 1:3>");
    CHECK(chr == "/dev/null");
    CHECK(chr_kind == FileKind::pseudo);
    auto [plain, plain_kind] = split_device_suffix("/data/f<odd>");
    CHECK(plain == "/data/f<odd>");
    CHECK(plain_kind == FileKind::unknown);
}

TEST_CASE("syscall names round-trip and perf aliases resolve", "[decoder][file_table]") {
    for (int i = 1; i <= static_cast<int>(Syscall::exit_group); ++i) {
        const auto call = static_cast<Syscall>(i);
        const std::string_view name = syscall_name(call);
        INFO(name);
        CHECK(!name.empty());
        CHECK(syscall_from_name(name) == call);
    }
    CHECK(syscall_name(Syscall::pread64) == "pread64");
    CHECK(syscall_name(Syscall::io_uring_enter) == "io_uring_enter");
    CHECK(syscall_name(Syscall::unknown).empty());
    CHECK(syscall_from_name("pread") == Syscall::pread64);
    CHECK(syscall_from_name("pwrite") == Syscall::pwrite64);
    CHECK(syscall_from_name("sync_file_range") == Syscall::sync_file_range);
    for (const char* other : {"", "r", "rea", "reads", "mprotect", "clos", "clonf", "openat3",
                              "pread6", "io_uring_registe", "READ", "exit_groupx"}) {
        INFO(other);
        CHECK(syscall_from_name(other) == Syscall::unknown);
    }
}
