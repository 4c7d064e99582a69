#include "stack/stack_output.hpp"

#include <fmt/format.h>

#include "common/table.hpp"
#include "common/units.hpp"
#include "trace/io_event.hpp"

namespace iodiag::stack {
namespace {

constexpr size_t kFilesShown = 10;   // per group in the text view; JSON lists all

template <class T>
ordered_json opt(const std::optional<T>& value) {
    return value ? ordered_json(*value) : ordered_json(nullptr);
}

std::string opt_text(const std::optional<int64_t>& value) {
    return value ? std::to_string(*value) : std::string("?");
}

ordered_json strings(const std::vector<std::string>& list) { return ordered_json(list); }

ordered_json to_json(const QueueSettings& q) {
    return {{"scheduler", q.scheduler},
            {"schedulers", strings(q.schedulers)},
            {"nr_requests", opt(q.nr_requests)},
            {"max_sectors_kb", opt(q.max_sectors_kb)},
            {"max_hw_sectors_kb", opt(q.max_hw_sectors_kb)},
            {"read_ahead_kb", opt(q.read_ahead_kb)},
            {"rotational", opt(q.rotational)},
            {"logical_block_size", opt(q.logical_block_size)},
            {"physical_block_size", opt(q.physical_block_size)},
            {"write_cache", q.write_cache},
            {"fua", opt(q.fua)},
            {"hw_queues", q.hw_queues},
            {"tags_per_queue", opt(q.tags_per_queue)}};
}

ordered_json mount_json(const Mount& mount) {
    return {{"mount_point", mount.mount_point}, {"fstype", mount.fstype},
            {"source", mount.source},           {"options", mount.mount_options},
            {"super_options", mount.super_options}, {"dev", mount.dev.str()},
            {"root", mount.root}};
}

// Tree drawing: each level adds "│  " or "   " to the prefix of the lines below it.
class TreePrinter {
public:
    std::string out;

    void line(const std::string& prefix, const std::string& text) { out += prefix + text + "\n"; }

    void stack(const StackReport& report, const std::string& prefix, bool show_path) {
        if (show_path) line(prefix, report.path);
        const std::string inner = show_path ? prefix + "  " : prefix;
        if (report.mount) {
            const Mount& m = *report.mount;
            std::string options = m.mount_options;
            if (!m.super_options.empty() && m.super_options != m.mount_options)
                options += "; " + m.super_options;
            line(inner, fmt::format("mount {}  {} on {}  ({})", m.mount_point, m.fstype, m.source, options));
        }
        for (const auto& note : report.notes) line(inner, "note: " + note);
        for (size_t i = 0; i < report.devices.size(); ++i)
            device(report.devices[i], inner, i + 1 == report.devices.size());
        for (const auto& upper : report.upper) {
            line(inner, "upperdir:");
            stack(upper, inner + "  ", true);
        }
    }

    void device(const DeviceNode& node, const std::string& prefix, bool last) {
        const BlockDevice& d = node.device;
        line(prefix, (last ? "└─ " : "├─ ") + headline(d));
        const std::string inner = prefix + (last ? "   " : "│  ");
        const bool more = !node.below.empty() || !node.backing.empty();
        const std::string detail = inner + (more ? "│  " : "   ");
        if (d.queue) {
            const QueueSettings& q = *d.queue;
            line(detail, fmt::format(
                             "queue: scheduler {}  nr_requests {}  max_sectors_kb {} (hw {})  "
                             "rotational {}  block {}/{}  write_cache {}",
                             q.scheduler.empty() ? "?" : q.scheduler, opt_text(q.nr_requests),
                             opt_text(q.max_sectors_kb), opt_text(q.max_hw_sectors_kb),
                             q.rotational ? (*q.rotational ? "1" : "0") : "?",
                             opt_text(q.logical_block_size), opt_text(q.physical_block_size),
                             q.write_cache.empty() ? "?" : q.write_cache));
            line(detail, q.hw_queues ? fmt::format("blk-mq: {} hw queue{} x {} tags", q.hw_queues,
                                                   q.hw_queues == 1 ? "" : "s", opt_text(q.tags_per_queue))
                                     : std::string("bio-based: no blk-mq queues of its own"));
        }
        if (d.scsi) {
            const ScsiHost& s = *d.scsi;
            line(detail, fmt::format("scsi {} ({}): can_queue {}  cmd_per_lun {}  hw queues {}  "
                                     "LUN queue_depth {}",
                                     s.name, s.proc_name.empty() ? "?" : s.proc_name, opt_text(s.can_queue),
                                     opt_text(s.cmd_per_lun), opt_text(s.nr_hw_queues),
                                     opt_text(s.device_queue_depth)));
        }
        if (d.loop)
            line(detail, fmt::format("backing file {}  (direct_io {}, offset {})",
                                     d.loop->backing_file.empty() ? "-" : d.loop->backing_file,
                                     d.loop->direct_io ? (*d.loop->direct_io ? "on" : "off") : "?",
                                     opt_text(d.loop->offset)));
        for (const auto& note : node.notes) line(detail, "note: " + note);
        for (size_t i = 0; i < node.backing.size(); ++i) {
            const bool last_child = node.below.empty() && i + 1 == node.backing.size();
            line(inner, std::string(last_child ? "└─ " : "├─ ") + "file " + node.backing[i].path);
            stack(node.backing[i], inner + (last_child ? "   " : "│  "), false);
        }
        for (size_t i = 0; i < node.below.size(); ++i)
            device(node.below[i], inner, i + 1 == node.below.size());
    }

