// `iodiag kvm trace` through the real binary: pids that are not QEMU, a real QEMU whose guest does
// no IO, and the kvm-host playbook's trace and compare steps. A QEMU with a guest doing IO is in
// test_kvm_lab.cpp (label kvm).
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "fio_harness.hpp"

using namespace iodiag;
using namespace iodiag::testing;

TEST_CASE("kvm trace: a pid that is not QEMU is refused, saying how to find QEMU", "[kvm_trace]") {
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::execlp("sleep", "sleep", "30", static_cast<char*>(nullptr));
        ::_exit(127);
    }
    ::usleep(100'000);  // exec'd by now: its comm is sleep
    auto run = run_iodiag({"kvm", "trace", "--pid", std::to_string(child), "-d", "1s"});
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    INFO(run.out << run.err);
    CHECK(run.exit_code == 2);
    CHECK_THAT(run.err, Catch::Contains("is not a QEMU process") && Catch::Contains("(sleep)"));
    CHECK_THAT(run.err, Catch::Contains("pgrep -f qemu-system"));
}

TEST_CASE("kvm trace: a pid that does not exist is not_found, as JSON under --json", "[kvm_trace]") {
    auto run = run_iodiag({"kvm", "trace", "--pid", "999999999", "--json"});
    INFO(run.out << run.err);
    CHECK(run.exit_code == 4);
    const auto j = nlohmann::json::parse(run.out);
    CHECK(j["error"]["kind"] == "not_found");
    CHECK_THAT(j["error"]["message"].get<std::string>(), Catch::Contains("999999999"));
}

TEST_CASE("kvm trace: bad durations are refused", "[kvm_trace]") {
    auto bad = run_iodiag({"kvm", "trace", "--pid", "1", "-d", "soon"});
    CHECK(bad.exit_code == 2);
    CHECK_THAT(bad.err, Catch::Contains("not a duration"));
}

namespace {

// A real QEMU that runs no guest (-machine none, stopped with -S): no vCPU, no disk, no IO.
class IdleQemu {
public:
    explicit IdleQemu(bool named) {
        pid_ = ::fork();
        if (pid_ == 0) {
            if (named)
                ::execlp("qemu-system-x86_64", "qemu-system-x86_64", "-machine", "none", "-display", "none", "-S",
                         "-monitor", "none", "-name", "idle,debug-threads=on", static_cast<char*>(nullptr));
            else
                ::execlp("qemu-system-x86_64", "qemu-system-x86_64", "-machine", "none", "-display", "none", "-S",
                         "-monitor", "none", static_cast<char*>(nullptr));
            ::_exit(127);
        }
        ::usleep(500'000);
    }
    ~IdleQemu() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    pid_t pid() const { return pid_; }
    bool running() const { return pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0; }

private:
    pid_t pid_ = -1;
};

}  // namespace

TEST_CASE("kvm trace: a QEMU whose guest does no IO is reported, with what is missing said", "[kvm_trace][bpf]") {
    if (!missing_tools({"qemu-system-x86_64"}).empty()) {
        WARN("skipped: qemu-system-x86_64 is not installed");
        return;
    }
    IdleQemu qemu(false);
    REQUIRE(qemu.running());

    auto missing = run_iodiag({"kvm", "trace", "--pid", std::to_string(qemu.pid()), "--guest", "/nonexistent/guest.json"});
    INFO(missing.out << missing.err);
    CHECK(missing.exit_code == 4);
    CHECK_THAT(missing.err, Catch::Contains("/nonexistent/guest.json"));

    auto run = run_iodiag({"kvm", "trace", "--pid", std::to_string(qemu.pid()), "-d", "1s", "--json"});
    INFO(run.out << run.err);
    if (run.exit_code == 9) {  // unsupported: no BPF here
        WARN("skipped: the bpf source does not load here: " + run.err);
        return;
    }
    REQUIRE(run.exit_code == 0);
    const auto j = nlohmann::json::parse(run.out);
    CHECK(j["accel"] == "tcg");
    CHECK(j["vm_exits"].is_null());
    CHECK_THAT(j["vm_exits_note"].get<std::string>(), Catch::Contains("TCG"));
    CHECK(j["named_threads"] == false);
    CHECK(j["request"]["io_role"] == "");
    CHECK(j["request"]["guest_requests"] == 0);
    const std::string notes = j["notes"].dump();
    CHECK_THAT(notes, Catch::Contains("no IO"));
    CHECK_THAT(notes, Catch::Contains("debug-threads=on"));
    bool main_loop = false;
    for (const auto& role : j["roles"]) main_loop |= role["role"] == "main-loop";
    CHECK(main_loop);
}

namespace {

std::string step_state(const nlohmann::json& session, const std::string& id) {
    for (const auto& step : session.at("steps"))
        if (step.at("id") == id) return step.at("state");
    return "missing";
}

nlohmann::json read_json_file(const std::filesystem::path& path) {
    std::ifstream in(path);
    REQUIRE(in);
    return nlohmann::json::parse(in);
}

}  // namespace

TEST_CASE("diagnose --playbook kvm-host traces QEMU and compares the guest's probe with the host's", "[kvm_trace][diagnose][fio]") {
    if (!missing_tools({"qemu-system-x86_64", "fio"}).empty()) {
        WARN("skipped: qemu-system-x86_64 or fio is not installed");
        return;
    }
    ScratchDir dir;
    // The guest's side: the same probe (here on this machine: the wiring is what is tested).
    auto guest = run_iodiag({"probe", "syncwrite", "--target", (dir.path() / "guest").string(), "--runtime", "1",
                             "--size", "16m", "--json"});
    INFO(guest.out << guest.err);
    REQUIRE(guest.exit_code == 0);
    const auto guest_file = dir.path() / "guest-syncwrite.json";
    std::ofstream(guest_file) << guest.out;
    const auto answers = dir.path() / "answers.json";
    std::ofstream(answers) << nlohmann::json{{"duration", "1s"}, {"runtime", "1s"}, {"size", "16m"},
                                             {"compare-syncwrite.guest", guest_file.string()}}
                                  .dump();

    IdleQemu qemu(true);
    REQUIRE(qemu.running());
    const auto session = dir.path() / "session";
    auto run = run_iodiag({"diagnose", "--yes", "--playbook", "kvm-host", "--session", session.string(), "--answers",
                           answers.string(), "--pid", std::to_string(qemu.pid()), "--json"});
    INFO(run.out << run.err);
    REQUIRE(run.exit_code == 0);
    const auto state = read_json_file(session / "session.json");
    INFO(state.dump(1));
    CHECK(step_state(state, "kvm") == "done");
    CHECK(step_state(state, "probe-syncwrite") == "done");
    CHECK(step_state(state, "compare-syncwrite") == "done");
    const auto compare = read_json_file(session / "kvm-compare.json");
    CHECK(compare["differences"].size() == 5);
    CHECK(compare["guest"]["file"] == guest_file.string());
    if (step_state(state, "trace") != "skipped") {  // skipped only where the bpf source does not load
        CHECK(step_state(state, "trace") == "done");
        const auto trace = read_json_file(session / "kvm-trace.json");
        CHECK(trace["accel"] == "tcg");
        CHECK(trace["request"]["guest_requests"] == 0);
    }
    CHECK(std::filesystem::exists(session / "report.json"));
}
