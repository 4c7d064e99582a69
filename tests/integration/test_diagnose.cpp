// `iodiag diagnose` end to end: real fio targets, the real binary, the interactive checklist
// driven through tmux (send-keys / capture-pane) as a person would, and the session folder.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bpf_harness.hpp"
#include "fio_harness.hpp"

using namespace iodiag;
using namespace iodiag::testing;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json read_json(const fs::path& path) {
    std::ifstream in(path);
    REQUIRE(in);
    return json::parse(in);
}

std::string step_state(const json& session, const std::string& id) {
    for (const auto& step : session.at("steps"))
        if (step.at("id") == id) return step.at("state");
    return "missing";
}

bool has_finding(const json& report, const std::string& id) {
    for (const auto& f : report.at("findings"))
        if (f.at("id") == id) return true;
    return false;
}

std::string write_file(const fs::path& path, const std::string& text) {
    std::ofstream(path) << text;
    return path.string();
}

// A small playbook for the interactive and resume tests: quick steps only.
std::string quick_playbook(const fs::path& dir) {
    return write_file(dir / "quick.json", R"({
      "schema": 1, "name": "quick", "title": "Quick check",
      "steps": [
        {"id": "model", "title": "Model the workload", "why": "Traces the IO.", "section": "understand/model workload",
         "action": "model", "questions": [{"id": "duration", "prompt": "How long to trace", "default": "2s"}],
         "when": ["target"], "findings": ["workload.*"]},
        {"id": "stack", "title": "IO stack", "why": "Reads the stack.", "section": "the whole IO stack",
         "action": "stack", "findings": ["stack.*"]},
        {"id": "latency", "title": "Latency", "why": "Per layer.", "section": "how to trace",
         "action": "latency", "params": {"duration": "1s"}, "when": ["target", "bpf"], "findings": ["latency.*"]},
        {"id": "report", "title": "Findings report", "why": "All findings.", "section": "overview", "action": "report"}
      ]})");
}

// A background fio that keeps reading (depth 1, O_DIRECT) until killed: a target to attach to.
struct BackgroundReader {
    pid_t pid = -1;
    explicit BackgroundReader(const ScratchDir& dir) {
        // thread: the IO happens in the process the test attaches to (fio forks a process per job otherwise).
        const auto job = write_fio_job(dir, "bg.fio", "[bg]\nthread\nrw=randread\nbs=4k\nioengine=psync\ndirect=1\nsize=16m\n", 600);
        pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            setpgid(0, 0);  // out of the test's process group: tmux keys go to iodiag only
            execlp("fio", "fio", "--output=/dev/null", job.c_str(), nullptr);
            _exit(127);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(800));
    }
    ~BackgroundReader() {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
    }
    bool alive() const { return kill(pid, 0) == 0; }
};

class Tmux {
public:
    explicit Tmux(const std::string& command) : name_(fmt::format("iodiag-test-{}", getpid())) {
        auto started = run_capture({"tmux", "new-session", "-d", "-s", name_, "-x", "200", "-y", "60", command});
        REQUIRE(started);
        REQUIRE(started->exit_code == 0);
    }
    ~Tmux() { (void)run_capture({"tmux", "kill-session", "-t", name_}); }
    void keys(const std::string& text) {
        if (!text.empty()) REQUIRE(run_capture({"tmux", "send-keys", "-t", name_, "-l", text})->exit_code == 0);
        REQUIRE(run_capture({"tmux", "send-keys", "-t", name_, "Enter"})->exit_code == 0);
    }
    std::string screen() {
        auto out = run_capture({"tmux", "capture-pane", "-p", "-S", "-400", "-t", name_});
        return out ? out->out : std::string();
    }
    // Waits until the screen has `text` `times` times; what the screen shows when it gives up.
    std::string wait_for(const std::string& text, int times = 1, int seconds = 60) {
        std::string last;
        for (int i = 0; i < seconds * 10; ++i) {
            last = screen();
            int seen = 0;
            for (size_t at = last.find(text); at != std::string::npos; at = last.find(text, at + 1)) ++seen;
            if (seen >= times) return last;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        FAIL("the screen never showed '" << text << "' x" << times << ":\n" << last);
        return last;
    }
    void interrupt() { REQUIRE(run_capture({"tmux", "send-keys", "-t", name_, "C-c"})->exit_code == 0); }

private:
    std::string name_;
};

}  // namespace

