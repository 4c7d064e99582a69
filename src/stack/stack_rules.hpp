// Findings from `iodiag stack`: what the device chain and, in a guest, the virtual disks show.
#pragma once

#include <vector>

#include "stack/finding.hpp"
#include "stack/stack_inspector.hpp"
#include "stack/virtualization.hpp"

namespace iodiag::stack {

// stack.loop_buffered: a loop device without direct IO caches its data twice.
std::vector<Finding> stack_findings(const StackReport& report);

// guest.queues_lt_cpus: fewer virtqueues than vCPUs.
// guest.host_writethrough: the host runs the virtual disk without a write-back cache.
std::vector<Finding> guest_findings(const VirtInfo& info);

}  // namespace iodiag::stack
