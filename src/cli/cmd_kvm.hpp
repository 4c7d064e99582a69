// `iodiag kvm inspect`: how a VM's disks are emulated, from a running QEMU, a saved command line
// or a libvirt domain XML, with findings from the note's KVM section.
// `iodiag kvm compare`: the same job's latency in the guest and on the host, and what the
// virtualisation layer adds per IO (the note's world switch cost).
// `iodiag kvm trace`: a running QEMU traced from the host, its threads by role, who wakes whom,
// the host-side steps of a guest request, VM exits by reason.
#pragma once

#include "usecase/kvm_compare.hpp"
#include "usecase/kvm_inspect.hpp"
#include "usecase/kvm_trace.hpp"

namespace CLI {
class App;
}

namespace iodiag::cli {

struct KvmOptions {
    usecase::KvmRequest request;
    bool json = false;
    usecase::KvmCompareRequest compare;
    bool compare_given = false;   // `kvm compare` rather than `kvm inspect`
    usecase::KvmTraceRequest trace;
    bool trace_given = false;     // `kvm trace`
};

void add_kvm_command(CLI::App& app, KvmOptions& options);
int run_kvm(const KvmOptions& options);

}  // namespace iodiag::cli
