// libvirt domain XML: the same VM as the libvirt command line agrees with it; backingStore chains,
// disk types, controllers, libvirt 10's per-queue iothreads; broken XML.
#include <catch2/catch.hpp>

#include "stack/domain_xml.hpp"
#include "stack/kvm_inspector.hpp"
#include "stack/kvm_output.hpp"
#include "stack/kvm_rules.hpp"
#include "stack/qemu_cmdline.hpp"
#include "stack/qemu_config.hpp"
#include "test_stack_fixture.hpp"

using namespace iodiag;
using namespace iodiag::stack;
using iodiag::test::read_text;
using iodiag::test::TempRoot;

namespace {

const std::string kData = std::string(IODIAG_TEST_DATA) + "/kvm/";

VmConfig from_xml(const std::string& xml) {
    auto vm = vm_config_from_domain_xml(xml);
    INFO(xml);
    REQUIRE(vm);
    return *vm;
}

}  // namespace

TEST_CASE("domain XML: disks, chains, controllers, iothreads", "[kvm][domxml]") {
    VmConfig vm = from_xml(read_text(kData + "libvirt-db1.xml"));
    CHECK(vm.source == "domxml");
    CHECK(vm.name == "db1");
    CHECK(vm.vcpus == 8);
    CHECK(vm.accel == "kvm");
    CHECK(vm.machine == "pc-q35-7.2");
    CHECK(vm.emulator == "/usr/bin/qemu-system-x86_64");
    CHECK(vm.iothreads == std::vector<std::string>{"iothread1", "iothread2"});
    REQUIRE(vm.disks.size() == 4);

    const DiskConfig& vda = vm.disks[0];
    CHECK(vda.id == "virtio-disk0");
    CHECK(vda.target == "vda");
    REQUIRE(vda.chain.size() == 2);
    CHECK(vda.chain[1].path == "/var/lib/libvirt/images/base-debian12.qcow2");
    CHECK(vda.chain[1].format == "qcow2");
    CHECK(vda.chain_complete);
    CHECK(vda.controller.num_queues == 8);

    const DiskConfig& rbd = vm.disks[2];
    CHECK(rbd.id == "virtio-disk1");
    CHECK(rbd.chain.at(0).protocol == "rbd");
    CHECK(rbd.chain.at(0).path == "rbd:rbd-pool/db1-logs (host ceph-mon1)");
    CHECK(rbd.cache.name() == "writeback");
    CHECK(rbd.defaulted == std::vector<std::string>{"aio", "num_queues", "queue_size"});

    const DiskConfig& cd = vm.disks[3];
    CHECK(cd.media == "cdrom");
    CHECK(cd.read_only);
    CHECK(cd.controller.type == "ahci");
    CHECK(cd.device_model == "ide-cd");
}

TEST_CASE("domain XML and the command line libvirt made from it agree", "[kvm][domxml]") {
    VmConfig xml = from_xml(read_text(kData + "libvirt-db1.xml"));
    auto cmdline = vm_config_from_qemu(*parse_qemu_text(read_text(kData + "libvirt-db1.cmdline")));
    REQUIRE(cmdline);
    CHECK(xml.vcpus == cmdline->vcpus);
    CHECK(xml.iothreads == cmdline->iothreads);
    for (const auto& from_cmdline : cmdline->disks) {
        auto it = std::find_if(xml.disks.begin(), xml.disks.end(),
                               [&](const DiskConfig& d) { return d.id == from_cmdline.id; });
        REQUIRE(it != xml.disks.end());
        INFO(from_cmdline.id);
        CHECK(it->cache == from_cmdline.cache);
        CHECK(it->aio == from_cmdline.aio);
        CHECK(it->iothreads == from_cmdline.iothreads);
        CHECK(it->controller.type == from_cmdline.controller.type);
        CHECK(it->controller.id == from_cmdline.controller.id);
        CHECK(it->controller.num_queues == from_cmdline.controller.num_queues);
        REQUIRE(it->chain.size() == from_cmdline.chain.size());
        for (size_t i = 0; i < it->chain.size(); ++i) {
            CHECK(it->chain[i].path == from_cmdline.chain[i].path);
            CHECK(it->chain[i].format == from_cmdline.chain[i].format);
            CHECK(it->chain[i].protocol == from_cmdline.chain[i].protocol);
        }
    }

    TempRoot empty;
    auto report = KvmInspector(SysRoot(empty.str()), {false}).inspect_domain_xml(read_text(kData + "libvirt-db1.xml"));
    REQUIRE(report);
    auto json = to_json(*report);
    json["findings"] = to_json(kvm_findings(*report));
    iodiag::test::check_golden_json(kData + "libvirt-db1.xml.expected.json", json);
}

