// What a VM's configuration says about its disks, whichever way it was written (a QEMU command
// line with -drive or -blockdev, or a libvirt domain XML): per disk the image chain, the effective
// cache mode, aio, the iothread and the controller with its queues.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace iodiag::stack {

// QEMU's three cache switches. The named modes are the -drive cache= shorthands:
//   writeback: writeback           none: writeback + direct      writethrough: (neither)
//   directsync: direct             unsafe: writeback + no-flush
struct CacheMode {
    bool writeback = true;   // the guest sees a volatile write cache (device write-cache)
    bool direct = false;     // O_DIRECT on the host file or device (bypasses the page cache)
    bool no_flush = false;   // guest flushes are dropped
    // The -drive name, or "custom(writeback=..,direct=..,no-flush=..)".
    std::string name() const;
    bool operator==(const CacheMode&) const = default;
};

// Parses cache=writeback|none|writethrough|directsync|unsafe; nullopt for anything else.
std::optional<CacheMode> cache_mode_from_name(const std::string& name);

// One image in a disk's chain, the active one first.
struct ImageLayer {
    std::string path;            // file or device name, or a network URI (rbd:pool/image)
    std::string protocol;        // file, host_device, nbd, rbd, iscsi, ...
    std::string format;          // qcow2, raw, ...; empty when the configuration does not say
    std::string format_source;   // "command line", "domain XML"; the inspector adds "image header"
};

struct Controller {
    std::string type;            // virtio-blk, virtio-scsi, ide, ahci, scsi (lsi, megasas), nvme, usb
    std::string id;              // the device id (virtio-blk: the disk device itself)
    std::string model;           // QEMU device driver: virtio-blk-pci, virtio-scsi-pci, ...
    std::optional<int64_t> num_queues;
    std::optional<int64_t> queue_size;    // virtio-blk queue-size / virtio-scsi virtqueue_size
    std::optional<int64_t> cmd_per_lun;   // virtio-scsi
    std::optional<int64_t> max_sectors;   // virtio-scsi
};

struct DiskConfig {
    std::string id;              // device id (or drive id when there is no device id)
    std::string target;          // the guest-side name in a domain XML (vda, sdb)
    std::string device_model;    // virtio-blk-pci, scsi-hd, ide-hd, ...
    std::string media = "disk";  // disk, cdrom, lun
    std::vector<ImageLayer> chain;
    bool chain_complete = false; // the configuration names every backing layer (else follow the
                                 // image headers from the last layer)
    CacheMode cache;
    std::string aio = "threads"; // threads, native, io_uring
    std::vector<std::string> iothreads;   // serving this disk; empty = the main loop
    Controller controller;
    bool read_only = false;
    std::vector<std::string> defaulted;   // fields the configuration left to QEMU's defaults
    std::vector<std::string> notes;
};

struct VmConfig {
    std::string source;          // pid, cmdline, domxml
    std::string name;
    std::string emulator;        // the QEMU binary
    std::optional<int64_t> vcpus;
    std::string machine;
    std::string accel;           // kvm, tcg, ...
    std::vector<std::string> iothreads;   // iothread object ids
    bool thread_names = false;   // -name debug-threads=on (QEMU names its threads)
    std::vector<DiskConfig> disks;
    std::vector<std::string> notes;
};

// Cross-checks both ways between iothread objects and the disks naming them, as notes.
void note_iothread_use(VmConfig& vm);

}  // namespace iodiag::stack
