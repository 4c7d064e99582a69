// `iodiag reproduce` end to end through the real binary and real fio: the job it writes, the
// safety gate, bad input and hostile file systems. Models come from saved strace logs, so these
// tests need fio but not strace.
#include <catch2/catch.hpp>

#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <fstream>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/exit_codes.hpp"
#include "fio/job_file.hpp"
#include "fio_harness.hpp"

using namespace iodiag;
using namespace iodiag::testing;
using namespace iodiag::cli;
namespace fs = std::filesystem;

namespace {

std::string fixture(const char* name) { return std::string(IODIAG_TEST_DATA) + "/strace/" + name; }

// A model from a saved log (random 4k psync reads and writes, O_DIRECT, one thread).
std::string psync_model(const ScratchDir& dir) {
    const std::string path = (dir.path() / "model.json").string();
    auto run = run_iodiag({"model", "--strace-log", fixture("fio_psync_o_ttt_T_y.log"), "-o", path});
    INFO(run.err);
    REQUIRE(run.exit_code == 0);
    return path;
}

// The same model after `edit` changed its JSON.
std::string edited_model(const ScratchDir& dir, const std::function<void(nlohmann::ordered_json&)>& edit) {
    auto json = nlohmann::ordered_json::parse(read_text(psync_model(dir)));
    edit(json);
    const std::string path = (dir.path() / "edited.json").string();
    std::ofstream(path) << json.dump(2);
    return path;
}

// A file with bytes worth keeping.
std::string precious_file(const fs::path& path) {
    std::mt19937 rng(42);
    std::string bytes(1 << 20, '\0');
    for (auto& b : bytes) b = static_cast<char>(rng());
    std::ofstream(path, std::ios::binary) << bytes;
    return bytes;
}

// A small tmpfs mounted for the test (root only), unmounted after.
struct TmpfsMount {
    fs::path path;
    bool mounted = false;
    TmpfsMount(const fs::path& where, const char* options, unsigned long flags = 0) : path(where) {
        fs::create_directories(path);
        mounted = ::geteuid() == 0 && ::mount("tmpfs", path.c_str(), "tmpfs", flags, options) == 0;
    }
    ~TmpfsMount() {
        if (mounted) ::umount2(path.c_str(), MNT_DETACH);
    }
};

}  // namespace

TEST_CASE("reproduce: a job fio accepts, every option followed by its evidence", "[reproduce][fio]") {
    SKIP_WITHOUT("fio");
    ScratchDir dir;
    const std::string model = psync_model(dir);
    const fs::path job = dir.path() / "job.fio";
    auto run = run_iodiag({"reproduce", model, "-o", job.string(), "--target", (dir.path() / "t").string()});
    INFO(run.out << run.err);
    REQUIRE(run.exit_code == 0);
    REQUIRE(run_capture({"fio", "--parse-only", job.string()})->exit_code == 0);
    const std::string text = read_text(job);
    CHECK(text == run.out.substr(0, text.size()));  // the job is printed too

    auto parsed = fio::parse_job(text);
    REQUIRE(parsed);
    REQUIRE(parsed->sections.size() == 2);
    const auto& global = parsed->sections[0];
    CHECK(global.get("directory") == (dir.path() / "t").string());
    CHECK(fs::exists(dir.path() / "t" / ".iodiag-scratch"));
    const auto& group = parsed->sections[1];
    CHECK(group.get("rw") == "randrw");
    CHECK(group.get("ioengine") == "psync");
    CHECK(group.get("direct") == "1");
    // Each option line of the section carries a "; evidence" comment.
    std::istringstream lines(text.substr(text.find("[" + group.name + "]")));
    std::string line;
    std::getline(lines, line);
    int options = 0;
    while (std::getline(lines, line)) {
        if (line.empty() || line[0] == ';') continue;
        ++options;
        INFO(line);
        CHECK(line.find(" ; ") != std::string::npos);
    }
    CHECK(options >= 8);
    CHECK(text.find("of reads consecutive") != std::string::npos);
    CHECK(text.find("ops on O_DIRECT fds") != std::string::npos);
}

