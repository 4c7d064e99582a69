#include "stack/qemu_config.hpp"

#include <algorithm>
#include <array>
#include <map>

#include "stack/qemu_keyval.hpp"
#include "stack/sysroot.hpp"

namespace iodiag::stack {
namespace {

constexpr int kMaxGraphDepth = 32;   // guards against node reference loops

constexpr std::array<std::string_view, 14> kFormats = {
    "qcow2", "qcow", "raw", "vmdk", "vdi", "vhdx", "vpc", "qed", "luks", "parallels",
    "bochs", "cloop", "dmg", "vvfat"};
constexpr std::array<std::string_view, 9> kFilters = {
    "throttle", "copy-on-read", "preallocate", "compress", "blklogwrites", "blkdebug",
    "snapshot-access", "copy-before-write", "replication"};
constexpr std::array<std::string_view, 11> kScsiControllers = {
    "virtio-scsi-pci", "virtio-scsi-pci-non-transitional", "virtio-scsi-pci-transitional",
    "virtio-scsi-device", "virtio-scsi-ccw", "lsi53c895a", "lsi53c810", "megasas",
    "megasas-gen2", "mptsas1068", "pvscsi"};

template <size_t N>
bool in(const std::array<std::string_view, N>& list, std::string_view value) {
    return std::find(list.begin(), list.end(), value) != list.end();
}

bool starts_with(std::string_view text, std::string_view prefix) {
    return text.substr(0, prefix.size()) == prefix;
}

bool is_virtio_blk(std::string_view driver) {
    return starts_with(driver, "virtio-blk") && !starts_with(driver, "virtio-blk-vhost");
}

std::string controller_type(std::string_view driver) {
    if (is_virtio_blk(driver)) return "virtio-blk";
    if (starts_with(driver, "virtio-scsi")) return "virtio-scsi";
    if (driver == "ahci" || driver == "ich9-ahci") return "ahci";
    if (starts_with(driver, "nvme")) return "nvme";
    if (starts_with(driver, "usb-")) return "usb";
    if (in(kScsiControllers, driver)) return "scsi (" + std::string(driver) + ")";
    return std::string(driver);
}

// Where a protocol node reads and writes: a file, a device, or a network address.
std::string protocol_path(const ordered_json& node, const std::string& driver) {
    if (auto name = get_string(node, "filename")) return *name;
    if (driver == "nbd") {
        std::string server = get_string(node, "server.host").value_or(get_string(node, "server.path").value_or("?"));
        return "nbd://" + server + "/" + get_string(node, "export").value_or("");
    }
    if (driver == "rbd")
        return "rbd:" + get_string(node, "pool").value_or("?") + "/" + get_string(node, "image").value_or("?");
    if (driver == "iscsi")
        return "iscsi://" + get_string(node, "portal").value_or("?") + "/" +
               get_string(node, "target").value_or("?") + "/" + get_string(node, "lun").value_or("0");
    if (driver == "nvme")
        return "nvme://" + get_string(node, "device").value_or("?") + "/" +
               get_string(node, "namespace").value_or("1");
    if (auto url = get_string(node, "url")) return *url;
    if (auto path = get_string(node, "path")) return *path;
    return driver;
}

// The protocol a -drive file= name implies.
std::string protocol_of_name(const std::string& name) {
    static const std::pair<const char*, const char*> kPrefixes[] = {
        {"/dev/", "host_device"}, {"rbd:", "rbd"},   {"nbd:", "nbd"},     {"nbd+", "nbd"},
        {"iscsi:", "iscsi"},      {"gluster", "gluster"}, {"http:", "http"}, {"https:", "https"},
        {"ssh:", "ssh"},          {"nfs:", "nfs"},   {"json:", "json"}};
    for (const auto& [prefix, protocol] : kPrefixes)
        if (starts_with(name, prefix)) return protocol;
    return "file";
}

std::vector<std::string> iothreads_of(const ordered_json& spec) {
    std::vector<std::string> out;
    if (auto single = get_string(spec, "iothread")) out.push_back(*single);
    // QEMU 9: one iothread per virtqueue group, as a list (JSON) or numbered keys (keyval).
    if (const ordered_json* mapping = find_value(spec, "iothread-vq-mapping")) {
        for (const auto& item : *mapping)
            if (auto id = get_string(item, "iothread");
                id && std::find(out.begin(), out.end(), *id) == out.end())
                out.push_back(*id);
    }
    return out;
}

// RHEL's qemu-kvm and Debian's old kvm wrapper default to KVM; qemu-system-* to TCG.
bool base_name_is_kvm(const std::string& binary) {
    const std::string name = base_name(binary);
    return name == "qemu-kvm" || name == "kvm";
}

void merge_missing(ordered_json& into, const ordered_json& defaults) {
    for (auto it = defaults.begin(); it != defaults.end(); ++it)
        if (!into.contains(it.key())) into[it.key()] = it.value();
}

struct Drive {
    std::string id;
    ordered_json spec;
    std::string iface;
    bool used = false;
};

struct Device {
    std::string driver;
    std::string id;
    ordered_json spec;
};

class Builder {
public:
    Result<VmConfig> build(const QemuCommandLine& cmdline);

private:
    Status read_option(const QemuOption& option);
    Status add_drive(KeyvalPairs pairs);
    void add_legacy_drive(const std::string& file, const std::string& iface, int index,
                          const std::string& media = "disk");
    void disk_for_device(const Device& device);
    void disk_for_drive(Drive& drive);
    void backend_from_drive(const Drive& drive, DiskConfig& disk);
    void backend_from_node(const ordered_json& ref, DiskConfig& disk);
    const ordered_json* resolve(const ordered_json& ref, std::vector<std::string>& notes) const;
    void controller_for(const Device& device, DiskConfig& disk) const;
    void apply_device_cache(const ordered_json& spec, DiskConfig& disk) const;

