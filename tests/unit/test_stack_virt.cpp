// Virtualization detection from CPUID (given, as the live system would), /proc/cpuinfo, DMI and
// /sys/hypervisor; the guest's virtual disks with their queues; the guest findings.
#include <catch2/catch.hpp>

#include "stack/stack_output.hpp"
#include "stack/stack_rules.hpp"
#include "stack/virtualization.hpp"
#include "test_stack_fixture.hpp"

using namespace iodiag::stack;
using iodiag::test::build_tree;
using iodiag::test::FixtureTree;
using iodiag::test::TempRoot;

TEST_CASE("virt: cpu lists", "[stack][virt]") {
    CHECK(count_cpu_list("0") == 1);
    CHECK(count_cpu_list("0-7") == 8);
    CHECK(count_cpu_list("0-3,6,8-9") == 7);
    CHECK_FALSE(count_cpu_list(""));
    CHECK_FALSE(count_cpu_list("3-1"));
    CHECK_FALSE(count_cpu_list("a-b"));
}

TEST_CASE("virt: a KVM guest, its virtual disks and their queues", "[stack][virt]") {
    FixtureTree tree("guest");
    CpuidInfo cpuid{true, {"KVMKVMKVM"}};
    VirtInfo info = detect_virtualization(SysRoot(tree.str()), cpuid);
    CHECK(info.guest);
    CHECK(info.hypervisor == "kvm");
    CHECK(info.product == "QEMU Standard PC (Q35 + ICH9, 2009)");
    CHECK(info.evidence == std::vector<std::string>{"cpuid: hypervisor bit set",
                                                    "cpuid 0x40000000: \"KVMKVMKVM\" (kvm)",
                                                    "/proc/cpuinfo: hypervisor flag",
                                                    "DMI: QEMU Standard PC (Q35 + ICH9, 2009)"});
    CHECK(info.cpus == 8);
    // loop, md and dm are not disks the hypervisor provides.
    REQUIRE(info.disks.size() == 5);
    CHECK(info.disks[0].name == "nvme0n1");
    const GuestDisk& sda = info.disks[2];
    CHECK(sda.name == "sda");
    CHECK(sda.driver == "virtio-scsi/sd");
    CHECK(sda.hw_queues == 4);
    CHECK(sda.scsi_can_queue == 256);
    CHECK(sda.scsi_cmd_per_lun == 128);
    CHECK(sda.scsi_queue_depth == 128);
    const GuestDisk& vda = info.disks[3];
    CHECK(vda.driver == "virtio-blk");
    CHECK(vda.hw_queues == 4);
    CHECK(vda.tags_per_queue == 256);
    CHECK(vda.write_cache == "write back");
    CHECK(info.disks[4].hw_queues == 8);

    auto findings = guest_findings(info);
    REQUIRE(findings.size() == 3);
    CHECK(findings[0].id == "guest.queues_lt_cpus");   // sda: 4 queues, 8 vCPUs
    CHECK(findings[0].title == "sda: 4 virtqueues for 8 vCPUs");
    CHECK(findings[1].id == "guest.queues_lt_cpus");   // vda
    CHECK(findings[1].severity == Severity::warning);
    CHECK(findings[1].note_section == note::kEmulation);
    CHECK(findings[2].id == "guest.host_writethrough");   // vdb: 8 queues, but write through
    CHECK(findings[2].note_section == note::kSyncWrite);
    CHECK(findings[2].evidence.at(2) == std::pair<std::string, std::string>{"write_cache", "write through"});

    auto json = to_json(info);
    CHECK(json["guest"] == true);
    CHECK(json["hypervisor"] == "kvm");
    CHECK(json["disks"][3]["tags_per_queue"] == 256);
    std::string text = render_text(info);
    CHECK_THAT(text, Catch::StartsWith("virtualization: guest under kvm ("));
    CHECK_THAT(text, Catch::Contains("  vda      virtio-blk       40.0GiB          4          256          256  -"));
}

TEST_CASE("virt: without CPUID (a snapshot), cpuinfo and DMI still tell", "[stack][virt]") {
    FixtureTree tree("guest");
    VirtInfo info = detect_virtualization(SysRoot(tree.str()), std::nullopt);
    CHECK(info.guest);
    CHECK(info.hypervisor == "kvm");   // from DMI "QEMU"
}

TEST_CASE("virt: bare metal, Xen, Hyper-V and KVM with Hyper-V enlightenments", "[stack][virt]") {
    TempRoot metal;
    build_tree(metal.path, R"(
/proc/cpuinfo = flags : fpu vme de pse tsc msr
/sys/class/dmi/id/sys_vendor = Dell Inc.
/sys/class/dmi/id/product_name = PowerEdge R750
/sys/devices/system/cpu/online = 0-63
)");
    VirtInfo host = detect_virtualization(SysRoot(metal.str()), CpuidInfo{false, {}});
    CHECK_FALSE(host.guest);
    CHECK(host.hypervisor.empty());
    CHECK(host.cpus == 64);
    CHECK(host.disks.empty());
    CHECK(guest_findings(host).empty());
    CHECK(to_json(host)["hypervisor"].is_null());
    CHECK_THAT(render_text(host), Catch::StartsWith("virtualization: not a guest"));

    TempRoot xen;
    build_tree(xen.path, "/sys/hypervisor/type = xen\n");
    VirtInfo xen_info = detect_virtualization(SysRoot(xen.str()), std::nullopt);
    CHECK(xen_info.guest);
    CHECK(xen_info.hypervisor == "xen");

    TempRoot empty;
    build_tree(empty.path, "/x = 1\n");
    CHECK(detect_virtualization(SysRoot(empty.str()), CpuidInfo{true, {"Microsoft Hv"}}).hypervisor == "hyper-v");
    CHECK(detect_virtualization(SysRoot(empty.str()), CpuidInfo{true, {"Microsoft Hv", "KVMKVMKVM"}}).hypervisor ==
          "kvm");
    CHECK(detect_virtualization(SysRoot(empty.str()), CpuidInfo{true, {}}).hypervisor == "unknown");
}

TEST_CASE("virt: the live CPUID agrees with /proc/cpuinfo", "[stack][virt]") {
    auto cpuid = read_cpuid();
#if defined(__x86_64__) || defined(__i386__)
    REQUIRE(cpuid);
    VirtInfo live = detect_virtualization(SysRoot("/"), cpuid);
    VirtInfo flags_only = detect_virtualization(SysRoot("/"), std::nullopt);
    // The cpuinfo flag is the kernel's reading of the same CPUID bit.
    CHECK(cpuid->hypervisor_bit == (std::find(flags_only.evidence.begin(), flags_only.evidence.end(),
                                              "/proc/cpuinfo: hypervisor flag") != flags_only.evidence.end()));
    CHECK(live.guest == cpuid->hypervisor_bit);
#else
    CHECK_FALSE(cpuid);
#endif
}
