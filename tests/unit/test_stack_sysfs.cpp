// SysRoot, the mount table and block devices read from the guest fixture tree
// (tests/data/stack/guest.tree).
#include <catch2/catch.hpp>

#include "stack/block_device.hpp"
#include "stack/mountinfo.hpp"
#include "stack/sysroot.hpp"
#include "test_stack_fixture.hpp"

using namespace iodiag;
using namespace iodiag::stack;
using iodiag::test::build_tree;
using iodiag::test::FixtureTree;
using iodiag::test::TempRoot;

TEST_CASE("paths: normalise, base and dir names", "[stack][sysroot]") {
    CHECK(normalize_path("/a/./b/../c//d/") == "/a/c/d");
    CHECK(normalize_path("/../x") == "/x");
    CHECK(normalize_path("a/../../b") == "b");
    CHECK(base_name("/sys/block/vda") == "vda");
    CHECK(base_name("/") == "");
    CHECK(dir_name("/sys/block/vda") == "/sys/block");
    CHECK(dir_name("/x") == "/");
}

TEST_CASE("SysRoot resolves links inside the root, absolute ones too", "[stack][sysroot]") {
    TempRoot dir;
    build_tree(dir.path, R"(
/real/dir/file = hello
/rel -> real/dir
/abs -> /real/dir
/chain -> rel/../dir/file
/loop1 -> loop2
/loop2 -> loop1
)");
    SysRoot root(dir.str() + "/");
    CHECK_FALSE(root.is_live());
    CHECK(root.resolve("/rel/file").value() == "/real/dir/file");
    CHECK(root.resolve("/abs/file").value() == "/real/dir/file");   // not the host's /real
    CHECK(root.resolve("/chain").value() == "/real/dir/file");
    CHECK(root.resolve("/missing/x").error().kind == ErrorKind::not_found);
    CHECK(root.resolve("/loop1").error().message.find("too many levels") != std::string::npos);
    CHECK(root.read("/abs/file").value() == "hello\n");
    CHECK(root.read_line("/abs/file") == "hello");
    CHECK_FALSE(root.read_int("/abs/file"));
    CHECK(root.read("/nope").error().kind == ErrorKind::not_found);
    CHECK(root.link_name("/abs") == "dir");
    CHECK_FALSE(root.link_name("/real"));
    CHECK(root.list("/real") == std::vector<std::string>{"dir"});
    CHECK(root.list("/nope").empty());
    CHECK(SysRoot("/").is_live());
}

TEST_CASE("mountinfo: fields, optional fields, escapes, garbage", "[stack][mountinfo]") {
    auto table = parse_mountinfo(
        "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 shared:7 - ext3 /dev/root rw,errors=continue\n"
        "37 36 0:45 / /mnt/with\\040space rw - tmpfs tmp\\134fs rw,size=1k\n"
        "garbage line\n"
        "38 36 0:46 / /x rw - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w\n");
    REQUIRE(table);
    REQUIRE(table->mounts.size() == 3);
    CHECK(table->bad_lines == 1);
    const Mount& m = table->mounts[0];
    CHECK(m.id == 36);
    CHECK(m.parent == 35);
    CHECK(m.dev == DevNumber{98, 0});
    CHECK(m.root == "/mnt1");
    CHECK(m.mount_point == "/mnt2");
    CHECK(m.mount_options == "rw,noatime");
    CHECK(m.fstype == "ext3");
    CHECK(m.source == "/dev/root");
    CHECK(m.super_options == "rw,errors=continue");
    CHECK(table->mounts[1].mount_point == "/mnt/with space");
    CHECK(table->mounts[1].source == "tmp\\fs");
    CHECK(mount_option(table->mounts[2].super_options, "upperdir") == "/u");
    CHECK(mount_option(table->mounts[2].super_options, "rw") == "");
    CHECK_FALSE(mount_option(table->mounts[2].super_options, "upper"));

    CHECK(parse_mountinfo("").error().kind == ErrorKind::bad_input);
    CHECK(parse_mountinfo("not a mount table\n").error().message.find("garbled") != std::string::npos);
}

