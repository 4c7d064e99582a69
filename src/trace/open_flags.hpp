// open(2) flags as the trace sources show them, decoded into the portable OpenFlag bits
// (trace/io_event.hpp): symbolic, as strace ("O_RDWR|O_DIRECT|O_CLOEXEC") and perf trace
// ("RDWR|DIRECT") print them, and numeric, in the kernel's values (fdinfo's octal "flags:", the
// f_flags BPF reads). The values are this build's <fcntl.h>: O_DIRECT, O_DIRECTORY, O_LARGEFILE
// and others differ between x86_64 and arm64.
#pragma once

#include <cstdint>
#include <string_view>

#include "trace/io_event.hpp"

namespace iodiag::trace {

// An open file's flags (fdinfo, a struct file): access mode, O_DIRECT, O_APPEND, O_DSYNC and
// O_SYNC, which sets both kOpenSync and kOpenDsync. O_CREAT and O_TRUNC do not show: the kernel
// keeps them out of an open file's flags.
uint32_t open_flags_from_kernel(uint64_t flags);

// The flags argument of an open call: the above plus O_CREAT and O_TRUNC.
uint32_t open_flags_of_call(uint64_t flags);

// "O_RDWR|O_CREAT|0x4000" or "RDWR|CREAT" -> kernel O_* bits. Names may omit the "O_"; numbers
// are raw bits (hex "0x...", octal "0...", decimal); unknown names and a trailing /* comment */
// add nothing.
uint64_t kernel_open_flags(std::string_view text);

// The flags argument of an open call as text: open_flags_of_call(kernel_open_flags(text)).
uint32_t open_flags_of_text(std::string_view text);

// What fcntl(F_SETFL) changes of an open file: O_DIRECT and O_APPEND; O_DSYNC/O_SYNC and the
// access mode it cannot.
constexpr uint32_t kSetflOpenFlags = kOpenDirect | kOpenAppend;

// F_SETFL's argument as text: kOpenFlagsKnown plus the kSetflOpenFlags bits it sets.
uint32_t setfl_open_flags(std::string_view text);

}  // namespace iodiag::trace
