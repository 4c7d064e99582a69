#include <catch2/catch.hpp>

#include "fio/evidence.hpp"
#include "fio/job_generator.hpp"

using namespace iodiag;
using namespace iodiag::fio;
using model::JobGroup;
using model::WorkloadModel;

namespace {

Placement scratch(uint64_t capacity = 0) {
    Placement p;
    p.path = "/var/tmp/iodiag-scratch-test";
    p.capacity = capacity;
    p.capacity_why = "--max-size";
    return p;
}

// A libaio random reader as the classifier would describe it.
JobGroup aio_group() {
    JobGroup g;
    g.name = "randread-8k-libaio";
    g.threads = {101};
    g.processes = {100};
    g.engine = "libaio";
    g.pattern = "random";
    g.direction = "read";
    g.files = {{"/data/db", "regular", 32 << 20, 1000, 8192000}};
    g.fio = {{"rw", "randread"},         {"bs", "8k"},        {"ioengine", "libaio"},
             {"direct", 1},              {"iodepth", 16},     {"iodepth_batch_submit", 1},
             {"iodepth_batch_complete_min", 1}, {"numjobs", 1}, {"size", "32m"}};
    g.evidence.reads.ops = 1000;
    g.evidence.reads.sizes = {{8192, 1000}};
    g.evidence.reads.pattern = {999, 3, 500, 499, 0, 0};
    g.evidence.direct_ops = 1000;
    g.evidence.inflight = {{14, 500}, {16, 500}};
    g.evidence.submit_batch = {{1, 1000}};
    g.evidence.complete_min = {{1, 990}};
    g.evidence.syscalls = {{"io_submit", 1000}, {"io_getevents", 990}, {"openat", 3}};
    g.evidence.offset_max = 32 << 20;
    g.unknown["latency"] = "strace cannot pair libaio completions";
    return g;
}

WorkloadModel model_of(std::vector<JobGroup> groups) {
    WorkloadModel m;
    m.target.pid = 100;
    m.target.comm = "db";
    m.source.kind = "strace";
    m.duration_s = 2.4;
    m.groups = std::move(groups);
    return m;
}

const JobLine* line(const JobSection& s, const std::string& key) {
    for (const auto& l : s.lines)
        if (l.key == key) return &l;
    return nullptr;
}

bool has_comment(const JobSection& s, const std::string& text) {
    for (const auto& l : s.lines)
        if (l.key.empty() && l.comment.find(text) != std::string::npos) return true;
    return false;
}

}  // namespace

TEST_CASE("each group becomes a section with every model option and its evidence", "[fio][generator]") {
    auto job = generate_job(model_of({aio_group()}), {scratch(), 0, "model.json"});
    REQUIRE(job);
    REQUIRE(job->sections == std::vector<std::string>{"randread-8k-libaio"});
    const JobSection* global = job->job.find("global");
    REQUIRE(global);
    CHECK(global->get("directory") == "/var/tmp/iodiag-scratch-test");
    CHECK(global->get("runtime") == "3");  // 2.4 s rounded up
    CHECK(line(*global, "runtime")->comment == "the trace covered 2.4 s");
    CHECK(global->get("time_based") == "1");
    CHECK(global->get("group_reporting") == "1");

    const JobSection* s = job->job.find("randread-8k-libaio");
    REQUIRE(s);
    CHECK(s->get("new_group") == "1");
    const JobGroup group = aio_group();
    for (const auto& [key, value] : group.fio.items()) {
        INFO(key);
        CHECK(s->get(key) == (value.is_string() ? value.get<std::string>() : value.dump()));
        CHECK_FALSE(line(*s, key)->comment.empty());
    }
    CHECK(line(*s, "rw")->comment == "1000 reads; 0.3% of reads consecutive");
    CHECK(line(*s, "bs")->comment == "all 1000 reads 8k");
    CHECK(line(*s, "direct")->comment == "1000 of 1000 ops on O_DIRECT fds");
    CHECK(line(*s, "iodepth")->comment == "in flight: p50 14, p99 16 (1000 samples)");
    CHECK(line(*s, "ioengine")->comment == "calls: io_submit ×1000, io_getevents ×990");
    CHECK(has_comment(*s, "unknown: latency: strace cannot pair libaio completions"));
    CHECK(job->warnings.empty());
    CHECK(job->footprint == 32u << 20);
    // The whole job parses back.
    auto back = parse_job(job->job.render());
    REQUIRE(back);
    CHECK(back->find("randread-8k-libaio")->get("iodepth") == "16");
}

