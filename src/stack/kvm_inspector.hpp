// `kvm inspect` on the host: a VM's configuration (from a running QEMU, a saved command line or a
// libvirt domain XML), completed with what the host can tell: the image headers and backing
// chains, the host IO stack under each image, and (for a running QEMU) its threads by role.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "stack/image_format.hpp"
#include "stack/qemu_threads.hpp"
#include "stack/stack_inspector.hpp"
#include "stack/sysroot.hpp"
#include "stack/vm_config.hpp"

namespace iodiag::stack {

struct LayerReport {
    ImageLayer layer;
    std::optional<ImageInfo> info;   // from the header, when the image was readable
    std::string error;               // why it was not
};

struct DiskReport {
    DiskConfig config;
    std::vector<LayerReport> chain;          // config layers, then backing files from headers
    std::optional<StackReport> host_stack;   // the host stack under the active image
    std::string host_stack_error;
};

struct KvmReport {
    VmConfig vm;
    std::optional<int32_t> pid;
    std::optional<QemuThreads> threads;
    std::vector<DiskReport> disks;
    std::vector<std::string> notes;
};

struct KvmInspectOptions {
    bool host_stack = true;   // inspect the host IO stack under each image
};

class KvmInspector {
public:
    explicit KvmInspector(SysRoot root, KvmInspectOptions options = {});

    // not_found for a missing pid; bad_input when it is not QEMU (naming what it runs).
    Result<KvmReport> inspect_pid(int32_t pid) const;
    // A copy of /proc/PID/cmdline or a shell-style command line (or a libvirt log).
    Result<KvmReport> inspect_cmdline(std::string_view text) const;
    Result<KvmReport> inspect_domain_xml(std::string_view xml) const;

    // Reads a user's input file (not through the root): not_found / permission / bad_input
    // (empty) errors name it.
    static Result<std::string> read_input_file(const std::string& path);

private:
    KvmReport complete(VmConfig vm) const;
    DiskReport describe_disk(const DiskConfig& config) const;

    SysRoot root_;
    KvmInspectOptions options_;
};

}  // namespace iodiag::stack
