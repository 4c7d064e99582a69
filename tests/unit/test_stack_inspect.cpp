// StackInspector on the guest fixture tree: chains (partition -> disk, dm -> md -> partitions ->
// nvme, loop -> backing file -> its own stack, btrfs through /sys/fs/btrfs), pseudo file systems,
// a process's files grouped by device, the JSON and text views and the stack findings.
#include <catch2/catch.hpp>

#include "stack/stack_inspector.hpp"
#include "stack/stack_output.hpp"
#include "stack/stack_rules.hpp"
#include "test_stack_fixture.hpp"
#include "trace/io_event.hpp"

using namespace iodiag;
using namespace iodiag::stack;
using iodiag::test::build_tree;
using iodiag::test::FixtureTree;
using iodiag::test::TempRoot;

namespace {

// Names of a chain, depth first: "dm-0 md0 nvme0n1p1 nvme0n1 nvme1n1p1 nvme1n1".
std::string chain_names(const DeviceNode& node) {
    std::string out = node.device.name;
    for (const auto& below : node.below) {
        out += ' ';
        out += chain_names(below);
    }
    return out;
}

StackReport inspect(const SysRoot& root, const std::string& path) {
    auto report = StackInspector(root).inspect_path(path);
    INFO(path << ": " << (report ? std::string() : report.error().message));
    REQUIRE(report);
    return *report;
}

}  // namespace

TEST_CASE("stack: a file on a partition of a virtio-blk disk", "[stack][inspect]") {
    FixtureTree tree("guest");
    SysRoot root(tree.str());
    StackReport report = inspect(root, "/boot/vmlinuz");
    REQUIRE(report.mount);
    CHECK(report.mount->mount_point == "/boot");
    CHECK(report.mount->fstype == "ext4");
    CHECK(report.fs_kind == FsKind::block);
    REQUIRE(report.devices.size() == 1);
    const DeviceNode& part = report.devices[0];
    CHECK(chain_names(part) == "vda1 vda");
    CHECK(part.device.partition);
    const BlockDevice& disk = part.below[0].device;
    CHECK(disk.driver == "virtio-blk");
    CHECK(disk.queue->hw_queues == 4);
    CHECK(disk.queue->tags_per_queue == 256);
    CHECK(report.notes.empty());

    // The root file system: the longest mount point wins over "/".
    CHECK(chain_names(inspect(root, "/var/lib/images/disk.img").devices.at(0)) == "vda2 vda");
}

TEST_CASE("stack: xfs on LVM on md raid1 on two nvme partitions", "[stack][inspect]") {
    FixtureTree tree("guest");
    SysRoot root(tree.str());
    StackReport report = inspect(root, "/data/db/table.ibd");
    REQUIRE(report.mount);
    CHECK(report.mount->fstype == "xfs");
    CHECK(report.mount->source == "/dev/mapper/vg0-data");
    REQUIRE(report.devices.size() == 1);
    const DeviceNode& dm = report.devices[0];
    CHECK(chain_names(dm) == "dm-0 md0 nvme0n1p1 nvme0n1 nvme1n1p1 nvme1n1");
    CHECK(dm.device.dm->target == "lvm");
    const DeviceNode& md = dm.below.at(0);
    CHECK(md.device.md->level == "raid1");
    CHECK(md.below.size() == 2);
    CHECK(md.below[1].below.at(0).device.driver == "nvme");
}

TEST_CASE("stack: virtio-scsi disk and a whole-disk xfs", "[stack][inspect]") {
    FixtureTree tree("guest");
    SysRoot root(tree.str());
    StackReport scsi = inspect(root, "/srv/scsi/file");
    REQUIRE(scsi.devices.size() == 1);
    CHECK(chain_names(scsi.devices[0]) == "sda1 sda");
    const BlockDevice& sda = scsi.devices[0].below[0].device;
    CHECK(sda.driver == "virtio-scsi/sd");
    CHECK(sda.scsi->can_queue == 256);
    CHECK(sda.scsi->cmd_per_lun == 128);

    StackReport xfs = inspect(root, "/srv/xfs/file");
    REQUIRE(xfs.devices.size() == 1);
    CHECK(chain_names(xfs.devices[0]) == "vdb");
    CHECK(xfs.devices[0].device.queue->write_cache == "write through");
}