TEST_CASE("diagnose --yes finds a flush after every write (sync-writes playbook)", "[diagnose][fio]") {
    SKIP_UNLESS_BPF_SOURCE("fio");
    ScratchDir dir;
    const auto job = write_fio_job(dir, "log.fio",
                                   "[log]\nrw=write\nbs=4k\nioengine=psync\nfdatasync=1\nsize=16m\n", 3);
    const auto answers = write_file(dir.path() / "answers.json", R"({"runtime": "2s", "size": "32m", "min": "1ms"})");
    const fs::path session = dir.path() / "session";
    auto run = run_iodiag({"diagnose", "--yes", "--playbook", "sync-writes", "--session", session.string(), "--answers",
                           answers, "--json", "--", "fio", "--output=/dev/null", job.string()});
    INFO(run.out << run.err);
    REQUIRE(run.exit_code == 0);
    const json outcome = json::parse(run.out);
    CHECK(outcome.at("state") == "finished");

    const json state = read_json(session / "session.json");
    for (const char* step : {"model", "stack", "latency", "slow", "probe-depth1", "probe-syncwrite", "report"})
        CHECK(step_state(state, step) == "done");
    for (const char* file : {"model.json", "stack.json", "latency.json", "slow.json", "probe-depth1.json",
                             "probe-syncwrite.json", "report.md", "report.json", "report.html"})
        CHECK(fs::exists(session / file));
    const json report = read_json(session / "report.json");
    CHECK(has_finding(report, "workload.flush_every_write"));
    for (const auto& f : report.at("findings")) {
        CHECK_FALSE(f.at("next_step").get<std::string>().empty());
        CHECK_FALSE(f.at("evidence").empty());
    }
    // The report names the findings at the end of the run, and the probe left no scratch data behind.
    CHECK_THAT(run.err, Catch::Contains("report.html") && Catch::Contains("flush"));
    for (const auto& entry : fs::recursive_directory_iterator(dir.path()))
        CHECK(entry.path().filename().string().find("iodiag-scratch") == std::string::npos);
    CHECK(fs::exists(session / "probe-syncwrite.fio"));  // the probe's job is kept with its result
}

TEST_CASE("diagnose --yes on a depth-1 O_DIRECT reader finds the unused queue (slow-process playbook)", "[diagnose][fio]") {
    SKIP_UNLESS_BPF_SOURCE("fio");
    ScratchDir dir;
    if (!whole_disk_under(dir.path())) {
        WARN("skipped: " << dir.path() << " is not on a block device");
        return;
    }
    const auto job = write_fio_job(dir, "reader.fio", "[r]\nrw=randread\nbs=4k\nioengine=psync\ndirect=1\nsize=16m\n", 2);
    const auto answers = write_file(dir.path() / "answers.json", R"({"runtime": "2s", "size": "32m", "duration": "2s"})");
    const fs::path session = dir.path() / "session";
    auto run = run_iodiag({"diagnose", "--yes", "--session", session.string(), "--answers", answers, "--", "fio",
                           "--output=/dev/null", job.string()});
    INFO(run.out << run.err);
    REQUIRE(run.exit_code == 0);
    const json state = read_json(session / "session.json");
    CHECK(state.at("playbook").at("name") == "slow-process");
    for (const auto& step : state.at("steps")) {
        INFO(step.dump());
        CHECK(step.at("state") == "done");
    }
    const json report = read_json(session / "report.json");
    CHECK(has_finding(report, "workload.depth1_many_tags"));
    CHECK(report.at("charts").contains("latency"));
    CHECK(report.at("charts").contains("reproduce"));
    CHECK(report.at("charts").contains("offcpu"));
    // `iodiag report` writes the same findings again from the folder alone.
    const fs::path html = dir.path() / "again.html";
    auto again = run_iodiag({"report", session.string(), "-o", html.string()});
    INFO(again.err);
    REQUIRE(again.exit_code == 0);
    CHECK(fs::file_size(html) > 1000);
}

