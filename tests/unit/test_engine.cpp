#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/support.hpp"
#include "wizard/diagnose.hpp"
#include "wizard/engine.hpp"
#include "wizard/prompter.hpp"
#include "wizard/session.hpp"

using namespace iodiag;
using namespace iodiag::wizard;

namespace {

// Records what ran with which parameters; fails the steps it is told to.
class FakeRunner final : public ActionRunner {
public:
    std::vector<std::string> ran;
    std::map<std::string, std::map<std::string, std::string>> params;
    std::set<std::string> failing;
    std::set<std::string> aborting;   // as a second Ctrl-C during the step
    Result<StepOutcome> run(const Step& step, const std::map<std::string, std::string>& p, Session& session,
                            usecase::Observer& observer) override {
        ran.push_back(step.id);
        params[step.id] = p;
        observer.note("working on " + step.id);
        if (failing.count(step.id)) return fail(ErrorKind::unsupported, step.id + " cannot run here");
        if (aborting.count(step.id)) return fail(ErrorKind::aborted, "aborted");
        const std::string file = step.id + ".out";
        std::ofstream(session.path(file)) << "output of " << step.id;
        return StepOutcome{{file}, {"summary of " + step.id}, {}};
    }
};

class FakeFacts final : public Facts {
public:
    std::set<std::string> true_facts{"target", "bpf", "fio"};
    bool holds(const std::string& condition, const Session&, std::string& why) override {
        why = condition + " (fake)";
        return true_facts.count(condition) > 0;
    }
};

Playbook test_playbook() {
    auto playbook = parse_playbook(ordered_json::parse(R"({
      "schema": 1, "name": "test", "title": "Test",
      "steps": [
        {"id": "model", "title": "Model", "why": "w", "section": "s", "action": "model",
         "questions": [{"id": "duration", "prompt": "How long", "default": "5s"}], "when": ["target"]},
        {"id": "guest", "title": "Guest only", "why": "w", "section": "s", "action": "stack", "when": ["in_guest"]},
        {"id": "latency", "title": "Latency", "why": "w", "section": "s", "action": "latency", "when": ["bpf"]},
        {"id": "reproduce", "title": "Reproduce", "why": "w", "section": "s", "action": "reproduce", "after": ["model"]},
        {"id": "report", "title": "Report", "why": "w", "section": "s", "action": "report"}
      ]})"), "test.json");
    REQUIRE(playbook);
    return *playbook;
}

Session new_session(const std::string& dir, const Playbook& playbook) {
    Session session;
    session.dir = dir;
    session.tool_version = IODIAG_VERSION;
    session.machine = this_machine();
    session.playbook_name = playbook.name;
    session.playbook_source = playbook.source;
    session.target.pid = 1;
    session.steps = fresh_records(playbook);
    return session;
}

// A session over the test playbook, run straight through with a fake runner.
struct BatchRun {
    testing::ScratchDir dir;
    Playbook playbook = test_playbook();
    Session session = new_session(dir.path().string(), playbook);
    std::ostringstream out;
    FakeRunner runner;
    FakeFacts facts;

    Result<EngineEnd> run(ordered_json answers = ordered_json::object()) {
        BatchPrompter prompter(std::move(answers), out);
        Engine engine(session, playbook, prompter, runner, facts);
        return engine.run();
    }
};

}  // namespace

TEST_CASE("batch run: defaults, answers, skipped conditions, failures recorded and the rest goes on", "[wizard][engine]") {
    testing::ScratchDir dir;
    const Playbook playbook = test_playbook();
    Session session = new_session(dir.path().string(), playbook);
    std::ostringstream out;
    BatchPrompter prompter(ordered_json{{"model.duration", "2s"}, {"reproduce.max_size", "64m"}}, out);
    FakeRunner runner;
    runner.failing = {"latency"};
    FakeFacts facts;
    Engine engine(session, playbook, prompter, runner, facts);
    auto end = engine.run();
    REQUIRE(end);
    CHECK(*end == EngineEnd::finished);
    CHECK(runner.ran == std::vector<std::string>{"model", "latency", "reproduce", "report"});
    CHECK(runner.params["model"]["duration"] == "2s");          // the answer beat the default
    CHECK(runner.params["model"]["source"] == "auto");           // the action's own default
    CHECK(runner.params["reproduce"]["max_size"] == "64m");      // answers set parameters not asked too
    CHECK(session.find("guest")->state == StepState::skipped);
    CHECK_THAT(session.find("guest")->reason, Catch::Contains("in_guest"));
    CHECK(session.find("latency")->state == StepState::failed);
    CHECK_THAT(session.find("latency")->reason, Catch::Contains("latency cannot run here"));
    CHECK(session.find("reproduce")->state == StepState::done);  // does not depend on latency
    CHECK(session.find("model")->outputs == std::vector<std::string>{"model.out"});
    CHECK_THAT(out.str(), Catch::Contains("working on model") && Catch::Contains("summary of model"));

    auto saved = load_session(dir.path().string());
    REQUIRE(saved);
    CHECK(saved->finished);
    CHECK(saved->find("latency")->state == StepState::failed);
    CHECK(saved->answers["model.duration"] == "2s");
}

