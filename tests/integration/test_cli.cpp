// The iodiag binary end to end: exit codes, messages, files left behind, signals. Runs the real
// binary (IODIAG_BINARY) with real strace and fio.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cli/exit_codes.hpp"
#include "common/subprocess.hpp"
#include "support/run_iodiag.hpp"
#include "support/support.hpp"

using namespace iodiag;
using namespace iodiag::testing;
namespace fs = std::filesystem;

namespace {

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// A pid that is not running now.
int32_t unused_pid() {
    for (int32_t pid = 4'000'000; pid > 1000; --pid)
        if (kill(pid, 0) != 0 && errno == ESRCH) return pid;
    return 0;
}

const nlohmann::json* group_with_file(const nlohmann::json& model, const std::string& path) {
    for (const auto& group : model.at("groups"))
        for (const auto& file : group.at("files"))
            if (file.at("path") == path) return &group;
    return nullptr;
}

}  // namespace

TEST_CASE("help lists the exit codes", "[cli]") {
    CommandOutput run = run_iodiag({"--help"});
    CHECK(run.exit_code == 0);
    CHECK(contains(run.out, "Exit codes:"));
    CHECK(contains(run.out, "  7  the trace finished but saw no IO"));
}

TEST_CASE("bad command lines exit 2", "[cli]") {
    CHECK(run_iodiag({"frobnicate"}).exit_code == 2);
    CommandOutput none = run_iodiag({"model"});
    CHECK(none.exit_code == 2);
    CHECK(contains(none.err, "iodiag: error: give exactly one of"));
    CHECK(run_iodiag({"model", "--pid", "1", "--strace-log", "x"}).exit_code == 2);
    CHECK(run_iodiag({"model", "--pid", "1", "-d", "soon"}).exit_code == 2);
}

TEST_CASE("model: --strict without a log exits 2", "[cli]") {
    CommandOutput run = run_iodiag({"model", "--strict", "--pid", "1"});
    CHECK(run.exit_code == 2);
    CHECK(contains(run.err, "--strict goes with --strace-log or --perf-log"));
}

TEST_CASE("unknown pid exits 4 with a message", "[cli]") {
    ScratchDir dir;
    const int32_t pid = unused_pid();
    CommandOutput run = run_iodiag({"model", "--pid", std::to_string(pid), "-o", dir / "model.json"});
    CHECK(run.exit_code == 4);
    CHECK(contains(run.err, "iodiag: error: no process with pid " + std::to_string(pid)));
    CHECK_FALSE(fs::exists(dir / "model.json"));
}

TEST_CASE("a missing log file exits 4", "[cli]") {
    ScratchDir dir;
    CommandOutput run = run_iodiag({"model", "--strace-log", dir / "nope.log", "-o", dir / "model.json"});
    CHECK(run.exit_code == 4);
    CHECK(contains(run.err, "nope.log"));
}

TEST_CASE("a garbled log with --strict exits 3 naming file:line", "[cli]") {
    ScratchDir dir;
    const std::string log = dir / "garbled.log";
    std::ofstream(log) << "1234  1700000000.000001 read(3</tmp/f>, \"\"..., 4096) = 4096 "
                          "<0.000010>\n"
                          "this is not strace output\n";
    CommandOutput run = run_iodiag({"model", "--strace-log", log, "--strict", "-o", dir / "model.json"});
    CHECK(run.exit_code == 3);
    CHECK(contains(run.err, "garbled.log:2"));
    CHECK_FALSE(fs::exists(dir / "model.json"));
}

TEST_CASE("an empty log exits 7: no IO seen, no model written", "[cli]") {
    ScratchDir dir;
    const std::string log = dir / "empty.log";
    std::ofstream{log};
    CommandOutput run = run_iodiag({"model", "--strace-log", log, "-o", dir / "model.json"});
    CHECK(run.exit_code == 7);
    CHECK(contains(run.err, "no IO seen"));
    CHECK_FALSE(fs::exists(dir / "model.json"));
}