    VmConfig vm_;
    std::map<std::string, ordered_json> nodes_;    // -blockdev node-name -> spec
    std::vector<Drive> drives_;
    std::vector<Device> devices_;
    std::map<std::string, ordered_json> globals_;  // -global driver.prop=value
    std::optional<ordered_json> smp_;
    std::map<std::string, int> auto_ids_;
};

Status Builder::read_option(const QemuOption& option) {
    const std::string& name = option.name;
    const std::string dashed = "-" + name;
    auto parse = [&](std::string_view implied) { return parse_option_value(option.value, implied, dashed); };

    if (name == "name") {
        auto spec = parse("guest");
        if (!spec) return tl::unexpected(spec.error());
        vm_.name = get_string(*spec, "guest").value_or("");
        vm_.thread_names = get_bool(*spec, "debug-threads").value_or(false);
    } else if (name == "smp") {
        auto spec = parse("cpus");
        if (!spec) return tl::unexpected(spec.error());
        smp_ = std::move(*spec);
    } else if (name == "machine" || name == "M") {
        auto spec = parse("type");
        if (!spec) return tl::unexpected(spec.error());
        vm_.machine = get_string(*spec, "type").value_or(vm_.machine);
        if (auto accel = get_string(*spec, "accel")) vm_.accel = *accel;
    } else if (name == "accel") {
        auto spec = parse("accel");
        if (!spec) return tl::unexpected(spec.error());
        vm_.accel = get_string(*spec, "accel").value_or(vm_.accel);
    } else if (name == "enable-kvm") {
        vm_.accel = "kvm";
    } else if (name == "object") {
        auto spec = parse("qom-type");
        if (!spec) return tl::unexpected(spec.error());
        if (get_string(*spec, "qom-type") == "iothread") {
            auto id = get_string(*spec, "id");
            if (!id) return fail(ErrorKind::bad_input, "-object iothread without an id");
            vm_.iothreads.push_back(*id);
        }
    } else if (name == "blockdev") {
        auto spec = parse({});
        if (!spec) return tl::unexpected(spec.error());
        auto node_name = get_string(*spec, "node-name");
        if (!node_name)
            return fail(ErrorKind::bad_input, "-blockdev without node-name: " + option.value.substr(0, 120));
        nodes_[*node_name] = std::move(*spec);
    } else if (name == "drive") {
        auto pairs = split_keyval(option.value);
        if (!pairs) return fail(ErrorKind::bad_input, "-drive: " + pairs.error().message);
        return add_drive(std::move(*pairs));
    } else if (name == "hda" || name == "hdb" || name == "hdc" || name == "hdd") {
        add_legacy_drive(option.value, "ide", name[2] - 'a');
    } else if (name == "cdrom") {
        add_legacy_drive(option.value, "ide", 2, "cdrom");
    } else if (name == "device") {
        auto spec = parse("driver");
        if (!spec) return tl::unexpected(spec.error());
        Device device;
        device.driver = get_string(*spec, "driver").value_or("");
        if (device.driver.empty()) return fail(ErrorKind::bad_input, "-device without a driver: " + option.value);
        device.id = get_string(*spec, "id").value_or("");
        device.spec = std::move(*spec);
        devices_.push_back(std::move(device));
    } else if (name == "global") {
        // driver.property=value, or driver=,property=,value=
        auto pairs = split_keyval(option.value);
        if (!pairs) return fail(ErrorKind::bad_input, "-global: " + pairs.error().message);
        for (const auto& [key, value] : *pairs) {
            auto dot = key.find('.');
            if (dot != std::string::npos) globals_[key.substr(0, dot)][key.substr(dot + 1)] = value;
        }
    } else if (name == "snapshot") {
        vm_.notes.push_back("-snapshot: guest writes go to a temporary overlay and are discarded at exit");
    }
    return {};
}

Status Builder::add_drive(KeyvalPairs pairs) {
    // -drive's file= is the file name; its file.* options configure the protocol node.
    for (auto& [key, value] : pairs)
        if (key == "file") key = "file.filename";
    auto spec = nest_keyval(pairs);
    if (!spec) return fail(ErrorKind::bad_input, "-drive: " + spec.error().message);
    Drive drive;
    drive.iface = get_string(*spec, "if").value_or("ide");
    const std::string media = get_string(*spec, "media").value_or("disk");
    if (auto id = get_string(*spec, "id")) {
        drive.id = *id;
    } else {
        // QEMU's automatic names, close enough to recognise: ide0-hd0, virtio0, scsi0-hd0.
        int n = auto_ids_[drive.iface]++;
        if (auto index = get_int(*spec, "index")) n = static_cast<int>(*index);
        if (drive.iface == "ide")
            drive.id = "ide" + std::to_string(n / 2) + (media == "cdrom" ? "-cd" : "-hd") + std::to_string(n % 2);
        else if (drive.iface == "scsi")
            drive.id = "scsi0-hd" + std::to_string(n);
        else
            drive.id = drive.iface + std::to_string(n);
    }
    drive.spec = std::move(*spec);
    drives_.push_back(std::move(drive));
    return {};
}

void Builder::add_legacy_drive(const std::string& file, const std::string& iface, int index,
                               const std::string& media) {
    (void)add_drive({{"file", file}, {"if", iface}, {"index", std::to_string(index)}, {"media", media}});
}

const ordered_json* Builder::resolve(const ordered_json& ref, std::vector<std::string>& notes) const {
    if (ref.is_object()) return &ref;
    if (ref.is_string()) {
        auto it = nodes_.find(ref.get<std::string>());
        if (it != nodes_.end()) return &it->second;
        notes.push_back("block node \"" + ref.get<std::string>() + "\" is not defined on the command line");
    }
    return nullptr;
}

void Builder::backend_from_drive(const Drive& drive, DiskConfig& disk) {
    const ordered_json& spec = drive.spec;
    ImageLayer layer;
    layer.path = get_string(spec, "file.filename").value_or("");
    layer.protocol = get_string(spec, "file.driver").value_or(protocol_of_name(layer.path));
    if (auto format = get_string(spec, "format")) {
        layer.format = *format;
        layer.format_source = "command line";
    } else if (!layer.path.empty()) {
        disk.defaulted.push_back("format");
        disk.notes.push_back("no format= on -drive: QEMU probes the image (and then refuses writes "
                             "to sector 0 of a raw image); say format= explicitly");
    }
    if (layer.path.empty()) disk.notes.push_back("the drive has no file (an empty removable drive?)");
    if (starts_with(layer.path, "json:"))
        disk.notes.push_back("json: pseudo file name; its options are not analysed");
    disk.chain.push_back(std::move(layer));

    if (auto name = get_string(spec, "cache")) {
        if (auto mode = cache_mode_from_name(*name)) disk.cache = *mode;
        else disk.notes.push_back("unknown cache mode \"" + *name + "\" (QEMU would refuse it); assuming writeback");
    } else if (!find_value(spec, "cache")) {
        disk.defaulted.push_back("cache");
    }
    if (auto direct = get_bool(spec, "cache.direct")) disk.cache.direct = *direct;
    if (auto no_flush = get_bool(spec, "cache.no-flush")) disk.cache.no_flush = *no_flush;
    if (auto writeback = get_bool(spec, "cache.writeback")) disk.cache.writeback = *writeback;

    if (auto aio = get_string(spec, "aio")) disk.aio = *aio;
    else if (auto file_aio = get_string(spec, "file.aio")) disk.aio = *file_aio;
    else disk.defaulted.push_back("aio");
    disk.media = get_string(spec, "media").value_or("disk");
    disk.read_only = get_bool(spec, "readonly").value_or(get_bool(spec, "read-only").value_or(false)) ||
                     disk.media == "cdrom";
    const std::string& format = disk.chain.back().format;
    disk.chain_complete = format == "raw" || format == "luks";   // no backing files
    if (get_bool(spec, "snapshot").value_or(false))
        disk.notes.push_back("snapshot=on: writes go to a temporary overlay and are discarded at exit");
}

void Builder::backend_from_node(const ordered_json& ref, DiskConfig& disk) {
    struct Cache {
        std::optional<bool> direct, no_flush;
        Cache with(const ordered_json& node) const {
            Cache out = *this;
            if (auto d = get_bool(node, "cache.direct")) out.direct = d;
            if (auto n = get_bool(node, "cache.no-flush")) out.no_flush = n;
            return out;
        }
    };
    // Inline children inherit the parent's cache options; nodes given by name have their own.
    auto child_cache = [](const ordered_json& child, const Cache& parent) {
        return child.is_object() ? parent : Cache{};
    };

    const ordered_json* node = resolve(ref, disk.notes);
    Cache inherited;
    bool active = true;
    bool cache_set = false;
    int depth = 0;
    while (node && depth++ < kMaxGraphDepth) {
        Cache cache = inherited.with(*node);
        std::string driver = get_string(*node, "driver").value_or("");
        while (in(kFilters, driver) && depth++ < kMaxGraphDepth) {
            const ordered_json* child = find_value(*node, "file");
            if (!child) break;
            Cache next = child_cache(*child, cache);
            node = resolve(*child, disk.notes);
            if (!node) return;
            cache = next.with(*node);
            driver = get_string(*node, "driver").value_or("");
        }
        if (driver.empty()) {
            disk.notes.push_back("a block node without a driver");
            return;
        }
        ImageLayer layer;
        const ordered_json* format_node = nullptr;
        const ordered_json* protocol_node = node;
        Cache protocol_cache = cache;
        if (in(kFormats, driver)) {
            format_node = node;
            layer.format = driver;
            layer.format_source = "command line";
            const ordered_json* child = find_value(*node, "file");
            if (child) {
                Cache next = child_cache(*child, cache);
                protocol_node = resolve(*child, disk.notes);
                if (protocol_node) protocol_cache = next.with(*protocol_node);
            } else {
                protocol_node = nullptr;
                disk.notes.push_back("format node " + driver + " has no file child");
            }
        } else if (active) {
            layer.format = "raw";
            layer.format_source = "command line: no format node";
            disk.notes.push_back("the device uses the " + driver + " node directly: the guest sees its bytes as raw");
        }
        if (protocol_node) {
            layer.protocol = get_string(*protocol_node, "driver").value_or("");
            layer.path = protocol_path(*protocol_node, layer.protocol);
        }
        if (active) {
            cache_set = cache.direct || cache.no_flush || protocol_cache.direct || protocol_cache.no_flush;
            // O_DIRECT is applied where the host file is opened: the protocol node.
            disk.cache.direct = protocol_cache.direct.value_or(cache.direct.value_or(false));
            disk.cache.no_flush = cache.no_flush.value_or(false) || protocol_cache.no_flush.value_or(false);
            auto aio = protocol_node ? get_string(*protocol_node, "aio") : std::nullopt;
            if (aio) disk.aio = *aio;
            else disk.defaulted.push_back("aio");
            disk.read_only = get_bool(format_node ? *format_node : *node, "read-only").value_or(false);
        }
        if (starts_with(layer.path, "/dev/fdset/"))
            disk.notes.push_back(layer.path + ": the image was passed as a file descriptor (add-fd); "
                                              "its name is in the libvirt domain XML");
        disk.chain.push_back(std::move(layer));

        if (!format_node) {
            disk.chain_complete = true;   // a protocol node has no backing file
            break;
        }
        if (disk.chain.back().format == "raw" || disk.chain.back().format == "luks") {
            disk.chain_complete = true;   // formats without backing files
            break;
        }
        const ordered_json* backing = find_value(*format_node, "backing");
        if (!backing) break;   // QEMU opens the backing file the image header names
        if (backing->is_null()) {
            disk.chain_complete = true;
            break;
        }
        inherited = child_cache(*backing, cache);
        node = resolve(*backing, disk.notes);
        active = false;
    }
    if (!cache_set) disk.defaulted.push_back("cache");
}

// The device's write-cache property decides what the guest is told: "auto" keeps the backend's
// setting (-drive cache=), which is writeback for -blockdev.
void Builder::apply_device_cache(const ordered_json& spec, DiskConfig& disk) const {
    auto value = get_string(spec, "write-cache");
    if (!value || *value == "auto") return;
    if (auto on = get_bool(spec, "write-cache")) {
        disk.cache.writeback = *on;
        disk.defaulted.erase(std::remove(disk.defaulted.begin(), disk.defaulted.end(), "cache"),
                             disk.defaulted.end());
    }
}

void Builder::controller_for(const Device& device, DiskConfig& disk) const {
    Controller& controller = disk.controller;
    const ordered_json* spec = &device.spec;
    std::string driver = device.driver;

    if (starts_with(driver, "scsi-") || driver == "nvme-ns" || starts_with(driver, "ide-")) {
        // The disk hangs on a bus: "scsi0.0" -> controller "scsi0".
        auto bus = get_string(device.spec, "bus");
        const Device* parent = nullptr;
        if (bus) {
            std::string id = bus->substr(0, bus->find('.'));
            for (const auto& other : devices_)
                if (other.id == id) parent = &other;
            if (!parent && starts_with(driver, "ide-")) {
                controller.type = "ide";
                controller.id = id;
                return;
            }
        } else if (starts_with(driver, "scsi-")) {
            for (const auto& other : devices_)
                if (!parent && in(kScsiControllers, other.driver)) parent = &other;
        }
        if (!parent) {
            controller.type = starts_with(driver, "ide-") ? "ide" : starts_with(driver, "scsi-") ? "scsi" : "nvme";
            controller.id = bus.value_or("");
            if (bus || !starts_with(driver, "ide-"))
                disk.notes.push_back("the controller " + (bus ? "of bus " + *bus : std::string("of this disk")) +
                                     " is not on the command line");
            return;
        }
        spec = &parent->spec;
        driver = parent->driver;
        controller.id = parent->id;
    } else {
        controller.id = device.id.empty() ? disk.id : device.id;
    }
    controller.model = driver;
    controller.type = controller_type(driver);
    disk.iothreads = iothreads_of(*spec);

    if (controller.type == "virtio-blk") {
        controller.num_queues = get_int(*spec, "num-queues");
        controller.queue_size = get_int(*spec, "queue-size");
    } else if (controller.type == "virtio-scsi") {
        controller.num_queues = get_int(*spec, "num_queues");
        controller.queue_size = get_int(*spec, "virtqueue_size");
        controller.cmd_per_lun = get_int(*spec, "cmd_per_lun");
        controller.max_sectors = get_int(*spec, "max_sectors");
    } else if (controller.type == "nvme") {
        controller.num_queues = get_int(*spec, "max_ioqpairs");
        if (!controller.num_queues) controller.num_queues = get_int(*spec, "num_queues");
    }
    if (starts_with(controller.type, "virtio-")) {
        if (!controller.num_queues) disk.defaulted.push_back("num_queues");
        if (!controller.queue_size) {
            controller.queue_size = 256;   // QEMU >= 5.0
            disk.defaulted.push_back("queue_size");
        }
        if (controller.type == "virtio-scsi" && !controller.cmd_per_lun) controller.cmd_per_lun = 128;
    }
}

void Builder::disk_for_device(const Device& device) {
    auto ref = get_string(device.spec, "drive");
    if (!ref) return;
    DiskConfig disk;
    disk.id = device.id.empty() ? *ref : device.id;
    disk.device_model = device.driver;
    if (device.driver == "scsi-cd" || device.driver == "ide-cd") disk.media = "cdrom";
    if (device.driver == "scsi-block" || device.driver == "scsi-generic") disk.media = "lun";

    auto drive = std::find_if(drives_.begin(), drives_.end(), [&](const Drive& d) { return d.id == *ref; });
    if (drive != drives_.end()) {
        drive->used = true;
        backend_from_drive(*drive, disk);
        if (disk.device_model == "scsi-cd" || disk.device_model == "ide-cd") disk.media = "cdrom";
    } else if (nodes_.count(*ref)) {
        backend_from_node(ordered_json(*ref), disk);
    } else {
        disk.notes.push_back("drive \"" + *ref + "\" is defined neither by -drive nor by -blockdev");
    }
    apply_device_cache(device.spec, disk);
    controller_for(device, disk);
    vm_.disks.push_back(std::move(disk));
}

void Builder::disk_for_drive(Drive& drive) {
    // if=virtio|ide|scsi make the device themselves.
    static const std::map<std::string, std::pair<std::string, std::string>> kImplicit = {
        {"virtio", {"virtio-blk-pci", ""}},
        {"ide", {"ide-hd", "ide"}},
        {"scsi", {"scsi-hd", "lsi53c895a"}},
        {"sd", {"sd-card", ""}},
    };
    if (drive.iface == "none") {
        if (!drive.used)
            vm_.notes.push_back("drive " + drive.id + " (if=none) is not attached to any device");
        return;
    }
    auto it = kImplicit.find(drive.iface);
    if (it == kImplicit.end()) {
        vm_.notes.push_back("drive " + drive.id + " (if=" + drive.iface + ") is firmware or floppy storage; skipped");
        return;
    }
    Device device;
    device.driver = it->second.first;
    device.id = drive.id;
    device.spec = ordered_json::object();
    if (globals_.count(device.driver)) merge_missing(device.spec, globals_.at(device.driver));
    DiskConfig disk;
    disk.id = drive.id;
    disk.device_model = device.driver;
    backend_from_drive(drive, disk);
    if (drive.iface == "ide" && disk.media == "cdrom") disk.device_model = "ide-cd";
    if (drive.iface == "virtio") {
        controller_for(device, disk);
    } else {
        disk.controller.type = drive.iface == "scsi" ? "scsi (lsi53c895a)" : drive.iface;
        disk.controller.model = it->second.second;
    }
    vm_.disks.push_back(std::move(disk));
}

Result<VmConfig> Builder::build(const QemuCommandLine& cmdline) {
    vm_.emulator = cmdline.binary;
    for (const auto& option : cmdline.options)
        if (auto status = read_option(option); !status) return tl::unexpected(status.error());
    for (const auto& image : cmdline.positional) add_legacy_drive(image, "ide", 0);
    for (auto& device : devices_)
        if (globals_.count(device.driver)) merge_missing(device.spec, globals_.at(device.driver));

    if (smp_) {
        auto cpus = get_int(*smp_, "cpus");
        if (!cpus) {
            int64_t product = 1;
            bool any = false;
            for (const char* key : {"sockets", "dies", "clusters", "cores", "threads"})
                if (auto n = get_int(*smp_, key)) {
                    product *= *n;
                    any = true;
                }
            if (any) cpus = product;
        }
        vm_.vcpus = cpus;
    } else {
        vm_.vcpus = 1;
        vm_.notes.push_back("no -smp: one vCPU");
    }
    if (vm_.accel.empty())
        vm_.accel = base_name_is_kvm(cmdline.binary) ? "kvm" : "tcg";

    for (const auto& device : devices_) disk_for_device(device);
    for (auto& drive : drives_) disk_for_drive(drive);
    note_iothread_use(vm_);
    if (vm_.disks.empty()) vm_.notes.push_back("the command line defines no disks");
    return vm_;
}

}  // namespace

Result<VmConfig> vm_config_from_qemu(const QemuCommandLine& cmdline) {
    Builder builder;
    auto config = builder.build(cmdline);
    if (config) config->source = "cmdline";
    return config;
}

}  // namespace iodiag::stack
