#include "stack/virtualization.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace iodiag::stack {
namespace {

struct Signature {
    const char* signature;
    const char* hypervisor;
};

// CPUID leaf 0x40000000 vendor signatures (12 bytes, NULs trimmed).
constexpr Signature kSignatures[] = {
    {"KVMKVMKVM", "kvm"},         {"Linux KVM Hv", "kvm"},       {"Microsoft Hv", "hyper-v"},
    {"VMwareVMware", "vmware"},   {"XenVMMXenVMM", "xen"},       {"TCGTCGTCGTCG", "qemu-tcg"},
    {"bhyve bhyve ", "bhyve"},    {"ACRNACRNACRN", "acrn"},      {" lrpepyh  vr", "parallels"},
    {"VBoxVBoxVBox", "virtualbox"}, {"QNXQVMBSQG", "qnx"},       {"SRESRESRESRE", "sre"},
};

struct DmiVendor {
    const char* needle;   // found in sys_vendor or product_name
    const char* hypervisor;
};

constexpr DmiVendor kDmiVendors[] = {
    {"QEMU", "kvm"},          {"KVM", "kvm"},            {"OpenStack", "kvm"},
    {"Google Compute Engine", "kvm"}, {"Amazon EC2", "kvm"}, {"VMware", "vmware"},
    {"Microsoft Corporation", "hyper-v"}, {"innotek", "virtualbox"}, {"VirtualBox", "virtualbox"},
    {"Xen", "xen"},           {"Parallels", "parallels"}, {"BHYVE", "bhyve"},
    {"Bochs", "bochs"},
};

std::string hypervisor_of_signature(const std::string& signature) {
    for (const auto& known : kSignatures)
        if (signature == known.signature) return known.hypervisor;
    return {};
}

bool cpuinfo_has_hypervisor_flag(const SysRoot& root) {
    auto text = root.read("/proc/cpuinfo");
    if (!text) return false;
    size_t pos = 0;
    while ((pos = text->find("flags", pos)) != std::string::npos) {
        size_t end = text->find('\n', pos);
        std::string line = text->substr(pos, end == std::string::npos ? std::string::npos : end - pos);
        if ((" " + line + " ").find(" hypervisor ") != std::string::npos) return true;
        pos = end;
    }
    return false;
}

}  // namespace

std::optional<CpuidInfo> read_cpuid() {
#if defined(__x86_64__) || defined(__i386__)
    CpuidInfo info;
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return info;
    info.hypervisor_bit = (c >> 31) & 1u;
    if (!info.hypervisor_bit) return info;   // the 0x4000_0000 leaves mean nothing on bare metal
    for (unsigned leaf : {0x40000000u, 0x40000100u}) {
        __cpuid(leaf, a, b, c, d);
        char text[13] = {};
        std::memcpy(text + 0, &b, 4);
        std::memcpy(text + 4, &c, 4);
        std::memcpy(text + 8, &d, 4);
        std::string signature(text, strnlen(text, 12));
        if (!signature.empty() && std::all_of(signature.begin(), signature.end(),
                                              [](char ch) { return ch >= 0x20 && ch < 0x7f; }))
            info.signatures.push_back(signature);
    }
    return info;
#else
    return std::nullopt;
#endif
}

std::optional<int> count_cpu_list(const std::string& list) {
    int count = 0;
    size_t start = 0;
    if (list.empty()) return std::nullopt;
    while (start < list.size()) {
        size_t end = list.find(',', start);
        if (end == std::string::npos) end = list.size();
        std::string_view item(list.data() + start, end - start);
        start = end + 1;
        size_t dash = item.find('-');
        int first = 0, last = 0;
        auto parse = [](std::string_view text, int& out) {
            auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
            return ec == std::errc() && ptr == text.data() + text.size();
        };
        if (dash == std::string_view::npos) {
            if (!parse(item, first)) return std::nullopt;
            last = first;
        } else if (!parse(item.substr(0, dash), first) || !parse(item.substr(dash + 1), last) ||
                   last < first) {
            return std::nullopt;
        }
        count += last - first + 1;
    }
    return count;
}

VirtInfo detect_virtualization(const SysRoot& root, const std::optional<CpuidInfo>& cpuid) {
    VirtInfo info;
    std::string from_cpuid, from_sys, from_dmi;

    if (cpuid) {
        if (cpuid->hypervisor_bit) info.evidence.push_back("cpuid: hypervisor bit set");
        for (const auto& signature : cpuid->signatures) {
            std::string hv = hypervisor_of_signature(signature);
            info.evidence.push_back("cpuid 0x40000000: \"" + signature + "\"" +
                                    (hv.empty() ? "" : " (" + hv + ")"));
            // KVM with Hyper-V enlightenments shows Hyper-V first and KVM at 0x40000100.
            if (!hv.empty() && (from_cpuid.empty() || hv == "kvm")) from_cpuid = hv;
        }
    }
    const bool flag = cpuinfo_has_hypervisor_flag(root);
    if (flag) info.evidence.push_back("/proc/cpuinfo: hypervisor flag");
    if (auto type = root.read_line("/sys/hypervisor/type"); type && !type->empty()) {
        from_sys = *type;
        info.evidence.push_back("/sys/hypervisor/type: " + *type);
    }
    auto vendor = root.read_line("/sys/class/dmi/id/sys_vendor").value_or("");
    auto product = root.read_line("/sys/class/dmi/id/product_name").value_or("");
    info.product = vendor + (vendor.empty() || product.empty() ? "" : " ") + product;
    for (const auto& known : kDmiVendors) {
        if (vendor.find(known.needle) != std::string::npos ||
            product.find(known.needle) != std::string::npos) {
            from_dmi = known.hypervisor;
            info.evidence.push_back("DMI: " + info.product);
            break;
        }
    }

    const bool bit = cpuid && cpuid->hypervisor_bit;
    info.guest = bit || flag || !from_cpuid.empty() || !from_sys.empty() || !from_dmi.empty();
    if (!from_cpuid.empty()) info.hypervisor = from_cpuid;
    else if (!from_sys.empty()) info.hypervisor = from_sys;
    else if (!from_dmi.empty()) info.hypervisor = from_dmi;
    else if (info.guest) info.hypervisor = "unknown";
    if (info.evidence.empty()) info.evidence.push_back("no hypervisor seen (cpuid, cpuinfo, DMI, /sys/hypervisor)");

    if (auto online = root.read_line("/sys/devices/system/cpu/online")) info.cpus = count_cpu_list(*online);

    if (!info.guest) return info;
    for (const auto& name : block_disks(root)) {
        auto device = block_device_by_name(root, name);
        if (!device || is_virtual_block_device(*device)) continue;
        GuestDisk disk;
        disk.name = device->name;
        disk.driver = device->driver;
        disk.size_bytes = device->size_bytes;
        if (device->queue) {
            disk.hw_queues = device->queue->hw_queues;
            disk.tags_per_queue = device->queue->tags_per_queue;
            disk.nr_requests = device->queue->nr_requests;
            disk.write_cache = device->queue->write_cache;
            disk.scheduler = device->queue->scheduler;
        }
        if (device->scsi) {
            disk.scsi_can_queue = device->scsi->can_queue;
            disk.scsi_cmd_per_lun = device->scsi->cmd_per_lun;
            disk.scsi_queue_depth = device->scsi->device_queue_depth;
        }
        info.disks.push_back(std::move(disk));
    }
    return info;
}

}  // namespace iodiag::stack