TEST_CASE("mountinfo: which mount holds a path", "[stack][mountinfo]") {
    auto table = parse_mountinfo(
        "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
        "2 1 8:2 / /data rw - xfs /dev/sda2 rw\n"
        "3 1 0:40 / /data/tmp rw - tmpfs tmpfs rw\n"
        "4 1 8:3 / /data rw - ext4 /dev/sda3 rw\n"      // mounted over /data later
        "5 1 8:1 /srv /bind rw - ext4 /dev/sda1 rw\n");
    REQUIRE(table);
    const auto& mounts = table->mounts;
    CHECK(find_mount(mounts, "/etc/passwd")->id == 1);
    CHECK(find_mount(mounts, "/data/x")->id == 4);      // the later mount shadows
    CHECK(find_mount(mounts, "/data")->id == 4);
    CHECK(find_mount(mounts, "/datafile")->id == 1);    // a prefix, not a parent folder
    CHECK(find_mount(mounts, "/data/tmp/f")->id == 3);
    // With st_dev from stat: the mount of that device wins over the longest prefix.
    CHECK(find_mount(mounts, "/data/x", DevNumber{8, 2})->id == 2);
    CHECK(find_mount(mounts, "/bind/f", DevNumber{8, 1})->id == 5);
    CHECK(find_mount(mounts, "/data/x", DevNumber{9, 9})->id == 4);   // unknown device: by path
}

TEST_CASE("file system kinds", "[stack][mountinfo]") {
    CHECK(fs_kind("ext4") == FsKind::block);
    CHECK(fs_kind("btrfs") == FsKind::block);
    CHECK(fs_kind("tmpfs") == FsKind::memory);
    CHECK(fs_kind("proc") == FsKind::kernel);
    CHECK(fs_kind("cgroup2") == FsKind::kernel);
    CHECK(fs_kind("overlay") == FsKind::overlay);
    CHECK(fs_kind("nfs4") == FsKind::network);
    CHECK(fs_kind("fuse.sshfs") == FsKind::network);
    CHECK(fs_kind("virtiofs") == FsKind::shared);
    CHECK(fs_kind_name(FsKind::shared) == "shared");
}

TEST_CASE("block devices: virtio-blk with four queues and its partition", "[stack][block]") {
    FixtureTree tree("guest");
    SysRoot root(tree.str());
    auto vda = block_device_by_name(root, "vda");
    REQUIRE(vda);
    CHECK(vda->dev == DevNumber{252, 0});
    CHECK(vda->driver == "virtio-blk");
    CHECK(vda->kernel_driver == "virtio_blk");
    CHECK(vda->size_bytes == 83886080ull * 512);
    CHECK_FALSE(vda->partition);
    REQUIRE(vda->queue);
    const QueueSettings& q = *vda->queue;
    CHECK(q.scheduler == "none");
    CHECK(q.schedulers == std::vector<std::string>{"none", "mq-deadline", "kyber", "bfq"});
    CHECK(q.nr_requests == 256);
    CHECK(q.max_sectors_kb == 1280);
    CHECK(q.max_hw_sectors_kb == 2147483647);
    CHECK(q.rotational == false);
    CHECK(q.logical_block_size == 512);
    CHECK(q.write_cache == "write back");
    CHECK(q.fua == false);
    CHECK(q.hw_queues == 4);
    CHECK(q.tags_per_queue == 256);
    CHECK_FALSE(vda->scsi);
    CHECK_FALSE(vda->loop);

    auto vda2 = block_device_by_dev(root, {252, 2});
    REQUIRE(vda2);
    CHECK(vda2->name == "vda2");
    CHECK(vda2->partition);
    CHECK(vda2->partition_number == 2);
    CHECK(vda2->parent == "vda");
    CHECK(vda2->driver == "virtio-blk");
    CHECK_FALSE(vda2->queue);   // a partition uses its disk's queue
}

