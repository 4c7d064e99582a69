#include "wizard/facts.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "common/subprocess.hpp"
#include "model/workload_model.hpp"
#include "stack/sysroot.hpp"
#include "stack/virtualization.hpp"
#include "trace/bpf_features.hpp"

namespace iodiag::wizard {
namespace {

namespace fs = std::filesystem;

std::string first_word_of_cmdline(const fs::path& dir) {
    std::ifstream in(dir / "cmdline");
    std::string arg0;
    std::getline(in, arg0, '\0');
    return fs::path(arg0).filename().string();
}

std::string comm_of(const fs::path& dir) {
    std::ifstream in(dir / "comm");
    std::string comm;
    std::getline(in, comm);
    return comm;
}

bool qemu_name(const std::string& name) {
    return name.rfind("qemu-system", 0) == 0 || name == "qemu-kvm" || name.rfind("qemu-kvm", 0) == 0;
}

}  // namespace

bool is_qemu(int32_t pid, const std::string& proc_root) {
    const fs::path dir = fs::path(proc_root) / std::to_string(pid);
    return qemu_name(first_word_of_cmdline(dir)) || qemu_name(comm_of(dir));
}

std::vector<int32_t> qemu_pids(const std::string& proc_root) {
    std::vector<int32_t> pids;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(proc_root, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
        if (is_qemu(std::stoi(name), proc_root)) pids.push_back(std::stoi(name));
    }
    std::sort(pids.begin(), pids.end());
    return pids;
}

bool SystemFacts::holds(const std::string& condition, const Session& session, std::string& why) {
    if (condition == "target") {
        why = session.target.given() ? "a target was given" : "no target process or command";
        return session.target.given();
    }
    if (condition == "target_is_qemu") {
        const bool qemu = session.target.pid > 0 && is_qemu(session.target.pid);
        why = qemu ? "the target is qemu" : "the target is not a qemu process";
        return qemu;
    }
    if (auto it = cache_.find(condition); it != cache_.end()) {
        why = it->second.second;
        return it->second.first;
    }
    // Results of earlier steps: read every time, a redo may change them.
    if (condition == "model" || condition == "async_engine_seen" || condition == "flushes_seen" ||
        condition == "writes_seen" || condition == "direct_io_seen") {
        const StepRecord* step = session.find("model");
        auto model = model::load_model(session.path("model.json"));
        if (!model || (step && step->state != StepState::done)) {
            why = "no workload model (the model step did not complete)";
            return false;
        }
        if (condition == "model") {
            why = "the workload model exists";
            return true;
        }
        bool async = false, flushes = false, writes = false, direct = false;
        for (const auto& g : model->groups) {
            async |= g.engine == "libaio" || g.engine == "io_uring";
            flushes |= g.evidence.fsyncs + g.evidence.fdatasyncs + g.evidence.sync_ops + g.evidence.dsync_ops > 0;
            writes |= g.evidence.writes.ops > 0;
            direct |= g.evidence.direct_ops > 0;
        }
        const std::map<std::string, std::pair<bool, const char*>> answers = {
            {"async_engine_seen", {async, "the model has a libaio or io_uring group"}},
            {"flushes_seen", {flushes, "the model saw flushes or synced writes"}},
            {"writes_seen", {writes, "the model saw writes"}},
            {"direct_io_seen", {direct, "the model saw O_DIRECT IO"}}};
        const auto& [value, text] = answers.at(condition);
        why = text;
        return value;
    }
    bool value = false;
    if (condition == "in_guest") {
        stack::SysRoot root("/");
        const auto virt = stack::detect_virtualization(root, stack::read_cpuid());
        value = virt.guest;
        why = virt.guest ? fmt::format("a {} guest", virt.hypervisor) : "not a virtual machine guest";
    } else if (condition == "qemu_host") {
        const auto pids = qemu_pids();
        value = !pids.empty();
        why = value ? fmt::format("qemu runs here (pid {})", pids.front()) : "no qemu process on this machine";
    } else if (condition == "bpf") {
        auto features = trace::probe_bpf_features();
        value = features && (features->tp_btf || features->raw_tp || features->tracepoint);
        why = value ? "the bpf source loads here" : "the bpf source does not load here" + (features ? std::string() : ": " + features.error().message);
    } else if (condition == "fio") {
        value = find_in_path("fio").has_value();
        why = value ? "fio is installed" : "fio is not installed (apt-get install fio)";
    } else {
        why = "unknown condition " + condition;
    }
    cache_[condition] = {value, why};
    return value;
}

}  // namespace iodiag::wizard
