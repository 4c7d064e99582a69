// strace's argument text decoded into RawSyscall fields, for the calls iodiag models: fds and
// their -y paths, sizes, offsets, iovecs, iocbs, and the flag names strace prints.
// Internal to the strace parser.
#pragma once

#include <cstdint>
#include <string_view>

#include "trace/raw_syscall.hpp"

namespace iodiag::trace::strace {

// The call a name stands for, also under the names other architectures or older kernels print
// (pread, _llseek, mmap2, ...); Syscall::unknown for calls iodiag does not follow.
Syscall lookup_syscall(std::string_view name);

bool is_spawn(Syscall call);
// CLONE_* bits of a clone/clone3/fork/vfork call (also of its unfinished first half).
uint32_t spawn_flags(Syscall call, std::string_view args);

// Resets the reused call, keeping the capacity of its strings (and, for io_submit, its iocbs).
void reset(RawSyscall& c, Syscall which);
// Fills the call-specific fields of c (c.call set by reset) from its argument text; false when
// the call is one we do not follow after all (an fcntl command other than F_SETFL, F_DUPFD*).
bool decode_all_args(RawSyscall& c, std::string_view name, std::string_view args);
// ret_path: the path strace -y shows on the returned fd of the calls that return one.
void decode_returned_path(RawSyscall& c, std::string_view ret_text);

}  // namespace iodiag::trace::strace
