// The flag rules every trace source applies to a call, kept once: the text sources (strace, perf)
// through SyscallDecoder and their parsers, and the BPF records (BpfSyscalls). Open flags are
// the portable OpenFlag bits (trace/open_flags.hpp decodes the kernel's and the texts' ones).
#pragma once

#include <cstdint>

#include "trace/io_event.hpp"

namespace iodiag::trace {

// preadv2/pwritev2: the calls whose last argument is RWF_* flags.
bool has_rwf_flags(Syscall call);

// The open flags one call runs with: its fd's, plus the per-call RWF_DSYNC/RWF_SYNC of a
// preadv2/pwritev2, which make that one write synchronous like O_DSYNC/O_SYNC on the fd
// (O_SYNC carries both bits, as open_flags.hpp sets them).
uint32_t call_open_flags(Syscall call, uint32_t fd_open_flags, uint32_t rwf_flags);

// Does this write land at the end of the file whatever offset it names (pwrite on O_APPEND
// appends anyway): O_APPEND on its fd, or RWF_APPEND on a pwritev2.
bool appends(Syscall call, IoDir dir, uint32_t open_flags, uint32_t rwf_flags);

// creat(path, mode) is open(path, O_CREAT|O_WRONLY|O_TRUNC, mode).
uint32_t creat_open_flags();

}  // namespace iodiag::trace
