// report::render_html: a self-contained page (nothing fetched), text escaped, one SVG per chart, the
// flame graph's merged frames, and no throw on missing or odd fields.
#include <catch2/catch.hpp>

#include <fstream>
#include <string>
#include <string_view>

#include "report/html_writer.hpp"

using namespace iodiag;
using json = nlohmann::ordered_json;

namespace {

json synthetic_report() {
    std::ifstream in(std::string(IODIAG_TEST_DATA) + "/report/synthetic_report.json");
    REQUIRE(in);
    return json::parse(in);
}

size_t count(std::string_view haystack, std::string_view needle) {
    size_t n = 0;
    for (size_t at = haystack.find(needle); at != std::string_view::npos; at = haystack.find(needle, at + 1)) ++n;
    return n;
}

// The expected form of report text in the page.
std::string escaped(std::string_view s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
        }
    }
    return out;
}

// Every `attribute="...` in the page whose value does not start with '#'.
std::vector<std::string> non_anchor_references(const std::string& html, std::string_view attribute) {
    std::vector<std::string> found;
    for (size_t at = html.find(attribute); at != std::string::npos; at = html.find(attribute, at + 1)) {
        size_t value = at + attribute.size();
        if (html.compare(value, 2, "\"#") != 0) found.push_back(html.substr(at, 60));
    }
    return found;
}

const std::string kCsp =
    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
    "img-src data:\">";

}  // namespace