TEST_CASE("an unknown rw and bs get fio's defaults, commented and warned about", "[fio][generator]") {
    JobGroup g;
    g.name = "read-io_uring";
    g.threads = {7};
    g.engine = "io_uring";
    g.pattern = "unknown";
    g.direction = "read";
    g.files = {{"/data/f", "regular", 16 << 20, 0, 0}};
    g.fio = {{"ioengine", "io_uring"}, {"direct", 1}, {"iodepth", 32}, {"iodepth_batch_submit", 8}, {"numjobs", 1}};
    std::string why = "strace cannot see the requests inside io_uring rings";
    g.unknown = {{"rw", why}, {"bs", why}, {"pattern", why}, {"size", "no offsets were seen"}};
    auto job = generate_job(model_of({g}), {scratch(), 0, ""});
    REQUIRE(job);
    const JobSection* s = job->job.find("read-io_uring");
    REQUIRE(s);
    CHECK(s->get("rw") == "read");
    CHECK(s->get("bs") == "4k");
    CHECK(s->get("size") == "16m");  // the file's size
    CHECK(has_comment(*s, "unknown: rw: " + why));
    CHECK(has_comment(*s, "unknown: bs: " + why));
    CHECK(has_comment(*s, "unknown: pattern: " + why));
    CHECK(has_comment(*s, "unknown: size: no offsets were seen"));
    REQUIRE(job->warnings.size() == 3);
    CHECK(job->warnings[0].find("rw unknown") != std::string::npos);
}

TEST_CASE("options that move data or run commands are ignored, with a warning", "[fio][generator]") {
    JobGroup g = aio_group();
    g.fio["filename"] = "/dev/sda";
    g.fio["exec_postrun"] = "rm -rf /";
    g.fio["runtime"] = 600;
    auto job = generate_job(model_of({g}), {scratch(), 0, ""});
    REQUIRE(job);
    const JobSection* s = job->job.find(job->sections[0]);
    CHECK_FALSE(s->get("filename"));
    CHECK_FALSE(s->get("exec_postrun"));
    CHECK_FALSE(s->get("runtime"));
    CHECK(has_comment(*s, "ignored: filename=/dev/sda: iodiag decides where fio writes"));
    CHECK(job->warnings.size() == 3);
}

TEST_CASE("an engine iodiag does not run is replaced by psync", "[fio][generator]") {
    JobGroup g = aio_group();
    g.fio["ioengine"] = "external:/tmp/evil.so";
    auto job = generate_job(model_of({g}), {scratch(), 0, ""});
    REQUIRE(job);
    CHECK(job->job.find(job->sections[0])->get("ioengine") == "psync");
    CHECK(job->warnings.size() == 1);
}

TEST_CASE("a hand-edited fio object is bad input", "[fio][generator]") {
    SECTION("non-scalar value") {
        JobGroup g = aio_group();
        g.fio["bs"] = model::ordered_json::array({"4k", "8k"});
        auto job = generate_job(model_of({g}), {scratch(), 0, ""});
        REQUIRE_FALSE(job);
        CHECK(job.error().kind == ErrorKind::bad_input);
        CHECK(job.error().message.find("bs") != std::string::npos);
    }
    SECTION("a value that would inject a section") {
        JobGroup g = aio_group();
        g.fio["bs"] = "4k\n[evil]\nfilename=/dev/sda";
        auto job = generate_job(model_of({g}), {scratch(), 0, ""});
        REQUIRE_FALSE(job);
        CHECK(job.error().kind == ErrorKind::bad_input);
    }
    SECTION("a key that is not an option name") {
        JobGroup g = aio_group();
        g.fio["bs=1;x"] = "4k";
        CHECK_FALSE(generate_job(model_of({g}), {scratch(), 0, ""}));
    }
    SECTION("no groups") {
        auto job = generate_job(model_of({}), {scratch(), 0, ""});
        REQUIRE_FALSE(job);
        CHECK(job.error().kind == ErrorKind::bad_input);
    }
}

