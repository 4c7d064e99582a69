// `kvm inspect --pid` on a host fixture (tests/data/stack/kvm-host.tree) with image files written
// here: the image chain from headers, the host stack under each image, QEMU's threads by role,
// not-QEMU pids; then the findings with and without a workload hint.
#include <fstream>

#include <catch2/catch.hpp>

#include "model/workload_model.hpp"
#include "stack/kvm_inspector.hpp"
#include "stack/kvm_output.hpp"
#include "stack/kvm_rules.hpp"
#include "stack/qemu_threads.hpp"
#include "test_stack_fixture.hpp"

using namespace iodiag;
using namespace iodiag::stack;
using iodiag::test::FixtureTree;
using iodiag::test::Qcow2Spec;
using iodiag::test::qcow2_bytes;

namespace {

// The host with its images: vm7.qcow2 -> base.qcow2 (both sparse), and vm7-data.img, which
// holds a qcow2 image but is configured as raw.
struct Host : FixtureTree {
    Host() : FixtureTree("kvm-host") {
        Qcow2Spec top;
        top.size = 20ull << 30;
        top.backing = "base.qcow2";
        top.backing_format = "qcow2";
        write("vm7.qcow2", qcow2_bytes(top));
        write("base.qcow2", qcow2_bytes({}));
        write("vm7-data.img", qcow2_bytes({}));
    }
    void write(const std::string& name, const std::string& bytes) {
        std::ofstream out(path / "var/lib/libvirt/images" / name, std::ios::binary);
        out << bytes;
        REQUIRE(out.good());
    }
    SysRoot root() const { return SysRoot(str()); }
};

std::vector<std::string> ids(const std::vector<Finding>& findings) {
    std::vector<std::string> out;
    for (const auto& f : findings)
        out.push_back(std::string(severity_name(f.severity)) + " " + f.id + " " + f.title.substr(0, f.title.find(':')));
    return out;
}

const DiskReport& disk(const KvmReport& report, const std::string& id) {
    for (const auto& d : report.disks)
        if (d.config.id == id) return d;
    FAIL("no disk " << id);
    throw;
}

}  // namespace

TEST_CASE("qemu threads: roles from names", "[kvm][threads]") {
    auto role = [](const char* name) { return classify_qemu_thread(2, name, false).role; };
    CHECK(classify_qemu_thread(1, "qemu-system-x86", true).role == "main-loop");
    CHECK(role("CPU 12/KVM") == "vcpu");
    CHECK(classify_qemu_thread(2, "CPU 12/KVM", false).detail == "12");
    CHECK(role("CPU 0/TCG") == "vcpu");
    CHECK(role("ALL CPUs/TCG") == "vcpu");
    CHECK(role("IO iothread1") == "iothread");
    CHECK(classify_qemu_thread(2, "IO iothread1", false).detail == "iothread1");
    CHECK(role("IO mon_iothread") == "monitor");
    CHECK(role("worker") == "worker");
    CHECK(role("call_rcu") == "rcu");
    CHECK(role("live_migration") == "migration");
    CHECK(role("vnc_worker") == "display");
    CHECK(role("vhost-1234") == "vhost");
    CHECK(role("iou-wrk-1234") == "io_uring");
    CHECK(role("kvm-nx-lpage-re") == "kvm-kernel");
    CHECK(role("qemu-system-x86") == "other");   // an unnamed thread
    CHECK(role("CPU x/KVM") == "other");
}