TEST_CASE("html report: findings in order with their titles escaped, and the CSP", "[html]") {
    json report = synthetic_report();
    std::string html = report::render_html(report);

    CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
    CHECK(count(html, kCsp) == 1);
    CHECK(html.find(kCsp) < html.find("</head>"));

    size_t previous = 0;
    for (const auto& finding : report["findings"]) {
        std::string title = escaped(finding["title"].get<std::string>());
        size_t at = html.find(title);
        INFO(title);
        REQUIRE(at != std::string::npos);
        CHECK(at > previous);   // ranked as given: critical, warnings, info
        previous = at;
        CHECK(html.find(escaped(finding["next_step"].get<std::string>())) != std::string::npos);
    }
    CHECK(html.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
    CHECK(html.find("<script") == std::string::npos);
    // Evidence links to the step it came from.
    CHECK(html.find("<a href=\"#step-model\">model</a>") != std::string::npos);
    CHECK(html.find("id=\"step-model\"") != std::string::npos);
    // Steps: every state badge, the failure's reason.
    for (const char* state : {"done", "failed", "skipped", "todo"})
        CHECK(html.find(std::string("class=\"badge st-") + state + "\"") != std::string::npos);
    CHECK(html.find("the kernel has no BTF") != std::string::npos);
    CHECK(html.find("<code>model.json</code>") != std::string::npos);
}

TEST_CASE("html report: nothing is fetched from anywhere", "[html]") {
    std::string html = report::render_html(synthetic_report());
    CHECK(html.find("http://") == std::string::npos);
    CHECK(html.find("https://") == std::string::npos);
    CHECK(html.find("src=") == std::string::npos);
    CHECK(html.find("url(") == std::string::npos);
    CHECK(html.find("@import") == std::string::npos);
    CHECK(non_anchor_references(html, "href=").empty());
    CHECK(count(html, "href=\"#") >= 3);   // the table of contents
}

TEST_CASE("html report: one svg per chart, the flame graph with one box per merged frame", "[html]") {
    json report = synthetic_report();
    std::string html = report::render_html(report);
    const auto& charts = report["charts"];
    size_t expected = charts["io_sizes"].size() + charts["latency"].size() + charts["inflight"].size() + 2;
    CHECK(count(html, "<svg") == expected);
    CHECK(count(html, "</svg>") == expected);

    // The fixture's 5 stacks share prefixes: fio (pread64: 6 frames under it down to the 2 leaves,
    // fdatasync: 6) and db (3 under it) make 18 distinct frames, plus the "all" root.
    CHECK(count(html, "class=\"fg\"") == 19);
    CHECK(count(html, "<title>pread64 —") == 1);
    CHECK(count(html, "<title>entry_SYSCALL_64 —") == 2);   // under pread64 and under fdatasync
    CHECK(html.find("<title>all — 1,010,000 us (100.0%)</title>") != std::string::npos);
    CHECK(html.find("std::vector&lt;int&gt;::push_back") != std::string::npos);

    // The reproduce chart has a legend and a bar per value.
    CHECK(html.find(">observed</text>") != std::string::npos);
    CHECK(html.find(">reproduced</text>") != std::string::npos);
    CHECK(html.find("randread-4k-psync, reproduced: 1,987.5 IOPS") != std::string::npos);
    CHECK(count(html, "class=\"bar-observed\"") == 3 + 1);   // + the legend swatch
    CHECK(html.find("<td class=\"num\">60%</td>") != std::string::npos);
    // Bars carry their exact value.
    CHECK(html.find("<title>4k: 9,000 IOs</title>") != std::string::npos);
}

TEST_CASE("html report: frames too narrow to see are left out, names too long are cut", "[html]") {
    json report = {{"charts",
                    {{"offcpu",
                      {{"unit", "us"},
                       {"folded",
                        {{{"stack", "main;a_function_with_a_rather_long_name_indeed"}, {"value", 1'000'000'000}},
                         {{"stack", "main;a_function_with_a_rather_long_name_indeed;shortish"}, {"value", 40'000'000}},
                         {{"stack", "main;tiny"}, {"value", 1}}}}}}}}};
    std::string html = report::render_html(report);
    CHECK(count(html, "class=\"fg\"") == 4);   // all, main, the long one and shortish, not tiny
    CHECK(html.find("tiny") == std::string::npos);
    CHECK(html.find("<title>shortish —") != std::string::npos);
    // shortish is ~38 of the graph's 1000 units wide: room for 5 characters.
    CHECK(html.find(">sho..</text>") != std::string::npos);
    CHECK(html.find(">a_function_with_a_rather_long_name_indeed</text>") != std::string::npos);
}

TEST_CASE("html report: empty, null and oddly typed documents render", "[html]") {
    for (const json& document : {json::object(), json(), json::array({1, 2}), json("text")}) {
        std::string html;
        REQUIRE_NOTHROW(html = report::render_html(document));
        CHECK(html.find(kCsp) != std::string::npos);
        CHECK(html.find("No findings.") != std::string::npos);
        CHECK(html.find("No charts in this report.") != std::string::npos);
        CHECK(count(html, "<svg") == 0);
    }

    json odd = {{"session", "not an object"},
                {"counts", {{"critical", "many"}, {"warning", -3}}},
                {"findings", {1, nullptr, {{"severity", "<bad>"}, {"title", 7}, {"evidence", {{{"value", {1, 2}}}}}}}},
                {"steps", {{{"state", "exploded"}, {"summary", 5}, {"outputs", "x"}, {"seconds", "long"}}}},
                {"charts",
                 {{"io_sizes", {{{"bars", "none"}}, 3}},
                  {"latency", "no"},
                  {"reproduce", {{"rows", {{{"label", "x"}, {"observed", "a"}, {"reproduced", 5}}}}}},
                  {"offcpu", {{"folded", {{{"stack", 5}, {"value", "x"}}, {{"stack", ";;"}, {"value", 3}}}}}}}}};
    std::string html;
    REQUIRE_NOTHROW(html = report::render_html(odd));
    CHECK(html.find("<bad>") == std::string::npos);
    CHECK(html.find("class=\"finding info\"") != std::string::npos);   // an unknown severity shows as info
    CHECK(html.find("[1,2]") != std::string::npos);
    CHECK(count(html, "<svg") == 4);   // 2 io_sizes entries, reproduce, offcpu (with "no data")
    CHECK(count(html, "no data") == 3);   // the io_sizes entries and offcpu: no stack has a frame

    // Control characters and a cut inside a multi-byte character never reach the page.
    json control = {{"findings", {{{"title", std::string("bell\x07 caf\xc3\xa9")}}}}};
    std::string page = report::render_html(control);
    CHECK(page.find('\x07') == std::string::npos);
    CHECK(page.find("caf\xc3\xa9") != std::string::npos);
}