TEST_CASE("a second Ctrl-C stops the run and leaves the step to run again", "[wizard][engine]") {
    BatchRun b;
    b.runner.aborting = {"latency"};
    auto end = b.run();
    REQUIRE(end);
    CHECK(*end == EngineEnd::aborted);
    CHECK(b.runner.ran == std::vector<std::string>{"model", "latency"});
    CHECK(b.session.find("latency")->state == StepState::todo);
    CHECK(b.session.find("latency")->reason == "aborted by a second Ctrl-C");
    CHECK_FALSE(b.session.finished);
    CHECK(b.session.first_unfinished() == 2);
}

TEST_CASE("a failed step skips the steps that come after it", "[wizard][engine]") {
    BatchRun b;
    b.runner.failing = {"model"};
    REQUIRE(b.run());
    CHECK(b.session.find("reproduce")->state == StepState::skipped);
    CHECK_THAT(b.session.find("reproduce")->reason, Catch::Contains("needs step 'model'"));
    CHECK(b.session.find("report")->state == StepState::done);
}

TEST_CASE("a bad answer fails its step with the reason", "[wizard][engine]") {
    BatchRun b;
    REQUIRE(b.run(ordered_json{{"duration", "forever"}}));
    CHECK(b.session.find("model")->state == StepState::failed);
    CHECK_THAT(b.session.find("model")->reason, Catch::Contains("not a duration"));
}

TEST_CASE("interactive: skip a step, redo one, quit and resume at the first unfinished step", "[wizard][engine]") {
    testing::ScratchDir dir;
    const Playbook playbook = test_playbook();
    Session session = new_session(dir.path().string(), playbook);
    FakeRunner runner;
    FakeFacts facts;
    {
        // model: run with 3s, redo with 4s, next; (guest: not applicable); latency: skip;
        // reproduce: run, then quit.
        std::istringstream in("\n3s\nr\n4s\n\ns\n\nq\n");
        std::ostringstream out;
        TerminalPrompter prompter(in, out);
        Engine engine(session, playbook, prompter, runner, facts);
        auto end = engine.run();
        REQUIRE(end);
        CHECK(*end == EngineEnd::quit);
        CHECK(runner.ran == std::vector<std::string>{"model", "model", "reproduce"});
        CHECK(runner.params["model"]["duration"] == "4s");
        CHECK(session.find("latency")->reason == "skipped by the user");
        CHECK(session.find("report")->state == StepState::todo);
        CHECK_THAT(out.str(), Catch::Contains("[x]") && Catch::Contains("How long [5s]") && Catch::Contains("How long [3s]"));
    }
    auto saved = load_session(dir.path().string());
    REQUIRE(saved);
    CHECK_FALSE(saved->finished);
    CHECK(saved->first_unfinished() == 4);
    {
        std::istringstream in("\n\n");
        std::ostringstream out;
        TerminalPrompter prompter(in, out);
        Engine engine(*saved, playbook, prompter, runner, facts);
        auto end = engine.run();
        REQUIRE(end);
        CHECK(*end == EngineEnd::finished);
        CHECK(runner.ran.back() == "report");
        CHECK(runner.ran.size() == 4);
    }
}

TEST_CASE("a step killed while running is run again on resume", "[wizard][engine]") {
    testing::ScratchDir dir;
    const Playbook playbook = test_playbook();
    Session session = new_session(dir.path().string(), playbook);
    session.find("model")->state = StepState::done;
    session.find("guest")->state = StepState::skipped;
    session.find("latency")->state = StepState::running;  // what a kill -9 leaves
    REQUIRE(save_session(session));
    auto saved = load_session(dir.path().string());
    REQUIRE(saved);
    CHECK(saved->first_unfinished() == 2);
    std::ostringstream out;
    BatchPrompter prompter(ordered_json::object(), out);
    FakeRunner runner;
    FakeFacts facts;
    Engine engine(*saved, playbook, prompter, runner, facts);
    REQUIRE(engine.run());
    CHECK(runner.ran == std::vector<std::string>{"latency", "reproduce", "report"});
}

TEST_CASE("resume refuses finished sessions and sessions of another machine or version", "[wizard][session]") {
    testing::ScratchDir dir;
    const Playbook playbook = test_playbook();
    Session session = new_session(dir.path().string(), playbook);
    CHECK(check_resumable(session));
    session.finished = true;
    auto finished = check_resumable(session);
    REQUIRE_FALSE(finished);
    CHECK_THAT(finished.error().message, Catch::Contains("is finished"));
    session.finished = false;
    session.machine.boot_id = "another-boot";
    auto elsewhere = check_resumable(session);
    REQUIRE_FALSE(elsewhere);
    CHECK_THAT(elsewhere.error().message, Catch::Contains("not on this machine"));
    session.machine = this_machine();
    session.tool_version = "0.0.1";
    auto older = check_resumable(session);
    REQUIRE_FALSE(older);
    CHECK_THAT(older.error().message, Catch::Contains("made by iodiag 0.0.1"));
}