TEST_CASE("kvm inspect --pid: configuration, image chain, host stack, threads", "[kvm][inspect]") {
    Host host;
    auto report = KvmInspector(host.root()).inspect_pid(5555);
    REQUIRE(report);
    CHECK(report->pid == 5555);
    CHECK(report->vm.source == "pid");
    CHECK(report->vm.name == "vm7");
    CHECK(report->vm.vcpus == 2);
    REQUIRE(report->disks.size() == 2);

    const DiskReport& os = disk(*report, "os");
    REQUIRE(os.chain.size() == 2);   // the backing file comes from the header
    CHECK(os.chain[0].info->format == "qcow2");
    CHECK(os.chain[0].info->virtual_size == (20ull << 30));
    CHECK(os.chain[0].info->allocation == "sparse");
    CHECK(os.chain[1].layer.path == "/var/lib/libvirt/images/base.qcow2");
    CHECK(os.chain[1].layer.format == "qcow2");
    CHECK(os.chain[1].layer.format_source == "image header");
    REQUIRE(os.host_stack);
    CHECK(os.host_stack->mount->mount_point == "/var/lib/libvirt/images");
    CHECK(os.host_stack->devices.at(0).device.name == "nvme0n1");

    const DiskReport& data = disk(*report, "datadisk");
    CHECK(data.chain.at(0).layer.format == "raw");
    CHECK(data.chain.at(0).info->format == "qcow2");

    REQUIRE(report->threads);
    const QemuThreads& threads = *report->threads;
    CHECK(threads.named);
    CHECK(threads.threads.size() == 10);
    CHECK(threads.by_role == std::map<std::string, int>{{"iothread", 1}, {"kvm-kernel", 1}, {"main-loop", 1},
                                                        {"monitor", 1}, {"rcu", 1}, {"vcpu", 2}, {"vhost", 1},
                                                        {"worker", 2}});
    CHECK(report->notes.empty());

    auto json = to_json(*report);
    CHECK(json["pid"] == 5555);
    CHECK(json["threads"]["by_role"]["vcpu"] == 2);
    CHECK(json["disks"][0]["chain"][0]["header"]["allocation"] == "sparse");
    CHECK(json["disks"][0]["host_stack"]["devices"][0]["queue"]["write_cache"] == "write through");
    std::string text = render_text(*report);
    CHECK_THAT(text, Catch::StartsWith("VM vm7 (from pid 5555): 2 vCPUs, accel kvm, iothreads: iothread1\n"));
    CHECK_THAT(text, Catch::Contains("  backing  /var/lib/libvirt/images/base.qcow2  qcow2 (image header)  1.0GiB virtual"));
    CHECK_THAT(text, Catch::Contains("  vcpu      CPU 0/KVM (5560), CPU 1/KVM (5561)\n"));
    CHECK_THAT(text, Catch::Contains("  iothread  IO iothread1 (5562)\n"));
    CHECK_THAT(text, Catch::Contains("  host stack:\n    /var/lib/libvirt/images/vm7.qcow2\n"));
}

TEST_CASE("kvm inspect --pid: not QEMU, a kernel thread, no such pid", "[kvm][inspect]") {
    Host host;
    KvmInspector inspector(host.root());
    auto bash = inspector.inspect_pid(6666);
    REQUIRE_FALSE(bash);
    CHECK(bash.error().kind == ErrorKind::bad_input);
    CHECK(bash.error().message == "pid 6666 (bash) is not QEMU: it runs /bin/bash");
    CHECK(bash.error().hint.find("`iodiag stack --pid 6666` shows the storage this process uses") != std::string::npos);
    auto kthread = inspector.inspect_pid(7777);
    REQUIRE_FALSE(kthread);
    CHECK(kthread.error().message == "pid 7777 (kworker/3:1) has no command line: a kernel thread or a zombie");
    auto none = inspector.inspect_pid(4321);
    REQUIRE_FALSE(none);
    CHECK(none.error().kind == ErrorKind::not_found);
}

TEST_CASE("kvm findings: what the host inspection shows", "[kvm][rules]") {
    Host host;
    auto report = KvmInspector(host.root()).inspect_pid(5555);
    REQUIRE(report);
    auto findings = kvm_findings(*report);
    CHECK(ids(findings) == std::vector<std::string>{
                               "info kvm.no_iothread datadisk",
                               "info kvm.qcow2_not_allocated os",
                               "info kvm.backing_chain os",
                               "info kvm.host_write_cache os",
                               "critical kvm.format_mismatch datadisk",
                               "info kvm.host_write_cache datadisk",
                           });
    REQUIRE(findings.size() == 6);
    const Finding& prealloc = findings[1];
    CHECK(prealloc.title == "os: qcow2 image not preallocated (sparse)");
    CHECK(prealloc.note_section == note::kEmulation);
    CHECK(prealloc.evidence.back() == std::pair<std::string, std::string>{"workload", "unknown (pass --model model.json)"});
    const Finding& cache = findings[3];
    CHECK(cache.title == "os: host device nvme0n1 has a write through cache");
    CHECK(cache.why.find("no volatile cache") != std::string::npos);
    CHECK(findings[4].title == "datadisk: /var/lib/libvirt/images/vm7-data.img opened as raw holds qcow2");

    // A busy, read-mostly workload: the iothread rule warns, the allocation rule stays quiet.
    WorkloadHint hint{true, false, false, "model.json"};
    CHECK(ids(kvm_findings(*report, hint)) == std::vector<std::string>{
                                                  "warning kvm.no_iothread datadisk",
                                                  "info kvm.backing_chain os",
                                                  "info kvm.host_write_cache os",
                                                  "critical kvm.format_mismatch datadisk",
                                                  "info kvm.host_write_cache datadisk",
                                              });
    WorkloadHint writes{false, true, true, "model.json"};
    auto write_findings = kvm_findings(*report, writes);
    CHECK(ids(write_findings).at(0) == "warning kvm.qcow2_not_allocated os");
    CHECK(write_findings.at(0).evidence.back().second == "write-heavy (model.json)");
}