    static std::string headline(const BlockDevice& d) {
        std::string text = fmt::format("{}  {}  {}  {}", d.name, d.dev.str(), d.driver, human_bytes(d.size_bytes));
        if (d.partition)
            text += fmt::format("  partition {} of {}", opt_text(d.partition_number), d.parent);
        if (d.dm)
            text += fmt::format("  {}{}", d.dm->target.empty() ? "" : d.dm->target + " ", d.dm->name);
        if (d.md)
            text += fmt::format("  {}, {} disks", d.md->level, opt_text(d.md->raid_disks));
        if (!d.model.empty()) text += "  \"" + d.model + "\"";
        return text;
    }
};

}  // namespace

ordered_json to_json(const BlockDevice& d) {
    ordered_json out = {{"name", d.name},
                        {"dev", d.dev.str()},
                        {"type", d.partition ? "partition" : "disk"},
                        {"driver", d.driver},
                        {"kernel_driver", d.kernel_driver},
                        {"model", d.model},
                        {"size_bytes", d.size_bytes},
                        {"sys_path", d.sys_path}};
    if (d.partition) {
        out["parent"] = d.parent;
        out["partition_number"] = opt(d.partition_number);
    }
    out["queue"] = d.queue ? to_json(*d.queue) : ordered_json(nullptr);
    if (d.scsi)
        out["scsi_host"] = {{"name", d.scsi->name},
                            {"proc_name", d.scsi->proc_name},
                            {"can_queue", opt(d.scsi->can_queue)},
                            {"cmd_per_lun", opt(d.scsi->cmd_per_lun)},
                            {"nr_hw_queues", opt(d.scsi->nr_hw_queues)},
                            {"device_queue_depth", opt(d.scsi->device_queue_depth)}};
    if (d.loop)
        out["loop"] = {{"backing_file", d.loop->backing_file},
                       {"offset", opt(d.loop->offset)},
                       {"sizelimit", opt(d.loop->sizelimit)},
                       {"direct_io", opt(d.loop->direct_io)}};
    if (d.dm) out["dm"] = {{"name", d.dm->name}, {"uuid", d.dm->uuid}, {"target", d.dm->target}};
    if (d.md)
        out["md"] = {{"level", d.md->level},
                     {"raid_disks", opt(d.md->raid_disks)},
                     {"chunk_size", opt(d.md->chunk_size)}};
    if (!d.slaves.empty()) out["slaves"] = strings(d.slaves);
    return out;
}

ordered_json to_json(const DeviceNode& node) {
    ordered_json out = to_json(node.device);
    if (!node.backing.empty()) out["backing_stack"] = to_json(node.backing.front());
    ordered_json below = ordered_json::array();
    for (const auto& child : node.below) below.push_back(to_json(child));
    out["below"] = std::move(below);
    out["notes"] = strings(node.notes);
    return out;
}

ordered_json to_json(const StackReport& report) {
    ordered_json devices = ordered_json::array();
    for (const auto& node : report.devices) devices.push_back(to_json(node));
    ordered_json out = {{"path", report.path},
                        {"mount", report.mount ? mount_json(*report.mount) : ordered_json(nullptr)},
                        {"fs_kind", std::string(fs_kind_name(report.fs_kind))},
                        {"devices", std::move(devices)}};
    if (!report.upper.empty()) out["overlay_upper"] = to_json(report.upper.front());
    out["notes"] = strings(report.notes);
    return out;
}

std::string open_flags_text(uint32_t flags) {
    using namespace iodiag::trace;
    if (!(flags & kOpenFlagsKnown)) return "?";
    std::string out = (flags & kOpenRead) && (flags & kOpenWrite) ? "rw" : (flags & kOpenWrite) ? "w" : "r";
    if (flags & kOpenDirect) out += ",O_DIRECT";
    if (flags & kOpenSync) out += ",O_SYNC";
    else if (flags & kOpenDsync) out += ",O_DSYNC";
    if (flags & kOpenAppend) out += ",O_APPEND";
    return out;
}

ordered_json to_json(const PidStackReport& report) {
    ordered_json groups = ordered_json::array();
    for (const auto& group : report.groups) {
        ordered_json files = ordered_json::array();
        for (const auto& file : group.files)
            files.push_back({{"fd", file.fd},
                             {"path", file.path},
                             {"flags", open_flags_text(file.open_flags)},
                             {"deleted", file.deleted}});
        groups.push_back({{"files", std::move(files)}, {"stack", to_json(group.stack)}});
    }
    return {{"pid", report.pid},        {"comm", report.comm},
            {"groups", std::move(groups)}, {"other_fds", report.other_fds},
            {"notes", strings(report.notes)}};
}

ordered_json to_json(const VirtInfo& info) {
    ordered_json disks = ordered_json::array();
    for (const auto& d : info.disks)
        disks.push_back({{"name", d.name},
                         {"driver", d.driver},
                         {"size_bytes", d.size_bytes},
                         {"hw_queues", d.hw_queues},
                         {"tags_per_queue", opt(d.tags_per_queue)},
                         {"nr_requests", opt(d.nr_requests)},
                         {"scsi_can_queue", opt(d.scsi_can_queue)},
                         {"scsi_cmd_per_lun", opt(d.scsi_cmd_per_lun)},
                         {"scsi_queue_depth", opt(d.scsi_queue_depth)},
                         {"write_cache", d.write_cache},
                         {"scheduler", d.scheduler}});
    return {{"guest", info.guest},
            {"hypervisor", info.hypervisor.empty() ? ordered_json(nullptr) : ordered_json(info.hypervisor)},
            {"product", info.product},
            {"evidence", strings(info.evidence)},
            {"cpus", opt(info.cpus)},
            {"disks", std::move(disks)}};
}

std::string render_text(const StackReport& report) {
    TreePrinter printer;
    printer.stack(report, "", true);
    return printer.out;
}

std::string render_text(const PidStackReport& report) {
    size_t files = 0;
    for (const auto& group : report.groups) files += group.files.size();
    std::string out = fmt::format("pid {} ({}): {} open file{} on {} file system{} or devices, {} other fds "
                                  "(pipes, sockets, ...)\n",
                                  report.pid, report.comm, files, files == 1 ? "" : "s",
                                  report.groups.size(), report.groups.size() == 1 ? "" : "s",
                                  report.other_fds);
    for (const auto& note : report.notes) out += "note: " + note + "\n";
    for (const auto& group : report.groups) {
        out += "\n";
        TreePrinter printer;
        printer.line("", fmt::format("{}: {} file{}", group.stack.path, group.files.size(),
                                     group.files.size() == 1 ? "" : "s"));
        for (size_t i = 0; i < group.files.size() && i < kFilesShown; ++i) {
            const OpenFile& file = group.files[i];
            printer.line("  ", fmt::format("fd {:<4} {}{}  [{}]", file.fd, file.path,
                                           file.deleted ? " (deleted)" : "", open_flags_text(file.open_flags)));
        }
        if (group.files.size() > kFilesShown)
            printer.line("  ", fmt::format("... and {} more (see --json)", group.files.size() - kFilesShown));
        printer.stack(group.stack, "  ", false);
        out += printer.out;
    }
    return out;
}

std::string render_text(const VirtInfo& info) {
    std::string out;
    std::string evidence;
    for (const auto& item : info.evidence) evidence += (evidence.empty() ? "" : "; ") + item;
    std::string cpus = info.cpus ? fmt::format(", {} CPUs online", *info.cpus) : std::string();
    if (!info.guest) return fmt::format("virtualization: not a guest ({}){}\n", evidence, cpus);
    out += fmt::format("virtualization: guest under {} ({}){}\n", info.hypervisor, evidence, cpus);
    if (info.disks.empty()) {
        out += "  no virtual disks seen\n";
        return out;
    }
    using Align = Table::Align;
    Table table({{"disk", Align::left},       {"type", Align::left},     {"size", Align::right},
                 {"hw queues", Align::right}, {"depth/queue", Align::right}, {"nr_requests", Align::right},
                 {"scsi can_queue/cmd_per_lun", Align::left}, {"write cache", Align::left},
                 {"scheduler", Align::left}});
    for (const auto& d : info.disks)
        table.add_row({d.name, d.driver, human_bytes(d.size_bytes), std::to_string(d.hw_queues),
                       opt_text(d.tags_per_queue), opt_text(d.nr_requests),
                       d.scsi_can_queue ? opt_text(d.scsi_can_queue) + "/" + opt_text(d.scsi_cmd_per_lun)
                                        : std::string("-"),
                       d.write_cache.empty() ? "?" : d.write_cache, d.scheduler.empty() ? "?" : d.scheduler});
    std::string rendered = table.render();
    size_t start = 0;
    while (start < rendered.size()) {
        size_t end = rendered.find('\n', start);
        out += "  " + rendered.substr(start, end - start) + "\n";
        start = end + 1;
    }
    return out;
}

}  // namespace iodiag::stack