TEST_CASE("block devices: virtio-scsi disk with its host's queue limits", "[stack][block]") {
    FixtureTree tree("guest");
    SysRoot root(tree.str());
    auto sda = block_device_by_name(root, "sda");
    REQUIRE(sda);
    CHECK(sda->driver == "virtio-scsi/sd");
    CHECK(sda->kernel_driver == "sd");
    CHECK(sda->model == "QEMU QEMU HARDDISK");
    REQUIRE(sda->scsi);
    CHECK(sda->scsi->name == "host0");
    CHECK(sda->scsi->proc_name == "virtio_scsi");
    CHECK(sda->scsi->can_queue == 256);
    CHECK(sda->scsi->cmd_per_lun == 128);
    CHECK(sda->scsi->nr_hw_queues == 4);
    CHECK(sda->scsi->device_queue_depth == 128);
    CHECK(sda->queue->scheduler == "mq-deadline");
    CHECK(sda->queue->rotational == true);
    CHECK(sda->queue->hw_queues == 4);
    auto sda1 = block_device_by_dev(root, {8, 1});
    REQUIRE(sda1);
    CHECK(sda1->driver == "virtio-scsi/sd");
    CHECK(sda1->parent == "sda");
}

TEST_CASE("block devices: nvme through its controller, md, dm and loop", "[stack][block]") {
    FixtureTree tree("guest");
    SysRoot root(tree.str());
    auto nvme = block_device_by_name(root, "nvme0n1");
    REQUIRE(nvme);
    CHECK(nvme->driver == "nvme");
    CHECK(nvme->queue->hw_queues == 2);
    CHECK(nvme->queue->tags_per_queue == 1023);

    auto md = block_device_by_name(root, "md0");
    REQUIRE(md);
    CHECK(md->driver == "md");
    REQUIRE(md->md);
    CHECK(md->md->level == "raid1");
    CHECK(md->md->raid_disks == 2);
    CHECK(md->slaves == std::vector<std::string>{"nvme0n1p1", "nvme1n1p1"});
    CHECK(md->queue->hw_queues == 0);   // bio-based

    auto dm = block_device_by_path(root, "/dev/mapper/vg0-data");
    REQUIRE(dm);
    CHECK(dm->name == "dm-0");
    CHECK(dm->driver == "device-mapper");
    REQUIRE(dm->dm);
    CHECK(dm->dm->name == "vg0-data");
    CHECK(dm->dm->target == "lvm");
    CHECK(dm->slaves == std::vector<std::string>{"md0"});
    CHECK(is_virtual_block_device(*dm));

    auto loop = block_device_by_dev(root, {7, 0});
    REQUIRE(loop);
    CHECK(loop->driver == "loop");
    REQUIRE(loop->loop);
    CHECK(loop->loop->backing_file == "/var/lib/images/disk.img");
    CHECK(loop->loop->direct_io == false);
    CHECK(loop->queue->tags_per_queue == 128);

    CHECK(block_disks(root) == std::vector<std::string>{"dm-0", "loop0", "md0", "nvme0n1", "nvme1n1", "sda",
                                                        "vda", "vdb"});
}

TEST_CASE("block devices: what is missing is named", "[stack][block]") {
    FixtureTree tree("guest");
    SysRoot root(tree.str());
    auto missing = block_device_by_dev(root, {1, 99});
    REQUIRE_FALSE(missing);
    CHECK(missing.error().kind == ErrorKind::not_found);
    CHECK(missing.error().message.find("1:99") != std::string::npos);
    CHECK(block_device_by_name(root, "../etc").error().kind == ErrorKind::not_found);
    CHECK(block_device_by_path(root, "/dev/nothing").error().kind == ErrorKind::not_found);
}
