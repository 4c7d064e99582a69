// model::to_json(trace::TracerTotals): the bpf tracers' typed totals written as model.json's
// source.totals, key for key as a real `iodiag model --source bpf` run wrote them (the expected
// texts below are cut from such a model.json).
#include <catch2/catch.hpp>

#include "analysis/offcpu.hpp"
#include "model/source_totals.hpp"

using namespace iodiag;

namespace {

trace::TracerTotals fio_run() {
    trace::TracerTotals t;
    t.bpf_programs = trace::ProgramTime{15062628, 31974};

    trace::SyscallTotals sc;
    trace::SyscallCallTotals pread;
    pread.name = "pread64";
    pread.calls = 2;
    pread.latency_ns_total = 8546;
    pread.latency_ns_log2 = {{1024, 1}, {4096, 1}};
    pread.has_bytes = true;
    pread.bytes = 1568;
    pread.size_log2 = {{512, 2}};
    trace::SyscallCallTotals lseek;
    lseek.name = "lseek";
    lseek.calls = 1;
    lseek.latency_ns_total = 1112;
    lseek.latency_ns_log2 = {{1024, 1}};
    sc.calls = {pread, lseek};
    sc.records = 6724;
    sc.aio_iocbs = 256;
    sc.aio_completions = 256;
    sc.processes_started = 2;
    sc.processes_exited = 3;
    t.syscalls = sc;

    trace::UringTotals uring;
    uring.reads = 994;
    uring.writes = 1054;
    uring.read_bytes = 4071424;
    uring.write_bytes = 4317184;
    uring.submit_batches = 2048;
    uring.complete_batches = 1608;
    uring.submitted_by_opcode = {{"READ", 994}, {"WRITE", 1054}};
    uring.reap_unseen = 4;
    t.io_uring = uring;

    trace::BlockDeviceTotals vda;
    vda.name = "vda";
    vda.dev = "254:0";
    vda.requests = 2510;
    vda.reads = 1090;
    vda.writes = 1389;
    vda.flushes = 31;
    vda.read_bytes = 33746944;
    vda.write_bytes = 17027072;
    vda.attributed = 2448;
    vda.missed_completions = 1;
    t.block = std::vector<trace::BlockDeviceTotals>{vda};
    return t;
}

trace::OffcpuTotals offcpu() {
    trace::OffcpuTotals o;
    o.switches = 10;
    o.too_short = 2;
    o.lost = 1;
    trace::OffcpuStackTotals s;
    s.tgid = 100;
    s.tid = 101;
    s.comm = "db";
    s.state = "disk";
    s.total_ns = 3000000;
    s.count = 3;
    s.kernel = {"io_schedule", "vfs_read"};
    s.user = {"pread64 (libc.so.6)"};
    o.stacks = {s};
    return o;
}

}  // namespace

TEST_CASE("source totals: every tracer under its name, keys in the order model.json has them", "[model][totals]") {
    const std::string expected =
        R"({"bpf_programs":{"run_ns":15062628,"runs":31974},)"
        R"("syscalls":{"calls":{)"
        R"("pread64":{"calls":2,"errors":0,"latency_ns_total":8546,"latency_ns_log2":{"1024":1,"4096":1},"bytes":1568,"size_log2":{"512":2}},)"
        R"("lseek":{"calls":1,"errors":0,"latency_ns_total":1112,"latency_ns_log2":{"1024":1}}},)"
        R"("records":6724,"dropped":0,"aio_iocbs":256,"aio_iocbs_unread":0,"aio_completions":256,)"
        R"("aio_completions_from_ring":0,"aio_completions_unseen_submit":0,"processes_started":2,"processes_exited":3},)"
        R"("io_uring":{"reads":994,"writes":1054,"fsyncs":0,"read_bytes":4071424,"write_bytes":4317184,"errors":0,)"
        R"("submit_batches":2048,"complete_batches":1608,"submitted_by_opcode":{"READ":994,"WRITE":1054},)"
        R"("not_files":0,"untracked":0,"dropped":0,"order_gaps_skipped":0,"late":0,"reap_unseen":4},)"
        R"("block":{"vda":{"dev":"254:0","requests":2510,"reads":1090,"writes":1389,"flushes":31,"discards":0,)"
        R"("others":0,"read_bytes":33746944,"write_bytes":17027072,"attributed":2448,"errors":0,"untracked":0,)"
        R"("dropped":0,"missed_completions":1,"in_flight_at_end":0}}})";
    CHECK(model::to_json(fio_run()).dump() == expected);
}

TEST_CASE("source totals: tracers that did not run are left out, empty maps stay objects", "[model][totals]") {
    CHECK(model::to_json(trace::TracerTotals{}).dump() == "{}");
    trace::TracerTotals t;
    t.syscalls = trace::SyscallTotals{};
    t.io_uring = trace::UringTotals{};
    t.block = std::vector<trace::BlockDeviceTotals>{};
    const auto json = model::to_json(t);
    CHECK(json.at("syscalls").at("calls").is_object());
    CHECK(json.at("syscalls").at("calls").empty());
    CHECK(json.at("io_uring").at("submitted_by_opcode").is_object());
    CHECK(json.at("block").is_object());
    CHECK(json.at("block").empty());
    CHECK_FALSE(json.contains("bpf_programs"));
    CHECK_FALSE(json.contains("offcpu"));
}

TEST_CASE("source totals: off-CPU stacks, and wakeups only when they were tracked", "[model][totals][offcpu]") {
    trace::TracerTotals t;
    t.offcpu = offcpu();
    CHECK(model::to_json(t).dump() ==
          R"({"offcpu":{"switches":10,"too_short":2,"lost":1,"kernel_symbols":true,"stacks":[)"
          R"({"tgid":100,"tid":101,"comm":"db","state":"disk","total_ns":3000000,"count":3,)"
          R"j("kernel":["io_schedule","vfs_read"],"user":["pread64 (libc.so.6)"]}]}})j");

    trace::WakeupTotals w;
    w.wakee_tgid = 100;
    w.wakee_tid = 101;
    w.wakee_comm = "db";
    w.waker_tgid = 200;
    w.waker_tid = 201;
    w.waker_comm = "kworker";
    w.waited_ns = 5000;
    w.count = 2;
    w.run_delay_ns = 700;
    w.waker_kernel = {"try_to_wake_up"};
    t.offcpu->wakeups = std::vector<trace::WakeupTotals>{w};
    const auto json = model::to_json(*t.offcpu);
    CHECK(json.at("wakeups").dump() ==
          R"([{"woken":true,"wakee_tgid":100,"wakee_tid":101,"wakee_comm":"db","waker_tgid":200,"waker_tid":201,)"
          R"("waker_comm":"kworker","waited_ns":5000,"count":2,"run_delay_ns":700,)"
          R"("waker_kernel":["try_to_wake_up"],"waker_user":[]}])");

    // What the offcpu and kvm use cases read back from it.
    auto report = analysis::offcpu_from_json(json);
    REQUIRE(report);
    CHECK(report->switches == 10);
    CHECK(report->lost == 1);
    REQUIRE(report->stacks.size() == 1);
    CHECK(report->stacks[0].kernel == std::vector<std::string>{"io_schedule", "vfs_read"});
    REQUIRE(report->wakeups.size() == 1);
    CHECK(report->wakeups[0].waker_comm == "kworker");
    CHECK(report->wakeups[0].run_delay_ns == 700);
}
