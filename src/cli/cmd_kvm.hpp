// `iodiag kvm inspect`: how a VM's disks are emulated, from a running QEMU, a saved command line
// or a libvirt domain XML, with findings from the note's KVM section.
#pragma once

#include "usecase/kvm_inspect.hpp"

namespace CLI {
class App;
}

namespace iodiag::cli {

struct KvmOptions {
    usecase::KvmRequest request;
    bool json = false;
};

void add_kvm_command(CLI::App& app, KvmOptions& options);
int run_kvm(const KvmOptions& options);

}  // namespace iodiag::cli