TEST_CASE("domain XML: libvirt 10 per-queue iothreads, volumes, default SCSI model", "[kvm][domxml]") {
    VmConfig vm = from_xml(R"(<domain type='qemu'><name>n</name><vcpu current='2'>4</vcpu>
      <iothreadids><iothread id='5'/><iothread id='6'/></iothreadids>
      <devices>
        <disk type='volume' device='disk'>
          <driver name='qemu' type='qcow2' cache='default' io='io_uring'>
            <iothreads><iothread id='5'><queue id='0'/></iothread><iothread id='6'><queue id='1'/></iothread></iothreads>
          </driver>
          <source pool='default' volume='n.qcow2'/>
          <target dev='vda' bus='virtio'/>
        </disk>
        <disk type='file' device='disk'>
          <driver name='qemu' type='raw' cache='bogus'/>
          <source file='/x.img'/>
          <target dev='sdc' bus='scsi'/>
          <address type='drive' controller='1'/>
        </disk>
      </devices></domain>)");
    CHECK(vm.vcpus == 2);   // current, not the maximum
    CHECK(vm.accel == "qemu");
    CHECK(vm.iothreads == std::vector<std::string>{"iothread5", "iothread6"});
    REQUIRE(vm.disks.size() == 2);
    CHECK(vm.disks[0].iothreads == std::vector<std::string>{"iothread5", "iothread6"});
    CHECK(vm.disks[0].chain.at(0).path == "default/n.qcow2");
    CHECK(vm.disks[0].aio == "io_uring");
    CHECK(vm.disks[0].defaulted.at(0) == "cache");
    CHECK_FALSE(vm.disks[0].chain_complete);   // no <backingStore/>: libvirt probes
    CHECK(vm.disks[1].controller.id == "scsi1");
    CHECK(vm.disks[1].controller.type == "scsi");
    CHECK(vm.disks[1].notes == std::vector<std::string>{
                                   "unknown cache mode \"bogus\"; assuming writeback",
                                   "SCSI controller 1 is not in the XML (libvirt adds its default model)"});
}

TEST_CASE("domain XML: broken input", "[kvm][domxml]") {
    auto broken = vm_config_from_domain_xml("<domain><name>x</name><devices><disk></devices></domain>");
    REQUIRE_FALSE(broken);
    CHECK(broken.error().kind == ErrorKind::bad_input);
    CHECK(broken.error().message.find("the domain XML does not parse: ") == 0);
    CHECK(broken.error().message.find("at offset") != std::string::npos);
    CHECK(broken.error().hint == "give the output of virsh dumpxml DOMAIN");

    auto other = vm_config_from_domain_xml("<network><name>default</name></network>");
    REQUIRE_FALSE(other);
    CHECK(other.error().message == "not a libvirt domain XML (the root element is <network>, not <domain>)");

    VmConfig empty = from_xml("<domain><name>e</name></domain>");
    CHECK(empty.disks.empty());
    CHECK(empty.notes == std::vector<std::string>{"the domain has no <disk> elements"});
    CHECK_FALSE(empty.vcpus);
}
