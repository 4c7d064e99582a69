#include "report/findings.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>

#include <fmt/format.h>

#include "common/units.hpp"
#include "model/workload_model.hpp"
#include "report/thresholds.hpp"

namespace iodiag::report {
namespace {

namespace T = threshold;

// The analysis note's sections, as the findings cite them.
namespace note {
constexpr const char* kModel = "IO performance analysis approaches > understand/model workload";
constexpr const char* kWholeStack = "IO performance analysis approaches > understand the whole IO stack for the understood workload";
constexpr const char* kDepth1 = "typical IO workloads > fio --depth=1 --direct=1";
constexpr const char* kSyncWrite = "typical IO workloads > fio --rw=write --sync=1";
constexpr const char* kGuestHost = "KVM IO performance analysis > compare workload performance data between guest and host";
constexpr const char* kWorldSwitch = "KVM IO performance analysis > estimate host<->guest world switch cost";
constexpr const char* kIothread = "one example: observe qemu iothread";
constexpr const char* kDiskLatency = "how to trace > disk IO latency (biolatency)";
constexpr const char* kFsLatency = "how to trace > FS layer IO latency (xfsslower)";
constexpr const char* kSyscalls = "how to trace > syscount: syscalls and their latency";
constexpr const char* kOffcpu = "how to trace > offcputime";
}  // namespace note

std::string us_text(double us) {
    if (us >= 10'000) return fmt::format("{:.1f} ms", us / 1000);
    if (us >= 1000) return fmt::format("{:.2f} ms", us / 1000);
    return fmt::format("{:.0f} us", us);
}

std::string percent(double share) { return fmt::format("{:.0f}%", 100 * share); }

std::optional<double> number(const ordered_json& json, std::initializer_list<const char*> path) {
    const ordered_json* at = &json;
    for (const char* key : path) {
        if (!at->is_object() || !at->contains(key)) return std::nullopt;
        at = &at->at(key);
    }
    if (!at->is_number()) return std::nullopt;
    return at->get<double>();
}

std::string text(const ordered_json& json, const char* key) {
    return json.is_object() && json.contains(key) && json.at(key).is_string() ? json.at(key).get<std::string>() : "";
}

// A disk (or partition) with its queue settings, from stack.json's device trees.
struct Disk {
    std::string name;
    ordered_json queue;
    bool rotational() const { return number(queue, {"rotational"}).value_or(0) != 0; }
    std::optional<double> tags() const {
        auto nr = number(queue, {"nr_requests"});
        auto tags = number(queue, {"tags_per_queue"});
        if (nr && tags) return std::max(*nr, *tags);
        return nr ? nr : tags;
    }
};

void collect_disks(const ordered_json& json, std::vector<Disk>& out) {
    if (json.is_object()) {
        if (json.contains("queue") && json.at("queue").is_object() && json.contains("name")) {
            const std::string name = text(json, "name");
            if (std::none_of(out.begin(), out.end(), [&](const Disk& d) { return d.name == name; }))
                out.push_back({name, json.at("queue")});
        }
        for (const auto& [key, value] : json.items())
            if (key != "queue") collect_disks(value, out);
    } else if (json.is_array()) {
        for (const auto& item : json) collect_disks(item, out);
    }
}

uint64_t most_common(const model::ValueCounts& counts) {
    auto it = std::max_element(counts.begin(), counts.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
    return it == counts.end() ? 0 : it->first;
}

int64_t fio_int(const model::JobGroup& group, const char* key) {
    if (!group.fio.contains(key)) return 0;
    const auto& v = group.fio.at(key);
    if (v.is_number()) return v.get<int64_t>();
    if (v.is_string()) {
        try {
            return std::stoll(v.get<std::string>());
        } catch (...) {
            return 0;
        }
    }
    return 0;
}

uint64_t data_ops(const model::JobGroup& group) { return group.evidence.reads.ops + group.evidence.writes.ops; }

bool is_async(const model::JobGroup& group) { return group.engine == "libaio" || group.engine == "io_uring"; }

struct Context {
    const StepOutputs& out;
    std::optional<model::WorkloadModel> model;
    std::vector<Disk> disks;
    std::vector<Finding>& findings;

    std::string step(const char* file) const { return out.step_of(file); }
    void add(Finding finding) { findings.push_back(std::move(finding)); }
};

// --- the workload -----------------------------------------------------------------------

void depth1_many_tags(Context& c) {
    if (!c.model) return;
    std::optional<Disk> busiest;
    for (const auto& d : c.disks)
        if (d.tags() && (!busiest || *d.tags() > *busiest->tags())) busiest = d;
    if (!busiest || *busiest->tags() < T::kManyTags) return;
    for (const auto& g : c.model->groups) {
        if (data_ops(g) < T::kMinOps || g.evidence.busy_fraction < T::kIoBoundShare) continue;
        const int64_t depth = std::max<int64_t>(1, fio_int(g, "iodepth"));
        const int64_t jobs = std::max<int64_t>(1, fio_int(g, "numjobs"));
        if (depth * jobs > 1) continue;
        c.add({"workload.depth1_many_tags", Severity::warning,
               fmt::format("{} keeps one IO in flight on a disk that takes {:.0f}", g.name, *busiest->tags()),
               {{"IOs in flight (iodepth x threads)", fmt::format("{} x {}", depth, jobs), c.step("model.json")},
                {"engine", g.engine, c.step("model.json")},
                {"time in IO calls", percent(g.evidence.busy_fraction), c.step("model.json")},
                {busiest->name + " queue depth (nr_requests/tags)", fmt::format("{:.0f}", *busiest->tags()), c.step("stack.json")}},
               note::kDepth1,
               "Each IO waits for the one before it: the disk's parallelism is unused. Issue more at once (io_uring "
               "or libaio with iodepth >= 8, or more threads); `iodiag probe depth1` shows what one IO costs."});
    }
}

void flush_every_write(Context& c) {
    if (!c.model) return;
    for (const auto& g : c.model->groups) {
        const auto& e = g.evidence;
        const uint64_t flushes = e.fsyncs + e.fdatasyncs;
        const bool synced_fd = e.sync_ops + e.dsync_ops >= e.writes.ops && e.writes.ops > 0;
        const bool every = flushes > 0 && most_common(e.writes_per_flush) == 1;
        if (e.writes.ops < T::kMinOps / 10 || (!every && !synced_fd)) continue;
        Finding f{"workload.flush_every_write",
                  e.flush_latency_us.p50 >= 1000 ? Severity::critical : Severity::warning,
                  fmt::format("{} makes every write durable before the next", g.name),
                  {{"writes", std::to_string(e.writes.ops), c.step("model.json")}},
                  note::kSyncWrite,
                  "Each synced write waits for the device's cache flush (FLUSH/FUA). Batch writes per flush (group "
                  "commit), or check the storage's write cache; `iodiag probe syncwrite` measures a flush here."};
        if (every)
            f.evidence.push_back({"flushes (fsync+fdatasync)", fmt::format("{} ({} after a single write)", flushes,
                                                                           e.writes_per_flush.count(1) ? e.writes_per_flush.at(1) : 0),
                                  c.step("model.json")});
        if (synced_fd) f.evidence.push_back({"writes on O_SYNC/O_DSYNC files", std::to_string(e.sync_ops + e.dsync_ops), c.step("model.json")});
        if (e.flush_latency_us.count)
            f.evidence.push_back({"flush latency p50/p99", us_text(e.flush_latency_us.p50) + " / " + us_text(e.flush_latency_us.p99),
                                  c.step("model.json")});
        c.add(std::move(f));
    }
}

void small_buffered_writes(Context& c) {
    if (!c.model) return;
    for (const auto& g : c.model->groups) {
        const auto& w = g.evidence.writes;
        if (w.ops < T::kMinOps || g.evidence.direct_ops > 0) continue;
        const uint64_t size = most_common(w.sizes);
        if (size == 0 || size >= T::kSmallWriteBytes) continue;
        const bool flushed = g.evidence.fsyncs + g.evidence.fdatasyncs > 0;
        c.add({"workload.small_buffered_writes", flushed ? Severity::warning : Severity::info,
               fmt::format("{} writes {} at a time through the page cache", g.name, fio_size(size)),
               {{"writes", fmt::format("{} of mostly {}", w.ops, fio_size(size)), c.step("model.json")},
                {"flushes", std::to_string(g.evidence.fsyncs + g.evidence.fdatasyncs), c.step("model.json")}},
               note::kModel,
               flushed ? "Small writes that are flushed soon after cost a page-cache copy and a flush each: write larger "
                         "blocks, or use O_DIRECT with aligned buffers."
                       : "Small buffered writes cost a copy and a syscall each; larger writes (or writev) cut both."});
    }
}

void random_on_rotational(Context& c) {
    if (!c.model) return;
    const Disk* spinning = nullptr;
    for (const auto& d : c.disks)
        if (d.rotational()) spinning = &d;
    if (!spinning) return;
    for (const auto& g : c.model->groups) {
        if (g.pattern != "random" || g.evidence.reads.ops < T::kMinOps) continue;
        c.add({"workload.random_on_rotational", Severity::critical,
               fmt::format("{} reads at random from a rotational disk ({})", g.name, spinning->name),
               {{"random reads", std::to_string(g.evidence.reads.ops), c.step("model.json")},
                {spinning->name + " rotational", "1", c.step("stack.json")}},
               note::kWholeStack,
               "A spinning disk seeks for each random read (a few hundred IOPS at most). Move the data to solid state, "
               "or make the reads sequential (bigger sorted batches), or cache them."});
    }
}

void unaligned_direct(Context& c) {
    if (!c.model) return;
    uint64_t block = 512;
    for (const auto& d : c.disks)
        if (auto lbs = number(d.queue, {"logical_block_size"})) block = std::max(block, static_cast<uint64_t>(*lbs));
    for (const auto& g : c.model->groups) {
        if (g.evidence.direct_ops == 0) continue;
        uint64_t unaligned = 0, total = 0;
        for (const auto* dir : {&g.evidence.reads, &g.evidence.writes})
            for (const auto& [size, count] : dir->sizes) {
                total += count;
                if (size % block) unaligned += count;
            }
        if (!unaligned) continue;
        c.add({"workload.unaligned_direct", Severity::warning,
               fmt::format("{} does O_DIRECT IO in sizes that are not a multiple of {} bytes", g.name, block),
               {{"unaligned direct IOs", fmt::format("{} of {}", unaligned, total), c.step("model.json")},
                {"logical block size", std::to_string(block), c.step("stack.json")}},
               note::kModel,
               "Direct IO must be aligned to the logical block size: unaligned requests fail (EINVAL) or fall back to "
               "slow paths in some file systems. Align buffers, offsets and sizes."});
    }
}

void waits_on_io(Context& c) {
    if (!c.model) return;
    for (const auto& g : c.model->groups) {
        if (data_ops(g) < T::kMinOps || g.evidence.busy_fraction < T::kIoBoundShare || is_async(g)) continue;
        Finding f{"workload.waits_on_io", Severity::warning,
                  fmt::format("{}'s threads spend {} of their time waiting in IO calls", g.name,
                              percent(g.evidence.busy_fraction)),
                  {{"time in IO calls", percent(g.evidence.busy_fraction), c.step("model.json")},
                   {"IO latency p50", us_text(g.evidence.reads.ops >= g.evidence.writes.ops ? g.evidence.reads.latency_us.p50
                                                                                             : g.evidence.writes.latency_us.p50),
                    c.step("model.json")}},
                  note::kOffcpu,
                  "The threads are IO-bound: faster IO, or more IO in flight, speeds them up directly. The latency and "
                  "off-CPU steps show which layer the wait is in."};
        c.add(std::move(f));
    }
}

// --- latency --------------------------------------------------------------------------------

struct LatencyRowView {
    std::string layer, name;
    double count = 0, p50 = 0, p99 = 0;
};

std::vector<LatencyRowView> latency_rows(const ordered_json& latency) {
    std::vector<LatencyRowView> rows;
    if (!latency.is_object() || !latency.contains("rows") || !latency.at("rows").is_array()) return rows;
    for (const auto& row : latency.at("rows"))
        rows.push_back({text(row, "layer"), text(row, "name"), number(row, {"count"}).value_or(0),
                        number(row, {"us", "p50"}).value_or(0), number(row, {"us", "p99"}).value_or(0)});
    return rows;
}

void queue_dominates(Context& c) {
    const auto rows = latency_rows(c.out.latency);
    for (const auto& queued : rows) {
        if (queued.layer.rfind("block queue", 0) != 0 || queued.count < T::kMinOps) continue;
        for (const auto& device : rows) {
            if (device.layer.rfind("block device", 0) != 0 || device.name != queued.name) continue;
            if (queued.p50 <= device.p50 || queued.p50 < T::kQueueDominatesMinUs) continue;
            c.add({"latency.queue_dominates", Severity::warning,
                   fmt::format("{}: requests wait longer in the block queue than in the device", queued.name),
                   {{"queued (Q2D) p50/p99", us_text(queued.p50) + " / " + us_text(queued.p99), c.step("latency.json")},
                    {"in the device (D2C) p50/p99", us_text(device.p50) + " / " + us_text(device.p99), c.step("latency.json")}},
                   note::kDiskLatency,
                   "Time is lost before the device sees the request: the IO scheduler, a small nr_requests, cgroup "
                   "throttling or a plugged queue. Check the stack step's scheduler and queue settings."});
        }
    }
}

bool data_syscall(const std::string& name) {
    for (const char* s : {"read", "write", "pread64", "pwrite64", "readv", "writev", "preadv", "pwritev", "preadv2", "pwritev2"})
        if (name == s) return true;
    return false;
}

void syscall_above_device(Context& c) {
    const auto rows = latency_rows(c.out.latency);
    double device_p50 = 0;
    std::string device;
    for (const auto& r : rows)
        if (r.layer.rfind("block device", 0) == 0 && r.count >= T::kMinOps / 10 && r.p50 > device_p50)
            device_p50 = r.p50, device = r.name;
    if (device_p50 <= 0) return;
    for (const auto& r : rows) {
        if (r.layer != "syscall" || !data_syscall(r.name) || r.count < T::kMinOps) continue;
        if (r.p50 < T::kSyscallMinUs || r.p50 < T::kSyscallOverDevice * device_p50) continue;
        c.add({"latency.syscall_above_device", Severity::warning,
               fmt::format("{} takes {:.0f}x as long as the device", r.name, r.p50 / device_p50),
               {{r.name + " p50/p99", us_text(r.p50) + " / " + us_text(r.p99), c.step("latency.json")},
                {device + " in the device (D2C) p50", us_text(device_p50), c.step("latency.json")}},
               note::kFsLatency,
               "Most of the call's time is spent above the block layer: file system locks, journal commits, page-cache "
               "writeback throttling, or waiting for other IO. The off-CPU step shows the stacks it waits in."});
    }
}

void flush_tail(Context& c) {
    for (const auto& r : latency_rows(c.out.latency)) {
        if (r.layer != "syscall" || (r.name != "fsync" && r.name != "fdatasync") || r.count < 10) continue;
        if (r.p50 <= 0 || r.p99 < T::kFlushTailMinUs || r.p99 < T::kFlushTailRatio * r.p50) continue;
        c.add({"latency.flush_tail", Severity::warning,
               fmt::format("{} has a long tail: p99 is {:.0f}x its median", r.name, r.p99 / r.p50),
               {{r.name + " p50/p99", us_text(r.p50) + " / " + us_text(r.p99), c.step("latency.json")},
                {"calls", fmt::format("{:.0f}", r.count), c.step("latency.json")}},
               note::kSyncWrite,
               "Some flushes wait for much more than their own writes: journal commits that carry other files' data, "
               "writeback of dirty pages, or the device's cache. `iodiag slow --min 1ms` lists them one by one."});
    }
}

void slow_device(Context& c) {
    for (const auto& r : latency_rows(c.out.latency)) {
        if (r.layer.rfind("block device", 0) != 0 || r.count < T::kMinOps / 10) continue;
        const std::string disk = r.name.substr(0, r.name.find(' '));
        bool rotational = false;
        for (const auto& d : c.disks)
            if (d.name == disk) rotational = d.rotational();
        const double limit = rotational ? T::kSlowRotationalUs : T::kSlowDeviceUs;
        if (r.p50 < limit) continue;
        c.add({"latency.slow_device", Severity::critical,
               fmt::format("{}: the device takes {} per request (median)", r.name, us_text(r.p50)),
               {{"in the device (D2C) p50/p99", us_text(r.p50) + " / " + us_text(r.p99), c.step("latency.json")},
                {"threshold", us_text(limit) + (rotational ? " (rotational)" : ""), "thresholds"}},
               note::kDiskLatency,
               "The device itself is slow for these requests: check its health and load from other processes, and "
               "what lies below it (a virtual disk: its host; `iodiag probe depth1` measures it alone)."});
    }
}

void slow_outliers(Context& c) {
    const auto& slow = c.out.slow;
    if (!slow.is_object()) return;
    const double listed = number(slow, {"listed"}).value_or(0);
    if (listed <= 0) return;
    Finding f{"latency.slow_outliers", Severity::warning,
              fmt::format("{:.0f} IO operations took {} ms or longer", listed, number(slow, {"min_ms"}).value_or(0)),
              {},
              note::kFsLatency,
              "Outliers stall the application even when the averages look fine. See slow.json for each one (file, "
              "offset, size, layer): a layer where they concentrate is where to look."};
    if (slow.contains("counts") && slow.at("counts").is_object())
        for (const auto& [layer, counts] : slow.at("counts").items())
            f.evidence.push_back({layer + ": slow of seen", fmt::format("{:.0f} of {:.0f}", number(counts, {"slow"}).value_or(0),
                                                                       number(counts, {"seen"}).value_or(0)),
                                  c.step("slow.json")});
    if (slow.contains("ops") && slow.at("ops").is_array() && !slow.at("ops").empty()) {
        const auto& ops = slow.at("ops");
        auto worst = std::max_element(ops.begin(), ops.end(), [](const auto& a, const auto& b) {
            return number(a, {"latency_ms"}).value_or(0) < number(b, {"latency_ms"}).value_or(0);
        });
        f.evidence.push_back({"slowest", fmt::format("{} {} on {}: {:.1f} ms", text(*worst, "layer"), text(*worst, "op"),
                                                     text(*worst, "file"), number(*worst, {"latency_ms"}).value_or(0)),
                              c.step("slow.json")});
    }
    c.add(std::move(f));
}

void preempted(Context& c) {
    const auto& offcpu = c.out.offcpu;
    if (!offcpu.is_object() || !offcpu.contains("stacks") || !offcpu.at("stacks").is_array()) return;
    double total = 0, preempted_ms = 0;
    for (const auto& s : offcpu.at("stacks")) {
        const double ms = number(s, {"total_ms"}).value_or(0);
        total += ms;
        if (text(s, "state") == "preempted") preempted_ms += ms;
    }
    if (total <= 0 || preempted_ms / total < T::kPreemptedShare) return;
    c.add({"offcpu.preempted", Severity::warning,
           fmt::format("the target's threads lose {} of their off-CPU time to preemption", percent(preempted_ms / total)),
           {{"preempted", fmt::format("{:.1f} ms of {:.1f} ms off CPU (top stacks)", preempted_ms, total), c.step("offcpu.json")}},
           note::kOffcpu,
           "The threads were runnable but another task had the CPU: CPU contention, not IO, delays them. Check the "
           "machine's load, CPU quotas, and (in a VM) the host's steal time."});
}

// --- the stack and KVM: the inspections' own findings join the list ------------------------

std::string imported_next_step(const std::string& id) {
    if (id == "stack.loop_buffered") return "Turn on direct IO for the loop device: losetup --direct-io=on.";
    if (id.rfind("guest.", 0) == 0)
        return "On the host: `iodiag kvm inspect --pid QEMU_PID` shows the disk's emulation; change it as this says.";
    if (id.rfind("kvm.", 0) == 0) return "Change the disk's qemu/libvirt options as the finding says, then rerun the probes.";
    return "See the stack step's output for the details.";
}

void imported(Context& c, const ordered_json& document, const char* file) {
    if (!document.is_object() || !document.contains("findings") || !document.at("findings").is_array()) return;
    for (const auto& f : document.at("findings")) {
        Finding finding;
        finding.id = text(f, "id");
        const std::string severity = text(f, "severity");
        finding.severity = severity == "critical" ? Severity::critical : severity == "warning" ? Severity::warning : Severity::info;
        finding.title = text(f, "title");
        if (const std::string why = text(f, "why"); !why.empty()) finding.evidence.push_back({"why it matters", why, c.step(file)});
        if (f.contains("evidence") && f.at("evidence").is_object())
            for (const auto& [key, value] : f.at("evidence").items())
                finding.evidence.push_back({key, value.is_string() ? value.get<std::string>() : value.dump(), c.step(file)});
        finding.section = text(f, "note_section");
        finding.next_step = imported_next_step(finding.id);
        c.add(std::move(finding));
    }
}

void stack_imported(Context& c) { imported(c, c.out.stack, "stack.json"); }
void kvm_imported(Context& c) { imported(c, c.out.kvm, "kvm.json"); }

void scheduler_vs_workload(Context& c) {
    if (!c.model) return;
    bool random = false, deep = false;
    for (const auto& g : c.model->groups) {
        if (data_ops(g) < T::kMinOps) continue;
        random |= g.pattern == "random" || g.pattern == "mixed";
        deep |= fio_int(g, "iodepth") * std::max<int64_t>(1, fio_int(g, "numjobs")) >= 8;
    }
    for (const auto& d : c.disks) {
        const std::string scheduler = text(d.queue, "scheduler");
        if (scheduler.empty()) continue;
        if (d.rotational() && scheduler == "none" && random)
            c.add({"stack.scheduler_vs_workload", Severity::warning,
                   fmt::format("{}: rotational disk without an IO scheduler under random IO", d.name),
                   {{d.name + " scheduler", scheduler, c.step("stack.json")}, {"pattern", "random", c.step("model.json")}},
                   note::kWholeStack, "mq-deadline or bfq sort and merge requests for a spinning disk: echo mq-deadline > /sys/block/" + d.name + "/queue/scheduler."});
        else if (!d.rotational() && (scheduler == "bfq") && deep)
            c.add({"stack.scheduler_vs_workload", Severity::info,
                   fmt::format("{}: bfq on a solid-state disk under a deep queue", d.name),
                   {{d.name + " scheduler", scheduler, c.step("stack.json")}},
                   note::kWholeStack, "bfq costs CPU per request; on fast solid state 'none' usually serves deep queues better."});
    }
}

void write_cache(Context& c) {
    if (!c.model) return;
    uint64_t flushes = 0;
    for (const auto& g : c.model->groups) flushes += g.evidence.fsyncs + g.evidence.fdatasyncs + g.evidence.sync_ops + g.evidence.dsync_ops;
    if (flushes < 10) return;
    for (const auto& d : c.disks) {
        const std::string cache = text(d.queue, "write_cache");
        if (cache.empty()) continue;
        const bool back = cache == "write back";
        c.add({"stack.write_cache", Severity::info,
               fmt::format("{}: write cache '{}' under a workload that flushes", d.name, cache),
               {{d.name + " write_cache", cache, c.step("stack.json")},
                {"flushes and synced writes", std::to_string(flushes), c.step("model.json")}},
               note::kSyncWrite,
               back ? "Every fsync/fdatasync sends a cache FLUSH (or FUA write) to this disk: its cost is the flush latency. "
                      "`iodiag probe syncwrite` measures it."
                    : "The disk reports no volatile cache: flushes are not sent to it, so sync writes cost one device write."});
    }
}

void read_ahead_random(Context& c) {
    if (!c.model) return;
    for (const auto& g : c.model->groups) {
        if (g.pattern != "random" || g.evidence.direct_ops > 0 || g.evidence.reads.ops < T::kMinOps) continue;
        if (most_common(g.evidence.reads.sizes) > 64 * 1024) continue;
        for (const auto& d : c.disks) {
            auto ra = number(d.queue, {"read_ahead_kb"});
            if (!ra || *ra <= T::kLargeReadAheadKb) continue;
            c.add({"stack.read_ahead_random", Severity::info,
                   fmt::format("{}: read_ahead_kb={:.0f} under small random buffered reads", d.name, *ra),
                   {{"read sizes", fio_size(most_common(g.evidence.reads.sizes)), c.step("model.json")},
                    {d.name + " read_ahead_kb", fmt::format("{:.0f}", *ra), c.step("stack.json")}},
                   note::kWholeStack, "Read-ahead may read data nobody asks for on page-cache misses: try a smaller read_ahead_kb, or posix_fadvise(RANDOM)."});
        }
    }
}

// --- reproduction and probes ---------------------------------------------------------------

void rate_mismatch(Context& c) {
    const auto& rep = c.out.reproduce;
    if (!rep.is_object() || !rep.contains("comparison")) return;
    const auto& groups = rep.at("comparison").value("groups", ordered_json::array());
    for (const auto& g : groups) {
        for (const auto& m : g.value("metrics", ordered_json::array())) {
            if (text(m, "metric") != "IOPS") continue;
            auto observed = number(m, {"observed"});
            auto reproduced = number(m, {"reproduced"});
            if (!observed || !reproduced || *observed <= 0) continue;
            const double relative = (*reproduced - *observed) / *observed;
            if (std::fabs(relative) <= T::kReproduceTolerance) continue;
            const bool faster = relative > 0;
            c.add({"reproduce.rate_mismatch", Severity::warning,
                   fmt::format("{}: fio {} the observed rate ({:+.0f}%)", text(g, "group"),
                               faster ? "exceeds" : "falls short of", 100 * relative),
                   {{"observed IOPS", fmt::format("{:.0f}", *observed), c.step("model.json")},
                    {"reproduced IOPS", fmt::format("{:.0f}", *reproduced), c.step("reproduce.json")}},
                   note::kModel,
                   faster ? "The same IO runs faster on its own: the application's time goes elsewhere (CPU, locks, think "
                            "time, its own rate limits) or other load shared the disk while it was traced. Look at the "
                            "off-CPU and wakeup steps."
                          : "fio runs slower than the application did: the scratch location is slower than the "
                            "application's storage, or the model misses something (caching, a pattern); compare with the "
                            "probe on the application's file system."});
        }
    }
}

double clat(const ordered_json& probe, const char* which) { return number(probe, {"clat_us", which}).value_or(0); }

void depth1_slow(Context& c) {
    const auto& p = c.out.probe_depth1;
    if (!p.is_object()) return;
    const double p50 = clat(p, "p50");
    bool rotational = false;
    for (const auto& d : c.disks) rotational |= d.rotational();
    if (p50 < T::kDepth1SlowUs || rotational) return;
    c.add({"probe.depth1_slow", Severity::warning,
           fmt::format("one direct write at depth 1 takes {} on this storage", us_text(p50)),
           {{"depth1 probe clat p50/p99", us_text(p50) + " / " + us_text(clat(p, "p99")), c.step("probe-depth1.json")},
            {"IOPS", fmt::format("{:.0f}", number(p, {"iops"}).value_or(0)), c.step("probe-depth1.json")}},
           note::kDepth1,
           "One IO's trip through the whole stack is slow: below the file system (a virtual disk and its host, a "
           "network block device) is where to look. In a guest, compare with the same probe on the host."});
}

void flush_cost(Context& c) {
    const auto& sync = c.out.probe_syncwrite;
    const auto& plain = c.out.probe_depth1;
    if (!sync.is_object() || !plain.is_object()) return;
    const double synced = clat(sync, "p50"), direct = clat(plain, "p50");
    if (direct <= 0 || synced < T::kFlushCostRatio * direct) return;
    c.add({"probe.flush_cost", Severity::warning,
           fmt::format("a synced write costs {:.1f}x a plain direct write here", synced / direct),
           {{"syncwrite probe clat p50", us_text(synced), c.step("probe-syncwrite.json")},
            {"depth1 probe clat p50", us_text(direct), c.step("probe-depth1.json")}},
           note::kSyncWrite,
           "The difference is the storage cache's FLUSH/FUA: every fsync/fdatasync pays it. Fewer flushes (group commit) "
           "or storage with a power-safe cache (write through is then safe) remove it."});
}

// --- KVM: guest against host, and qemu traced on the host -----------------------------------

void virtualisation_cost(Context& c) {
    const auto& k = c.out.kvm_compare;
    if (!k.is_object() || !k.contains("differences")) return;
    for (const auto& d : k.at("differences")) {
        if (d.value("stat", "") != "p50") continue;
        const double vm = d.value("lat_vm_us", 0.0), host = d.value("lat_host_us", 0.0), cost = d.value("cost_us", 0.0);
        if (vm <= 0 || cost / vm < T::kVirtualisationShare) return;
        const std::string cost_name = text(k, "cost_name");
        std::vector<Evidence> evidence = {
            {"p50 lat_vm / lat_host", us_text(vm) + " / " + us_text(host), c.step("kvm-compare.json")},
            {cost_name + " (p50)", us_text(cost) + ", " + percent(cost / vm) + " of the guest's latency", c.step("kvm-compare.json")}};
        if (d.contains("interval_us") && d.at("interval_us").is_array())
            evidence.push_back({"interval", us_text(d.at("interval_us")[0].get<double>()) + " .. " +
                                                us_text(d.at("interval_us")[1].get<double>()),
                                c.step("kvm-compare.json")});
        c.add({"kvm.virtualisation_cost", Severity::warning,
               fmt::format("the virtualisation layer adds {} of the guest's IO latency ({} per IO)", percent(cost / vm),
                           us_text(cost)),
               std::move(evidence), k.value("world_switch", false) ? note::kWorldSwitch : note::kGuestHost,
               "The guest's IO pays for the trip through qemu: check the disk's emulation (`iodiag kvm inspect`: an "
               "iothread, aio=native or io_uring, cache=none, a raw image) and trace qemu while the guest runs "
               "(`iodiag kvm trace --pid QEMU`) to see which step takes the time."});
        return;
    }
}

void host_side_step(Context& c) {
    const auto& t = c.out.kvm_trace;
    if (!t.is_object() || !t.contains("request")) return;
    const auto& request = t.at("request");
    const double host = number(request, {"host_us"}).value_or(0);
    if (host <= 0) return;
    if (!request.contains("steps") || !request.at("steps").is_array()) return;
    const ordered_json* top = nullptr;
    for (const auto& step : request.at("steps"))
        if (step.at("us").is_number() && (!top || step.at("us").get<double>() > top->at("us").get<double>())) top = &step;
    if (!top) return;
    const double us = top->at("us").get<double>();
    if (us / host < T::kHostStepShare) return;
    const std::string name = top->value("step", "");
    const bool wake = name.find("wake") != std::string::npos;
    std::vector<Evidence> evidence = {
        {name, us_text(us) + " of " + us_text(host) + " host-side time per request", c.step("kvm-trace.json")},
        {"requests issued by qemu", std::to_string(request.value("guest_requests", uint64_t{0})) + ", mostly by its " +
                                        request.value("io_role", std::string()),
         c.step("kvm-trace.json")}};
    if (request.contains("explained") && request.at("explained").is_number())
        evidence.push_back({"guest latency explained by the host side",
                            percent(request.at("explained").get<double>()), c.step("kvm-trace.json")});
    c.add({"kvm.host_side_step", Severity::info,
           fmt::format("on the host, a guest request spends most of its time in \"{}\" ({})", name, us_text(us)),
           std::move(evidence), note::kIothread,
           wake ? "Qemu's threads wait for a CPU after being woken: give the vCPUs and the iothread their own host CPUs "
                  "(pinning), or lower the host's load; `iodiag offcpu --pid QEMU` shows what else runs."
                : "The host's own IO is the cost: look at the storage under the image (`iodiag stack --path IMAGE_DIR`, "
                  "`iodiag latency --pid QEMU`)."});
}

struct Rule {
    RuleSpec spec;
    std::function<void(Context&)> run;
};

const std::vector<Rule>& rules() {
    static const std::vector<Rule> all = {
        {{"workload.depth1_many_tags", "one IO in flight on a disk with many queue tags", {"model.json", "stack.json"}}, depth1_many_tags},
        {{"workload.flush_every_write", "a flush after every write", {"model.json"}}, flush_every_write},
        {{"workload.small_buffered_writes", "small writes through the page cache", {"model.json"}}, small_buffered_writes},
        {{"workload.random_on_rotational", "random reads on a rotational disk", {"model.json", "stack.json"}}, random_on_rotational},
        {{"workload.unaligned_direct", "O_DIRECT IO not aligned to the logical block size", {"model.json", "stack.json"}}, unaligned_direct},
        {{"workload.waits_on_io", "threads that wait on IO most of the time", {"model.json"}}, waits_on_io},
        {{"latency.queue_dominates", "block queue time above device time", {"latency.json"}}, queue_dominates},
        {{"latency.syscall_above_device", "syscall time far above device time", {"latency.json"}}, syscall_above_device},
        {{"latency.flush_tail", "flush p99 far above its p50", {"latency.json"}}, flush_tail},
        {{"latency.slow_device", "a slow device", {"latency.json", "stack.json"}}, slow_device},
        {{"latency.slow_outliers", "slow operations", {"slow.json"}}, slow_outliers},
        {{"offcpu.preempted", "threads preempted off the CPU", {"offcpu.json"}}, preempted},
        {{"stack.inspection", "the IO stack inspection's own findings (loop devices, guest disks)", {"stack.json"}}, stack_imported},
        {{"stack.scheduler_vs_workload", "IO scheduler against the workload", {"stack.json", "model.json"}}, scheduler_vs_workload},
        {{"stack.write_cache", "the device write cache under a flushing workload", {"stack.json", "model.json"}}, write_cache},
        {{"stack.read_ahead_random", "large read-ahead under random buffered reads", {"stack.json", "model.json"}}, read_ahead_random},
        {{"kvm.inspection", "qemu's disk emulation findings (cache, aio, iothreads, image)", {"kvm.json"}}, kvm_imported},
        {{"kvm.virtualisation_cost", "the virtualisation layer adds much of the guest's latency", {"kvm-compare.json"}}, virtualisation_cost},
        {{"kvm.host_side_step", "the step of a guest request that takes most of the host side's time", {"kvm-trace.json"}}, host_side_step},
        {{"reproduce.rate_mismatch", "the fio job does not reproduce the observed rate", {"reproduce.json"}}, rate_mismatch},
        {{"probe.depth1_slow", "one IO at depth 1 is slow", {"probe-depth1.json"}}, depth1_slow},
        {{"probe.flush_cost", "a flush costs much more than a write", {"probe-syncwrite.json", "probe-depth1.json"}}, flush_cost},
    };
    return all;
}

}  // namespace

std::string_view severity_name(Severity severity) {
    switch (severity) {
    case Severity::critical: return "critical";
    case Severity::warning: return "warning";
    case Severity::info: return "info";
    }
    return "info";
}

const std::vector<RuleSpec>& rule_catalogue() {
    static const std::vector<RuleSpec> specs = [] {
        std::vector<RuleSpec> out;
        for (const auto& rule : rules()) out.push_back(rule.spec);
        return out;
    }();
    return specs;
}

bool rule_enabled(std::string_view id, const std::vector<std::string>& patterns) {
    for (const auto& pattern : patterns) {
        if (pattern == id || pattern == "*") return true;
        if (pattern.size() > 2 && pattern.ends_with(".*") && id.starts_with(pattern.substr(0, pattern.size() - 1)))
            return true;
    }
    return false;
}

bool known_rule_pattern(std::string_view pattern) {
    for (const auto& spec : rule_catalogue())
        if (rule_enabled(spec.id, {std::string(pattern)})) return true;
    return false;
}

std::string StepOutputs::step_of(const std::string& file) const {
    for (const auto& [name, step] : producers)
        if (name == file) return step;
    return file;
}

std::vector<Finding> evaluate_findings(const StepOutputs& outputs, const std::vector<std::string>& enabled) {
    std::vector<Finding> findings;
    Context c{outputs, std::nullopt, {}, findings};
    if (!outputs.model.is_null())
        if (auto model = model::from_json(outputs.model)) c.model = std::move(*model);
    collect_disks(outputs.stack, c.disks);
    if (c.disks.empty()) collect_disks(outputs.kvm, c.disks);
    for (const auto& rule : rules()) {
        if (!rule_enabled(rule.spec.id, enabled)) continue;
        // A step's output that is not what its rule expects (a garbled or foreign file in the
        // session folder) silences that rule; the others still speak.
        try {
            rule.run(c);
        } catch (const nlohmann::json::exception&) {
        }
    }
    std::stable_sort(findings.begin(), findings.end(),
                     [](const Finding& a, const Finding& b) { return a.severity > b.severity; });
    return findings;
}

ordered_json to_json(const Finding& finding) {
    ordered_json evidence = ordered_json::array();
    for (const auto& e : finding.evidence) evidence.push_back({{"what", e.what}, {"value", e.value}, {"step", e.step}});
    return {{"id", finding.id},
            {"severity", std::string(severity_name(finding.severity))},
            {"title", finding.title},
            {"evidence", std::move(evidence)},
            {"section", finding.section},
            {"next_step", finding.next_step}};
}

ordered_json to_json(const std::vector<Finding>& findings) {
    ordered_json out = ordered_json::array();
    for (const auto& f : findings) out.push_back(to_json(f));
    return out;
}

}  // namespace iodiag::report
