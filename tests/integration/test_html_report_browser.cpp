// The HTML report in a real browser: Debian's chromium, headless, loads the page from a file. The
// DOM it builds has the findings and every chart, its net log shows the page asked for nothing
// (the file loads outside the network stack), and a screenshot is left in the working directory (html_report_screenshot.png) to look at.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/subprocess.hpp"
#include "fio_harness.hpp"
#include "report/html_writer.hpp"

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

namespace {

size_t count(const std::string& haystack, const std::string& needle) {
    size_t n = 0;
    for (size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++n;
    return n;
}

// A request the page made, as the net log records it: chromium's own background requests
// (extension and component updates, network time, account checks: Debian's build makes them
// whatever the flags) have no initiator ("not an origin") and an isolation key of their own; the
// page's carry its origin ("null" for a file) and the file:// site in their isolation key. File
// loads themselves do not pass through the network stack, so the log never shows the page.
struct Request {
    std::string url;
    bool from_page = false;
};

std::vector<Request> logged_requests(const json& log) {
    int start_job = -1;
    for (const auto& [name, id] : log["constants"]["logEventTypes"].items())
        if (name == "URL_REQUEST_START_JOB") start_job = id.get<int>();
    REQUIRE(start_job >= 0);
    std::vector<Request> requests;
    for (const auto& event : log["events"]) {
        if (event.value("type", -1) != start_job) continue;
        const json& params = event.contains("params") ? event["params"] : json::object();
        if (!params.contains("url")) continue;   // the job's end: its result only
        std::string initiator = params.value("initiator", "");
        std::string isolation = params.value("network_isolation_key", "");
        requests.push_back({params.value("url", ""),
                            initiator != "not an origin" || isolation.find("file://") != std::string::npos});
    }
    return requests;
}

// One chromium run on `page` with a fresh profile and a net log; `args` say what to produce. Host
// names resolve to nothing, so no run talks to the network whatever it asks for. Returns stdout
// and the requests the page made.
struct BrowserRun {
    std::string out;
    std::vector<std::string> page_requests;
};

BrowserRun run_chromium(const fs::path& dir, const fs::path& page, const std::string& name,
                        const std::vector<std::string>& args) {
    fs::path profile = dir / (name + "-profile");
    fs::path netlog = dir / (name + "-netlog.json");
    fs::create_directories(profile);
    // `timeout`: a browser that hangs fails the test instead of stalling the suite.
    std::vector<std::string> argv{"timeout", "120", "chromium", "--headless", "--no-sandbox", "--disable-gpu",
                                  "--disable-quic", "--no-first-run", "--disable-background-networking",
                                  "--disable-component-update", "--disable-sync", "--host-resolver-rules=MAP * ~NOTFOUND",
                                  "--user-data-dir=" + profile.string(), "--log-net-log=" + netlog.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("file://" + page.string());
    auto result = iodiag::run_capture(argv);
    REQUIRE(result);
    INFO("chromium stderr: " << result->err);
    REQUIRE(result->exit_code == 0);

    std::ifstream in(netlog);
    REQUIRE(in);
    json log = json::parse(in, nullptr, false);
    REQUIRE_FALSE(log.is_discarded());
    BrowserRun run{result->out, {}};
    for (const auto& request : logged_requests(log))
        if (request.from_page) run.page_requests.push_back(request.url);
    return run;
}

// What the page asked for beyond file:// URLs.
std::vector<std::string> non_file_requests(const BrowserRun& run) {
    std::vector<std::string> urls;
    for (const auto& url : run.page_requests)
        if (url.rfind("file://", 0) != 0) urls.push_back(url);
    return urls;
}

}  // namespace

TEST_CASE("html report: chromium renders the findings and charts and fetches nothing", "[html][browser]") {
    SKIP_WITHOUT("chromium", "timeout");
    std::ifstream in(std::string(IODIAG_TEST_DATA) + "/report/synthetic_report.json");
    REQUIRE(in);
    json report = json::parse(in);
    iodiag::testing::ScratchDir dir;
    fs::path page = dir.path() / "report.html";
    std::ofstream(page) << iodiag::report::render_html(report);

    BrowserRun dom = run_chromium(dir.path(), page, "dom", {"--dump-dom"});
    const auto& charts = report["charts"];
    size_t charts_expected = charts["io_sizes"].size() + charts["latency"].size() + charts["inflight"].size() + 2;
    CHECK(count(dom.out, "<svg") == charts_expected);
    CHECK(count(dom.out, "class=\"finding ") == report["findings"].size());
    CHECK(dom.out.find("Every write is followed by fdatasync &lt;script&gt;") != std::string::npos);
    CHECK(dom.out.find("<script") == std::string::npos);
    CHECK(count(dom.out, "class=\"fg\"") == 19);
    CHECK(non_file_requests(dom).empty());

    fs::path screenshot = fs::absolute("html_report_screenshot.png");
    fs::remove(screenshot);
    BrowserRun shot = run_chromium(dir.path(), page, "shot",
                                   {"--screenshot=" + screenshot.string(), "--window-size=1280,2000",
                                    "--hide-scrollbars"});
    REQUIRE(fs::exists(screenshot));
    CHECK(fs::file_size(screenshot) > 20'000);   // a page with content, not a blank one
    std::ifstream png(screenshot, std::ios::binary);
    std::string magic(8, '\0');
    png.read(magic.data(), 8);
    CHECK(magic == "\x89PNG\r\n\x1a\n");
    CHECK(non_file_requests(shot).empty());
    WARN("screenshot: " << screenshot.string());

    // The check above sees what a page fetches: one that links a stylesheet and an image does.
    fs::path leaky = dir.path() / "leaky.html";
    std::ofstream(leaky) << "<html><head><link rel=\"stylesheet\" href=\"https://example.invalid/a.css\"></head>"
                            "<body><img src=\"http://192.0.2.1/b.png\"></body></html>";
    BrowserRun control = run_chromium(dir.path(), leaky, "control", {"--dump-dom"});
    CHECK(non_file_requests(control).size() == 2);
}
