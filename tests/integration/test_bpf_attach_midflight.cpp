// `iodiag model --pid` on an async fio job already running at iodepth=16: requests in flight when
// the trace starts (submitted unseen) must not hide the depth (issue 11: libaio read as depth 1).
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

nlohmann::json model_of(pid_t pid, const fs::path& dir, int duration_s, int& code) {
    const fs::path out = dir / "model.json";
    code = run_iodiag({"model", "--source", "bpf", "--pid", std::to_string(pid), "-d", std::to_string(duration_s),
                       "--json", "-o", out.string()})
               .exit_code;
    std::ifstream in(out);
    return in ? nlohmann::json::parse(in, nullptr, false) : nlohmann::json();
}

void check_depth(const nlohmann::json& model) {
    REQUIRE(model.contains("groups"));
    REQUIRE(model["groups"].size() >= 1);
    const auto& fio = model["groups"][0]["fio"];
    INFO(model["groups"][0].dump());
    CHECK(fio["rw"] == "randread");
    CHECK(fio["bs"] == "8k");
    const int depth = fio.value("iodepth", 0);
    CHECK(depth >= 12);
    CHECK(depth <= 20);
}

void run_case(const std::string& engine, bool sqpoll, int fio_runtime_s, int trace_s) {
    SKIP_UNLESS_ROOT("BPF");
    SKIP_WITHOUT("fio");
    ScratchDir scratch;
    const fs::path& dir = scratch.path();
    const pid_t fio = start_fio(dir, engine, fio_runtime_s, sqpoll);
    REQUIRE(fio > 0);
    settle();
    int code = -1;
    const nlohmann::json model = model_of(fio, dir, trace_s, code);
    kill(fio, SIGTERM);
    int status = 0;
    waitpid(fio, &status, 0);
    CHECK(code == 0);
    check_depth(model);
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