TEST_CASE("stack: btrfs on a loop device on a file, recursively", "[stack][inspect]") {
    FixtureTree tree("guest");
    SysRoot root(tree.str());
    StackReport report = inspect(root, "/mnt/img/file");
    REQUIRE(report.mount);
    CHECK(report.mount->fstype == "btrfs");
    CHECK(report.mount->dev == DevNumber{0, 45});   // anonymous: the devices come from /sys/fs/btrfs
    REQUIRE(report.devices.size() == 1);
    const DeviceNode& loop = report.devices[0];
    CHECK(loop.device.name == "loop0");
    REQUIRE(loop.backing.size() == 1);
    const StackReport& backing = loop.backing[0];
    CHECK(backing.path == "/var/lib/images/disk.img");
    CHECK(backing.mount->mount_point == "/");
    CHECK(chain_names(backing.devices.at(0)) == "vda2 vda");

    auto findings = stack_findings(report);
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].id == "stack.loop_buffered");
    CHECK(findings[0].note_section == note::kWholeStack);
}

TEST_CASE("stack: a block device node is its own stack", "[stack][inspect]") {
    FixtureTree tree("guest");
    SysRoot root(tree.str());
    StackReport report = inspect(root, "/dev/mapper/vg0-data");
    CHECK_FALSE(report.mount);
    REQUIRE(report.devices.size() == 1);
    CHECK(chain_names(report.devices[0]) == "dm-0 md0 nvme0n1p1 nvme0n1 nvme1n1p1 nvme1n1");
    REQUIRE(report.notes.size() == 1);
    CHECK(report.notes[0] == "mounted on /data (xfs)");
}

TEST_CASE("stack: pseudo file systems say what is (not) below", "[stack][inspect]") {
    FixtureTree tree("guest");
    SysRoot root(tree.str());
    StackReport tmp = inspect(root, "/tmp/scratch");
    CHECK(tmp.fs_kind == FsKind::memory);
    CHECK(tmp.devices.empty());
    REQUIRE(tmp.notes.size() == 1);
    CHECK(tmp.notes[0].find("tmpfs keeps files in memory") == 0);

    StackReport proc = inspect(root, "/proc/cpuinfo");
    CHECK(proc.fs_kind == FsKind::kernel);
    CHECK(proc.notes.at(0).find("no storage below") != std::string::npos);

    StackReport share = inspect(root, "/mnt/share/f");
    CHECK(share.fs_kind == FsKind::shared);
    CHECK(share.notes.at(0).find("run iodiag stack on the host") != std::string::npos);

    // overlay: the upperdir's own stack is reported.
    StackReport overlay = inspect(root, "/var/lib/docker/overlay2/abc/merged/app.log");
    CHECK(overlay.fs_kind == FsKind::overlay);
    CHECK(overlay.notes.at(0).find("writes go to upperdir") != std::string::npos);
    REQUIRE(overlay.upper.size() == 1);
    CHECK(overlay.upper[0].path == "/var/lib/docker/overlay2/abc/diff");
    CHECK(chain_names(overlay.upper[0].devices.at(0)) == "vda2 vda");

    // A mount point with an escaped space.
    CHECK(inspect(root, "/mnt/with space/f").mount->mount_point == "/mnt/with space");
}

TEST_CASE("stack: errors for a missing path, a missing mount table, a broken loop", "[stack][inspect]") {
    FixtureTree tree("guest");
    auto missing = StackInspector(SysRoot(tree.str())).inspect_path("/no/such/file");
    REQUIRE_FALSE(missing);
    CHECK(missing.error().kind == ErrorKind::not_found);
    CHECK(missing.error().message == "no such file or directory: /no/such/file");

    TempRoot bare;
    build_tree(bare.path, "/data/f = x\n");
    auto no_proc = StackInspector(SysRoot(bare.str())).inspect_path("/data/f");
    REQUIRE_FALSE(no_proc);
    CHECK(no_proc.error().kind == ErrorKind::not_found);
    CHECK(no_proc.error().hint.find("is /proc mounted") != std::string::npos);

    // A loop device whose backing file is gone, and a mount whose device is not in sysfs.
    TempRoot broken;
    build_tree(broken.path, R"(
/proc/self/mountinfo <<EOF
1 0 7:3 / / rw - ext4 /dev/loop3 rw
2 1 8:99 / /gone rw - ext4 /dev/sdz rw
EOF
/f = x
/gone/f = x
/sys/class/block/loop3 -> ../../devices/virtual/block/loop3
/sys/dev/block/7:3 -> ../../devices/virtual/block/loop3
cd /sys/devices/virtual/block/loop3
dev = 7:3
loop/backing_file = /images/deleted.img (deleted)
loop/dio = 1
)");
    SysRoot root(broken.str());
    StackReport loop = inspect(root, "/f");
    REQUIRE(loop.devices.size() == 1);
    const DeviceNode& node = loop.devices[0];
    CHECK(node.backing.empty());
    REQUIRE(node.notes.size() == 2);
    CHECK(node.notes[0] == "the backing file was deleted");
    CHECK(node.notes[1] == "backing file /images/deleted.img: no such file or directory: /images/deleted.img");
    CHECK(stack_findings(loop).empty());   // dio=1: no double caching

    StackReport gone = inspect(root, "/gone/f");
    CHECK(gone.devices.empty());
    REQUIRE(gone.notes.size() == 1);
    CHECK(gone.notes[0].find("no block device 8:99") == 0);
}

