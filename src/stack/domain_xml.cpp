#include "stack/domain_xml.hpp"

#include <algorithm>
#include <charconv>
#include <map>

#include <pugixml.hpp>

namespace iodiag::stack {
namespace {

constexpr int kMaxBackingDepth = 32;

std::optional<int64_t> int_of(const char* text) {
    if (!text || !*text) return std::nullopt;
    std::string_view view(text);
    int64_t value = 0;
    auto [end, ec] = std::from_chars(view.data(), view.data() + view.size(), value);
    if (ec != std::errc() || end != view.data() + view.size()) return std::nullopt;
    return value;
}

std::string attr(const pugi::xml_node& node, const char* name) {
    return node.attribute(name).as_string();
}

// libvirt names iothread objects "iothread<id>" on the QEMU command line.
std::string iothread_name(const std::string& id) { return "iothread" + id; }

ImageLayer layer_of(const pugi::xml_node& node, const std::string& disk_type, const std::string& format) {
    ImageLayer layer;
    pugi::xml_node source = node.child("source");
    const std::string type = disk_type.empty() ? std::string("file") : disk_type;
    if (type == "file") {
        layer.protocol = "file";
        layer.path = attr(source, "file");
    } else if (type == "block") {
        layer.protocol = "host_device";
        layer.path = attr(source, "dev");
    } else if (type == "network") {
        layer.protocol = attr(source, "protocol");
        layer.path = layer.protocol + ":" + attr(source, "name");
        if (auto host = source.child("host")) layer.path += " (host " + attr(host, "name") + ")";
    } else if (type == "volume") {
        layer.protocol = "volume";
        layer.path = attr(source, "pool") + "/" + attr(source, "volume");
    } else {
        layer.protocol = type;
        layer.path = attr(source, "file");
        if (layer.path.empty()) layer.path = attr(source, "dev");
    }
    layer.format = format;
    if (!format.empty()) layer.format_source = "domain XML";
    return layer;
}

struct ControllerInfo {
    std::string model;
    std::string alias;
    pugi::xml_node driver;
};

}  // namespace

Result<VmConfig> vm_config_from_domain_xml(std::string_view xml) {
    pugi::xml_document doc;
    pugi::xml_parse_result parsed = doc.load_buffer(xml.data(), xml.size());
    if (!parsed)
        return fail(ErrorKind::bad_input,
                    std::string("the domain XML does not parse: ") + parsed.description() +
                        " at offset " + std::to_string(parsed.offset),
                    "give the output of virsh dumpxml DOMAIN");
    pugi::xml_node domain = doc.child("domain");
    if (!domain) {
        std::string root = doc.first_child() ? doc.first_child().name() : "";
        return fail(ErrorKind::bad_input,
                    "not a libvirt domain XML (the root element is <" + root + ">, not <domain>)",
                    "give the output of virsh dumpxml DOMAIN");
    }

    VmConfig vm;
    vm.source = "domxml";
    vm.name = domain.child_value("name");
    vm.accel = attr(domain, "type");
    vm.machine = attr(domain.child("os").child("type"), "machine");
    vm.emulator = domain.child("devices").child_value("emulator");
    vm.thread_names = true;   // libvirt always starts QEMU with debug-threads=on
    if (pugi::xml_node vcpu = domain.child("vcpu")) {
        vm.vcpus = int_of(vcpu.attribute("current").value());
        if (!vm.vcpus) vm.vcpus = int_of(vcpu.child_value());
    }
    if (pugi::xml_node ids = domain.child("iothreadids")) {
        for (pugi::xml_node thread : ids.children("iothread")) vm.iothreads.push_back(iothread_name(attr(thread, "id")));
    } else if (auto count = int_of(domain.child_value("iothreads"))) {
        for (int64_t i = 1; i <= *count; ++i) vm.iothreads.push_back(iothread_name(std::to_string(i)));
    }

    pugi::xml_node devices = domain.child("devices");
    std::map<std::string, ControllerInfo> scsi_controllers;   // index -> controller
    for (pugi::xml_node controller : devices.children("controller")) {
        if (attr(controller, "type") != "scsi") continue;
        scsi_controllers[attr(controller, "index")] = {attr(controller, "model"),
                                                       attr(controller.child("alias"), "name"),
                                                       controller.child("driver")};
    }

    int virtio_index = 0;
    for (pugi::xml_node node : devices.children("disk")) {
        DiskConfig disk;
        pugi::xml_node driver = node.child("driver");
        pugi::xml_node target = node.child("target");
        const std::string bus = attr(target, "bus");
        disk.target = attr(target, "dev");
        disk.media = node.attribute("device").as_string("disk");
        disk.read_only = static_cast<bool>(node.child("readonly"));
        std::string alias = attr(node.child("alias"), "name");

        // The chain: <source>, then nested <backingStore> elements; an empty one ends it.
        disk.chain.push_back(layer_of(node, attr(node, "type"), attr(driver, "type")));
        pugi::xml_node backing = node.child("backingStore");
        for (int depth = 0; backing && depth < kMaxBackingDepth; ++depth) {
            if (!backing.attribute("type") && !backing.child("source")) {
                disk.chain_complete = true;
                break;
            }
            disk.chain.push_back(layer_of(backing, attr(backing, "type"), attr(backing.child("format"), "type")));
            backing = backing.child("backingStore");
        }
        if (disk.chain.front().format.empty()) disk.defaulted.push_back("format");
        const std::string& format = disk.chain.back().format;
        if (format == "raw" || format == "luks") disk.chain_complete = true;   // no backing files

        std::string cache = attr(driver, "cache");
        if (cache.empty() || cache == "default") {
            disk.defaulted.push_back("cache");
        } else if (auto mode = cache_mode_from_name(cache)) {
            disk.cache = *mode;
        } else {
            disk.notes.push_back("unknown cache mode \"" + cache + "\"; assuming writeback");
        }
        std::string io = attr(driver, "io");
        if (io.empty() || io == "default") disk.defaulted.push_back("aio");
        else disk.aio = io;

        Controller& controller = disk.controller;
        if (bus == "virtio") {
            disk.id = alias.empty() ? "virtio-disk" + std::to_string(virtio_index) : alias;
            ++virtio_index;
            disk.device_model = "virtio-blk-pci";
            controller.type = "virtio-blk";
            controller.id = disk.id;
            controller.model = disk.device_model;
            controller.num_queues = int_of(driver.attribute("queues").value());
            controller.queue_size = int_of(driver.attribute("queue_size").value());
            if (auto id = attr(driver, "iothread"); !id.empty()) disk.iothreads.push_back(iothread_name(id));
            for (pugi::xml_node thread : driver.child("iothreads").children("iothread"))
                disk.iothreads.push_back(iothread_name(attr(thread, "id")));
        } else if (bus == "scsi") {
            disk.id = alias.empty() ? disk.target : alias;
            disk.device_model = disk.media == "cdrom" ? "scsi-cd" : disk.media == "lun" ? "scsi-block" : "scsi-hd";
            std::string index = attr(node.child("address"), "controller");
            if (index.empty()) index = "0";
            auto it = scsi_controllers.find(index);
            controller.id = it != scsi_controllers.end() && !it->second.alias.empty() ? it->second.alias : "scsi" + index;
            if (it == scsi_controllers.end()) {
                controller.type = "scsi";
                disk.notes.push_back("SCSI controller " + index + " is not in the XML (libvirt adds its default model)");
            } else {
                const ControllerInfo& info = it->second;
                controller.model = info.model;
                controller.type = info.model == "virtio-scsi" || info.model.rfind("virtio", 0) == 0
                                      ? "virtio-scsi"
                                      : "scsi (" + (info.model.empty() ? std::string("default model") : info.model) + ")";
                if (controller.type == "virtio-scsi") {
                    controller.model = "virtio-scsi-pci";
                    controller.num_queues = int_of(info.driver.attribute("queues").value());
                    controller.cmd_per_lun = int_of(info.driver.attribute("cmd_per_lun").value());
                    controller.max_sectors = int_of(info.driver.attribute("max_sectors").value());
                    controller.queue_size = int_of(info.driver.attribute("queue_size").value());
                    if (auto id = attr(info.driver, "iothread"); !id.empty())
                        disk.iothreads.push_back(iothread_name(id));
                }
            }
        } else {
            disk.id = alias.empty() ? disk.target : alias;
            controller.type = bus == "sata" ? "ahci" : bus.empty() ? "unknown" : bus;
            disk.device_model = bus == "sata" || bus == "ide" ? (disk.media == "cdrom" ? "ide-cd" : "ide-hd") : bus;
        }
        if (controller.type == "virtio-blk" || controller.type == "virtio-scsi") {
            if (!controller.num_queues) disk.defaulted.push_back("num_queues");
            if (!controller.queue_size) {
                controller.queue_size = 256;
                disk.defaulted.push_back("queue_size");
            }
            if (controller.type == "virtio-scsi" && !controller.cmd_per_lun) controller.cmd_per_lun = 128;
        }
        vm.disks.push_back(std::move(disk));
    }
    note_iothread_use(vm);
    if (vm.disks.empty()) vm.notes.push_back("the domain has no <disk> elements");
    return vm;
}

}  // namespace iodiag::stack