TEST_CASE("session.json round-trips and is refused when garbled", "[wizard][session]") {
    testing::ScratchDir dir;
    const Playbook playbook = test_playbook();
    Session session = new_session(dir.path().string(), playbook);
    session.find("model")->summary = {"a", "b"};
    REQUIRE(save_session(session));
    auto loaded = load_session(dir.path().string());
    REQUIRE(loaded);
    CHECK(loaded->find("model")->summary == std::vector<std::string>{"a", "b"});
    CHECK(loaded->playbook_source == playbook.source);
    CHECK_FALSE(std::filesystem::exists(dir.path() / "session.json.tmp"));

    std::ofstream(dir.path() / "session.json") << R"({"schema": 7})";
    auto future = load_session(dir.path().string());
    REQUIRE_FALSE(future);
    CHECK_THAT(future.error().message, Catch::Contains("schema 7"));
    std::ofstream(dir.path() / "session.json") << "{ half";
    CHECK_FALSE(load_session(dir.path().string()));
    auto none = load_session((dir.path() / "nowhere").string());
    REQUIRE_FALSE(none);
    CHECK(none.error().kind == ErrorKind::not_found);
}

TEST_CASE("a new session folder is refused where a session already is", "[wizard][session]") {
    testing::ScratchDir dir;
    auto made = make_session_dir((dir.path() / "s1").string());
    REQUIRE(made);
    std::ofstream(std::filesystem::path(*made) / "session.json") << "{}";
    auto again = make_session_dir(*made);
    REQUIRE_FALSE(again);
    CHECK_THAT(again.error().hint, Catch::Contains("--resume"));
}

TEST_CASE("answers files: values, targets and their checks", "[wizard][answers]") {
    testing::ScratchDir dir;
    const auto path = (dir.path() / "answers.json").string();
    std::ofstream(path) << R"({"target": {"pid": 42}, "duration": "3s", "model.duration": "9s", "min": 5})";
    auto answers = load_answers(path);
    REQUIRE(answers);
    CHECK(answer_for(*answers, "model", "duration") == "9s");
    CHECK(answer_for(*answers, "latency", "duration") == "3s");
    CHECK(answer_for(*answers, "slow", "min") == "5");
    CHECK_FALSE(answer_for(*answers, "slow", "runtime"));
    std::ostringstream out;
    BatchPrompter prompter(*answers, out);
    auto target = prompter.choose_target({});
    REQUIRE(target);
    CHECK(target->pid == 42);

    std::ofstream(path) << R"({"target": "fio"})";
    auto bad = load_answers(path);
    REQUIRE_FALSE(bad);
    CHECK_THAT(bad.error().message, Catch::Contains("'target' must be"));
    std::ofstream(path) << R"([1, 2])";
    CHECK_FALSE(load_answers(path));
}

TEST_CASE("the terminal target picker takes a number from the list, a pid or a command", "[wizard][prompter]") {
    std::vector<ProcessIo> busiest = {{101, "fio", "fio job.fio", 1e6, 2e6, 3e6}, {202, "dd", "dd if=x", 1e3, 0, 0}};
    {
        std::istringstream in("x\n2\n");
        std::ostringstream out;
        TerminalPrompter prompter(in, out);
        auto target = prompter.choose_target(busiest);
        REQUIRE(target);
        CHECK(target->pid == 202);
        CHECK_THAT(out.str(), Catch::Contains("fio") && Catch::Contains("not a choice: x"));
    }
    {
        std::istringstream in("p 4321\n");
        std::ostringstream out;
        TerminalPrompter prompter(in, out);
        CHECK(prompter.choose_target(busiest)->pid == 4321);
    }
    {
        std::istringstream in("c fio --name=x --rw=read\n");
        std::ostringstream out;
        TerminalPrompter prompter(in, out);
        auto target = prompter.choose_target(busiest);
        REQUIRE(target);
        CHECK(target->command == std::vector<std::string>{"fio", "--name=x", "--rw=read"});
    }
    {
        std::istringstream in("");
        std::ostringstream out;
        TerminalPrompter prompter(in, out);
        auto target = prompter.choose_target(busiest);
        REQUIRE_FALSE(target);
        CHECK(target.error().kind == ErrorKind::aborted);
    }
}

TEST_CASE("busiest_processes finds a process that is doing IO now", "[wizard][processes]") {
    testing::ScratchDir dir;
    const auto path = dir.path() / "busy";
    // This test's own writes are left out (iodiag leaves itself out), so a child does them.
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        std::vector<char> block(1 << 16, 'x');
        for (int i = 0; i < 4000; ++i) {
            std::ofstream out(path, std::ios::trunc | std::ios::binary);
            out.write(block.data(), static_cast<std::streamsize>(block.size()));
            usleep(200);
        }
        _exit(0);
    }
    auto busiest = busiest_processes(500, 50);
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    bool found = false;
    for (const auto& p : busiest) found |= p.pid == child && p.write_bytes_s > 0;
    CHECK(found);
}
