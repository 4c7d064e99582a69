// QEMU command lines: keyval and JSON option values, shell words, finding the command in a
// libvirt log, and what each disk's configuration means (tests/data/kvm: a libvirt
// /proc/PID/cmdline copy, a libvirt log, two hand-written scripts; expected JSON beside each).
#include <catch2/catch.hpp>

#include "stack/kvm_inspector.hpp"
#include "stack/kvm_output.hpp"
#include "stack/kvm_rules.hpp"
#include "stack/qemu_cmdline.hpp"
#include "stack/qemu_config.hpp"
#include "stack/qemu_keyval.hpp"
#include "test_stack_fixture.hpp"

using namespace iodiag;
using namespace iodiag::stack;
using iodiag::test::read_text;
using iodiag::test::TempRoot;

namespace {

const std::string kData = std::string(IODIAG_TEST_DATA) + "/kvm/";

VmConfig config_of(const std::string& text) {
    auto cmdline = parse_qemu_text(text);
    INFO(text);
    REQUIRE(cmdline);
    auto vm = vm_config_from_qemu(*cmdline);
    REQUIRE(vm);
    return *vm;
}

const DiskConfig& disk(const VmConfig& vm, const std::string& id) {
    for (const auto& d : vm.disks)
        if (d.id == id) return d;
    FAIL("no disk " << id);
    throw;
}

std::vector<std::string> ids(const std::vector<Finding>& findings) {
    std::vector<std::string> out;
    for (const auto& f : findings) out.push_back(f.id + " " + f.title.substr(0, f.title.find(':')));
    return out;
}

}  // namespace

// The whole report and its findings against tests/data/kvm/NAME.expected.json.
void check_golden(const std::string& name, const KvmReport& report) {
    auto json = to_json(report);
    json["findings"] = to_json(kvm_findings(report));
    iodiag::test::check_golden_json(kData + name + ".expected.json", json);
}

TEST_CASE("keyval: commas, implied keys, flags, nesting", "[kvm][keyval]") {
    auto pairs = split_keyval("virtio-blk-pci,drive=d0,,x,scsi,id=a=b", "driver");
    REQUIRE(pairs);
    CHECK(*pairs == KeyvalPairs{{"driver", "virtio-blk-pci"}, {"drive", "d0,x"}, {"scsi", "on"}, {"id", "a=b"}});
    CHECK(split_keyval("=x").error().kind == ErrorKind::bad_input);
    CHECK(split_keyval("a=1,,,b=2")->size() == 2);   // ",," then ","

    auto nested = nest_keyval({{"driver", "qcow2"}, {"file.driver", "file"}, {"file.filename", "/a"}, {"cache.direct", "on"}});
    REQUIRE(nested);
    CHECK(nested->dump() == R"({"driver":"qcow2","file":{"driver":"file","filename":"/a"},"cache":{"direct":"on"}})");
    CHECK(nest_keyval({{"file", "x"}, {"file.driver", "y"}}).error().message.find("both as a value and as a group") !=
          std::string::npos);
    CHECK_FALSE(nest_keyval({{"file.driver", "y"}, {"file", "x"}}));

    auto json = parse_option_value(R"( {"driver":"file","cache":{"direct":true},"n":4})", {}, "-blockdev");
    REQUIRE(json);
    CHECK(get_bool(*json, "cache.direct") == true);
    CHECK(get_int(*json, "n") == 4);
    CHECK(get_string(*json, "cache.direct") == "on");
    CHECK_FALSE(get_string(*json, "cache"));
    auto bad = parse_option_value(R"({"driver":)", {}, "-blockdev");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().kind == ErrorKind::bad_input);
    CHECK(bad.error().message.find("-blockdev: not valid JSON") == 0);

    ordered_json values = {{"a", "0x10"}, {"b", "off"}, {"c", "yes"}, {"d", "maybe"}, {"e", 0}};
    CHECK(get_int(values, "a") == 16);
    CHECK(get_bool(values, "b") == false);
    CHECK(get_bool(values, "c") == true);
    CHECK_FALSE(get_bool(values, "d"));
    CHECK(get_bool(values, "e") == false);
}

TEST_CASE("shell words: quotes, escapes, continuations, comments", "[kvm][cmdline]") {
    auto lines = split_shell_lines("a 'b c' \"d \\\"e\\\" $f\" g\\ h \\\n i # comment\n\nnext line\n");
    REQUIRE(lines);
    REQUIRE(lines->size() == 2);
    CHECK((*lines)[0] == std::vector<std::string>{"a", "b c", "d \"e\" $f", "g h", "i"});
    CHECK((*lines)[1] == std::vector<std::string>{"next", "line"});
    CHECK(split_shell_lines("a 'b").error().message == "unterminated ' quote in the command line");
    CHECK(split_shell_lines("a \"b").error().kind == ErrorKind::bad_input);
    CHECK(split_shell_lines("x=a#b")->at(0) == std::vector<std::string>{"x=a#b"});   // # inside a word
}

