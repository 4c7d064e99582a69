// A QEMU command line's meaning for storage: which devices have disks, what block node graph
// (-drive, or -blockdev nodes linked by name) is behind each, and the cache, aio, iothread and
// controller queues that follow. Handles what libvirt writes (JSON -blockdev/-device/-object) and
// what people write by hand (-drive ...,if=virtio, -hda, keyval -blockdev with file.* children).
#pragma once

#include "common/result.hpp"
#include "stack/qemu_cmdline.hpp"
#include "stack/vm_config.hpp"

namespace iodiag::stack {

// bad_input when an option's value is malformed (names the option); what cannot be resolved
// (a device pointing at an undefined drive) becomes a note on the disk instead.
Result<VmConfig> vm_config_from_qemu(const QemuCommandLine& cmdline);

}  // namespace iodiag::stack