TEST_CASE("kvm findings: a host device with a volatile cache under cache=unsafe", "[kvm][rules]") {
    Host host;
    // The same VM with its data disk moved to the root file system (sda2, write back) and unsafe.
    std::ofstream(host.path / "vm.img", std::ios::binary) << std::string(4096, 'x');
    auto report = KvmInspector(host.root())
                      .inspect_cmdline("qemu-system-x86_64 -smp 1 -drive file=/vm.img,format=raw,if=virtio,cache=unsafe");
    REQUIRE(report);
    auto findings = kvm_findings(*report);
    CHECK(ids(findings) == std::vector<std::string>{"info kvm.no_iothread virtio0",
                                                    "warning kvm.cache_unsafe virtio0",
                                                    "info kvm.host_write_cache virtio0"});
    CHECK(findings[2].title == "virtio0: host device sda has a write back cache");
    CHECK(findings[2].why.find("flushes are dropped before they reach this volatile cache") != std::string::npos);
    CHECK(findings[2].evidence == std::vector<std::pair<std::string, std::string>>{
                                      {"disk", "virtio0"}, {"device", "sda"}, {"driver", "ahci/sd"},
                                      {"write_cache", "write back"}, {"guest_cache", "unsafe"}});
}

TEST_CASE("findings: JSON and text", "[kvm][rules]") {
    Finding f{"kvm.x", Severity::warning, "d: t", "because", note::kEmulation, {{"a", "1"}, {"b", "2"}}};
    auto json = to_json(std::vector<Finding>{f});
    CHECK(json.dump() == R"([{"id":"kvm.x","severity":"warning","title":"d: t","why":"because",)"
                         R"("note_section":"KVM IO performance analysis > understand how IO is emulated",)"
                         R"("evidence":{"a":"1","b":"2"}}])");
    CHECK(render_text(std::vector<Finding>{f}) == "findings (1):\n"
                              "  [warning] d: t  (kvm.x)\n"
                              "      why: because\n"
                              "      evidence: a=1, b=2\n"
                              "      note: KVM IO performance analysis > understand how IO is emulated\n");
    CHECK(render_text(std::vector<Finding>{}) == "findings: none\n");
}

TEST_CASE("workload hint from a model", "[kvm][rules]") {
    model::WorkloadModel model;
    model.target.pid = 42;
    model.target.comm = "fio";
    model::JobGroup reader;
    reader.evidence.iops = 300;
    reader.evidence.reads.bytes = 100;
    model::JobGroup writer;
    writer.evidence.iops = 800;
    writer.evidence.writes.bytes = 300;
    writer.evidence.fdatasyncs = 5;
    model.groups = {reader, writer};
    WorkloadHint hint = workload_hint(model);
    CHECK(hint.busy == true);          // 1100 IOPS together
    CHECK(hint.write_heavy == true);   // 75% of the bytes
    CHECK(hint.sync_writes == true);
    CHECK(hint.source == "model of pid 42 (fio)");

    model.groups = {reader};
    hint = workload_hint(model);
    CHECK(hint.busy == false);
    CHECK(hint.write_heavy == false);
    CHECK(hint.sync_writes == false);
    model.groups.clear();
    CHECK_FALSE(workload_hint(model).write_heavy);   // no IO: unknown
}
