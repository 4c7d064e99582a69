#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "support/support.hpp"
#include "wizard/playbook.hpp"

using namespace iodiag;
using wizard::ordered_json;

namespace {

ordered_json minimal() {
    return ordered_json::parse(R"({
      "schema": 1, "name": "mine", "title": "My playbook",
      "steps": [
        {"id": "model", "title": "Model", "why": "w", "section": "s", "action": "model",
         "questions": [{"id": "duration", "prompt": "How long", "default": "5s"}], "when": ["target"],
         "findings": ["workload.*"]},
        {"id": "report", "title": "Report", "why": "w", "section": "s", "action": "report", "after": ["model"]}
      ]})");
}

std::string problem_of(const ordered_json& doc) {
    auto playbook = wizard::parse_playbook(doc, "mine.json");
    REQUIRE_FALSE(playbook);
    CHECK(playbook.error().kind == ErrorKind::bad_input);
    return playbook.error().message;
}

}  // namespace

TEST_CASE("every playbook shipped in playbooks/ validates", "[wizard][playbook]") {
    size_t count = 0;
    for (const auto& entry : std::filesystem::directory_iterator(std::string(IODIAG_SOURCE_DIR) + "/playbooks")) {
        if (entry.path().extension() != ".json") continue;
        INFO(entry.path().string());
        auto playbook = wizard::load_playbook_file(entry.path().string());
        if (!playbook) FAIL(playbook.error().message);
        CHECK(playbook->name == entry.path().stem().string());
        CHECK(playbook->steps.back().action == "report");
        ++count;
    }
    CHECK(count >= 4);
    for (const char* name : {"slow-process", "sync-writes", "kvm-guest", "kvm-host"}) CHECK(wizard::find_playbook(name));
}

TEST_CASE("a playbook's steps keep their questions, conditions and rules", "[wizard][playbook]") {
    auto playbook = wizard::parse_playbook(minimal(), "mine.json");
    REQUIRE(playbook);
    REQUIRE(playbook->steps.size() == 2);
    const auto& model = playbook->steps[0];
    CHECK(model.questions.at(0).default_value == "5s");
    CHECK(model.when == std::vector<std::string>{"target"});
    CHECK(model.findings == std::vector<std::string>{"workload.*"});
    CHECK(playbook->steps[1].after == std::vector<std::string>{"model"});
}

TEST_CASE("a broken playbook gets one message naming the file, the step and the problem", "[wizard][playbook]") {
    SECTION("unknown action") {
        auto doc = minimal();
        doc["steps"][1]["action"] = "teleport";
        auto message = problem_of(doc);
        CHECK_THAT(message, Catch::Contains("mine.json") && Catch::Contains("step 'report'") &&
                                Catch::Contains("unknown action 'teleport'"));
    }
    SECTION("a parameter the action does not have") {
        auto doc = minimal();
        doc["steps"][0]["params"] = {{"colour", "blue"}};
        CHECK_THAT(problem_of(doc), Catch::Contains("step 'model'") && Catch::Contains("no parameter 'colour'"));
    }
    SECTION("a bad parameter value") {
        auto doc = minimal();
        doc["steps"][0]["questions"][0]["default"] = "soon";
        CHECK_THAT(problem_of(doc), Catch::Contains("question 'duration'") && Catch::Contains("not a duration"));
    }
    SECTION("an unknown condition") {
        auto doc = minimal();
        doc["steps"][0]["when"] = {"on_the_moon"};
        CHECK_THAT(problem_of(doc), Catch::Contains("unknown condition 'on_the_moon'"));
    }
    SECTION("after names a later or missing step") {
        auto doc = minimal();
        doc["steps"][0]["after"] = {"report"};
        CHECK_THAT(problem_of(doc), Catch::Contains("'after' names 'report'"));
    }
    SECTION("an unknown findings rule") {
        auto doc = minimal();
        doc["steps"][0]["findings"] = {"workload.made_up"};
        CHECK_THAT(problem_of(doc), Catch::Contains("unknown findings rule 'workload.made_up'"));
    }
    SECTION("a duplicate step id") {
        auto doc = minimal();
        doc["steps"][1]["id"] = "model";
        doc["steps"][1].erase("after");
        CHECK_THAT(problem_of(doc), Catch::Contains("used twice"));
    }
    SECTION("a missing title") {
        auto doc = minimal();
        doc["steps"][0].erase("title");
        CHECK_THAT(problem_of(doc), Catch::Contains("step 'model'") && Catch::Contains("'title' is missing"));
    }
    SECTION("an unknown key, a typo") {
        auto doc = minimal();
        doc["steps"][0]["whne"] = ordered_json::array();
        CHECK_THAT(problem_of(doc), Catch::Contains("unknown key 'whne'"));
    }
    SECTION("another schema") {
        auto doc = minimal();
        doc["schema"] = 2;
        CHECK_THAT(problem_of(doc), Catch::Contains("'schema' must be 1"));
    }
    SECTION("no steps") {
        auto doc = minimal();
        doc["steps"] = ordered_json::array();
        CHECK_THAT(problem_of(doc), Catch::Contains("'steps' must be a non-empty list"));
    }
}

TEST_CASE("playbook files: not JSON, missing, unknown name", "[wizard][playbook]") {
    testing::ScratchDir dir;
    const auto path = (dir.path() / "broken.json").string();
    std::ofstream(path) << "{ \"schema\": 1, ";
    auto broken = wizard::load_playbook_file(path);
    REQUIRE_FALSE(broken);
    CHECK_THAT(broken.error().message, Catch::Contains(path) && Catch::Contains("not valid JSON"));

    auto missing = wizard::find_playbook((dir.path() / "nope.json").string());
    REQUIRE_FALSE(missing);
    CHECK(missing.error().kind == ErrorKind::not_found);

    auto unknown = wizard::find_playbook("no-such-playbook");
    REQUIRE_FALSE(unknown);
    CHECK_THAT(unknown.error().message, Catch::Contains("no playbook named 'no-such-playbook'"));
    CHECK_THAT(unknown.error().hint, Catch::Contains("slow-process"));
}

TEST_CASE("a copied and edited playbook runs from its file", "[wizard][playbook]") {
    testing::ScratchDir dir;
    auto original = wizard::find_playbook("slow-process");
    REQUIRE(original);
    auto doc = original->source;
    doc["name"] = "my-copy";
    doc["steps"].erase(doc["steps"].begin() + 1);  // without the stack step
    const auto path = (dir.path() / "my-copy.json").string();
    std::ofstream(path) << doc.dump(2);
    auto copy = wizard::find_playbook(path);
    REQUIRE(copy);
    CHECK(copy->name == "my-copy");
    CHECK(copy->steps.size() == original->steps.size() - 1);
    CHECK(copy->find("stack") == nullptr);
}
