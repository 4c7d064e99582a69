#include "stack/kvm_output.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "common/table.hpp"
#include "common/units.hpp"
#include "stack/stack_output.hpp"

namespace iodiag::stack {
namespace {

using ordered_json = nlohmann::ordered_json;

template <class T>
ordered_json opt(const std::optional<T>& value) {
    return value ? ordered_json(*value) : ordered_json(nullptr);
}

bool defaulted(const DiskConfig& disk, const char* field) {
    return std::find(disk.defaulted.begin(), disk.defaulted.end(), field) != disk.defaulted.end();
}

std::string mark_default(const DiskConfig& disk, const char* field, std::string value) {
    return defaulted(disk, field) ? value + " (default)" : value;
}

std::string indent(const std::string& text, const std::string& prefix) {
    std::string out;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        out += prefix + text.substr(start, end - start) + "\n";
        start = end + 1;
    }
    return out;
}

std::string queues_text(const DiskConfig& disk) {
    const Controller& c = disk.controller;
    if (c.num_queues) return std::to_string(*c.num_queues);
    return defaulted(disk, "num_queues") ? "default" : "-";
}

std::string layer_text(const LayerReport& layer) {
    std::string text = fmt::format("{}  {}", layer.layer.path.empty() ? "(none)" : layer.layer.path,
                                   layer.layer.format.empty() ? "?" : layer.layer.format);
    if (!layer.layer.format_source.empty()) text += " (" + layer.layer.format_source + ")";
    if (layer.info) {
        const ImageInfo& i = *layer.info;
        text += fmt::format("  {} virtual", human_bytes(i.virtual_size));
        if (i.allocated_bytes) text += fmt::format(", {} allocated", human_bytes(*i.allocated_bytes));
        if (!i.allocation.empty()) text += " (" + i.allocation + ")";
        if (i.cluster_size) text += fmt::format(", cluster {}", human_bytes(*i.cluster_size));
        if (i.dirty) text += ", dirty";
        if (i.corrupt) text += ", CORRUPT";
    }
    if (!layer.error.empty()) text += "  [" + layer.error + "]";
    return text;
}

ordered_json disk_json(const DiskReport& disk) {
    const DiskConfig& c = disk.config;
    ordered_json chain = ordered_json::array();
    for (const auto& layer : disk.chain)
        chain.push_back({{"path", layer.layer.path},
                         {"protocol", layer.layer.protocol},
                         {"format", layer.layer.format},
                         {"format_source", layer.layer.format_source},
                         {"header", layer.info ? to_json(*layer.info) : ordered_json(nullptr)},
                         {"error", layer.error}});
    const Controller& k = c.controller;
    return {{"id", c.id},
            {"target", c.target},
            {"device", c.device_model},
            {"media", c.media},
            {"read_only", c.read_only},
            {"image", disk.chain.empty() ? ordered_json(nullptr) : ordered_json(disk.chain.front().layer.path)},
            {"format", disk.chain.empty() ? ordered_json(nullptr) : ordered_json(disk.chain.front().layer.format)},
            {"chain", std::move(chain)},
            {"chain_complete", c.chain_complete},
            {"cache",
             {{"mode", c.cache.name()},
              {"writeback", c.cache.writeback},
              {"direct", c.cache.direct},
              {"no_flush", c.cache.no_flush}}},
            {"aio", c.aio},
            {"iothreads", c.iothreads},
            {"controller",
             {{"type", k.type},
              {"id", k.id},
              {"model", k.model},
              {"num_queues", opt(k.num_queues)},
              {"queue_size", opt(k.queue_size)},
              {"cmd_per_lun", opt(k.cmd_per_lun)},
              {"max_sectors", opt(k.max_sectors)}}},
            {"defaulted", c.defaulted},
            {"notes", c.notes},
            {"host_stack", disk.host_stack ? to_json(*disk.host_stack) : ordered_json(nullptr)},
            {"host_stack_error", disk.host_stack_error}};
}

}  // namespace

ordered_json to_json(const ImageInfo& i) {
    return {{"format", i.format},
            {"block_device", i.block_device},
            {"virtual_size", i.virtual_size},
            {"file_size", i.file_size},
            {"allocated_bytes", opt(i.allocated_bytes)},
            {"allocation", i.allocation},
            {"version", opt(i.version)},
            {"cluster_size", opt(i.cluster_size)},
            {"backing_file", i.backing_file},
            {"backing_format", i.backing_format},
            {"data_file", i.data_file},
            {"encrypted", i.encrypted},
            {"lazy_refcounts", i.lazy_refcounts},
            {"extended_l2", i.extended_l2},
            {"dirty", i.dirty},
            {"corrupt", i.corrupt},
            {"compression_type", i.compression_type}};
}

ordered_json to_json(const KvmReport& report) {
    const VmConfig& vm = report.vm;
    ordered_json disks = ordered_json::array();
    for (const auto& disk : report.disks) disks.push_back(disk_json(disk));
    ordered_json threads = nullptr;
    if (report.threads) {
        ordered_json list = ordered_json::array();
        for (const auto& t : report.threads->threads)
            list.push_back({{"tid", t.tid}, {"name", t.name}, {"role", t.role}, {"detail", t.detail}});
        ordered_json by_role = ordered_json::object();
        for (const auto& [role, count] : report.threads->by_role) by_role[role] = count;
        threads = {{"named", report.threads->named}, {"by_role", std::move(by_role)}, {"list", std::move(list)}};
    }
    std::vector<std::string> notes = vm.notes;
    notes.insert(notes.end(), report.notes.begin(), report.notes.end());
    return {{"source", vm.source},
            {"pid", opt(report.pid)},
            {"vm",
             {{"name", vm.name},
              {"emulator", vm.emulator},
              {"machine", vm.machine},
              {"accel", vm.accel},
              {"vcpus", opt(vm.vcpus)},
              {"iothreads", vm.iothreads},
              {"thread_names", vm.thread_names}}},
            {"disks", std::move(disks)},
            {"threads", std::move(threads)},
            {"notes", std::move(notes)}};
}

