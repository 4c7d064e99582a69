#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <set>

#include <fmt/format.h>

#include "model/workload_model.hpp"
#include "report/findings.hpp"
#include "report/report.hpp"
#include "support/support.hpp"
#include "wizard/playbook.hpp"
#include "wizard/session.hpp"

using namespace iodiag;
using report::ordered_json;

namespace {

model::JobGroup group(const std::string& name, const std::string& engine, const std::string& pattern) {
    model::JobGroup g;
    g.name = name;
    g.engine = engine;
    g.pattern = pattern;
    g.threads = {1};
    g.fio = {{"rw", pattern == "random" ? "randread" : "write"}, {"ioengine", engine}, {"iodepth", 1}, {"numjobs", 1}};
    return g;
}

// A log writer with an fdatasync after every 4k buffered write, and a depth-1 O_DIRECT reader.
ordered_json planted_model() {
    model::WorkloadModel m;
    m.duration_s = 5;
    auto writer = group("write-4k-psync", "psync", "sequential");
    writer.evidence.writes.ops = 1000;
    writer.evidence.writes.sizes = {{4096, 1000}};
    writer.evidence.fdatasyncs = 1000;
    writer.evidence.writes_per_flush = {{1, 1000}};
    writer.evidence.flush_latency_us = {1000, 100, 1500, 1400, 1900, 5000, 6000, 7000};
    writer.fio["fdatasync"] = 1;
    auto reader = group("randread-4k-psync", "psync", "random");
    reader.evidence.reads.ops = 5000;
    reader.evidence.reads.sizes = {{4096, 4990}, {1000, 10}};
    reader.evidence.direct_ops = 5000;
    reader.evidence.busy_fraction = 0.9;
    reader.evidence.reads.latency_us = {5000, 50, 150, 120, 200, 300, 400, 500};
    m.groups = {writer, reader};
    return model::to_json(m);
}

ordered_json planted_stack(bool rotational) {
    return ordered_json::parse(fmt::format(R"({{"target": {{"path": "/data"}}, "stack": {{"devices": [{{"device":
        {{"name": "vdb", "type": "disk", "queue": {{"scheduler": "none", "nr_requests": 256, "rotational": {},
        "logical_block_size": 4096, "write_cache": "write back", "read_ahead_kb": 128}}}}, "below": []}}]}},
        "findings": [{{"id": "stack.loop_buffered", "severity": "warning", "title": "loop0 caches twice",
        "why": "double caching", "note_section": "whole stack", "evidence": {{"loop0 dio": "0"}}}}]}})",
                                           rotational ? 1 : 0));
}

ordered_json planted_latency() {
    return ordered_json::parse(R"J({"rows": [
      {"layer": "syscall", "name": "pread64", "count": 5000, "us": {"p50": 900, "p99": 2000}},
      {"layer": "syscall", "name": "fdatasync", "count": 1000, "us": {"p50": 400, "p99": 9000}},
      {"layer": "block queue (Q2D)", "name": "vdb read", "count": 5000, "us": {"p50": 300, "p99": 900}},
      {"layer": "block device (D2C)", "name": "vdb read", "count": 5000, "us": {"p50": 100, "p99": 400}}]})J");
}

std::vector<std::string> ids(const std::vector<report::Finding>& findings) {
    std::vector<std::string> out;
    for (const auto& f : findings) out.push_back(f.id);
    return out;
}

bool has(const std::vector<std::string>& list, const std::string& id) {
    return std::find(list.begin(), list.end(), id) != list.end();
}

}  // namespace

TEST_CASE("the workload rules find the planted problems", "[report][findings]") {
    report::StepOutputs out;
    out.model = planted_model();
    out.stack = planted_stack(false);
    out.producers = {{"model.json", "model"}, {"stack.json", "stack"}};
    const auto findings = report::evaluate_findings(out, {"*"});
    const auto found = ids(findings);
    CHECK(has(found, "workload.flush_every_write"));
    CHECK(has(found, "workload.depth1_many_tags"));
    CHECK(has(found, "workload.small_buffered_writes"));
    CHECK(has(found, "workload.unaligned_direct"));   // 1000-byte O_DIRECT reads on a 4k disk
    CHECK(has(found, "workload.waits_on_io"));
    CHECK(has(found, "stack.loop_buffered"));          // the inspection's own finding joins the list
    CHECK(has(found, "stack.write_cache"));
    CHECK_FALSE(has(found, "workload.random_on_rotational"));

    const auto& flush = *std::find_if(findings.begin(), findings.end(), [](const auto& f) { return f.id == "workload.flush_every_write"; });
    CHECK(flush.severity == report::Severity::critical);  // flush p50 1.5 ms
    CHECK_FALSE(flush.next_step.empty());
    CHECK_FALSE(flush.section.empty());
    CHECK(std::any_of(flush.evidence.begin(), flush.evidence.end(), [](const auto& e) {
        return e.step == "model" && e.value.find("ms") != std::string::npos;
    }));
    const auto& depth = *std::find_if(findings.begin(), findings.end(), [](const auto& f) { return f.id == "workload.depth1_many_tags"; });
    CHECK_THAT(depth.title, Catch::Contains("randread-4k-psync") && Catch::Contains("256"));
    // Ranked: no info before a warning, no warning before a critical.
    CHECK(std::is_sorted(findings.begin(), findings.end(), [](const auto& a, const auto& b) { return a.severity > b.severity; }));
}