TEST_CASE("an unwritable output path exits 8 before tracing and leaves no file", "[cli]") {
    ScratchDir dir;
    CommandOutput run = run_iodiag({"model", "-o", "/proc/x/model.json", "--", "true"});
    CHECK(run.exit_code == 8);
    CHECK(contains(run.err, "/proc/x/model.json"));
    CHECK(contains(run.err, "hint: choose another path with -o"));

    CommandOutput to_dir = run_iodiag({"model", "-o", dir.path().string(), "--", "true"});
    CHECK(to_dir.exit_code == 8);
    CHECK(contains(to_dir.err, "is a directory"));
    CHECK(fs::is_empty(dir.path()));  // no scratch or temp file left behind
}

TEST_CASE("strace missing from PATH exits 6 with an install hint", "[cli]") {
    ScratchDir dir;
    RunOptions without_strace;
    without_strace.prefix = {"/usr/bin/env", "PATH=" + dir.path().string()};
    CommandOutput run = run_iodiag({"model", "--source", "strace", "-o", dir / "model.json", "--", "/bin/true"},
                                   without_strace);
    CHECK(run.exit_code == 6);
    CHECK(contains(run.err, "strace is not installed"));
    CHECK(contains(run.err, "hint: apt-get install strace"));
}

TEST_CASE("a command that does not exist exits 4", "[cli]") {
    SKIP_WITHOUT("strace");
    ScratchDir dir;
    CommandOutput run = run_iodiag({"model", "-o", dir / "model.json", "--", "no-such-command-iodiag"});
    CHECK(run.exit_code == 4);
    CHECK(contains(run.err, "command not found: no-such-command-iodiag"));
}

TEST_CASE("model -- true sees no IO and exits 7", "[cli]") {
    SKIP_WITHOUT("strace");
    ScratchDir dir;
    CommandOutput run = run_iodiag({"model", "-o", dir / "model.json", "--", "true"});
    CHECK(run.exit_code == 7);
    CHECK(contains(run.err, "no IO seen"));
    CHECK_FALSE(fs::exists(dir / "model.json"));
}

TEST_CASE("model -- dd oflag=direct: one group writing 64k direct", "[cli]") {
    SKIP_WITHOUT("strace");
    ScratchDir dir;
    const std::string data = dir / "f";
    CommandOutput run = run_iodiag({"model", "-o", dir / "model.json", "--", "sh", "-c",
                          "dd if=/dev/zero of=" + data +
                              " bs=64k count=100 oflag=direct 2>/dev/null"});
    REQUIRE(run.exit_code == 0);
    CHECK(contains(run.out, "model: " + dir / "model.json"));
    auto model = nlohmann::json::parse(read_text(dir / "model.json"));
    CHECK(model.at("end_reason") == "target exited");
    CHECK(model.at("complete") == true);
    CHECK(model.at("target").at("comm") == "sh");
    const nlohmann::json* group = group_with_file(model, data);
    REQUIRE(group);
    INFO(group->dump(2));
    CHECK(group->at("fio").at("rw") == "write");
    CHECK(group->at("fio").at("bs") == "64k");
    CHECK(group->at("fio").at("direct") == 1);
}

TEST_CASE("model --json prints the model on stdout", "[cli]") {
    SKIP_WITHOUT("strace");
    ScratchDir dir;
    CommandOutput run = run_iodiag({"model", "--json", "-o", dir / "model.json", "--", "sh", "-c",
                          "dd if=/dev/zero of=" + dir / "f" + " bs=4k count=50 2>/dev/null"});
    REQUIRE(run.exit_code == 0);
    auto printed = nlohmann::json::parse(run.out);
    auto saved = nlohmann::json::parse(read_text(dir / "model.json"));
    CHECK(printed == saved);
    CHECK(contains(run.err, "model: "));
}

TEST_CASE("Ctrl-C while tracing still writes the model and exits 0", "[cli]") {
    SKIP_WITHOUT("strace");
    ScratchDir dir;
    const std::string loop = "while :; do dd if=/dev/zero of=" + dir / "f" +
                             " bs=4k count=16 conv=fsync 2>/dev/null; sleep 0.1; done";
    RunOptions ctrl_c;
    ctrl_c.interrupt_after = std::chrono::milliseconds(2000);
    CommandOutput run = run_iodiag({"model", "-o", dir / "model.json", "--", "sh", "-c", loop}, ctrl_c);
    CHECK(run.exit_code == 0);
    REQUIRE(fs::exists(dir / "model.json"));
    auto model = nlohmann::json::parse(read_text(dir / "model.json"));
    CHECK(model.at("end_reason") == "interrupted");
    CHECK(model.at("complete") == false);
    CHECK(group_with_file(model, dir / "f"));
}

