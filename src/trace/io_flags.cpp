#include "trace/io_flags.hpp"

#include <fcntl.h>

#include "trace/open_flags.hpp"

namespace iodiag::trace {

bool has_rwf_flags(Syscall call) {
    return call == Syscall::preadv2 || call == Syscall::pwritev2;
}

uint32_t call_open_flags(Syscall call, uint32_t fd_open_flags, uint32_t rwf_flags) {
    if (!has_rwf_flags(call)) return fd_open_flags;
    if (rwf_flags & kRwfDsync) fd_open_flags |= kOpenDsync;
    if (rwf_flags & kRwfSync) fd_open_flags |= kOpenSync | kOpenDsync;
    return fd_open_flags;
}

bool appends(Syscall call, IoDir dir, uint32_t open_flags, uint32_t rwf_flags) {
    return dir == IoDir::write && ((open_flags & kOpenAppend) || (has_rwf_flags(call) && (rwf_flags & kRwfAppend)));
}

uint32_t creat_open_flags() {
    return open_flags_of_call(O_CREAT | O_WRONLY | O_TRUNC);
}

}  // namespace iodiag::trace
