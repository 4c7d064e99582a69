// `iodiag kvm inspect`: how a VM's disks are emulated, from a running QEMU, a saved command line
// or a libvirt domain XML, with findings from the note's KVM section.
#pragma once

#include <cstdint>
#include <string>

namespace CLI {
class App;
}

namespace iodiag::cli {

struct KvmOptions {
    int32_t pid = 0;
    std::string cmdline_file;
    std::string domxml_file;
    std::string model_file;    // a model.json that says how busy and write-heavy the workload is
    bool json = false;
    bool host_stack = true;
    std::string root = "/";
};

void add_kvm_command(CLI::App& app, KvmOptions& options);
int run_kvm(const KvmOptions& options);

}  // namespace iodiag::cli
