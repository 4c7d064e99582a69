#include "wizard/action_catalogue.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/units.hpp"
#include "fio/job_file.hpp"

namespace iodiag::wizard {
namespace {

ParamSpec duration(std::string default_value, std::string help = "how long to trace") {
    return {"duration", ParamType::duration, std::move(default_value), {}, std::move(help)};
}

std::vector<ActionSpec> make_catalogue() {
    return {
        {"model", "trace the target's IO and model it in fio's terms", true,
         {duration("10s"),
          {"source", ParamType::choice, "auto", {"auto", "bpf", "perf", "strace"}, "trace source"}},
         {"model.json"}},
        {"stack", "inspect the IO stack under the target's files: file system, block queue, disks, VM", false,
         {{"path", ParamType::path, "", {}, "a file or folder (default: the target's open files, or the folder of the files the model saw)"}},
         {"stack.json"}},
        {"latency", "latency per layer: syscalls, async requests, block queue and device", true,
         {duration("10s")}, {"latency.json"}},
        {"slow", "the slow IO operations one by one", true,
         {duration("10s"), {"min", ParamType::duration, "10ms", {}, "slowest first: operations at or over this"}},
         {"slow.json"}},
        {"offcpu", "where the target's threads wait off the CPU, by stack", true,
         {duration("10s"), {"min", ParamType::duration, "1us", {}, "shortest absence recorded"}},
         {"offcpu.json"}},
        {"wakeup", "who wakes the target's threads, and whom they wake", true,
         {duration("10s")}, {"wakeup.json"}},
        {"reproduce", "write the model as an fio job, run it and compare with what was observed", false,
         {{"runtime", ParamType::duration, "10s", {}, "how long fio runs"},
          {"target", ParamType::path, "", {}, "folder fio writes its scratch files in (default: a new one in the session folder)"},
          {"max_size", ParamType::size, "1g", {}, "largest scratch data fio may lay out"}},
         {"job.fio", "reproduce.json"}},
        {"probe", "one of the note's standard fio workloads on the workload's file system", false,
         {{"kind", ParamType::choice, "depth1", {"depth1", "syncwrite"}, "which probe"},
          {"target", ParamType::path, "", {}, "folder on the file system to measure (default: where the model's files are)"},
          {"size", ParamType::size, "128m", {}, "scratch file size"},
          {"runtime", ParamType::duration, "5s", {}, "how long fio runs"}},
         {"probe-<kind>.json"}},
        {"kvm_inspect", "how qemu emulates the VM's disks (cache, aio, iothreads, image)", false,
         {{"pid", ParamType::count, "", {}, "qemu's pid (default: the target if it is qemu, else the first qemu found)"}},
         {"kvm.json"}},
        {"kvm_trace", "trace qemu from the host while the guest does IO: threads by role, who wakes whom, "
                      "the host-side steps of a guest request, VM exits", false,
         {{"pid", ParamType::count, "", {}, "qemu's pid (default: the target if it is qemu, else the first qemu found)"},
          duration("10s"),
          {"guest", ParamType::path, "", {}, "the guest's result of the job it runs meanwhile (iodiag probe --json), optional"}},
         {"kvm-trace.json"}},
        {"kvm_compare", "the same probe in the guest and on the host: lat_vm - lat_host, the virtualisation cost per IO", false,
         {{"kind", ParamType::choice, "syncwrite", {"depth1", "syncwrite"}, "which probe (this session's probe-KIND.json is the host side)"},
          {"guest", ParamType::path, "", {}, "the guest's `iodiag probe KIND --json` output, copied to this machine"}},
         {"kvm-compare.json"}},
        {"report", "write the findings report (report.md, report.json, report.html)", false, {},
         {"report.md", "report.json", "report.html"}},
    };
}

}  // namespace

const std::vector<ActionSpec>& action_catalogue() {
    static const std::vector<ActionSpec> catalogue = make_catalogue();
    return catalogue;
}

const ActionSpec* find_action(std::string_view name) {
    for (const auto& action : action_catalogue())
        if (action.name == name) return &action;
    return nullptr;
}

const ParamSpec* find_param(const ActionSpec& action, std::string_view name) {
    for (const auto& param : action.params)
        if (param.name == name) return &param;
    return nullptr;
}

Status check_param_value(const ParamSpec& param, const std::string& value) {
    switch (param.type) {
    case ParamType::duration:
        if (auto ns = parse_duration_ns(value); !ns || *ns == 0)
            return fail(ErrorKind::usage, fmt::format("{}: not a duration: '{}'", param.name, value),
                        "write it as 500ms, 10s, 2m, 250us");
        return {};
    case ParamType::size:
        if (auto bytes = fio::parse_fio_size(value); !bytes || *bytes == 0)
            return fail(ErrorKind::usage, fmt::format("{}: not a size: '{}'", param.name, value),
                        "write it as fio does: 4k, 256m, 2g");
        return {};
    case ParamType::count:
        if (value.empty() || !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; }))
            return fail(ErrorKind::usage, fmt::format("{}: not a number: '{}'", param.name, value));
        return {};
    case ParamType::choice:
        if (std::find(param.choices.begin(), param.choices.end(), value) == param.choices.end())
            return fail(ErrorKind::usage, fmt::format("{}: '{}' is not one of {}", param.name, value,
                                                      fmt::join(param.choices, ", ")));
        return {};
    case ParamType::text:
    case ParamType::path:
        return {};
    }
    return {};
}

const std::vector<ConditionSpec>& condition_catalogue() {
    static const std::vector<ConditionSpec> conditions = {
        {"target", "a target process or command was given"},
        {"in_guest", "this machine is a virtual machine (a guest)"},
        {"qemu_host", "a qemu process runs on this machine"},
        {"target_is_qemu", "the target process is qemu"},
        {"bpf", "the bpf source loads here (latency, slow, offcpu and wakeup need it)"},
        {"fio", "fio is installed"},
        {"model", "the workload model exists (the model step ran)"},
        {"async_engine_seen", "the model has a libaio or io_uring group"},
        {"flushes_seen", "the model saw fsync/fdatasync calls or O_SYNC/O_DSYNC writes"},
        {"writes_seen", "the model saw writes"},
        {"direct_io_seen", "the model saw O_DIRECT IO"},
    };
    return conditions;
}

const ConditionSpec* find_condition(std::string_view name) {
    for (const auto& condition : condition_catalogue())
        if (condition.name == name) return &condition;
    return nullptr;
}

}  // namespace iodiag::wizard
