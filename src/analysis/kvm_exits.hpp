// VM exits by reason, from the kernel's kvm tracepoints as tracefs prints them (trace_pipe
// lines): kvm_exit (a hardware world switch out of the guest, with the VMX/SVM reason),
// kvm_userspace_exit (an exit KVM hands up to QEMU: MMIO, port IO), kvm_msi_set_irq (an interrupt
// injected into the guest, e.g. a virtio completion through irqfd). Pure: fed line by line.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace iodiag::analysis {

struct KvmTraceLine {
    int32_t tid = 0;        // the thread the event fired in (a vCPU for exits)
    std::string event;      // kvm_exit, kvm_userspace_exit, kvm_msi_set_irq, kvm_entry, ...
    std::string reason;     // the exit reason ("EXTERNAL_INTERRUPT", "npf", "KVM_EXIT_MMIO"); empty otherwise
};

// One trace_pipe line ("  CPU 0/KVM-4242  [001] d..1.  12.345678: kvm_exit: vcpu 0 reason HLT rip ...");
// nullopt for lines that are not a kvm event (the "LOST EVENTS" notice included: see lost_events).
std::optional<KvmTraceLine> parse_kvm_trace_line(std::string_view line);

// "CPU:1 [LOST 42 EVENTS]": the number of events the kernel dropped, else 0.
uint64_t lost_events(std::string_view line);

class KvmExitCounts {
public:
    void add_line(std::string_view line);  // parse and count; anything else is ignored
    void add(const KvmTraceLine& line);

    uint64_t exits() const { return exits_; }                 // kvm_exit events
    uint64_t userspace_exits() const { return userspace_; }   // kvm_userspace_exit events
    uint64_t interrupts() const { return msi_; }              // kvm_msi_set_irq events
    uint64_t lost() const { return lost_; }
    const std::map<std::string, uint64_t>& exit_reasons() const { return exit_reasons_; }
    const std::map<std::string, uint64_t>& userspace_reasons() const { return userspace_reasons_; }
    const std::map<int32_t, uint64_t>& exits_by_thread() const { return by_thread_; }

    // {"exits", "exits_per_s", "reasons": [{"reason", "count", "per_s"}] (most first),
    //  "userspace_exits", "userspace_reasons", "interrupts", "interrupts_per_s", "lost"}
    nlohmann::ordered_json to_json(double seconds) const;

private:
    uint64_t exits_ = 0, userspace_ = 0, msi_ = 0, lost_ = 0;
    std::map<std::string, uint64_t> exit_reasons_, userspace_reasons_;
    std::map<int32_t, uint64_t> by_thread_;
};

}  // namespace iodiag::analysis