TEST_CASE("sizes are capped in proportion to what the placement allows", "[fio][generator]") {
    JobGroup a = aio_group();
    a.fio["size"] = "64m";
    a.fio["numjobs"] = 2;
    a.files = {{"/data/a0", "regular", 0, 1, 1}, {"/data/a1", "regular", 0, 1, 1}};
    JobGroup b = aio_group();
    b.name = "b";
    b.fio["size"] = "128m";
    b.fio["offset"] = "64m";
    // 2 x 64m + (64m + 128m) = 320m into 32m: a tenth of each.
    auto job = generate_job(model_of({a, b}), {scratch(32 << 20), 0, ""});
    REQUIRE(job);
    const JobSection* sa = job->job.find(job->sections[0]);
    const JobSection* sb = job->job.find(job->sections[1]);
    CHECK(sa->get("size") == "6m");
    CHECK(sb->get("size") == "12m");
    CHECK(sb->get("offset") == "6552k");
    CHECK(line(*sa, "size")->comment.find("capped from 64m") != std::string::npos);
    CHECK(job->footprint <= 32u << 20);
    REQUIRE(job->warnings.size() == 1);
    CHECK(job->warnings[0].find("scaled down") != std::string::npos);
}

TEST_CASE("threads that shared their files share them in the reproduction", "[fio][generator]") {
    JobGroup g = aio_group();
    g.threads = {1, 2, 3};
    g.fio["numjobs"] = 3;
    auto job = generate_job(model_of({g}), {scratch(), 0, ""});
    REQUIRE(job);
    const JobSection* s = job->job.find(job->sections[0]);
    CHECK(s->get("filename") == job->sections[0] + ".0");
    CHECK(job->footprint == 32u << 20);  // one copy, not three

    g.files = {{"/d/0", "regular", 0, 1, 1}, {"/d/1", "regular", 0, 1, 1}, {"/d/2", "regular", 0, 1, 1}};
    job = generate_job(model_of({g}), {scratch(), 0, ""});
    REQUIRE(job);
    CHECK_FALSE(job->job.find(job->sections[0])->get("filename"));
    CHECK(job->footprint == 3u * (32u << 20));
}

TEST_CASE("a file or device target is every section's filename", "[fio][generator]") {
    Placement p;
    p.single_file = true;
    p.path = "/dev/vdb";
    auto job = generate_job(model_of({aio_group()}), {p, 7, ""});
    REQUIRE(job);
    const JobSection* global = job->job.find("global");
    CHECK(global->get("filename") == "/dev/vdb");
    CHECK_FALSE(global->get("directory"));
    CHECK(global->get("runtime") == "7");
    CHECK(line(*global, "runtime")->comment == "--runtime");
}

TEST_CASE("section names are safe and unique", "[fio][generator]") {
    CHECK(section_name("randrw-4k-psync") == "randrw-4k-psync");
    CHECK(section_name("a b]c") == "a_b_c");
    CHECK(section_name("global") == "global-group");
    CHECK(section_name("") == "group");
    JobGroup a = aio_group(), b = aio_group();
    auto job = generate_job(model_of({a, b}), {scratch(), 0, ""});
    REQUIRE(job);
    CHECK(job->sections == std::vector<std::string>{"randread-8k-libaio", "randread-8k-libaio-2"});
}

TEST_CASE("percent never rounds a part up to the whole", "[fio][generator]") {
    CHECK(percent(0) == "0%");
    CHECK(percent(1) == "100%");
    CHECK(percent(0.987) == "98.7%");
    CHECK(percent(0.99999) == "99.9%");
    CHECK(percent(0.003) == "0.3%");
}