TEST_CASE("stack: a loop device backed by a file on itself stops", "[stack][inspect]") {
    TempRoot dir;
    build_tree(dir.path, R"(
/proc/self/mountinfo <<EOF
1 0 7:0 / / rw - ext4 /dev/loop0 rw
EOF
/img = x
/sys/dev/block/7:0 -> ../../devices/virtual/block/loop0
/sys/class/block/loop0 -> ../../devices/virtual/block/loop0
/sys/devices/virtual/block/loop0/dev = 7:0
/sys/devices/virtual/block/loop0/loop/backing_file = /img
)");
    StackReport report = inspect(SysRoot(dir.str()), "/img");
    // loop0 -> /img -> loop0: the second visit is cut as a cycle.
    const DeviceNode& outer = report.devices.at(0);
    const DeviceNode& inner = outer.backing.at(0).devices.at(0);
    CHECK(inner.device.name == "loop0");
    CHECK(inner.backing.empty());
    CHECK(inner.notes.at(0) == "cycle: loop0 is already on this chain");
}

TEST_CASE("stack: a process's open files, grouped by device", "[stack][inspect]") {
    FixtureTree tree("guest");
    auto report = StackInspector(SysRoot(tree.str())).inspect_pid(4242);
    REQUIRE(report);
    CHECK(report->pid == 4242);
    CHECK(report->comm == "postgres");
    CHECK(report->other_fds == 2);   // the pipe and the socket
    // Order of first appearance: /dev (pts), /data, /srv/xfs, the vdb node, /tmp.
    REQUIRE(report->groups.size() == 5);
    CHECK(report->groups[0].stack.path == "/dev");
    const FileGroup& data = report->groups[1];
    CHECK(data.stack.path == "/data");
    REQUIRE(data.files.size() == 2);
    CHECK(data.files[0].fd == 3);
    CHECK(data.files[0].path == "/data/db/table.ibd");
    CHECK((data.files[0].open_flags & trace::kOpenDirect));
    CHECK(data.files[1].path == "/data/db/wal");
    CHECK(data.files[1].deleted);
    CHECK(open_flags_text(data.files[1].open_flags) == "w,O_SYNC");
    CHECK(chain_names(data.stack.devices.at(0)) == "dm-0 md0 nvme0n1p1 nvme0n1 nvme1n1p1 nvme1n1");
    CHECK(report->groups[2].stack.path == "/srv/xfs");
    const FileGroup& raw = report->groups[3];
    CHECK(raw.files.at(0).path == "/dev/vdb");
    CHECK_FALSE(raw.stack.mount);
    CHECK(chain_names(raw.stack.devices.at(0)) == "vdb");
    CHECK(report->groups[4].stack.fs_kind == FsKind::memory);

    auto missing = StackInspector(SysRoot(tree.str())).inspect_pid(777);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().kind == ErrorKind::not_found);
    CHECK(missing.error().message == "no process with pid 777");
}

