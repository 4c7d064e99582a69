// `iodiag model --pid` on an async fio job already running at iodepth=16: requests in flight when
// the trace starts (submitted unseen) must not hide the depth (issue 11: libaio read as depth 1).
// strace the same, pairing io_getevents' completions by iocb (issue 11: read as depth 1).
// Plain io_uring also when launched: depth is what fio has in flight, CQEs it has not taken yet
// included (issue 11: read as 6-13 when fio was busier than the disk).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "support/run_iodiag.hpp"
#include "support/support.hpp"

using namespace iodiag::testing;
namespace fs = std::filesystem;

namespace {

// fio with its job as a thread (--thread), so the pid we start is the one doing the IO.
pid_t start_fio(const fs::path& dir, const std::string& engine, int runtime_s, bool sqpoll) {
    std::vector<std::string> args = {"fio", "--name=mid", "--thread", "--filename=" + (dir / "f").string(),
                                     "--size=64m", "--rw=randread", "--bs=8k", "--ioengine=" + engine,
                                     "--iodepth=16", "--direct=1", "--time_based",
                                     "--runtime=" + std::to_string(runtime_s), "--output=/dev/null"};
    if (sqpoll) args.push_back("--sqthread_poll=1");
    pid_t pid = fork();
    if (pid == 0) {
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        execvp("fio", argv.data());
        _exit(127);
    }
    return pid;
}

// Waits (generously: fio lays out its file first) until fio has run its job for a while.
void settle() { std::this_thread::sleep_for(std::chrono::seconds(4)); }

nlohmann::json model_of(const std::vector<std::string>& target, const fs::path& dir, int duration_s, int& code,
                        const std::string& source = "bpf") {
    const fs::path out = dir / "model.json";
    std::vector<std::string> args = {"model", "--source", source, "-d", std::to_string(duration_s), "--json",
                                     "-o", out.string()};
    args.insert(args.end(), target.begin(), target.end());
    code = run_iodiag(args).exit_code;
    std::ifstream in(out);
    return in ? nlohmann::json::parse(in, nullptr, false) : nlohmann::json();
}

nlohmann::json model_of(pid_t pid, const fs::path& dir, int duration_s, int& code, const std::string& source) {
    return model_of({"--pid", std::to_string(pid)}, dir, duration_s, code, source);
}

// The job's group (a launched fio's file layout is a group of its own).
void check_depth(const nlohmann::json& model, int low = 12, int high = 20) {
    REQUIRE(model.contains("groups"));
    nlohmann::json group;
    for (const auto& g : model["groups"])
        if (g["fio"].value("rw", "") == "randread") group = g;
    INFO(model["groups"].dump());
    REQUIRE(group.is_object());
    const auto& fio = group["fio"];
    CHECK(fio["bs"] == "8k");
    const int depth = fio.value("iodepth", 0);
    CHECK(depth >= low);
    CHECK(depth <= high);
}

void run_case(const std::string& engine, bool sqpoll, int fio_runtime_s, int trace_s, int low = 12, int high = 20,
              const std::string& source = "bpf") {
    if (source == "bpf") SKIP_UNLESS_ROOT("BPF");
    else SKIP_WITHOUT(source);
    SKIP_WITHOUT("fio");
    ScratchDir scratch;
    const fs::path& dir = scratch.path();
    const pid_t fio = start_fio(dir, engine, fio_runtime_s, sqpoll);
    REQUIRE(fio > 0);
    settle();
    int code = -1;
    const nlohmann::json model = model_of(fio, dir, trace_s, code, source);
    kill(fio, SIGTERM);
    int status = 0;
    waitpid(fio, &status, 0);
    CHECK(code == 0);
    check_depth(model, low, high);
}

}  // namespace

TEST_CASE("bpf attach mid-flight: libaio qd16 keeps its depth", "[bpf][midflight]") {
    run_case("libaio", false, 30, 3);
}

TEST_CASE("bpf attach mid-flight: io_uring SQPOLL qd16 keeps its depth", "[bpf][midflight]") {
    run_case("io_uring", true, 30, 3);
}

TEST_CASE("bpf attach mid-flight: libaio target exits during the trace", "[bpf][midflight]") {
    // fio ends ~3 s into a 15 s trace: the requests still in flight at its exit must not crash
    // the pairing nor change the depth.
    run_case("libaio", false, 7, 15);
}

TEST_CASE("strace attach mid-flight: libaio qd16 keeps its depth", "[strace][midflight]") {
    run_case("libaio", false, 30, 3, 12, 20, "strace");
}

TEST_CASE("bpf attach mid-flight: plain io_uring qd16 keeps its depth", "[bpf][midflight]") {
    run_case("io_uring", false, 30, 3, 14, 18);
}

TEST_CASE("bpf launched fio: plain io_uring qd16 models depth 16", "[bpf][midflight]") {
    SKIP_UNLESS_ROOT("BPF");
    SKIP_WITHOUT("fio");
    ScratchDir scratch;
    const fs::path& dir = scratch.path();
    int code = -1;
    const nlohmann::json model =
        model_of({"--", "fio", "--name=launched", "--thread", "--filename=" + (dir / "f").string(), "--size=64m",
                  "--rw=randread", "--bs=8k", "--ioengine=io_uring", "--iodepth=16", "--direct=1", "--time_based",
                  "--runtime=4", "--output=/dev/null"},
                 dir, 10, code);
    CHECK(code == 0);
    check_depth(model, 14, 18);
}