TEST_CASE("rotational disks and random reads", "[report][findings]") {
    report::StepOutputs out;
    out.model = planted_model();
    out.stack = planted_stack(true);
    const auto found = ids(report::evaluate_findings(out, {"workload.*", "stack.*"}));
    CHECK(has(found, "workload.random_on_rotational"));
    CHECK(has(found, "stack.scheduler_vs_workload"));
}

TEST_CASE("the latency rules read latency.json", "[report][findings]") {
    report::StepOutputs out;
    out.latency = planted_latency();
    const auto found = ids(report::evaluate_findings(out, {"latency.*"}));
    CHECK(has(found, "latency.queue_dominates"));       // Q2D 300 us > D2C 100 us
    CHECK(has(found, "latency.syscall_above_device"));  // pread64 900 us vs 100 us in the device
    CHECK(has(found, "latency.flush_tail"));            // fdatasync p99 9 ms vs p50 0.4 ms
    CHECK_FALSE(has(found, "latency.slow_device"));
}

TEST_CASE("rules only speak when their step enabled them and their inputs are there", "[report][findings]") {
    report::StepOutputs out;
    out.model = planted_model();
    CHECK(report::evaluate_findings(out, {}).empty());
    const auto found = ids(report::evaluate_findings(out, {"workload.flush_every_write"}));
    CHECK(found == std::vector<std::string>{"workload.flush_every_write"});
    // Without stack.json the depth rule cannot know the disk's tags and stays silent.
    CHECK_FALSE(has(ids(report::evaluate_findings(out, {"*"})), "workload.depth1_many_tags"));
    // Garbled outputs: no crash, no findings from them.
    report::StepOutputs garbled;
    garbled.model = ordered_json::parse(R"({"groups": "nope"})");
    garbled.latency = ordered_json::parse(R"({"rows": [{"layer": 3}]})");
    garbled.stack = ordered_json::array();
    CHECK_NOTHROW(report::evaluate_findings(garbled, {"*"}));
}

TEST_CASE("the reproduction and probe rules", "[report][findings]") {
    report::StepOutputs out;
    out.reproduce = ordered_json::parse(R"({"comparison": {"groups": [{"group": "g1", "metrics": [
        {"metric": "IOPS", "observed": 500, "reproduced": 2000}]}]}})");
    out.probe_depth1 = ordered_json::parse(R"({"probe": "depth1", "iops": 400, "clat_us": {"p50": 2000, "p99": 5000}})");
    out.probe_syncwrite = ordered_json::parse(R"({"probe": "syncwrite", "iops": 100, "clat_us": {"p50": 9000, "p99": 20000}})");
    const auto found = ids(report::evaluate_findings(out, {"*"}));
    CHECK(has(found, "reproduce.rate_mismatch"));
    CHECK(has(found, "probe.depth1_slow"));
    CHECK(has(found, "probe.flush_cost"));
}