TEST_CASE("model --pid attaches for --duration, sees IO on fds opened before", "[cli]") {
    SKIP_WITHOUT("strace");
    SKIP_UNLESS_ROOT("ptrace of a process that is not our child");
    ScratchDir dir;
    const std::string data = dir / "pre-opened";
    // The shell opens the file once (fd 3) and then writes through it: the open is never traced.
    auto target = spawn({{"sh", "-c",
                          "exec 3>" + data + "; while :; do dd if=/dev/zero bs=8k count=4 "
                          ">&3 2>/dev/null; sleep 0.05; done"}});
    REQUIRE(target);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    // The shell's dd children do the writes: --children (bpf; strace always follows them).
    CommandOutput run = run_iodiag({"model", "--pid", std::to_string(*target), "--children", "-d", "2s", "-o",
                          dir / "model.json"});
    kill(*target, SIGKILL);
    wait_for(*target);
    REQUIRE(run.exit_code == 0);
    auto model = nlohmann::json::parse(read_text(dir / "model.json"));
    CHECK(model.at("end_reason") == "duration");
    CHECK(model.at("complete") == true);
    CHECK(model.at("target").at("pid") == *target);
    CHECK(model.at("duration_s").get<double>() > 1.0);
    // The file was opened before the trace: only the attach-time /proc snapshot names it.
    const nlohmann::json* group = group_with_file(model, data);
    REQUIRE(group);
    INFO(group->dump(2));
    const auto& write_sizes = group->at("evidence").at("writes").at("sizes");
    REQUIRE(write_sizes.size() == 1);
    CHECK(write_sizes.begin().key() == "8192");
}

TEST_CASE("attaching without permission exits 5 with a hint", "[cli]") {
    SKIP_WITHOUT("strace");
    SKIP_UNLESS_NOBODY_RUNS_IODIAG();
    CommandOutput run = run_iodiag({"model", "--pid", "1", "-d", "1s", "-o", "/tmp/iodiag-nobody.json"},
                                   as_nobody());
    CHECK(run.exit_code == 5);
    CHECK(contains(run.err, "hint: run as root or set kernel.yama.ptrace_scope=0"));
    CHECK_FALSE(fs::exists("/tmp/iodiag-nobody.json"));
}

TEST_CASE("model --source strace on a process the user may not trace exits with the permission code", "[cli][strace]") {
    SKIP_WITHOUT("strace", "sleep");
    SKIP_UNLESS_NOBODY_RUNS_IODIAG();
    ScratchDir dir;
    fs::permissions(dir.path(), fs::perms::all);  // nobody may write the model: the check before tracing passes
    auto target = spawn({{"sleep", "30"}});
    REQUIRE(target);
    CommandOutput run = run_iodiag({"model", "--source", "strace", "--pid", std::to_string(*target), "-d", "2s", "-o",
                                    dir / "model.json"},
                                   as_nobody());
    kill(*target, SIGKILL);
    wait_for(*target);
    // Its /proc/PID/fd, read at attach time, is closed to nobody before strace could try: either
    // refusal names the pid and says what to do.
    CHECK(run.exit_code == cli::kExitPermission);
    CHECK(contains(run.err, "iodiag: error: "));
    CHECK(contains(run.err, std::to_string(*target)));
    CHECK(contains(run.err, "hint: run as root or set kernel.yama.ptrace_scope=0"));
    CHECK_FALSE(fs::exists(dir / "model.json"));
}

TEST_CASE("demo traces two job groups", "[cli][demo]") {
    SKIP_WITHOUT("strace", "fio");
    ScratchDir dir;
    CommandOutput run = run_iodiag({"demo", "--keep", dir.path().string()});
    REQUIRE(run.exit_code == 0);
    auto model = nlohmann::json::parse(read_text(dir / "diagnosis/model.json"));
    const nlohmann::json* readers = group_with_file(model, dir / "data.db");
    const nlohmann::json* logger = group_with_file(model, dir / "wal.log");
    REQUIRE(readers);
    REQUIRE(logger);
    CHECK(readers != logger);
    CHECK(readers->at("fio").at("rw") == "randread");
    CHECK(readers->at("fio").at("bs") == "4k");
    CHECK(readers->at("fio").at("numjobs") == 2);
    CHECK(logger->at("fio").at("rw") == "write");
    CHECK(logger->at("fio").at("fdatasync") == 4);
    CHECK(contains(run.out, "model: " + dir / "diagnosis/model.json"));
}