TEST_CASE("reproduce --run: fio runs in the scratch directory and the groups are compared", "[reproduce][fio]") {
    SKIP_WITHOUT("fio");
    ScratchDir dir;
    const std::string model = psync_model(dir);
    const fs::path target = dir.path() / "t";
    auto run = run_iodiag({"reproduce", model, "-o", (dir.path() / "job.fio").string(), "--target", target.string(),
                           "--runtime", "1", "--run", "--json"});
    INFO(run.out << run.err);
    REQUIRE(run.exit_code == 0);
    auto out = nlohmann::json::parse(run.out);
    CHECK(out["target"]["kind"] == "scratch_dir");
    const auto& group = out["comparison"]["groups"][0];
    CHECK(group["section"] == out["sections"][0]["section"]);
    bool saw_iops = false;
    for (const auto& m : group["metrics"])
        if (m["metric"] == "IOPS") {
            saw_iops = true;
            CHECK(m["observed"].get<double>() > 0);
            CHECK(m["reproduced"].get<double>() > 0);
            CHECK(m["relative_difference"].is_number());
        }
    CHECK(saw_iops);
    CHECK_FALSE(group["verdict"].get<std::string>().empty());
    // Data files go after the run; the marker and fio's report stay.
    std::vector<std::string> left;
    for (const auto& e : fs::directory_iterator(target)) left.push_back(e.path().filename().string());
    std::sort(left.begin(), left.end());
    CHECK(left == std::vector<std::string>{".iodiag-scratch", "fio-output.json"});

    auto table = run_iodiag({"reproduce", model, "-o", (dir.path() / "job.fio").string(), "--target", target.string(),
                             "--runtime", "1", "--run"});
    INFO(table.out << table.err);
    REQUIRE(table.exit_code == 0);
    CHECK(table.out.find("IOPS") != std::string::npos);
    CHECK(table.out.find("reproduced") != std::string::npos);
}

TEST_CASE("reproduce refuses a file it did not create and leaves its bytes unchanged", "[reproduce][fio][safety]") {
    SKIP_WITHOUT("fio");
    ScratchDir dir;
    const std::string model = psync_model(dir);
    const fs::path victim = dir.path() / "precious.db";
    const std::string before = precious_file(victim);
    const fs::path job = dir.path() / "job.fio";
    auto run = run_iodiag({"reproduce", model, "-o", job.string(), "--target", victim.string(), "--run"});
    INFO(run.out << run.err);
    CHECK(run.exit_code == kExitPermission);
    CHECK(run.err.find("iodiag did not create") != std::string::npos);
    CHECK(run.err.find("--allow-destructive") != std::string::npos);
    CHECK(read_text(victim) == before);
    CHECK_FALSE(fs::exists(job));
}

TEST_CASE("reproduce refuses a block device without --allow-destructive", "[reproduce][fio][safety]") {
    SKIP_WITHOUT("fio");
    SKIP_UNLESS_ROOT("losetup");
    SKIP_WITHOUT("losetup");
    ScratchDir dir;
    const std::string model = psync_model(dir);
    const fs::path image = dir.path() / "disk.img";
    const std::string before = precious_file(image);
    auto loop = run_capture({"losetup", "-f", "--show", image.string()});
    if (!loop || loop->exit_code != 0) {
        WARN("skipped: no loop device: " << (loop ? loop->err : ""));
        return;
    }
    std::string dev = loop->out.substr(0, loop->out.find('\n'));
    auto run = run_iodiag({"reproduce", model, "-o", (dir.path() / "job.fio").string(), "--target", dev, "--run"});
    run_capture({"losetup", "-d", dev});
    INFO(run.out << run.err);
    CHECK(run.exit_code == kExitPermission);
    CHECK(run.err.find("block device") != std::string::npos);
    CHECK(read_text(image) == before);
}

TEST_CASE("reproduce with --allow-destructive runs on the file it was given", "[reproduce][fio][safety]") {
    SKIP_WITHOUT("fio");
    ScratchDir dir;
    const std::string model = psync_model(dir);
    const fs::path file = dir.path() / "expendable.img";
    precious_file(file);
    auto run = run_iodiag({"reproduce", model, "-o", (dir.path() / "job.fio").string(), "--target", file.string(),
                           "--allow-destructive", "--runtime", "1", "--run", "--json"});
    INFO(run.out << run.err);
    REQUIRE(run.exit_code == 0);
    auto job = fio::parse_job(read_text(dir.path() / "job.fio"));
    REQUIRE(job);
    CHECK(job->find("global")->get("filename") == file.string());
    CHECK(fs::exists(file));  // the user's file: never deleted
}

