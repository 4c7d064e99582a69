#include "stack/block_device.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <regex>

namespace iodiag::stack {
namespace {

bool all_digits(const std::string& text) {
    return !text.empty() &&
           std::all_of(text.begin(), text.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

std::optional<DevNumber> parse_dev(const std::string& text) {
    auto colon = text.find(':');
    if (colon == std::string::npos) return std::nullopt;
    DevNumber dev;
    auto major = std::from_chars(text.data(), text.data() + colon, dev.major);
    auto minor = std::from_chars(text.data() + colon + 1, text.data() + text.size(), dev.minor);
    if (major.ec != std::errc() || minor.ec != std::errc()) return std::nullopt;
    return dev;
}

// "none [mq-deadline] kyber" -> active "mq-deadline", all four offered.
void parse_scheduler(const std::string& line, QueueSettings& queue) {
    size_t start = 0;
    while (start < line.size()) {
        size_t end = line.find(' ', start);
        if (end == std::string::npos) end = line.size();
        std::string word = line.substr(start, end - start);
        start = end + 1;
        if (word.empty()) continue;
        if (word.front() == '[' && word.back() == ']') {
            word = word.substr(1, word.size() - 2);
            queue.scheduler = word;
        }
        queue.schedulers.push_back(word);
    }
    if (queue.scheduler.empty() && queue.schedulers.size() == 1) queue.scheduler = queue.schedulers[0];
}

std::optional<bool> read_bool(const SysRoot& root, const std::string& path) {
    auto value = root.read_int(path);
    if (!value) return std::nullopt;
    return *value != 0;
}

QueueSettings read_queue(const SysRoot& root, const std::string& dir) {
    QueueSettings queue;
    const std::string q = dir + "/queue/";
    if (auto line = root.read_line(q + "scheduler")) parse_scheduler(*line, queue);
    queue.nr_requests = root.read_int(q + "nr_requests");
    queue.max_sectors_kb = root.read_int(q + "max_sectors_kb");
    queue.max_hw_sectors_kb = root.read_int(q + "max_hw_sectors_kb");
    queue.read_ahead_kb = root.read_int(q + "read_ahead_kb");
    queue.rotational = read_bool(root, q + "rotational");
    queue.logical_block_size = root.read_int(q + "logical_block_size");
    queue.physical_block_size = root.read_int(q + "physical_block_size");
    queue.write_cache = root.read_line(q + "write_cache").value_or("");
    queue.fua = read_bool(root, q + "fua");
    for (const auto& entry : root.list(dir + "/mq"))
        if (all_digits(entry)) ++queue.hw_queues;
    if (queue.hw_queues) queue.tags_per_queue = root.read_int(dir + "/mq/0/nr_tags");
    return queue;
}

// The kernel driver bound to the device behind a disk: device/driver, or one more "device" hop
// up for class devices without a driver (nvme0n1 -> nvme0 -> the PCI function).
std::string kernel_driver_of(const SysRoot& root, const std::string& dir) {
    std::string device = dir + "/device";
    for (int hop = 0; hop < 3 && root.exists(device); ++hop, device += "/device")
        if (auto driver = root.link_name(device + "/driver")) return *driver;
    return {};
}

std::optional<ScsiHost> read_scsi_host(const SysRoot& root, const std::string& resolved_dir) {
    static const std::regex kHost("^host[0-9]+$");
    std::string prefix;
    std::string host;
    size_t start = 1;
    while (start < resolved_dir.size()) {
        size_t end = resolved_dir.find('/', start);
        if (end == std::string::npos) end = resolved_dir.size();
        std::string part = resolved_dir.substr(start, end - start);
        prefix += "/" + part;
        if (std::regex_match(part, kHost)) {
            host = part;
            break;
        }
        start = end + 1;
    }
    if (host.empty()) return std::nullopt;
    ScsiHost out;
    out.name = host;
    const std::string sh = prefix + "/scsi_host/" + host + "/";
    out.proc_name = root.read_line(sh + "proc_name").value_or("");
    out.can_queue = root.read_int(sh + "can_queue");
    out.cmd_per_lun = root.read_int(sh + "cmd_per_lun");
    out.nr_hw_queues = root.read_int(sh + "nr_hw_queues");
    out.device_queue_depth = root.read_int(resolved_dir + "/device/queue_depth");
    return out;
}

std::string dm_target(const std::string& uuid) {
    static const std::pair<const char*, const char*> kPrefixes[] = {
        {"LVM-", "lvm"}, {"CRYPT-", "crypt"}, {"mpath-", "multipath"}, {"part", "partition"},
        {"VDO-", "vdo"}, {"stratis-", "stratis"}};
    for (const auto& [prefix, target] : kPrefixes)
        if (uuid.rfind(prefix, 0) == 0) return target;
    return {};
}

std::string trimmed_join(const std::optional<std::string>& a, const std::optional<std::string>& b) {
    std::string out = a.value_or("");
    if (b && !b->empty()) out += (out.empty() ? "" : " ") + *b;
    return out;
}

// Fills driver, kernel_driver, scsi and model from a whole disk's folder.
void read_driver(const SysRoot& root, const std::string& dir, BlockDevice& device) {
    const std::string& name = device.name;
    if (root.is_dir(dir + "/loop") || (name.rfind("loop", 0) == 0 && !root.exists(dir + "/device"))) {
        device.driver = device.kernel_driver = "loop";
        return;
    }
    if (root.is_dir(dir + "/dm")) {
        device.driver = "device-mapper";
        device.kernel_driver = "dm";
        return;
    }
    if (root.is_dir(dir + "/md")) {
        device.driver = device.kernel_driver = "md";
        return;
    }
    for (const char* prefix : {"zram", "nbd", "rbd", "ram"}) {
        if (name.rfind(prefix, 0) == 0 && !root.exists(dir + "/device/driver")) {
            device.driver = device.kernel_driver = prefix == std::string("ram") ? "brd" : prefix;
            return;
        }
    }
    device.kernel_driver = kernel_driver_of(root, dir);
    // A vendor alone is a PCI id (virtio's 0x1af4), not a name.
    if (auto model = root.read_line(dir + "/device/model"))
        device.model = trimmed_join(root.read_line(dir + "/device/vendor"), model);
    const std::string& kd = device.kernel_driver;
    if (kd == "virtio_blk") device.driver = "virtio-blk";
    else if (kd == "vbd" || kd == "xen_blkfront") device.driver = "xen-blkfront";
    else if (kd == "nvme") device.driver = "nvme";
    else if (kd == "mmcblk") device.driver = "mmc";
    else device.driver = kd.empty() ? "unknown" : kd;
    if (kd == "sd" || kd == "sr") {
        device.scsi = read_scsi_host(root, dir);
        if (device.scsi && !device.scsi->proc_name.empty()) {
            std::string host = device.scsi->proc_name;
            std::replace(host.begin(), host.end(), '_', '-');
            device.driver = host + "/" + kd;
        }
    }
}

Result<BlockDevice> read_device(const SysRoot& root, const std::string& link, const std::string& what) {
    auto dir = root.resolve(link);
    if (!dir)
        return fail(ErrorKind::not_found, "no block device " + what + " in " + root.root() + "sys",
                    "is sysfs mounted? (ls /sys/class/block)");
    BlockDevice device;
    device.sys_path = *dir;
    device.name = base_name(*dir);
    auto dev_text = root.read_line(*dir + "/dev");
    auto dev = dev_text ? parse_dev(*dev_text) : std::nullopt;
    if (!dev) return fail(ErrorKind::bad_input, "sysfs has no device number for " + device.name);
    device.dev = *dev;
    if (auto sectors = root.read_int(*dir + "/size")) device.size_bytes = static_cast<uint64_t>(*sectors) * 512;

    if (root.exists(*dir + "/partition")) {
        device.partition = true;
        device.partition_number = root.read_int(*dir + "/partition");
        const std::string disk_dir = dir_name(*dir);
        device.parent = base_name(disk_dir);
        BlockDevice disk;
        disk.name = device.parent;
        read_driver(root, disk_dir, disk);
        device.driver = disk.driver;
        device.kernel_driver = disk.kernel_driver;
        device.model = disk.model;
        return device;
    }

    read_driver(root, *dir, device);
    device.queue = read_queue(root, *dir);
    if (device.kernel_driver == "loop" && root.is_dir(*dir + "/loop")) {
        LoopInfo loop;
        loop.backing_file = root.read_line(*dir + "/loop/backing_file").value_or("");
        loop.offset = root.read_int(*dir + "/loop/offset");
        loop.sizelimit = root.read_int(*dir + "/loop/sizelimit");
        loop.direct_io = read_bool(root, *dir + "/loop/dio");
        device.loop = std::move(loop);
    }
    if (device.kernel_driver == "dm") {
        DmInfo dm;
        dm.name = root.read_line(*dir + "/dm/name").value_or("");
        dm.uuid = root.read_line(*dir + "/dm/uuid").value_or("");
        dm.target = dm_target(dm.uuid);
        device.dm = std::move(dm);
    }
    if (device.kernel_driver == "md") {
        MdInfo md;
        md.level = root.read_line(*dir + "/md/level").value_or("");
        md.raid_disks = root.read_int(*dir + "/md/raid_disks");
        md.chunk_size = root.read_int(*dir + "/md/chunk_size");
        device.md = std::move(md);
    }
    device.slaves = root.list(*dir + "/slaves");
    return device;
}

}  // namespace

Result<BlockDevice> block_device_by_dev(const SysRoot& root, DevNumber dev) {
    return read_device(root, "/sys/dev/block/" + dev.str(), dev.str());
}

Result<BlockDevice> block_device_by_name(const SysRoot& root, const std::string& name) {
    if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
        return fail(ErrorKind::not_found, "not a block device name: " + name);
    return read_device(root, "/sys/class/block/" + name, name);
}

Result<BlockDevice> block_device_by_path(const SysRoot& root, const std::string& dev_path) {
    auto resolved = root.resolve(dev_path);
    if (!resolved) return fail(ErrorKind::not_found, "no such device: " + dev_path);
    return block_device_by_name(root, base_name(*resolved));
}

std::vector<std::string> block_disks(const SysRoot& root) { return root.list("/sys/block"); }

bool is_virtual_block_device(const BlockDevice& device) {
    static const char* kVirtual[] = {"loop", "dm", "md", "zram", "brd", "nbd", "rbd"};
    return std::any_of(std::begin(kVirtual), std::end(kVirtual),
                       [&](const char* name) { return device.kernel_driver == name; });
}

}  // namespace iodiag::stack
