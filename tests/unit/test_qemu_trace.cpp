// `kvm trace`'s analysis on a hand-made QEMU: a vCPU kicks an iothread that submits libaio
// requests, the completion interrupt wakes the iothread, and it wakes the vCPU.
#include <catch2/catch.hpp>

#include <algorithm>

#include "analysis/qemu_trace.hpp"

using namespace iodiag;
using namespace iodiag::analysis;

namespace {

constexpr int32_t kPid = 100, kVcpu = 101, kIothread = 102;

trace::IoEvent event(int32_t tid, trace::Syscall call, trace::EventKind kind, trace::FileKind file_kind,
                     uint32_t file_id, uint64_t dur_ns, int64_t ret) {
    trace::IoEvent e;
    e.tid = tid;
    e.tgid = kPid;
    e.call = call;
    e.kind = kind;
    e.file_kind = file_kind;
    e.file_id = file_id;
    e.dur_ns = dur_ns;
    e.ret = ret;
    return e;
}

Wakeup wakeup(uint32_t waker_tgid, uint32_t waker_tid, const std::string& waker_comm, uint32_t wakee_tid,
              uint64_t count, uint64_t run_delay_ns) {
    Wakeup w;
    w.woken = true;
    w.wakee_tgid = kPid;
    w.wakee_tid = wakee_tid;
    w.waker_tgid = waker_tgid;
    w.waker_tid = waker_tid;
    w.waker_comm = waker_comm;
    w.count = count;
    w.run_delay_ns = run_delay_ns * count;
    w.waited_ns = 1'000'000 * count;
    return w;
}

QemuTraceInput qemu(bool named = true) {
    QemuTraceInput input;
    input.pid = kPid;
    input.named_threads = named;
    input.seconds = 2.0;
    input.roles = {{kPid, {"main-loop", "qemu-system-x86"}},
                   {kVcpu, {"vcpu", "CPU 0/KVM"}},
                   {kIothread, {"iothread", "IO iothread0"}}};
    return input;
}

std::string path_of(uint32_t id) { return id == 7 ? "anon_inode:[eventfd]" : "/var/lib/images/vm.raw"; }

}  // namespace

