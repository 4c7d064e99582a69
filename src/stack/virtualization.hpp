// Are we a guest, and under which hypervisor? Evidence from CPUID (the hypervisor bit and the
// vendor signature at leaf 0x40000000), /proc/cpuinfo, DMI and /sys/hypervisor. In a guest, the
// virtual disks the hypervisor gives us, with their queues and depth.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "stack/block_device.hpp"
#include "stack/sysroot.hpp"

namespace iodiag::stack {

struct CpuidInfo {
    bool hypervisor_bit = false;
    std::vector<std::string> signatures;   // leaves 0x40000000 and 0x40000100, NULs trimmed
};

// The real CPUID of this CPU; nullopt where there is no CPUID (not x86).
std::optional<CpuidInfo> read_cpuid();

struct GuestDisk {
    std::string name;
    std::string driver;                      // virtio-blk, virtio-scsi/sd, nvme, xen-blkfront, ...
    uint64_t size_bytes = 0;
    int hw_queues = 0;
    std::optional<int64_t> tags_per_queue;   // the depth each queue can have in flight
    std::optional<int64_t> nr_requests;
    std::optional<int64_t> scsi_can_queue;   // virtio-scsi: the virtqueue size
    std::optional<int64_t> scsi_cmd_per_lun;
    std::optional<int64_t> scsi_queue_depth; // this LUN's depth
    std::string write_cache;                 // write back / write through, as the host exposes it
    std::string scheduler;
};

struct VirtInfo {
    bool guest = false;
    std::string hypervisor;                  // kvm, xen, vmware, hyper-v, qemu-tcg, ..., unknown
    std::string product;                     // DMI vendor and product name, when present
    std::vector<std::string> evidence;       // what said so
    std::optional<int> cpus;                 // online CPUs
    std::vector<GuestDisk> disks;            // in a guest: the disks the hypervisor provides
};

// `cpuid` is read_cpuid() on the live system and nullopt (or a fake) for a snapshot root.
VirtInfo detect_virtualization(const SysRoot& root, const std::optional<CpuidInfo>& cpuid);

// "0-3,6,8-9" -> 7; nullopt when malformed.
std::optional<int> count_cpu_list(const std::string& list);

}  // namespace iodiag::stack
