// Findings from `iodiag kvm inspect`: how the VM's disks are emulated, judged against the note's
// KVM section. Rules that depend on the workload (busy, write-heavy) use the hint when there is
// one and speak conditionally at info level when there is not.
#pragma once

#include <vector>

#include "stack/finding.hpp"
#include "stack/kvm_inspector.hpp"

namespace iodiag::stack {

// kvm.cache_unsafe             guest flushes are dropped
// kvm.cache_none_aio_threads   O_DIRECT IO through the thread pool
// kvm.aio_native_buffered      aio=native without O_DIRECT
// kvm.no_iothread              a virtio disk served by the main loop
// kvm.queues_lt_vcpus          fewer virtqueues than vCPUs
// kvm.writethrough             the guest sees no write-back cache: every write is made durable
// kvm.qcow2_not_allocated      qcow2 clusters still to allocate on first write
// kvm.backing_chain            reads may walk a chain of images
// kvm.format_mismatch          an image opened as another format than its header says
// kvm.host_write_cache         the host device's write cache under the image
std::vector<Finding> kvm_findings(const KvmReport& report, const WorkloadHint& hint = {});

}  // namespace iodiag::stack
