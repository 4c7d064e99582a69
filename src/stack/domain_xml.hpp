// A libvirt domain XML (virsh dumpxml) as a VmConfig: vCPUs, iothreads, and per <disk> the source
// and <backingStore> chain, driver cache/io/iothread/queues, and the controller it sits on.
#pragma once

#include <string_view>

#include "common/result.hpp"
#include "stack/vm_config.hpp"

namespace iodiag::stack {

// bad_input for XML that does not parse (with the parser's reason and offset) or is not a
// <domain>.
Result<VmConfig> vm_config_from_domain_xml(std::string_view xml);

}  // namespace iodiag::stack