TEST_CASE("command lines: which binaries, flags and values, errors", "[kvm][cmdline]") {
    CHECK(is_qemu_binary("/usr/bin/qemu-system-x86_64"));
    CHECK(is_qemu_binary("qemu-system-aarch64"));
    CHECK(is_qemu_binary("/usr/libexec/qemu-kvm"));
    CHECK_FALSE(is_qemu_binary("/usr/bin/qemu-img"));
    CHECK_FALSE(is_qemu_binary("qemu"));

    auto cmd = parse_qemu_argv({"qemu-system-x86_64", "-S", "--drive", "file=a", "-nodefaults", "disk.img"});
    REQUIRE(cmd);
    REQUIRE(cmd->options.size() == 3);
    CHECK(cmd->options[0].name == "S");
    CHECK(cmd->options[1].name == "drive");
    CHECK(cmd->options[1].value == "file=a");
    CHECK(cmd->positional == std::vector<std::string>{"disk.img"});

    auto not_qemu = parse_qemu_argv({"/bin/bash", "-c", "x"});
    REQUIRE_FALSE(not_qemu);
    CHECK(not_qemu.error().kind == ErrorKind::bad_input);
    CHECK(not_qemu.error().message == "not a QEMU command line: it runs /bin/bash");
    CHECK(parse_qemu_argv({"qemu-kvm", "-drive"}).error().message ==
          "option -drive has no value (the command line ends)");
    CHECK(parse_qemu_text("").error().message == "the command line is empty");
    CHECK(parse_qemu_text("ls -l /\n").error().message.find("no QEMU command in the text") == 0);

    // Environment assignments and wrappers in front of the binary.
    auto wrapped = parse_qemu_text("LC_ALL=C taskset -c 2-3 /usr/bin/qemu-system-x86_64 -smp 2\n");
    REQUIRE(wrapped);
    CHECK(wrapped->binary == "/usr/bin/qemu-system-x86_64");
    CHECK(wrapped->env == std::vector<std::string>{"LC_ALL=C"});
    CHECK(wrapped->options.at(0).value == "2");
}

TEST_CASE("libvirt /proc/PID/cmdline: JSON -blockdev graph, iothreads, queues", "[kvm][cmdline]") {
    VmConfig vm = config_of(read_text(kData + "libvirt-db1.cmdline"));
    CHECK(vm.name == "db1");
    CHECK(vm.thread_names);
    CHECK(vm.vcpus == 8);
    CHECK(vm.accel == "kvm");
    CHECK(vm.machine == "pc-q35-7.2");
    CHECK(vm.iothreads == std::vector<std::string>{"iothread1", "iothread2"});
    REQUIRE(vm.disks.size() == 2);

    const DiskConfig& blk = disk(vm, "virtio-disk0");
    REQUIRE(blk.chain.size() == 2);   // format node, then the named backing node
    CHECK(blk.chain[0].path == "/var/lib/libvirt/images/db1.qcow2");
    CHECK(blk.chain[0].format == "qcow2");
    CHECK(blk.chain[0].protocol == "file");
    CHECK(blk.chain[1].path == "/var/lib/libvirt/images/base-debian12.qcow2");
    CHECK(blk.chain_complete);        // "backing": null ends it
    CHECK(blk.cache.name() == "none");
    CHECK(blk.aio == "native");
    CHECK(blk.iothreads == std::vector<std::string>{"iothread1"});
    CHECK(blk.controller.type == "virtio-blk");
    CHECK(blk.controller.num_queues == 8);
    CHECK(blk.controller.queue_size == 256);
    CHECK(blk.defaulted.empty());

    const DiskConfig& scsi = disk(vm, "scsi0-0-0-1");
    CHECK(scsi.chain.at(0).protocol == "host_device");
    CHECK(scsi.cache.name() == "none");
    CHECK(scsi.aio == "threads");
    CHECK(scsi.controller.type == "virtio-scsi");
    CHECK(scsi.controller.id == "scsi0");
    CHECK(scsi.controller.num_queues == 4);
    CHECK(scsi.controller.cmd_per_lun == 128);
    CHECK(scsi.iothreads == std::vector<std::string>{"iothread2"});   // the controller's
    CHECK(scsi.defaulted == std::vector<std::string>{"queue_size"});

    TempRoot empty;
    auto report = KvmInspector(SysRoot(empty.str()), {false}).inspect_cmdline(read_text(kData + "libvirt-db1.cmdline"));
    REQUIRE(report);
    CHECK(ids(kvm_findings(*report)) == std::vector<std::string>{"kvm.queues_lt_vcpus scsi0",
                                                                 "kvm.backing_chain virtio-disk0",
                                                                 "kvm.cache_none_aio_threads scsi0-0-0-1"});
    check_golden("libvirt-db1.cmdline", *report);
}