TEST_CASE("stack: JSON carries the chain, the queue settings and the notes", "[stack][output]") {
    FixtureTree tree("guest");
    SysRoot root(tree.str());
    auto json = to_json(inspect(root, "/srv/scsi/file"));
    CHECK(json["path"] == "/srv/scsi/file");
    CHECK(json["mount"]["fstype"] == "ext4");
    CHECK(json["mount"]["dev"] == "8:1");
    CHECK(json["fs_kind"] == "block");
    const auto& part = json["devices"][0];
    CHECK(part["name"] == "sda1");
    CHECK(part["type"] == "partition");
    CHECK(part["partition_number"] == 1);
    CHECK(part["queue"].is_null());
    const auto& disk = part["below"][0];
    CHECK(disk["driver"] == "virtio-scsi/sd");
    CHECK(disk["queue"]["scheduler"] == "mq-deadline");
    CHECK(disk["queue"]["nr_requests"] == 256);
    CHECK(disk["queue"]["max_hw_sectors_kb"] == 32767);
    CHECK(disk["queue"]["rotational"] == true);
    CHECK(disk["queue"]["hw_queues"] == 4);
    CHECK(disk["queue"]["tags_per_queue"] == 256);
    CHECK(disk["queue"]["fua"].is_null());
    CHECK(disk["scsi_host"]["proc_name"] == "virtio_scsi");
    CHECK(disk["scsi_host"]["can_queue"] == 256);
    CHECK(disk["scsi_host"]["cmd_per_lun"] == 128);
    CHECK(disk["scsi_host"]["device_queue_depth"] == 128);

    auto loop = to_json(inspect(root, "/mnt/img/file"));
    const auto& backing = loop["devices"][0]["backing_stack"];
    CHECK(loop["devices"][0]["loop"]["direct_io"] == false);
    CHECK(backing["path"] == "/var/lib/images/disk.img");
    CHECK(backing["devices"][0]["below"][0]["name"] == "vda");

    auto overlay = to_json(inspect(root, "/var/lib/docker/overlay2/abc/merged/app.log"));
    CHECK(overlay["fs_kind"] == "overlay");
    CHECK(overlay["overlay_upper"]["mount"]["mount_point"] == "/");

    auto pid = to_json(*StackInspector(root).inspect_pid(4242));
    CHECK(pid["groups"][1]["files"][0]["flags"] == "rw,O_DIRECT");
    CHECK(pid["groups"][1]["files"][1]["deleted"] == true);
    CHECK(pid["other_fds"] == 2);
}

TEST_CASE("stack: the text tree", "[stack][output]") {
    FixtureTree tree("guest");
    SysRoot root(tree.str());
    CHECK(render_text(inspect(root, "/data/db/table.ibd")) ==
          "/data/db/table.ibd\n"
          "  mount /data  xfs on /dev/mapper/vg0-data  (rw,noatime; "
          "rw,attr2,inode64,sunit=1024,swidth=1024,noquota)\n"
          "  └─ dm-0  253:0  device-mapper  49.9GiB  lvm vg0-data\n"
          "     │  queue: scheduler none  nr_requests 128  max_sectors_kb 512 (hw 512)  rotational 0  "
          "block 512/512  write_cache write back\n"
          "     │  bio-based: no blk-mq queues of its own\n"
          "     └─ md0  9:0  md  49.9GiB  raid1, 2 disks\n"
          "        │  queue: scheduler none  nr_requests 128  max_sectors_kb 512 (hw 512)  rotational 0  "
          "block 512/512  write_cache write back\n"
          "        │  bio-based: no blk-mq queues of its own\n"
          "        ├─ nvme0n1p1  259:1  nvme  50.0GiB  partition 1 of nvme0n1  \"QEMU NVMe Ctrl\"\n"
          "        │  └─ nvme0n1  259:0  nvme  50.0GiB  \"QEMU NVMe Ctrl\"\n"
          "        │        queue: scheduler none  nr_requests 1023  max_sectors_kb 512 (hw 512)  rotational 0  "
          "block 512/512  write_cache write back\n"
          "        │        blk-mq: 2 hw queues x 1023 tags\n"
          "        └─ nvme1n1p1  259:3  nvme  50.0GiB  partition 1 of nvme1n1  \"QEMU NVMe Ctrl\"\n"
          "           └─ nvme1n1  259:2  nvme  50.0GiB  \"QEMU NVMe Ctrl\"\n"
          "                 queue: scheduler none  nr_requests 1023  max_sectors_kb 512 (hw 512)  rotational 0  "
          "block 512/512  write_cache write back\n"
          "                 blk-mq: 2 hw queues x 1023 tags\n");

    std::string loop = render_text(inspect(root, "/mnt/img/file"));
    CHECK_THAT(loop, Catch::Contains("backing file /var/lib/images/disk.img  (direct_io off, offset 0)\n"));
    CHECK_THAT(loop, Catch::Contains("     └─ file /var/lib/images/disk.img\n"
                                     "        mount /  ext4 on /dev/vda2"));

    std::string pid = render_text(*StackInspector(root).inspect_pid(4242));
    CHECK_THAT(pid, Catch::StartsWith("pid 4242 (postgres): 6 open files on 5 file systems or devices, "
                                      "2 other fds (pipes, sockets, ...)\n"));
    CHECK_THAT(pid, Catch::Contains("/data: 2 files\n"
                                    "  fd 3    /data/db/table.ibd  [rw,O_DIRECT]\n"
                                    "  fd 4    /data/db/wal (deleted)  [w,O_SYNC]\n"));
}