TEST_CASE("the KVM rules read kvm compare and kvm trace", "[report][findings]") {
    report::StepOutputs out;
    out.kvm_compare = ordered_json::parse(R"({"cost_name": "world switch cost", "world_switch": true, "differences": [
        {"stat": "mean", "lat_vm_us": 900, "lat_host_us": 400, "cost_us": 500, "interval_us": null},
        {"stat": "p50", "lat_vm_us": 800, "lat_host_us": 300, "cost_us": 500, "interval_us": [450, 560]}]})");
    out.kvm_trace = ordered_json::parse(R"j({"request": {"io_role": "worker", "guest_requests": 2000, "host_us": 500,
        "explained": 0.7, "steps": [{"step": "kick: vcpu wakes iothread", "us": 70, "samples": 2000},
        {"step": "host IO (synchronous call)", "us": 300, "samples": 2000}, {"step": "host IO", "us": null}]}})j");
    const auto findings = report::evaluate_findings(out, {"kvm.*"});
    const auto found = ids(findings);
    REQUIRE(has(found, "kvm.virtualisation_cost"));
    REQUIRE(has(found, "kvm.host_side_step"));
    for (const auto& f : findings) {
        if (f.id == "kvm.virtualisation_cost") {
            CHECK_THAT(f.title, Catch::Contains("62%"));
            CHECK(f.section == "KVM IO performance analysis > estimate host<->guest world switch cost");
            CHECK(f.evidence.size() == 3);
        } else if (f.id == "kvm.host_side_step") {
            CHECK_THAT(f.title, Catch::Contains("host IO (synchronous call)"));
            CHECK_THAT(f.next_step, Catch::Contains("storage under the image"));
        }
    }

    // A small cost, or a host side spread over its steps: nothing to say.
    out.kvm_compare["differences"][1]["cost_us"] = 100;
    out.kvm_trace["request"]["steps"][1]["us"] = 150;
    CHECK(report::evaluate_findings(out, {"kvm.*"}).empty());

    // Garbled files silence the rules, without a throw.
    out.kvm_compare = ordered_json::parse(R"({"differences": [3, {"stat": 5}]})");
    out.kvm_trace = ordered_json::parse(R"({"request": {"host_us": 10, "steps": [{"us": 4}]}})");
    CHECK_NOTHROW(report::evaluate_findings(out, {"*"}));
}

TEST_CASE("the catalogue has at least 15 rules with unique ids", "[report][findings]") {
    const auto& catalogue = report::rule_catalogue();
    CHECK(catalogue.size() >= 15);
    std::set<std::string> unique;
    for (const auto& rule : catalogue) unique.insert(rule.id);
    CHECK(unique.size() == catalogue.size());
    CHECK(report::known_rule_pattern("latency.*"));
    CHECK_FALSE(report::known_rule_pattern("nothing.*"));
}

TEST_CASE("a report is built from a session folder alone", "[report]") {
    testing::ScratchDir dir;
    auto playbook = wizard::find_playbook("slow-process");
    REQUIRE(playbook);
    wizard::Session session;
    session.dir = dir.path().string();
    session.tool_version = IODIAG_VERSION;
    session.playbook_name = playbook->name;
    session.playbook_source = playbook->source;
    session.target.description = "pid 42 (db)";
    for (const auto& step : playbook->steps) {
        wizard::StepRecord record;
        record.id = step.id;
        record.findings = step.findings;
        if (step.id == "model") {
            record.state = wizard::StepState::done;
            record.outputs = {"model.json"};
            record.summary = {"two groups"};
            std::ofstream(dir.path() / "model.json") << planted_model().dump();
        } else if (step.id == "stack") {
            record.state = wizard::StepState::done;
            record.outputs = {"stack.json"};
            std::ofstream(dir.path() / "stack.json") << planted_stack(false).dump();
        } else if (step.id == "latency") {
            record.state = wizard::StepState::failed;
            record.reason = "latency needs the bpf source";
        }
        session.steps.push_back(record);
    }
    REQUIRE(wizard::save_session(session));

    auto written = report::write_report(dir.path().string());
    REQUIRE(written);
    CHECK(written->files.size() == 3);
    const auto& r = written->report;
    CHECK(r["schema"] == report::kReportSchema);
    CHECK(r["counts"]["critical"].get<int>() >= 1);
    CHECK(r["findings"][0]["severity"] == "critical");
    CHECK(r["steps"].size() == playbook->steps.size());
    CHECK(r["steps"][2]["state"] == "failed");
    CHECK(r["charts"].contains("io_sizes"));
    const std::string md = report::render_markdown(r);
    CHECK_THAT(md, Catch::Contains("# iodiag findings: pid 42 (db)") && Catch::Contains("Next step:") &&
                       Catch::Contains("latency needs the bpf source"));
    for (const char* name : {"report.md", "report.json", "report.html"}) CHECK(std::filesystem::exists(dir.path() / name));

    auto one = report::write_report(dir.path().string(), (dir.path() / "x.html").string(), report::Format::html);
    REQUIRE(one);
    CHECK(one->files.size() == 1);
    auto none = report::write_report((dir.path() / "nowhere").string());
    REQUIRE_FALSE(none);
    CHECK(none.error().kind == ErrorKind::not_found);
}
