#include "stack/kvm_rules.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "common/units.hpp"

namespace iodiag::stack {
namespace {

// A workload-dependent rule: warning when the hint says the workload has the property, info when
// nobody knows, silent when the hint says it does not.
std::optional<Severity> depends(const std::optional<bool>& property) {
    if (!property) return Severity::info;
    if (*property) return Severity::warning;
    return std::nullopt;
}

std::string workload_evidence(const std::optional<bool>& property, const char* what, const WorkloadHint& hint) {
    if (!property) return "unknown (pass --model model.json)";
    return std::string(*property ? "" : "not ") + what + " (" + hint.source + ")";
}

Finding make(const DiskReport& disk, const char* id, Severity severity, std::string title, const char* why,
             const char* section) {
    Finding f;
    f.id = id;
    f.severity = severity;
    f.title = disk.config.id + ": " + std::move(title);
    f.why = why;
    f.note_section = section;
    f.evidence = {{"disk", disk.config.id}};
    return f;
}

bool is_virtio(const Controller& controller) { return controller.type.rfind("virtio-", 0) == 0; }

// The devices at the bottom of a host stack (through loop backing files): where data lands.
void leaf_devices(const StackReport& report, std::vector<const BlockDevice*>& out);
void leaf_devices(const DeviceNode& node, std::vector<const BlockDevice*>& out) {
    for (const auto& backing : node.backing) leaf_devices(backing, out);
    for (const auto& below : node.below) leaf_devices(below, out);
    if (node.below.empty() && node.backing.empty() && node.device.queue) out.push_back(&node.device);
}
void leaf_devices(const StackReport& report, std::vector<const BlockDevice*>& out) {
    for (const auto& node : report.devices) leaf_devices(node, out);
    for (const auto& upper : report.upper) leaf_devices(upper, out);
}

void disk_rules(const DiskReport& disk, const WorkloadHint& hint, std::vector<Finding>& out) {
    const DiskConfig& c = disk.config;
    const std::string mode = c.cache.name();
    if (c.media == "cdrom") return;   // read-only media: no write path to judge

    if (c.cache.no_flush) {
        Finding f = make(disk, "kvm.cache_unsafe", Severity::warning, "cache=" + mode + ": guest flushes are dropped",
                         "the guest's fsync and fdatasync return before the data leaves the host page cache: a "
                         "host crash loses writes the guest was told are durable, and guest sync-write numbers "
                         "look better than the storage is",
                         note::kEmulation);
        f.evidence.push_back({"cache", mode});
        out.push_back(std::move(f));
    }
    if (c.cache.direct && c.aio == "threads") {
        Finding f = make(disk, "kvm.cache_none_aio_threads", Severity::warning,
                         "cache=" + mode + " (O_DIRECT) with aio=threads",
                         "each request is handed to a thread-pool worker that blocks in pread/pwrite: a wakeup and "
                         "a context switch per IO; aio=native or io_uring submits O_DIRECT IO asynchronously from "
                         "the iothread",
                         note::kEmulation);
        f.evidence.push_back({"cache", mode});
        f.evidence.push_back({"aio", c.aio});
        out.push_back(std::move(f));
    }
    if (!c.cache.direct && c.aio == "native") {
        Finding f = make(disk, "kvm.aio_native_buffered", Severity::warning, "aio=native without cache.direct",
                         "Linux AIO on buffered files blocks inside io_submit, stalling the thread that submits "
                         "(recent QEMU refuses the combination); use cache=none with aio=native",
                         note::kEmulation);
        f.evidence.push_back({"cache", mode});
        f.evidence.push_back({"aio", c.aio});
        out.push_back(std::move(f));
    }
    if (!c.cache.writeback && !c.read_only) {
        if (auto severity = depends(hint.write_heavy)) {
            Finding f = make(disk, "kvm.writethrough", *severity,
                             "cache=" + mode + ": the guest sees no write-back cache",
                             "QEMU makes every write durable before completing it (O_DSYNC or a flush per write), "
                             "so each write costs a sync write; fio --rw=write --sync=1 on the host shows that cost",
                             note::kSyncWrite);
            f.evidence.push_back({"cache", mode});
            f.evidence.push_back({"workload", workload_evidence(hint.write_heavy, "write-heavy", hint)});
            out.push_back(std::move(f));
        }
    }

    if (disk.chain.empty()) return;
    const LayerReport& active = disk.chain.front();
    for (const auto& layer : disk.chain) {
        if (!layer.info || layer.layer.format.empty() || layer.layer.format == layer.info->format) continue;
        Finding f = make(disk, "kvm.format_mismatch", Severity::critical,
                         layer.layer.path + " opened as " + layer.layer.format + " holds " + layer.info->format,
                         layer.layer.format == "raw"
                             ? "the guest sees the image's own metadata as disk content, and its writes corrupt it"
                             : "QEMU will refuse to open it, or read it wrongly",
                         note::kEmulation);
        f.evidence.push_back({"configured", layer.layer.format});
        f.evidence.push_back({"header", layer.info->format});
        out.push_back(std::move(f));
    }
    if (active.info && active.info->format == "qcow2" && active.layer.format == "qcow2" && !c.read_only &&
        (active.info->allocation == "sparse" || active.info->allocation == "metadata")) {
        if (auto severity = depends(hint.write_heavy)) {
            const ImageInfo& info = *active.info;
            Finding f = make(disk, "kvm.qcow2_not_allocated", *severity,
                             "qcow2 image not preallocated (" + info.allocation + ")",
                             "a first write to an unallocated cluster allocates it: extra metadata writes (L2 and "
                             "refcount tables) and flushes, until the image is full; preallocation=falloc or a raw "
                             "image avoids it",
                             note::kEmulation);
            f.evidence.push_back({"image", active.layer.path});
            f.evidence.push_back({"allocation", info.allocation});
            f.evidence.push_back({"allocated", human_bytes(info.allocated_bytes.value_or(0))});
            f.evidence.push_back({"virtual_size", human_bytes(info.virtual_size)});
            if (info.cluster_size) f.evidence.push_back({"cluster_size", human_bytes(*info.cluster_size)});
            f.evidence.push_back({"workload", workload_evidence(hint.write_heavy, "write-heavy", hint)});
            out.push_back(std::move(f));
        }
    }
    if (disk.chain.size() > 1) {
        Finding f = make(disk, "kvm.backing_chain", Severity::info,
                         fmt::format("a chain of {} images", disk.chain.size()),
                         "a read of a cluster the top image does not hold goes down the chain, one more lookup "
                         "(and file) per layer; commit or stream the chain when reads matter",
                         note::kEmulation);
        std::string chain;
        for (const auto& layer : disk.chain)
            chain += (chain.empty() ? "" : " -> ") + layer.layer.path + " (" + layer.layer.format + ")";
        f.evidence.push_back({"chain", chain});
        out.push_back(std::move(f));
    }
    if (disk.host_stack && !c.read_only) {
        std::vector<const BlockDevice*> leaves;
        leaf_devices(*disk.host_stack, leaves);
        for (const BlockDevice* device : leaves) {
            const std::string& wc = device->queue->write_cache;
            if (wc.empty()) continue;
            const bool volatile_cache = wc == "write back";
            const char* why =
                !volatile_cache ? "the device reports no volatile cache: flushes cost little, and write latency is "
                                  "the medium's own"
                : c.cache.no_flush ? "the guest's flushes are dropped before they reach this volatile cache: what "
                                     "the guest made durable can be lost with the host's power"
                                   : "each guest flush becomes a cache flush on this device, so a sync-heavy guest "
                                     "pays its flush latency; fio --rw=write --sync=1 on the host measures it";
            Finding f = make(disk, "kvm.host_write_cache", Severity::info,
                             "host device " + device->name + " has a " + wc + " cache", why, note::kEmulation);
            f.evidence.push_back({"device", device->name});
            f.evidence.push_back({"driver", device->driver});
            f.evidence.push_back({"write_cache", wc});
            f.evidence.push_back({"guest_cache", mode});
            out.push_back(std::move(f));
        }
    }
}

// Rules about a controller (its queues, its iothread) speak once for all the disks on it.
void controller_rules(const KvmReport& report, const WorkloadHint& hint, std::vector<Finding>& out) {
    std::vector<std::string> seen;
    for (const auto& first : report.disks) {
        const Controller& k = first.config.controller;
        const std::string key = k.type + " " + k.id;
        if (!is_virtio(k) || std::find(seen.begin(), seen.end(), key) != seen.end()) continue;
        seen.push_back(key);
        std::string disks;
        for (const auto& disk : report.disks)
            if (disk.config.controller.type == k.type && disk.config.controller.id == k.id)
                disks += (disks.empty() ? "" : ",") + disk.config.id;
        const std::string subject = k.id.empty() ? first.config.id : k.id;
        auto make_for = [&](const char* id, Severity severity, std::string title, const char* why) {
            Finding f;
            f.id = id;
            f.severity = severity;
            f.title = subject + ": " + std::move(title);
            f.why = why;
            f.note_section = note::kEmulation;
            f.evidence = {{"controller", key}, {"disks", disks}};
            return f;
        };
        if (first.config.iothreads.empty()) {
            if (auto severity = depends(hint.busy)) {
                Finding f = make_for("kvm.no_iothread", *severity, "no iothread: served by QEMU's main loop",
                                     "the main loop also runs device emulation, timers, the monitor and the display, "
                                     "under the global lock; a busy disk competes with all of it (add -object "
                                     "iothread and iothread= on the controller)");
                f.evidence.push_back({"workload", workload_evidence(hint.busy, "busy", hint)});
                out.push_back(std::move(f));
            }
        }
        if (k.num_queues && report.vm.vcpus && *k.num_queues < *report.vm.vcpus) {
            Finding f = make_for("kvm.queues_lt_vcpus", Severity::warning,
                                 fmt::format("{} with {} queue{} for {} vCPUs", k.type, *k.num_queues,
                                             *k.num_queues == 1 ? "" : "s", *report.vm.vcpus),
                                 "several vCPUs share each virtqueue: their submissions contend for one queue and "
                                 "one notification path; num-queues = vCPUs gives each its own");
            f.evidence.push_back({"num_queues", std::to_string(*k.num_queues)});
            f.evidence.push_back({"vcpus", std::to_string(*report.vm.vcpus)});
            out.push_back(std::move(f));
        }
    }
}

}  // namespace

std::vector<Finding> kvm_findings(const KvmReport& report, const WorkloadHint& hint) {
    std::vector<Finding> out;
    controller_rules(report, hint, out);
    for (const auto& disk : report.disks) disk_rules(disk, hint, out);
    return out;
}

}  // namespace iodiag::stack
