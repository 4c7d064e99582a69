// The conditions a playbook step's `when` can test, read from this machine (a guest? qemu here?
// BPF? fio?) and from the session's earlier results (the model's engines, flushes, writes).
#pragma once

#include <map>
#include <optional>
#include <string>

#include "wizard/engine.hpp"

namespace iodiag::wizard {

class SystemFacts final : public Facts {
public:
    bool holds(const std::string& condition, const Session& session, std::string& why) override;

private:
    // System facts do not change during a session: each is probed once.
    std::map<std::string, std::pair<bool, std::string>> cache_;
};

// The pids of qemu processes on this machine (comm or argv[0] names qemu-system-* or qemu-kvm).
std::vector<int32_t> qemu_pids(const std::string& proc_root = "/proc");
bool is_qemu(int32_t pid, const std::string& proc_root = "/proc");

}  // namespace iodiag::wizard