TEST_CASE("libvirt log: old -drive syntax, unused iothread, cache=unsafe, empty cdrom", "[kvm][cmdline]") {
    VmConfig vm = config_of(read_text(kData + "libvirt-web1.log"));
    CHECK(vm.name == "web1");
    CHECK(vm.emulator == "/usr/libexec/qemu-kvm");
    CHECK(vm.accel == "kvm");        // -machine ...,accel=kvm
    CHECK(vm.vcpus == 4);
    CHECK(vm.notes == std::vector<std::string>{"iothread iothread1 serves no disk"});
    REQUIRE(vm.disks.size() == 3);
    const DiskConfig& blk = disk(vm, "virtio-disk0");
    CHECK(blk.cache.name() == "none");
    CHECK(blk.aio == "threads");
    CHECK(blk.iothreads.empty());
    CHECK(blk.defaulted == std::vector<std::string>{"num_queues", "queue_size"});
    const DiskConfig& data = disk(vm, "scsi0-0-0-0");
    CHECK(data.cache.name() == "unsafe");
    CHECK(data.controller.id == "scsi0");
    const DiskConfig& cd = disk(vm, "ide0-0-0");
    CHECK(cd.media == "cdrom");
    CHECK(cd.read_only);
    CHECK(cd.controller.type == "ide");
    CHECK(cd.notes == std::vector<std::string>{"the drive has no file (an empty removable drive?)"});

    TempRoot empty;
    auto report = KvmInspector(SysRoot(empty.str()), {false}).inspect_cmdline(read_text(kData + "libvirt-web1.log"));
    REQUIRE(report);
    CHECK(ids(kvm_findings(*report)) == std::vector<std::string>{
                                            "kvm.no_iothread virtio-disk0", "kvm.no_iothread scsi0",
                                            "kvm.cache_none_aio_threads virtio-disk0", "kvm.cache_unsafe scsi0-0-0-0"});
    check_golden("libvirt-web1.log", *report);
}

TEST_CASE("by hand: -drive if=virtio, ,, in a file name, -cdrom, writethrough", "[kvm][cmdline]") {
    VmConfig vm = config_of(read_text(kData + "handwritten-drive.sh"));
    CHECK(vm.accel == "kvm");        // -enable-kvm
    CHECK(vm.vcpus == 4);
    REQUIRE(vm.disks.size() == 4);
    const DiskConfig& data = vm.disks[0];   // -device first, then the drives that make their own
    CHECK(data.id == "data");
    CHECK(data.chain.at(0).path == "/srv/vm/data,v2.img");
    CHECK(data.cache.name() == "none");     // cache.direct=on over the default writeback
    CHECK(data.aio == "io_uring");
    CHECK(data.controller.num_queues == 2);
    CHECK(data.controller.queue_size == 1024);
    const DiskConfig& os = vm.disks[1];
    CHECK(os.id == "virtio0");
    CHECK(os.device_model == "virtio-blk-pci");
    CHECK(os.chain.at(0).format.empty());   // probed by QEMU
    CHECK(os.cache.name() == "writethrough");
    CHECK(os.defaulted == std::vector<std::string>{"format", "aio", "num_queues", "queue_size"});
    CHECK(vm.disks[2].id == "virtio1");
    CHECK(vm.disks[2].cache.name() == "directsync");
    CHECK(vm.disks[3].id == "ide1-cd0");
    CHECK(vm.disks[3].media == "cdrom");

    TempRoot empty;
    auto report = KvmInspector(SysRoot(empty.str()), {false}).inspect_cmdline(read_text(kData + "handwritten-drive.sh"));
    REQUIRE(report);
    check_golden("handwritten-drive.sh", *report);
}

