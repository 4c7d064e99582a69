// model.json: round trip without loss, strict loading, atomic save.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "model/workload_model.hpp"

using namespace iodiag;
using namespace iodiag::model;
namespace fs = std::filesystem;

namespace {

WorkloadModel sample_model() {
    WorkloadModel m;
    m.tool_version = "0.1.0";
    m.created = "2026-11-26T00:00:00Z";
    m.target = {1234, "fio", {"fio", "job.fio"}};
    m.source = {"strace", "strace -f -p 1234", "auto: bpf not built", 1000, 2, 900, 0};
    m.duration_s = 10.5;
    m.end_reason = "duration";
    JobGroup g;
    g.name = "randread-4k-psync";
    g.threads = {1235, 1236};
    g.processes = {1234};
    g.files = {{"/data/f", "regular", 1 << 20, 800, 3276800}};
    g.engine = "psync";
    g.pattern = "random";
    g.direction = "read";
    g.fio = {{"rw", "randread"}, {"bs", "4k"}, {"ioengine", "psync"}, {"numjobs", 2}};
    g.unknown["latency"] = "no -T";
    g.notes = {"a note"};
    g.evidence.reads.ops = 800;
    g.evidence.reads.sizes = {{4096, 800}};
    g.evidence.reads.latency_us = {800, 1.5, 3.25, 3, 5, 9, 12, 20};
    g.evidence.inflight = {{1, 10}, {16, 790}};
    g.evidence.syscalls = {{"pread64", 800}};
    g.evidence.iops = 80.5;
    m.groups.push_back(g);
    m.threads = {{1235, 1234, "fio", {"randread-4k-psync"}}, {1236, 1234, "", {"randread-4k-psync"}}};
    m.ignored["IO on pipes"] = 3;
    return m;
}

fs::path temp_dir() {
    auto dir = fs::temp_directory_path() / ("iodiag-json-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    return dir;
}

}  // namespace

TEST_CASE("a model survives to_json/from_json unchanged", "[model]") {
    WorkloadModel m = sample_model();
    auto back = from_json(ordered_json::parse(to_json(m).dump()));
    REQUIRE(back);
    CHECK(*back == m);
    CHECK(to_json(*back).dump() == to_json(m).dump());
}

TEST_CASE("model.json keeps fio options in their order and value counts as objects", "[model]") {
    auto json = to_json(sample_model());
    CHECK(json["schema_version"] == kSchemaVersion);
    const auto& fio = json["groups"][0]["fio"];
    CHECK(fio.begin().key() == "rw");
    CHECK(json["groups"][0]["evidence"]["inflight"]["16"] == 790);
}

TEST_CASE("another schema version is refused with a clear message", "[model]") {
    auto json = to_json(sample_model());
    json["schema_version"] = 99;
    auto back = from_json(json);
    REQUIRE_FALSE(back);
    CHECK(back.error().kind == ErrorKind::bad_input);
    CHECK_THAT(back.error().message, Catch::Contains("schema_version 99"));
}

TEST_CASE("a model missing fields is reported, not half-loaded", "[model]") {
    auto json = to_json(sample_model());
    json["groups"][0].erase("fio");
    auto back = from_json(json);
    REQUIRE_FALSE(back);
    CHECK_THAT(back.error().message, Catch::Contains("fio"));
}

TEST_CASE("save_model writes atomically and load_model reads it back", "[model]") {
    auto dir = temp_dir();
    auto path = (dir / "model.json").string();
    REQUIRE(save_model(sample_model(), path));
    CHECK(fs::exists(path));
    for (const auto& entry : fs::directory_iterator(dir))
        CHECK(entry.path().filename() == "model.json");  // no temp file left behind
    auto back = load_model(path);
    REQUIRE(back);
    CHECK(*back == sample_model());

    SECTION("a truncated file is bad input") {
        std::string text;
        {
            std::ifstream in(path);
            text.assign(std::istreambuf_iterator<char>(in), {});
        }
        std::ofstream(path, std::ios::trunc) << text.substr(0, text.size() / 2);
        auto cut = load_model(path);
        REQUIRE_FALSE(cut);
        CHECK(cut.error().kind == ErrorKind::bad_input);
    }
    fs::remove_all(dir);
}

TEST_CASE("save_model into a missing directory fails with an output error", "[model]") {
    auto result = save_model(sample_model(), "/nonexistent-dir/model.json");
    REQUIRE_FALSE(result);
    CHECK(result.error().kind == ErrorKind::output);
}

namespace {

// load_model of `model` written out as text with `from` replaced by `to` (the first occurrence).
Result<WorkloadModel> load_edited(const WorkloadModel& model, const std::string& from, const std::string& to,
                                  const fs::path& path) {
    std::string text = to_json(model).dump(2);
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
    std::ofstream(path, std::ios::trunc) << text;
    return load_model(path.string());
}

}  // namespace

TEST_CASE("a garbled model names the file and the field", "[model]") {
    const auto dir = temp_dir();
    const auto path = dir / "model.json";
    WorkloadModel m = sample_model();
    m.target.pid = 424242;
    m.duration_s = 10.25;
    m.groups[0].evidence.reads.ops = 777;
    struct Case {
        std::string from, to, field, problem;
    };
    const Case cases[] = {
        {"10.25", "1e309", "/duration_s", "number overflow"},           // beyond a double: the parser's own error
        {"1235", "1e309", "/groups/0/threads/0", "number overflow"},
        {"1236", "-1e309", "/groups/0/threads/1", "number overflow"},
        {"424242", "99999999999", "/target/pid", "out of range"},       // nlohmann would wrap it
        {"777", "-1", "/groups/0/evidence/reads/ops", "out of range"},
        {"777", "18446744073709551616", "/groups/0/evidence/reads/ops", "whole number"},  // 2^64 parses as a double
        {"777", "7.5", "/groups/0/evidence/reads/ops", "whole number"},
        {"777", "\"777\"", "/groups/0/evidence/reads/ops", "whole number"},
        {"10.25", "\"10.25\"", "/duration_s", "expected a number"},
        {"\"randread-4k-psync\"", "42", "/groups/0/name", "expected a string"},
        {"\"4096\": 800", "\"-4096\": 800", "/groups/0/evidence/reads/sizes/-4096", "not a whole number"},
        {"\"4096\": 800", "\"99999999999999999999999\": 800", "/groups/0/evidence/reads/sizes/99999999999999999999999",
         "not a whole number"},
        {"\"complete\": true", "\"complete\": 1", "/complete", "true or false"},
        {"\"a note\"", "{\"x\": 1}", "/groups/0/notes/0", "expected a string"},
        {"\"no -T\"", "5", "/groups/0/unknown/latency", "expected a string"},
        {"\"a note\"", "1e999", "/groups/0/notes/0", "number overflow"},
    };
    for (const Case& c : cases) {
        INFO(c.from << " -> " << c.to);
        auto back = load_edited(m, c.from, c.to, path);
        REQUIRE_FALSE(back);
        CHECK(back.error().kind == ErrorKind::bad_input);
        CHECK_THAT(back.error().message, Catch::Contains(path.string()));
        CHECK_THAT(back.error().message, Catch::Contains(c.field));
        CHECK_THAT(back.error().message, Catch::Contains(c.problem));
    }
    fs::remove_all(dir);
}

TEST_CASE("a schema_version that wraps to the supported one is refused", "[model]") {
    auto json = to_json(sample_model());
    json["schema_version"] = (uint64_t{1} << 32) + kSchemaVersion;  // get<int>() would make it 1
    CHECK_FALSE(from_json(json));
    json["schema_version"] = 1.0 * kSchemaVersion;
    CHECK_FALSE(from_json(json));
}

TEST_CASE("a schema_version 1 model, written before threads were listed, loads with none", "[model]") {
    auto json = to_json(sample_model());
    json["schema_version"] = 1;
    json.erase("threads");
    auto back = from_json(json);
    REQUIRE(back);
    CHECK(back->threads.empty());
    CHECK(back->schema_version == kSchemaVersion);
    CHECK(back->groups == sample_model().groups);
    json["schema_version"] = kSchemaVersion;  // a current model must have them
    CHECK_FALSE(from_json(json));
}