namespace {

// Under --json an error is one JSON object on stdout and nothing else, as bpftool does, with the
// same exit code as the process.
void check_json_error(const CommandOutput& run) {
    CHECK(run.exit_code != 0);
    nlohmann::json out;
    REQUIRE_NOTHROW(out = nlohmann::json::parse(run.out));  // fails on anything before or after it
    REQUIRE(out.is_object());
    CHECK(out.size() == 2);
    const auto& error = out.at("error");
    CHECK(error.at("kind").is_string());
    CHECK_FALSE(error.at("message").get<std::string>().empty());
    CHECK(error.at("hint").is_string());
    CHECK(out.at("exit_code") == run.exit_code);
    CHECK(contains(run.err, "iodiag: error: " + error.at("message").get<std::string>()));
}

}  // namespace

TEST_CASE("every command with --json answers an error with one JSON object on stdout", "[cli][json]") {
    ScratchDir dir;
    const std::string missing = dir / "missing";
    const std::string pid = std::to_string(unused_pid());
    std::ofstream(dir / "overflow.json") << R"({"schema_version": 1, "duration_s": 1e309})";
    struct Case {
        std::vector<std::string> args;
        int code;        // 0: any failure (the tracing commands fail differently without root or BPF)
        std::string kind;
    };
    const Case cases[] = {
        {{"model", "--json", "--strace-log", missing, "-o", dir / "model.json"}, 4, "not_found"},
        {{"reproduce", "--json", missing}, 4, "not_found"},
        {{"reproduce", "--json", dir / "overflow.json", "-o", dir / "job.fio"}, 3, "bad_input"},
        {{"probe", "depth1", "--json", "--target", dir / "overflow.json"}, 0, ""},  // a file iodiag did not make
        {{"stack", "--json", "--path", missing}, 4, "not_found"},
        {{"kvm", "inspect", "--json", "--cmdline", missing}, 4, "not_found"},
        {{"kvm", "compare", "--json", "--guest", missing, "--host", missing}, 4, "not_found"},
        {{"latency", "--json", "--pid", pid, "-d", "1s"}, 0, ""},
        {{"slow", "--json", "--pid", pid, "-d", "1s"}, 0, ""},
        {{"offcpu", "--json", "--pid", pid, "-d", "1s"}, 0, ""},
        {{"wakeup", "--json", "--pid", pid, "-d", "1s"}, 0, ""},
        {{"diagnose", "--json", "--yes", "--answers", missing, "--session", dir / "session"}, 0, ""},
        // Option-parse errors, before any command runs: the usage error, in JSON too.
        {{"model", "--json", "--pid", "-5"}, 2, "usage"},
        {{"stack", "--json", "--no-such-option"}, 2, "usage"},
        {{"kvm", "--json"}, 2, "usage"},
    };
    for (const Case& c : cases) {
        std::string command = "iodiag";
        for (const auto& arg : c.args) command += " " + arg;
        INFO(command);
        CommandOutput run = run_iodiag(c.args);
        check_json_error(run);
        if (c.code) CHECK(run.exit_code == c.code);
        if (!c.kind.empty() && run.exit_code == c.code) CHECK(nlohmann::json::parse(run.out)["error"]["kind"] == c.kind);
    }
}

TEST_CASE("a model with a number out of range is bad input naming the file and the field", "[cli][reproduce]") {
    ScratchDir dir;
    const std::string model = dir / "model.json";
    std::ofstream(model) << R"({"schema_version": 1, "groups": [{"threads": [12, 1e309]}]})";
    CommandOutput run = run_iodiag({"reproduce", model, "-o", dir / "job.fio"});
    CHECK(run.exit_code == 3);
    CHECK(contains(run.err, model));
    CHECK(contains(run.err, "/groups/0/threads/1"));
    CHECK_FALSE(contains(run.err, "bug"));
    CHECK_FALSE(fs::exists(dir / "job.fio"));
}
