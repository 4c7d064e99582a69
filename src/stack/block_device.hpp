// One block device as sysfs describes it: what driver serves it, its request queue settings, its
// hardware queues and tags, and what sits below it (partition's disk, loop's backing file, the
// slaves of dm and md). Reading only; the chain is assembled by the stack inspector.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "stack/mountinfo.hpp"
#include "stack/sysroot.hpp"

namespace iodiag::stack {

struct QueueSettings {
    std::string scheduler;                  // the active one ("none" when none)
    std::vector<std::string> schedulers;    // all the kernel offers for this queue
    std::optional<int64_t> nr_requests;
    std::optional<int64_t> max_sectors_kb;
    std::optional<int64_t> max_hw_sectors_kb;
    std::optional<int64_t> read_ahead_kb;
    std::optional<bool> rotational;
    std::optional<int64_t> logical_block_size;
    std::optional<int64_t> physical_block_size;
    std::string write_cache;                // "write back" / "write through" / "" unknown
    std::optional<bool> fua;
    int hw_queues = 0;                      // mq/ entries; 0 for bio-based devices (dm, md)
    std::optional<int64_t> tags_per_queue;  // mq/0/nr_tags: requests in flight per hw queue
};

// The SCSI host an sd disk hangs on (virtio-scsi, ahci, a HBA) and the disk's own depth.
struct ScsiHost {
    std::string name;                         // host0
    std::string proc_name;                    // virtio_scsi, ahci, mpt3sas
    std::optional<int64_t> can_queue;         // commands in flight on the whole host
    std::optional<int64_t> cmd_per_lun;       // default depth per LUN
    std::optional<int64_t> nr_hw_queues;
    std::optional<int64_t> device_queue_depth;  // this LUN's current queue_depth
};

struct LoopInfo {
    std::string backing_file;
    std::optional<int64_t> offset;
    std::optional<int64_t> sizelimit;
    std::optional<bool> direct_io;   // loop/dio: the loop driver uses O_DIRECT on the file
};

struct DmInfo {
    std::string name;     // vg0-data
    std::string uuid;     // LVM-..., CRYPT-..., mpath-...
    std::string target;   // lvm, crypt, multipath, or "" when the uuid does not say
};

struct MdInfo {
    std::string level;    // raid1
    std::optional<int64_t> raid_disks;
    std::optional<int64_t> chunk_size;
};

struct BlockDevice {
    std::string name;            // vda, vda1, dm-0, loop0, nvme0n1
    DevNumber dev;
    std::string sys_path;        // resolved sysfs folder, inside the root
    bool partition = false;
    std::string parent;          // the disk of a partition
    std::optional<int64_t> partition_number;
    uint64_t size_bytes = 0;
    std::string driver;          // virtio-blk, virtio-scsi/sd, nvme, loop, device-mapper, md, ...
    std::string kernel_driver;   // as sysfs names it: virtio_blk, sd, nvme
    std::string model;           // vendor and model when sysfs has them
    std::optional<QueueSettings> queue;  // whole disks only (a partition uses its disk's)
    std::optional<ScsiHost> scsi;
    std::optional<LoopInfo> loop;
    std::optional<DmInfo> dm;
    std::optional<MdInfo> md;
    std::vector<std::string> slaves;     // devices below a dm or md device
};

// A device by its number (/sys/dev/block/M:m), its kernel name (/sys/class/block/NAME) or a
// /dev path (its symlinks resolved inside the root). not_found names what was looked up.
Result<BlockDevice> block_device_by_dev(const SysRoot& root, DevNumber dev);
Result<BlockDevice> block_device_by_name(const SysRoot& root, const std::string& name);
Result<BlockDevice> block_device_by_path(const SysRoot& root, const std::string& dev_path);

// The whole disks of the machine (/sys/block), sorted by name.
std::vector<std::string> block_disks(const SysRoot& root);

// True for devices that stack on others or on memory (loop, dm, md, zram, ram, nbd): not a disk
// a hypervisor or controller provides.
bool is_virtual_block_device(const BlockDevice& device);

}  // namespace iodiag::stack