TEST_CASE("reproduce rejects bad models with a clear message and writes no job", "[reproduce]") {
    ScratchDir dir;
    const fs::path job = dir.path() / "job.fio";
    auto expect_bad = [&](const std::string& model, int code, const std::string& says) {
        auto run = run_iodiag({"reproduce", model, "-o", job.string(), "--target", (dir.path() / "t").string()});
        INFO(model << "\n" << run.out << run.err);
        CHECK(run.exit_code == code);
        CHECK(run.err.find(says) != std::string::npos);
        CHECK_FALSE(fs::exists(job));
        CHECK_FALSE(fs::exists(dir.path() / "t"));  // nothing created for a run that cannot start
    };
    SECTION("another schema version") {
        expect_bad(edited_model(dir, [](auto& j) { j["schema_version"] = 99; }), kExitBadInput, "schema_version 99");
    }
    SECTION("truncated") {
        const std::string full = read_text(psync_model(dir));
        const std::string cut = (dir.path() / "cut.json").string();
        std::ofstream(cut) << full.substr(0, full.size() / 2);
        expect_bad(cut, kExitBadInput, "not valid JSON");
    }
    SECTION("a field cut out by hand") {
        expect_bad(edited_model(dir, [](auto& j) { j["groups"][0].erase("fio"); }), kExitBadInput, "incomplete");
    }
    SECTION("a fio value that is not a string or number") {
        expect_bad(edited_model(dir, [](auto& j) { j["groups"][0]["fio"]["bs"] = {{"x", 1}}; }), kExitBadInput,
                   "fio option bs");
    }
    SECTION("missing") { expect_bad((dir.path() / "nope.json").string(), kExitNotFound, "nope.json"); }
}

TEST_CASE("reproduce shows fio's message when fio rejects the job", "[reproduce][fio]") {
    SKIP_WITHOUT("fio");
    ScratchDir dir;
    const std::string model = edited_model(dir, [](auto& j) { j["groups"][0]["fio"]["bogus_option"] = 3; });
    const fs::path job = dir.path() / "job.fio";
    auto run = run_iodiag({"reproduce", model, "-o", job.string(), "--target", (dir.path() / "t").string()});
    INFO(run.out << run.err);
    CHECK(run.exit_code == kExitBadInput);
    CHECK(run.err.find("fio rejected the job") != std::string::npos);
    CHECK(run.err.find("bogus_option") != std::string::npos);
    CHECK_FALSE(fs::exists(job));
    CHECK(fs::exists(job.string() + ".rejected"));
}

TEST_CASE("reproduce without fio: --run fails with a hint, generating still works", "[reproduce]") {
    ScratchDir dir;
    const std::string model = psync_model(dir);
    const fs::path job = dir.path() / "job.fio";
    auto run = run_capture({"env", "PATH=/nonexistent", IODIAG_BINARY, "reproduce", model, "-o", job.string(),
                            "--target", (dir.path() / "t").string(), "--run"});
    REQUIRE(run);
    INFO(run->err);
    CHECK(run->exit_code == kExitMissingTool);
    CHECK(run->err.find("fio is not installed") != std::string::npos);
    CHECK_FALSE(fs::exists(job));

    run = run_capture({"env", "PATH=/nonexistent", IODIAG_BINARY, "reproduce", model, "-o", job.string(), "--target",
                       (dir.path() / "t").string()});
    REQUIRE(run);
    CHECK(run->exit_code == 0);
    CHECK(run->err.find("not checked") != std::string::npos);
    CHECK(fs::exists(job));
}

