// `kvm trace`: a running QEMU traced from the host while its guest does IO. Its threads by role
// (from the names QEMU gives them), each role's IO syscalls on the images, eventfd kicks and
// notifications, async requests and off-CPU time, who wakes whom between the roles, the host-side
// time of a guest request split into its steps and, with the guest's own result, the share of
// the guest's latency the host side explains. VM exits by reason from the kernel's kvm
// tracepoints where the guest runs under KVM; under TCG there are none, and the report says so.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "analysis/qemu_trace.hpp"
#include "common/result.hpp"
#include "usecase/bpf_run.hpp"
#include "usecase/observer.hpp"

namespace iodiag::usecase {

struct KvmTraceRequest {
    int32_t pid = 0;                 // the QEMU process
    uint64_t duration_ms = 10'000;   // 0: until QEMU exits or Ctrl-C
    bool progress = false;           // progress lines on stderr even when it is not a terminal
    std::string guest_file;          // the guest's result of the job it ran meanwhile (`probe --json`, fio json)
};

struct KvmTraceRun {
    std::string target;              // "pid 1234 (qemu-system-x86)"
    std::string accel;               // kvm (the process holds a KVM VM fd) or tcg
    TraceEnd end;
    analysis::QemuTraceReport report;
    std::optional<nlohmann::ordered_json> vm_exits;  // analysis::KvmExitCounts::to_json, when traced
    std::string vm_exits_note;       // why there are none, or what they mean
};

// not_found: no such pid; usage: the pid is not QEMU (named by comm, argv[0] or a KVM fd);
// bad_input: an unreadable guest file; aborted on a second Ctrl-C. A QEMU that did no IO is a
// result (with a note), not an error.
Result<KvmTraceRun> trace_qemu(const KvmTraceRequest& request, Observer& observer);

// `iodiag kvm trace --json`.
nlohmann::ordered_json to_json(const KvmTraceRun& run);
std::string render_text(const KvmTraceRun& run);

}  // namespace iodiag::usecase