TEST_CASE("diagnose interactively: pick a target, redo a step, skip one, quit and resume", "[diagnose][tmux]") {
    SKIP_UNLESS_BPF_SOURCE("fio", "tmux");
    ScratchDir dir;
    BackgroundReader reader(dir);
    const auto playbook = quick_playbook(dir.path());
    const fs::path session = dir.path() / "session";
    {
        Tmux tmux(fmt::format("{} diagnose --playbook {} --session {}; echo EXITED $?; sleep 30", IODIAG_BINARY,
                              playbook, session.string()));
        auto screen = tmux.wait_for("Target:");
        CHECK_THAT(screen, Catch::Contains("processes doing the most IO"));
        CHECK_THAT(screen, Catch::Contains(std::to_string(reader.pid)));  // busy reading right now
        tmux.keys(fmt::format("p {}", reader.pid));
        screen = tmux.wait_for("[Enter] run");
        CHECK_THAT(screen, Catch::Contains("> [ ]  1. Model the workload") && Catch::Contains("Traces the IO."));
        tmux.keys("");                       // run the model step
        tmux.wait_for("How long to trace [2s]");
        tmux.keys("1s");
        tmux.wait_for("[Enter] next");
        tmux.keys("r");                      // redo it: the last answer is the default now
        tmux.wait_for("How long to trace [1s]");
        tmux.keys("");
        tmux.wait_for("[Enter] next", 2);
        tmux.keys("");                       // on to the stack step
        screen = tmux.wait_for("[Enter] run", 2);
        CHECK_THAT(screen, Catch::Contains("[x]  1. Model the workload"));
        tmux.keys("s");                      // skip the stack
        tmux.wait_for("[Enter] run", 3);
        tmux.keys("q");                      // quit before latency
        screen = tmux.wait_for("EXITED 0");
        CHECK_THAT(screen, Catch::Contains("iodiag diagnose --resume " + session.string()));
    }
    json state = read_json(session / "session.json");
    CHECK(step_state(state, "model") == "done");
    CHECK(step_state(state, "stack") == "skipped");
    CHECK(step_state(state, "latency") == "todo");
    CHECK(state.at("answers").at("model.duration") == "1s");
    CHECK(state.at("target").at("pid") == reader.pid);
    CHECK(reader.alive());
    {
        Tmux tmux(fmt::format("{} diagnose --resume {}; echo EXITED $?; sleep 30", IODIAG_BINARY, session.string()));
        auto screen = tmux.wait_for("[Enter] run");
        CHECK_THAT(screen, Catch::Contains("> [ ]  3. Latency") && Catch::Contains("[-]  2. IO stack"));
        tmux.keys("");
        tmux.wait_for("[Enter] next");
        tmux.keys("");
        tmux.wait_for("[Enter] run", 2);     // the report step
        tmux.keys("");
        tmux.wait_for("[Enter] next", 2);
        tmux.keys("");
        screen = tmux.wait_for("EXITED 0");
        CHECK_THAT(screen, Catch::Contains("report.html"));
    }
    state = read_json(session / "session.json");
    CHECK(state.at("finished") == true);
    CHECK(step_state(state, "latency") == "done");
    CHECK(fs::exists(session / "report.html"));
    // A finished session is not resumed.
    auto again = run_iodiag({"diagnose", "--resume", session.string(), "--yes"});
    CHECK(again.exit_code == 2);
    CHECK_THAT(again.err, Catch::Contains("is finished"));
}

TEST_CASE("diagnose: Ctrl-C during a trace ends that step and keeps what was gathered", "[diagnose][tmux]") {
    SKIP_UNLESS_BPF_SOURCE("fio", "tmux");
    ScratchDir dir;
    BackgroundReader reader(dir);
    const auto playbook = quick_playbook(dir.path());
    const fs::path session = dir.path() / "session";
    {
        Tmux tmux(fmt::format("{} diagnose --playbook {} --session {} --pid {}; echo EXITED $?; sleep 30", IODIAG_BINARY,
                              playbook, session.string(), reader.pid));
        tmux.wait_for("[Enter] run");
        tmux.keys("");
        tmux.wait_for("How long to trace [2s]");
        tmux.keys("60s");
        tmux.wait_for("tracing with bpf");
        std::this_thread::sleep_for(std::chrono::milliseconds(1500));
        tmux.interrupt();
        auto screen = tmux.wait_for("[Enter] next", 1, 30);
        CHECK_THAT(screen, Catch::Contains("cut short"));
        tmux.keys("q");
        tmux.wait_for("EXITED 0");
    }
    const json state = read_json(session / "session.json");
    CHECK(step_state(state, "model") == "done");
    const json model = read_json(session / "model.json");
    CHECK(model.at("complete") == false);
    CHECK(model.at("end_reason") == "interrupted");
    CHECK(model.at("duration_s").get<double>() < 30);
    CHECK(reader.alive());
}