TEST_CASE("qemu trace: roles, wakeup chain and the host-side steps of a request", "[qemu_trace]") {
    QemuIoSink sink(kPid);
    for (int i = 0; i < 10; ++i) {
        sink.on_event(event(kIothread, trace::Syscall::io_submit, trace::EventKind::aio_submit, trace::FileKind::unknown,
                            0, 5'000, 1));
        sink.on_event(event(kIothread, trace::Syscall::read, trace::EventKind::data, trace::FileKind::pseudo, 7, 1'000, 8));
        sink.on_event(event(kIothread, trace::Syscall::write, trace::EventKind::data, trace::FileKind::pseudo, 7, 2'000, 8));
        trace::AsyncRequest r;
        r.tid = kIothread;
        r.submit_ns = 1'000'000;
        r.complete_ns = 1'100'000;
        sink.on_async(r);
    }
    sink.on_event(event(kPid, trace::Syscall::openat, trace::EventKind::open, trace::FileKind::regular, 1, 1'000, 5));

    QemuTraceInput input = qemu();
    input.wakeups = {wakeup(kPid, kVcpu, "CPU 0/KVM", kIothread, 10, 20'000),
                     wakeup(0, 0, "swapper/1", kIothread, 10, 10'000),
                     wakeup(kPid, kIothread, "IO iothread0", kVcpu, 10, 30'000)};
    OffcpuStack off;
    off.tgid = kPid;
    off.tid = kIothread;
    off.total_ns = 5'000'000;
    input.offcpu = {off};
    input.guest_us = 200.0;

    const QemuTraceReport report = summarise_qemu_trace(sink, input, path_of);
    REQUIRE_FALSE(report.roles.empty());
    const RoleActivity& io = report.roles.front();
    CHECK(io.role == "iothread");
    CHECK(io.ios == 10);
    CHECK(io.async_requests == 10);
    CHECK(io.eventfd_reads == 10);
    CHECK(io.eventfd_writes == 10);
    CHECK(io.offcpu_ns == 5'000'000);
    CHECK(io.async_us.mean == Approx(100.0).epsilon(0.07));
    CHECK(report.io_role == "iothread");
    CHECK(report.guest_requests == 10);

    REQUIRE(report.wakeups.size() == 3);
    CHECK(report.wakeups[0].count == 10);

    std::vector<std::string> names;
    for (const auto& s : report.steps) names.push_back(s.name);
    CHECK(names == std::vector<std::string>{"kick: vcpu wakes iothread", "submit (per request)",
                                            "host IO (submit -> complete)", "completion wakes iothread",
                                            "notify: iothread wakes vcpu"});
    CHECK(report.steps[0].us.value() == Approx(20.0));
    CHECK(report.steps[1].us.value() == Approx(5.0));
    CHECK(report.steps[3].us.value() == Approx(10.0));
    CHECK(report.steps[3].how.find("interrupt or idle") != std::string::npos);
    CHECK(report.steps[4].us.value() == Approx(30.0));
    REQUIRE(report.host_us);
    CHECK(*report.host_us == Approx(165.0).epsilon(0.05));
    REQUIRE(report.explained);
    CHECK(*report.explained == Approx(165.0 / 200.0).epsilon(0.05));

    const auto json = to_json(report);
    CHECK(json["request"]["io_role"] == "iothread");
    CHECK(json["roles"][0]["eventfd_writes"] == 10);
    CHECK(json["wakeups"][0].contains("run_delay_us"));
    const std::string text = render_text(report);
    CHECK_THAT(text, Catch::Contains("who wakes whom"));
    CHECK_THAT(text, Catch::Contains("the host side explains 8"));
}

TEST_CASE("qemu trace: a guest that does no IO and unnamed threads are said, not an error", "[qemu_trace]") {
    QemuIoSink sink(kPid);
    const QemuTraceReport report = summarise_qemu_trace(sink, qemu(false), path_of);
    CHECK(report.io_role.empty());
    CHECK(report.steps.empty());
    CHECK_FALSE(report.host_us);
    REQUIRE(report.notes.size() == 2);
    CHECK_THAT(report.notes[0], Catch::Contains("no IO"));
    CHECK_THAT(report.notes[1], Catch::Contains("debug-threads=on"));
}

TEST_CASE("qemu trace: synchronous worker IO is the host IO step", "[qemu_trace]") {
    QemuIoSink sink(kPid);
    constexpr int32_t kWorker = 103;
    for (int i = 0; i < 4; ++i)
        sink.on_event(event(kWorker, trace::Syscall::pwritev, trace::EventKind::data, trace::FileKind::regular, 1,
                            400'000, 4096));
    // The serial console's log is a regular file too, but not the guest's disk.
    for (int i = 0; i < 50; ++i)
        sink.on_event(event(kVcpu, trace::Syscall::writev, trace::EventKind::data, trace::FileKind::regular, 2, 1'000, 80));
    QemuTraceInput input = qemu();
    input.images = {"/var/lib/images/vm.raw"};
    input.roles[kWorker] = {"worker", "worker"};
    input.wakeups = {wakeup(kPid, kVcpu, "CPU 0/TCG", kWorker, 2, 50'000),  // half the requests found it awake
                     wakeup(kPid, kWorker, "worker", kPid, 4, 15'000),
                     wakeup(kPid, kPid, "qemu-system-x86", kVcpu, 4, 25'000),
                     wakeup(kPid, kVcpu, "CPU 0/TCG", kPid, 40, 5'000)};   // the console, not the IO path
    const auto paths = [](uint32_t id) { return id == 2 ? std::string("/tmp/console.log") : path_of(id); };
    const QemuTraceReport report = summarise_qemu_trace(sink, input, paths);
    CHECK(report.io_role == "worker");
    CHECK(report.guest_requests == 4);
    REQUIRE(report.steps.size() == 4);
    CHECK(report.steps[0].name == "kick: vcpu wakes worker");
    CHECK(report.steps[0].us.value() == Approx(25.0));
    CHECK(report.steps[1].name == "host IO (synchronous call)");
    CHECK(report.steps[1].us.value() == Approx(400.0));
    CHECK(report.steps[2].name == "notify: worker wakes main-loop");
    CHECK(report.steps[3].name == "notify: main-loop wakes vcpu");
    CHECK(*report.host_us == Approx(465.0));
    const auto vcpu = std::find_if(report.roles.begin(), report.roles.end(), [](const RoleActivity& a) { return a.role == "vcpu"; });
    REQUIRE(vcpu != report.roles.end());
    CHECK(vcpu->ios == 0);
    CHECK(vcpu->io_calls.front().call == "writev (not an image)");
}

TEST_CASE("qemu trace: completions reaped from the ring take the host IO from QEMU's block requests", "[qemu_trace]") {
    QemuIoSink sink(kPid);
    for (int i = 0; i < 4; ++i) {
        sink.on_event(event(kIothread, trace::Syscall::io_submit, trace::EventKind::aio_submit, trace::FileKind::unknown,
                            0, 2'000, 1));
        trace::AsyncRequest r;
        r.tid = kIothread;
        r.submit_ns = 1'000;  // no complete_ns: QEMU read the completion from the aio ring
        sink.on_async(r);
        trace::BlockRequest b;
        b.tgid = kPid;
        b.insert_ns = 10'000;
        b.issue_ns = 20'000;
        b.complete_ns = 90'000;
        sink.on_block(b);
        b.tgid = 4321;  // another process on the same disk: not QEMU's
        b.complete_ns = 10'000'000;
        sink.on_block(b);
    }
    const QemuTraceReport report = summarise_qemu_trace(sink, qemu(), path_of);
    CHECK(report.block_requests == 4);
    const auto host = std::find_if(report.steps.begin(), report.steps.end(),
                                   [](const RequestStep& s) { return s.name == "host IO (block layer)"; });
    REQUIRE(host != report.steps.end());
    CHECK(host->us.value() == Approx(80.0));
}
