// Incidental IO (start-up and configuration reads) is kept out of the job groups and counted: the
// rule alone (model/incidental), then the classifier on a dd-like event stream.
#include <catch2/catch.hpp>

#include "model/classifier.hpp"
#include "model/incidental.hpp"

using namespace iodiag;
using namespace iodiag::trace;
using model::FileActivity;
using model::PathPlace;

TEST_CASE("incidental: where a path lies", "[incidental]") {
    using model::path_place;
    CHECK(path_place("/proc/self/stat", FileKind::regular) == PathPlace::pseudo);
    CHECK(path_place("/sys/block/vda/stat", FileKind::regular) == PathPlace::pseudo);
    CHECK(path_place("/dev/shm/x", FileKind::regular) == PathPlace::pseudo);
    CHECK(path_place("/dev/urandom", FileKind::unknown) == PathPlace::pseudo);
    CHECK(path_place("/dev/vdb", FileKind::block) == PathPlace::data);
    CHECK(path_place("/dev/nvme0n1", FileKind::unknown) == PathPlace::data);  // kind from the name
    CHECK(path_place("/etc/locale.alias", FileKind::regular) == PathPlace::system);
    CHECK(path_place("/usr/share/locale/locale.alias", FileKind::regular) == PathPlace::system);
    CHECK(path_place("/usr/lib/x86_64-linux-gnu/gconv/gconv-modules.cache", FileKind::regular) == PathPlace::system);
    CHECK(path_place("/lib/x86_64-linux-gnu/libc.so.6", FileKind::regular) == PathPlace::system);
    CHECK(path_place("/etcetera/data", FileKind::regular) == PathPlace::data);
    CHECK(path_place("/var/lib/postgresql/base/1", FileKind::regular) == PathPlace::data);
    CHECK(path_place("/proc", FileKind::regular) == PathPlace::pseudo);
    CHECK(path_place("relative/etc/x", FileKind::regular) == PathPlace::data);
}

TEST_CASE("incidental: small system reads and pseudo files are incidental, the workload is not", "[incidental]") {
    std::vector<FileActivity> files{
        {1, "/usr/share/locale/locale.alias", FileKind::regular, 2, 2996, false},
        {2, "/proc/self/mountinfo", FileKind::regular, 3, 9000, false},
        {3, "/var/tmp/out", FileKind::regular, 64, 64u << 20, true},
        {4, "/etc/big.db", FileKind::regular, 5000, 20u << 20, false},      // many reads: modelled
        {5, "/etc/app.conf", FileKind::regular, 2, 100, true},              // written: modelled
        {6, "/dev/vdb", FileKind::block, 10, 40960, false},                 // a disk: modelled
        {7, "/sys/kernel/mm/transparent_hugepage/enabled", FileKind::regular, 1, 10, true},
    };
    auto ids = model::incidental_files(files);
    CHECK(ids == std::set<uint32_t>{1, 2, 7});
}

TEST_CASE("incidental: a program whose work is reading small files under /etc is still modelled",
          "[incidental]") {
    // A config scanner: 100 small files under /etc read, nothing else. Each alone looks like
    // start-up reading, together they are all the program does.
    std::vector<FileActivity> files;
    for (uint32_t i = 1; i <= 100; ++i)
        files.push_back({i, "/etc/conf.d/f" + std::to_string(i), FileKind::regular, 4, 16384, false});
    files.push_back({200, "/proc/self/status", FileKind::regular, 2, 2000, false});
    auto ids = model::incidental_files(files);
    CHECK(ids == std::set<uint32_t>{200});
}

namespace {

struct Events {
    model::Classifier classifier{model::ClassifierOptions::for_source("bpf")};
    FileTable files;
    uint64_t now = 1'000'000'000;

    void data(int32_t tid, Syscall call, IoDir dir, const std::string& path, uint64_t offset, uint64_t bytes,
              int64_t ret, uint32_t open_flags) {
        IoEvent e;
        e.tid = e.tgid = tid;
        e.call = call;
        e.kind = EventKind::data;
        e.ts_ns = now;
        e.dur_ns = 20'000;
        now += 25'000;
        e.dir = dir;
        e.fd = 3;
        e.file_id = files.intern(path, FileKind::regular);
        e.file_kind = FileKind::regular;
        e.offset = offset;
        e.offset_kind = OffsetKind::absolute;
        e.bytes = bytes;
        e.ret = ret;
        e.open_flags = open_flags;
        classifier.on_event(e);
    }
};

}  // namespace

TEST_CASE("incidental: dd's locale reads do not make its direct 1m writes a rw/bssplit job", "[incidental][classifier]") {
    // What `dd if=/dev/zero of=out bs=1M count=64 oflag=direct` does on files: locale.alias read
    // twice at start-up (2996 bytes, then end of file), then 64 direct 1 MiB writes.
    Events s;
    const uint32_t ro = kOpenFlagsKnown | kOpenRead;
    s.data(7, Syscall::read, IoDir::read, "/usr/share/locale/locale.alias", 0, 4096, 2996, ro);
    s.data(7, Syscall::read, IoDir::read, "/usr/share/locale/locale.alias", 2996, 4096, 0, ro);
    for (uint64_t i = 0; i < 64; ++i)
        s.data(7, Syscall::write, IoDir::write, "/var/tmp/out", i << 20, 1u << 20, 1 << 20,
               kOpenFlagsKnown | kOpenWrite | kOpenDirect);
    auto m = s.classifier.finish(s.files, model::WorkloadModel{});
    REQUIRE(m.groups.size() == 1);
    const auto& g = m.groups.front();
    INFO(g.fio.dump());
    CHECK(g.fio.at("rw") == "write");
    CHECK(g.fio.at("bs") == "1m");
    CHECK_FALSE(g.fio.contains("bssplit"));
    CHECK(g.fio.at("direct") == 1);
    CHECK(g.evidence.reads.ops == 0);
    REQUIRE(g.files.size() == 1);
    CHECK(g.files.front().path == "/var/tmp/out");
    CHECK(m.ignored["incidental"] == 2);
    // The count survives model.json.
    auto back = model::from_json(model::to_json(m));
    REQUIRE(back);
    CHECK(back->ignored.at("incidental") == 2);
}

TEST_CASE("incidental: a workload of many reads of one large file under /etc is modelled", "[incidental][classifier]") {
    Events s;
    const uint32_t ro = kOpenFlagsKnown | kOpenRead;
    for (uint64_t i = 0; i < 1000; ++i) s.data(9, Syscall::pread64, IoDir::read, "/etc/big.db", i * 8192, 8192, 8192, ro);
    auto m = s.classifier.finish(s.files, model::WorkloadModel{});
    REQUIRE(m.groups.size() == 1);
    CHECK(m.groups.front().fio.at("rw") == "read");
    CHECK(m.groups.front().fio.at("bs") == "8k");
    CHECK(m.ignored.count("incidental") == 0);
}