TEST_CASE("by hand: keyval -blockdev, inline children, throttle filter, vq mapping, -global",
          "[kvm][cmdline]") {
    VmConfig vm = config_of(read_text(kData + "handwritten-blockdev.sh"));
    CHECK(vm.name == "vm-bench");
    CHECK(vm.vcpus == 2);            // cpus=2, not maxcpus
    CHECK(vm.machine == "q35");
    CHECK(vm.notes == std::vector<std::string>{"iothread io2 serves no disk"});
    REQUIRE(vm.disks.size() == 3);
    const DiskConfig& sys = disk(vm, "sysdisk");
    CHECK(sys.chain.at(0).path == "/var/lib/vms/bench-sys.qcow2");
    CHECK(sys.cache.direct);         // inline file child inherits cache.direct
    CHECK(sys.aio == "native");      // file.aio
    CHECK_FALSE(sys.chain_complete); // no "backing": the image header decides
    CHECK(sys.iothreads == std::vector<std::string>{"io0", "io1"});
    CHECK(sys.controller.queue_size == 512);   // -global virtio-blk-pci.queue-size
    const DiskConfig& data = disk(vm, "datadisk");
    CHECK(data.chain.at(0).path == "/var/lib/vms/bench-data.raw");   // through the throttle filter
    CHECK(data.chain.at(0).format == "raw");
    CHECK(data.cache.name() == "directsync");  // write-cache=off with cache.direct on the file node
    CHECK(data.controller.id == "vscsi");      // no bus=: the first SCSI controller
    CHECK(data.controller.queue_size == 128);
    const DiskConfig& scratch = disk(vm, "scratchdisk");
    CHECK(scratch.cache.name() == "unsafe");
    CHECK(scratch.chain.at(0).format == "raw");
    CHECK(scratch.chain_complete);
    CHECK(scratch.notes.at(0) == "the device uses the file node directly: the guest sees its bytes as raw");

    TempRoot empty;
    auto report = KvmInspector(SysRoot(empty.str()), {false}).inspect_cmdline(read_text(kData + "handwritten-blockdev.sh"));
    REQUIRE(report);
    check_golden("handwritten-blockdev.sh", *report);
}

TEST_CASE("command lines: malformed values are errors, dangling references are notes", "[kvm][cmdline]") {
    auto bad_json = parse_qemu_text("qemu-system-x86_64 -blockdev '{\"driver\":\"file\",'\n");
    REQUIRE(bad_json);
    auto vm = vm_config_from_qemu(*bad_json);
    REQUIRE_FALSE(vm);
    CHECK(vm.error().kind == ErrorKind::bad_input);
    CHECK(vm.error().message.find("-blockdev: not valid JSON") == 0);

    auto no_name = vm_config_from_qemu(*parse_qemu_text("qemu-system-x86_64 -blockdev driver=file,filename=/x"));
    CHECK(no_name.error().message.find("-blockdev without node-name") == 0);
    auto clash = vm_config_from_qemu(*parse_qemu_text("qemu-system-x86_64 -drive file=/a,file.driver=file,file.x.y=1,file.x=2"));
    CHECK(clash.error().message.find("-drive: ") == 0);
    auto no_driver = vm_config_from_qemu(*parse_qemu_text("qemu-system-x86_64 -device id=x"));
    CHECK(no_driver.error().kind == ErrorKind::bad_input);

    VmConfig dangling = config_of(
        "qemu-system-x86_64 -device virtio-blk-pci,drive=nope,iothread=ghost "
        "-drive file=/x.img,format=raw,cache=sometimes,if=virtio -drive file=/y.img,if=none,id=lonely");
    REQUIRE(dangling.disks.size() == 2);
    CHECK(dangling.disks[0].notes == std::vector<std::string>{"drive \"nope\" is defined neither by -drive nor by -blockdev",
                                                              "iothread ghost is not defined"});
    CHECK(dangling.disks[1].notes.at(0) ==
          "unknown cache mode \"sometimes\" (QEMU would refuse it); assuming writeback");
    CHECK(dangling.notes.at(0) == "no -smp: one vCPU");
    CHECK(dangling.notes.at(1) == "drive lonely (if=none) is not attached to any device");
    CHECK(dangling.accel == "tcg");
}

TEST_CASE("cache modes: names and switches", "[kvm][cmdline]") {
    CHECK(cache_mode_from_name("none") == CacheMode{true, true, false});
    CHECK(cache_mode_from_name("writethrough") == CacheMode{false, false, false});
    CHECK(cache_mode_from_name("directsync") == CacheMode{false, true, false});
    CHECK(cache_mode_from_name("unsafe") == CacheMode{true, false, true});
    CHECK(cache_mode_from_name("writeback") == CacheMode{});
    CHECK_FALSE(cache_mode_from_name("off"));
    CHECK(CacheMode{true, true, true}.name() == "custom(writeback=on,direct=on,no-flush=on)");
}