TEST_CASE("reproduce on a read-only or full file system says so and leaves no partial job", "[reproduce][fio]") {
    SKIP_WITHOUT("fio");
    ScratchDir dir;
    // tmpfs has no O_DIRECT: the model is made buffered so the file system's state is what fails.
    const std::string model = edited_model(dir, [](auto& j) { j["groups"][0]["fio"]["direct"] = 0; });
    SECTION("read-only target") {
        TmpfsMount ro(dir.path() / "ro", "size=1m", MS_RDONLY);
        if (!ro.mounted) {
            WARN("skipped: cannot mount tmpfs (needs root)");
            return;
        }
        auto run = run_iodiag({"reproduce", model, "-o", (dir.path() / "job.fio").string(), "--target", ro.path.string()});
        INFO(run.err);
        CHECK(run.exit_code == kExitOutput);
        CHECK(run.err.find("Read-only file system") != std::string::npos);
        CHECK_FALSE(fs::exists(dir.path() / "job.fio"));
    }
    SECTION("full target") {
        TmpfsMount full(dir.path() / "full", "size=1m");
        if (!full.mounted) {
            WARN("skipped: cannot mount tmpfs (needs root)");
            return;
        }
        std::ofstream(full.path / "filler", std::ios::binary) << std::string(1 << 20, 'x');
        auto run = run_iodiag({"reproduce", model, "-o", (dir.path() / "job.fio").string(), "--target",
                               full.path.string(), "--run"});
        INFO(run.err);
        CHECK(run.exit_code == kExitOutput);
        CHECK_FALSE(fs::exists(dir.path() / "job.fio"));
    }
    SECTION("job file on a full file system") {
        TmpfsMount full(dir.path() / "full", "size=64k");
        if (!full.mounted) {
            WARN("skipped: cannot mount tmpfs (needs root)");
            return;
        }
        std::ofstream(full.path / "filler", std::ios::binary) << std::string(64 << 10, 'x');
        const fs::path job = full.path / "job.fio";
        auto run = run_iodiag({"reproduce", model, "-o", job.string(), "--target", (dir.path() / "t").string()});
        INFO(run.err);
        CHECK(run.exit_code == kExitOutput);
        CHECK_FALSE(fs::exists(job));
        for (const auto& e : fs::directory_iterator(full.path)) CHECK(e.path().filename() == "filler");
    }
}

TEST_CASE("reproduce: unknown rw and bs are written as defaults and said on stderr", "[reproduce][fio][strace]") {
    SKIP_WITHOUT("fio", "strace");
    ScratchDir dir;
    // strace sees io_uring_enter calls, not the requests in the ring.
    model_fio_job(dir, "[uring]\nrw=randread\nbs=4k\nioengine=io_uring\nsize=4m\n", 1, {"--source", "strace"});
    const std::string model = model_file(dir).string();
    const fs::path job = dir.path() / "job.fio";
    auto run = run_iodiag({"reproduce", model, "-o", job.string(), "--target", (dir.path() / "t").string()});
    INFO(run.out << run.err);
    REQUIRE(run.exit_code == 0);
    CHECK(run.err.find("rw unknown") != std::string::npos);
    CHECK(run.err.find("bs unknown") != std::string::npos);
    const std::string text = read_text(job);
    CHECK(text.find("; unknown: rw: strace cannot see") != std::string::npos);
    CHECK(text.find("; unknown: bs: strace cannot see") != std::string::npos);
    CHECK(text.find("ioengine=io_uring") != std::string::npos);
}

TEST_CASE("reproduce --mode replay: per-thread iologs replayed by fio", "[reproduce][fio][replay]") {
    SKIP_WITHOUT("fio");
    ScratchDir dir;
    const fs::path job = dir.path() / "replay.fio";
    auto run = run_iodiag({"reproduce", "--mode", "replay", "--strace-log", fixture("fio_psync_o_ttt_T_y.log"), "-o",
                           job.string(), "--target", (dir.path() / "t").string(), "--run", "--json"});
    INFO(run.out << run.err);
    REQUIRE(run.exit_code == 0);
    auto out = nlohmann::json::parse(run.out);
    REQUIRE(out["threads"].size() == 1);
    CHECK(out["threads"][0]["thread"] == 3951);
    CHECK(out["threads"][0]["reads"] == 10);
    CHECK(out["threads"][0]["writes"] == 8);
    CHECK(out["threads"][0]["replayed_iops"].get<double>() > 0);
    const std::string iolog = out["threads"][0]["iolog"];
    CHECK(fs::path(iolog).parent_path() == job.string() + ".iologs");
    CHECK(read_text(iolog).rfind("fio version 3 iolog\n", 0) == 0);

    // The replay needs the trace; a model alone cannot give it.
    auto no_log = run_iodiag({"reproduce", "--mode", "replay", "-o", job.string()});
    CHECK(no_log.exit_code == 2);
    CHECK(no_log.err.find("--strace-log") != std::string::npos);
}
