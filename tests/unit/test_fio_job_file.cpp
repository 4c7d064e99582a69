#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "fio/job_file.hpp"
#include "support/support.hpp"

using namespace iodiag;
using namespace iodiag::fio;
namespace fs = std::filesystem;
using iodiag::testing::read_text;
using iodiag::testing::ScratchDir;

TEST_CASE("a job file renders options with their comments in a column", "[fio][job]") {
    JobFile job;
    job.header.push_back("generated");
    JobSection global;
    global.name = "global";
    global.add("runtime", "3", "the trace covered 2.4 s");
    job.sections.push_back(global);
    JobSection s;
    s.name = "randread-4k-psync";
    s.preamble.push_back("group randread-4k-psync");
    s.add("rw", "randread", "0.3% of reads consecutive");
    s.add("thread", "");
    s.add_comment("unknown: latency: not seen");
    job.sections.push_back(s);

    std::string text = job.render();
    CHECK(text ==
          "; generated\n"
          "\n"
          "[global]\n"
          "runtime=3                       ; the trace covered 2.4 s\n"
          "\n"
          "; group randread-4k-psync\n"
          "[randread-4k-psync]\n"
          "rw=randread                     ; 0.3% of reads consecutive\n"
          "thread\n"
          "; unknown: latency: not seen\n");
}

TEST_CASE("parse_job reads back what render writes, comments dropped", "[fio][job]") {
    JobFile job;
    JobSection s;
    s.name = "a";
    s.add("bs", "4k", "all 10 reads 4k");
    s.add("bssplit", "4k/60:64k/40", "sizes");
    s.add("rw", "randwrite");
    s.add("rw", "write", "later lines win");
    job.sections.push_back(s);
    auto back = parse_job(job.render());
    REQUIRE(back);
    REQUIRE(back->sections.size() == 1);
    const JobSection* a = back->find("a");
    REQUIRE(a);
    CHECK(a->get("bs") == "4k");
    CHECK(a->get("bssplit") == "4k/60:64k/40");
    CHECK(a->get("rw") == "write");
    CHECK_FALSE(a->get("iodepth"));
    for (const auto& line : a->lines) CHECK(line.comment.empty());
}

TEST_CASE("parse_job rejects what fio would not read", "[fio][job]") {
    CHECK_FALSE(parse_job("bs=4k\n[a]\n"));            // option before a section
    CHECK_FALSE(parse_job("[a\nbs=4k\n"));              // unclosed header
    CHECK_FALSE(parse_job("[a]\n=4k\n"));               // no name
    auto ok = parse_job("# hash comment\n; semicolon\n\n[a]\n  bs = 8k ; why\nthread\n");
    REQUIRE(ok);
    CHECK(ok->sections.at(0).get("bs") == "8k");
    CHECK(ok->sections.at(0).get("thread") == "");
    auto error = parse_job("[a]\n[b\n");
    REQUIRE_FALSE(error);
    CHECK(error.error().kind == ErrorKind::bad_input);
    CHECK(error.error().message.find("line 2") != std::string::npos);
}

TEST_CASE("parse_fio_size reads fio's size syntax", "[fio][job]") {
    CHECK(parse_fio_size("4096") == 4096u);
    CHECK(parse_fio_size("4k") == 4096u);
    CHECK(parse_fio_size("4K") == 4096u);
    CHECK(parse_fio_size("4kb") == 4096u);
    CHECK(parse_fio_size("4KiB") == 4096u);
    CHECK(parse_fio_size("64m") == 64ull << 20);
    CHECK(parse_fio_size("2g") == 2ull << 30);
    CHECK(parse_fio_size("1t") == 1ull << 40);
    CHECK(parse_fio_size("5296k") == 5296ull << 10);
    CHECK_FALSE(parse_fio_size(""));
    CHECK_FALSE(parse_fio_size("k"));
    CHECK_FALSE(parse_fio_size("10%"));
    CHECK_FALSE(parse_fio_size("4k-8k"));
    CHECK_FALSE(parse_fio_size("99999999999999999999"));
    CHECK_FALSE(parse_fio_size("17179869184g"));  // overflows 64 bits
}

TEST_CASE("is_safe_job_value keeps comments and new lines out of values", "[fio][job]") {
    CHECK(is_safe_job_value("randrw"));
    CHECK(is_safe_job_value("4k/60:64k/40"));
    CHECK_FALSE(is_safe_job_value("4k\n[evil]"));
    CHECK_FALSE(is_safe_job_value("4k ; x"));
    CHECK_FALSE(is_safe_job_value("a#b"));
}

TEST_CASE("write_file_atomically replaces the file whole and leaves no temp", "[fio][job]") {
    ScratchDir dir;
    const fs::path path = dir.path() / "job.fio";
    REQUIRE(write_file_atomically(path.string(), "[a]\nbs=4k\n"));
    CHECK(read_text(path) == "[a]\nbs=4k\n");
    REQUIRE(write_file_atomically(path.string(), "[b]\n"));
    CHECK(read_text(path) == "[b]\n");
    size_t entries = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path())) ++entries;
    CHECK(entries == 1);
}

TEST_CASE("write_file_atomically fails cleanly where it cannot write", "[fio][job]") {
    ScratchDir dir;
    auto missing = write_file_atomically((dir.path() / "no" / "such" / "job.fio").string(), "x");
    REQUIRE_FALSE(missing);
    CHECK(missing.error().kind == ErrorKind::output);
    CHECK_FALSE(fs::exists(dir.path() / "no"));
}
