#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "fio/iolog_replay.hpp"
#include "support/support.hpp"

using namespace iodiag;
using namespace iodiag::fio;
namespace fs = std::filesystem;
using iodiag::testing::ScratchDir;

namespace {

std::vector<std::string> lines_of(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

std::string fixture(const char* name) { return std::string(IODIAG_TEST_DATA) + "/strace/" + name; }

}  // namespace

TEST_CASE("a strace log becomes one fio v3 iolog per thread, in microseconds", "[fio][replay]") {
    ScratchDir dir;
    Placement p;
    p.path = dir.path().string();
    auto plan = build_replay({fixture("fio_psync_o_ttt_T_y.log"), p, (dir.path() / "iologs").string(), false});
    REQUIRE(plan);
    REQUIRE(plan->threads.size() == 1);
    const ReplayThread& t = plan->threads[0];
    CHECK(t.tid == 3951);
    CHECK(t.section == "thread-3951");
    CHECK(t.reads == 10);
    CHECK(t.writes == 8);
    CHECK(t.engine == "psync");
    CHECK(t.direct);  // opened O_DIRECT
    REQUIRE(plan->files.size() == 1);
    CHECK(plan->files[0].traced == "/tmp/st/tfile");
    CHECK(plan->files[0].replayed == (dir.path() / "replay-0-tfile").string());
    CHECK(plan->files[0].extent == 3891200 + 4096);
    CHECK(plan->footprint == 3895296);

    auto lines = lines_of(t.iolog);
    REQUIRE(lines.size() == 1 + 2 + 18 + 1);
    const std::string f = plan->files[0].replayed;
    CHECK(lines[0] == "fio version 3 iolog");
    CHECK(lines[1] == "0 " + f + " add");
    CHECK(lines[2] == "0 " + f + " open");
    CHECK(lines[3] == "0 " + f + " read 249856 4096");
    CHECK(lines[4] == "363 " + f + " read 3104768 4096");   // 1795659044.091378 - .091015
    CHECK(lines[6] == "617 " + f + " write 1970176 4096");
    CHECK(lines[20] == "117816 " + f + " write 1601536 4096");
    CHECK(lines[21] == "117816 " + f + " close");

    const JobSection* s = plan->job.find("thread-3951");
    REQUIRE(s);
    CHECK(s->get("read_iolog") == t.iolog);
    CHECK(s->get("ioengine") == "psync");
    CHECK(s->get("direct") == "1");
    CHECK(plan->job.find("global")->get("replay_no_stall") == "0");
    CHECK(parse_job(plan->job.render()));

    REQUIRE(lay_out_files(*plan, p));
    CHECK(fs::file_size(f) == 3895296);
}

TEST_CASE("libaio threads replay with libaio at the depth they reached", "[fio][replay]") {
    ScratchDir dir;
    Placement p;
    p.path = dir.path().string();
    auto plan = build_replay({fixture("fio_libaio_o_tt_T_yy.log"), p, (dir.path() / "iologs").string(), true});
    REQUIRE(plan);
    REQUIRE(plan->threads.size() == 1);
    CHECK(plan->threads[0].engine == "libaio");
    CHECK(plan->threads[0].depth >= 1);
    CHECK(plan->job.find("global")->get("replay_no_stall") == "1");
    auto lines = lines_of(plan->threads[0].iolog);
    REQUIRE(lines.size() > 3);
    CHECK(lines[3].find(" read ") != std::string::npos);
}

TEST_CASE("files bigger than the placement are scaled and their offsets wrap", "[fio][replay]") {
    ScratchDir dir;
    Placement p;
    p.path = dir.path().string();
    p.capacity = 1 << 20;  // the trace touches ~3.7 MiB
    p.capacity_why = "--max-size 1m";
    auto plan = build_replay({fixture("fio_psync_o_ttt_T_y.log"), p, (dir.path() / "iologs").string(), false});
    REQUIRE(plan);
    CHECK(plan->files[0].size == 1 << 20);
    REQUIRE(plan->warnings.size() == 1);
    CHECK(plan->warnings[0].find("wrap") != std::string::npos);
    for (const auto& line : lines_of(plan->threads[0].iolog)) {
        std::istringstream in(line);
        std::string ts, file, action;
        uint64_t offset = 0, length = 0;
        in >> ts >> file >> action >> offset >> length;
        if (action == "read" || action == "write") {
            CHECK(offset + length <= (1u << 20));
            CHECK(offset % 4096 == 0);
        }
    }
}

TEST_CASE("a log with no file IO cannot be replayed", "[fio][replay]") {
    ScratchDir dir;
    Placement p;
    p.path = dir.path().string();
    const std::string log = (dir.path() / "empty.log").string();
    std::ofstream(log) << "123  01:00:00.000000 getpid() = 123 <0.000010>\n";
    auto plan = build_replay({log, p, (dir.path() / "iologs").string(), false});
    REQUIRE_FALSE(plan);
    CHECK(plan.error().kind == ErrorKind::no_io);

    auto missing = build_replay({(dir.path() / "nope.log").string(), p, (dir.path() / "iologs2").string(), false});
    REQUIRE_FALSE(missing);
}