std::string render_text(const KvmReport& report) {
    const VmConfig& vm = report.vm;
    std::string out = fmt::format(
        "VM {} (from {}{}): {} vCPU{}, accel {}{}, iothreads: {}\n", vm.name.empty() ? "(unnamed)" : vm.name,
        vm.source, report.pid ? fmt::format(" {}", *report.pid) : std::string(),
        vm.vcpus ? std::to_string(*vm.vcpus) : std::string("?"), vm.vcpus == 1 ? "" : "s",
        vm.accel.empty() ? "?" : vm.accel, vm.machine.empty() ? "" : ", machine " + vm.machine,
        vm.iothreads.empty() ? std::string("none") : fmt::format("{}", fmt::join(vm.iothreads, ", ")));
    if (!vm.emulator.empty()) out += "  emulator " + vm.emulator + "\n";
    for (const auto& note : vm.notes) out += "  note: " + note + "\n";
    for (const auto& note : report.notes) out += "  note: " + note + "\n";

    if (!report.disks.empty()) {
        using Align = Table::Align;
        Table table({{"disk", Align::left},   {"device", Align::left},  {"format", Align::left},
                     {"cache", Align::left},  {"aio", Align::left},     {"iothread", Align::left},
                     {"controller", Align::left}, {"queues", Align::right}, {"queue size", Align::right}});
        for (const auto& disk : report.disks) {
            const DiskConfig& c = disk.config;
            table.add_row({c.id, c.device_model,
                           disk.chain.empty() || disk.chain.front().layer.format.empty() ? "?"
                                                                                         : disk.chain.front().layer.format,
                           mark_default(c, "cache", c.cache.name()), mark_default(c, "aio", c.aio),
                           c.iothreads.empty() ? "-" : fmt::format("{}", fmt::join(c.iothreads, ",")),
                           c.controller.type + (c.controller.id.empty() || c.controller.id == c.id ? "" : " " + c.controller.id),
                           queues_text(c),
                           c.controller.queue_size ? std::to_string(*c.controller.queue_size) : std::string("-")});
        }
        out += "\n" + table.render();
    }

    for (const auto& disk : report.disks) {
        const DiskConfig& c = disk.config;
        out += fmt::format("\ndisk {}{}  {} {}{}\n", c.id, c.target.empty() || c.target == c.id ? "" : " (" + c.target + ")",
                           c.device_model, c.media, c.read_only ? ", read-only" : "");
        for (size_t i = 0; i < disk.chain.size(); ++i)
            out += fmt::format("  {:<8} {}\n", i == 0 ? "image" : "backing", layer_text(disk.chain[i]));
        out += fmt::format("  {:<8} {} (writeback={}, direct={}, no-flush={})\n", "cache",
                           mark_default(c, "cache", c.cache.name()), c.cache.writeback ? "on" : "off",
                           c.cache.direct ? "on" : "off", c.cache.no_flush ? "on" : "off");
        out += fmt::format("  {:<8} {}\n", "aio", mark_default(c, "aio", c.aio));
        const Controller& k = c.controller;
        std::string controller = k.type + (k.id.empty() ? "" : " " + k.id) + (k.model.empty() ? "" : " (" + k.model + ")");
        if (k.type.rfind("virtio-", 0) == 0)
            controller += fmt::format(": num_queues {}, queue_size {}", 
                                      k.num_queues ? std::to_string(*k.num_queues)
                                                   : std::string("default (vCPUs on QEMU >= 5.2, else 1)"),
                                      k.queue_size ? mark_default(c, "queue_size", std::to_string(*k.queue_size)) : "?");
        if (k.cmd_per_lun) controller += fmt::format(", cmd_per_lun {}", *k.cmd_per_lun);
        out += fmt::format("  {:<8} {}\n", "on", controller);
        out += fmt::format("  {:<8} {}\n", "iothread",
                           c.iothreads.empty() ? std::string("none (QEMU's main loop)") : fmt::format("{}", fmt::join(c.iothreads, ", ")));
        for (const auto& note : c.notes) out += "  note: " + note + "\n";
        if (disk.host_stack) out += "  host stack:\n" + indent(render_text(*disk.host_stack), "    ");
        else if (!disk.host_stack_error.empty()) out += "  host stack: " + disk.host_stack_error + "\n";
    }

    if (report.threads) {
        const QemuThreads& threads = *report.threads;
        std::string roles;
        for (const auto& [role, count] : threads.by_role) roles += fmt::format("{}{} {}", roles.empty() ? "" : ", ", count, role);
        out += fmt::format("\nthreads ({} total): {}\n", threads.threads.size(), roles);
        for (const char* role : {"main-loop", "vcpu", "iothread", "worker"}) {
            std::string names;
            for (const auto& t : threads.threads)
                if (t.role == role) names += fmt::format("{}{} ({})", names.empty() ? "" : ", ", t.name, t.tid);
            if (!names.empty()) out += fmt::format("  {:<9} {}\n", role, names);
        }
    }
    return out;
}

}  // namespace iodiag::stack
