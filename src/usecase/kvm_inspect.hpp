// `kvm inspect`: how a VM's disks are emulated, from a running QEMU, a saved command line or a
// libvirt domain XML, with findings from the note's KVM section.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "stack/finding.hpp"
#include "stack/kvm_inspector.hpp"

namespace iodiag::usecase {

struct KvmRequest {
    int32_t pid = 0;            // a running QEMU, or
    std::string cmdline_file;   // a copy of /proc/PID/cmdline, a shell-style command line, a libvirt log, or
    std::string domxml_file;    // a libvirt domain XML
    std::string model_file;     // optional model.json: how busy and write-heavy the workload is
    bool host_stack = true;     // inspect the host IO stack under each image
    std::string root = "/";     // where /proc, /sys, /dev and images are read
};

struct KvmInspection {
    stack::KvmReport report;
    std::vector<stack::Finding> findings;
};

// usage: not exactly one input, or a root that is not a folder; errors about an input file name it.
Result<KvmInspection> inspect_kvm(const KvmRequest& request);

// The report's JSON with "findings": `iodiag kvm inspect --json`.
nlohmann::ordered_json to_json(const KvmInspection& inspection);

}  // namespace iodiag::usecase