TEST_CASE("diagnose resumes after kill -9 mid-step and the target lives on", "[diagnose]") {
    SKIP_UNLESS_BPF_SOURCE("fio");
    ScratchDir dir;
    BackgroundReader reader(dir);
    const auto playbook = quick_playbook(dir.path());
    const fs::path session = dir.path() / "session";
    const auto answers = write_file(dir.path() / "answers.json", R"({"model.duration": "30s"})");
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        const int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, STDOUT_FILENO);
        dup2(devnull, STDERR_FILENO);
        execl(IODIAG_BINARY, IODIAG_BINARY, "diagnose", "--yes", "--playbook", playbook.c_str(), "--session",
              session.c_str(), "--answers", answers.c_str(), "--pid", std::to_string(reader.pid).c_str(), nullptr);
        _exit(127);
    }
    // Kill it while the model step traces (its state is "running" in session.json).
    bool running = false;
    for (int i = 0; i < 200 && !running; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        std::ifstream in(session / "session.json");
        if (!in) continue;
        const json state = json::parse(in, nullptr, false);
        running = !state.is_discarded() && step_state(state, "model") == "running";
    }
    REQUIRE(running);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    CHECK(reader.alive());
    CHECK_FALSE(fs::exists(session / "model.json"));  // no half-written output

    const auto short_answers = write_file(dir.path() / "short.json", R"({"model.duration": "1s"})");
    auto resumed = run_iodiag({"diagnose", "--resume", session.string(), "--yes", "--answers", short_answers});
    INFO(resumed.out << resumed.err);
    REQUIRE(resumed.exit_code == 0);
    const json state = read_json(session / "session.json");
    CHECK(state.at("finished") == true);
    CHECK(step_state(state, "model") == "done");
    CHECK(step_state(state, "report") == "done");
    CHECK(fs::exists(session / "model.json"));
    CHECK(reader.alive());
}

TEST_CASE("diagnose refuses bad input with a clear message", "[diagnose]") {
    ScratchDir dir;
    SECTION("an unknown playbook") {
        auto run = run_iodiag({"diagnose", "--yes", "--playbook", "no-such", "--pid", std::to_string(getpid())});
        CHECK(run.exit_code == 4);
        CHECK_THAT(run.err, Catch::Contains("no playbook named 'no-such'") && Catch::Contains("slow-process"));
    }
    SECTION("a broken playbook names its file and step") {
        const auto file = write_file(dir.path() / "broken.json", R"({"schema": 1, "name": "b", "title": "B",
            "steps": [{"id": "one", "title": "t", "why": "w", "section": "s", "action": "fly"}]})");
        auto run = run_iodiag({"diagnose", "--yes", "--playbook", file, "--pid", std::to_string(getpid())});
        CHECK(run.exit_code == 3);
        CHECK_THAT(run.err, Catch::Contains(file) && Catch::Contains("step 'one'") && Catch::Contains("unknown action 'fly'"));
    }
    SECTION("no terminal and no --yes") {
        auto run = run_iodiag({"diagnose", "--pid", std::to_string(getpid())});
        CHECK(run.exit_code == 2);
        CHECK_THAT(run.err, Catch::Contains("not a terminal") && Catch::Contains("--yes"));
    }
    SECTION("errors under --json are one JSON object on stdout") {
        auto run = run_iodiag({"diagnose", "--json", "--yes", "--resume", (dir.path() / "nothing").string()});
        CHECK(run.exit_code == 4);
        const json out = json::parse(run.out);
        CHECK(out.at("error").at("kind") == "not_found");
        CHECK(out.at("exit_code") == 4);
    }
    SECTION("a session folder from another machine") {
        const fs::path session = dir.path() / "elsewhere";
        fs::create_directories(session);
        std::ofstream(session / "session.json") << json{{"schema", 1}, {"tool_version", IODIAG_VERSION},
                                                         {"machine", {{"hostname", "otherhost"}, {"boot_id", "x"}}},
                                                         {"steps", json::array()}}.dump();
        auto run = run_iodiag({"diagnose", "--yes", "--resume", session.string()});
        CHECK(run.exit_code == 3);
        CHECK_THAT(run.err, Catch::Contains("not on this machine"));
    }
    SECTION("a failing step is recorded with its reason and the others still run") {
        // The stack step is pointed at a path that does not exist; model and report go on.
        const auto playbook = quick_playbook(dir.path());
        const fs::path session = dir.path() / "s";
        const auto answers = write_file(dir.path() / "a.json", R"({"duration": "1s"})");
        auto edited = json::parse(std::ifstream(playbook));
        edited["steps"][1]["params"] = {{"path", (dir.path() / "no-such-folder").string()}};
        write_file(playbook, edited.dump());
        auto run = run_iodiag({"diagnose", "--yes", "--playbook", playbook, "--session", session.string(), "--answers",
                               answers, "--", "dd", "if=/dev/zero", "of=" + (dir.path() / "out").string(), "bs=64k",
                               "count=64", "oflag=direct"});
        INFO(run.out << run.err);
        CHECK(run.exit_code == 0);
        const json state = read_json(session / "session.json");
        CHECK(step_state(state, "model") == "done");
        CHECK(step_state(state, "stack") == "failed");
        for (const auto& step : state.at("steps"))
            if (step.at("id") == "stack") CHECK_THAT(step.at("reason").get<std::string>(), Catch::Contains("no-such-folder"));
        CHECK(step_state(state, "report") == "done");
        CHECK(fs::exists(session / "model.json"));
        CHECK(fs::exists(session / "report.md"));
    }
}
