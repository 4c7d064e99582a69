#include "stack/stack_rules.hpp"

#include <set>

namespace iodiag::stack {
namespace {

bool is_virtio(const std::string& driver) { return driver.rfind("virtio", 0) == 0; }

void loop_rules(const StackReport& report, std::vector<Finding>& out, std::set<std::string>& seen);

void loop_rules(const DeviceNode& node, std::vector<Finding>& out, std::set<std::string>& seen) {
    const BlockDevice& d = node.device;
    if (d.loop && d.loop->direct_io == false && !d.loop->backing_file.empty() && seen.insert(d.name).second) {
        Finding f;
        f.id = "stack.loop_buffered";
        f.severity = Severity::info;
        f.title = d.name + ": loop device without direct IO on " + d.loop->backing_file;
        f.why = "the loop device reads and writes its backing file through the page cache: data is cached "
                "twice, and its writes finish before they reach the backing file's disk";
        f.note_section = note::kWholeStack;
        f.evidence = {{"device", d.name}, {"backing_file", d.loop->backing_file}, {"direct_io", "off"}};
        out.push_back(std::move(f));
    }
    for (const auto& below : node.below) loop_rules(below, out, seen);
    for (const auto& backing : node.backing) loop_rules(backing, out, seen);
}

void loop_rules(const StackReport& report, std::vector<Finding>& out, std::set<std::string>& seen) {
    for (const auto& node : report.devices) loop_rules(node, out, seen);
    for (const auto& upper : report.upper) loop_rules(upper, out, seen);
}

}  // namespace

std::vector<Finding> stack_findings(const StackReport& report) {
    std::vector<Finding> out;
    std::set<std::string> seen;
    loop_rules(report, out, seen);
    return out;
}

std::vector<Finding> guest_findings(const VirtInfo& info) {
    std::vector<Finding> out;
    if (!info.guest) return out;
    for (const auto& disk : info.disks) {
        if (!is_virtio(disk.driver)) continue;
        if (info.cpus && disk.hw_queues > 0 && disk.hw_queues < *info.cpus) {
            Finding f;
            f.id = "guest.queues_lt_cpus";
            f.severity = Severity::warning;
            f.title = disk.name + ": " + std::to_string(disk.hw_queues) + " virtqueue" +
                      (disk.hw_queues == 1 ? "" : "s") + " for " + std::to_string(*info.cpus) + " vCPUs";
            f.why = "several vCPUs share each virtqueue, so their submissions contend for one queue and one "
                    "notification path; num-queues = vCPUs gives each its own";
            f.note_section = note::kEmulation;
            f.evidence = {{"disk", disk.name},
                          {"driver", disk.driver},
                          {"hw_queues", std::to_string(disk.hw_queues)},
                          {"cpus", std::to_string(*info.cpus)}};
            out.push_back(std::move(f));
        }
        if (disk.write_cache == "write through") {
            Finding f;
            f.id = "guest.host_writethrough";
            f.severity = Severity::info;
            f.title = disk.name + ": the host offers no write-back cache (cache=writethrough or directsync)";
            f.why = "the host completes each write only once it is durable, so every write costs what a "
                    "sync write costs; compare fio --rw=write --sync=1 in guest and host";
            f.note_section = note::kSyncWrite;
            f.evidence = {{"disk", disk.name}, {"driver", disk.driver}, {"write_cache", disk.write_cache}};
            out.push_back(std::move(f));
        }
    }
    return out;
}

}  // namespace iodiag::stack
