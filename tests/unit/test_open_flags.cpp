// The one open-flags decoder (trace/open_flags.hpp): strace's and perf's flag text, and the
// kernel's numeric flags, in this build's <fcntl.h> values (x86_64 and arm64 differ).
#include <fcntl.h>

#include <catch2/catch.hpp>

#include "trace/io_event.hpp"
#include "trace/open_flags.hpp"

using namespace iodiag::trace;

TEST_CASE("open flags: an open file's kernel flags map to OpenFlag bits", "[open_flags]") {
    CHECK(open_flags_from_kernel(O_RDONLY) == (kOpenFlagsKnown | kOpenRead));
    CHECK(open_flags_from_kernel(O_WRONLY) == (kOpenFlagsKnown | kOpenWrite));
    CHECK(open_flags_from_kernel(O_RDWR) == (kOpenFlagsKnown | kOpenRead | kOpenWrite));
    CHECK(open_flags_from_kernel(O_WRONLY | O_APPEND) == (kOpenFlagsKnown | kOpenWrite | kOpenAppend));
    CHECK(open_flags_from_kernel(O_RDWR | O_DIRECT) ==
          (kOpenFlagsKnown | kOpenRead | kOpenWrite | kOpenDirect));
    CHECK(open_flags_from_kernel(O_WRONLY | O_DSYNC) == (kOpenFlagsKnown | kOpenWrite | kOpenDsync));
    // O_SYNC is __O_SYNC | O_DSYNC: both bits show.
    CHECK(open_flags_from_kernel(O_WRONLY | O_SYNC) ==
          (kOpenFlagsKnown | kOpenWrite | kOpenSync | kOpenDsync));
    // O_CREAT, O_TRUNC, O_CLOEXEC, O_DIRECTORY and O_NOFOLLOW do not show.
    CHECK(open_flags_from_kernel(O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_DIRECTORY | O_NOFOLLOW) ==
          (kOpenFlagsKnown | kOpenWrite));
}

TEST_CASE("open flags: an open call's flags add O_CREAT and O_TRUNC", "[open_flags]") {
    CHECK(open_flags_of_call(O_WRONLY | O_CREAT | O_TRUNC) ==
          (kOpenFlagsKnown | kOpenWrite | kOpenCreate | kOpenTrunc));
    CHECK(open_flags_of_call(O_RDWR | O_SYNC | O_CREAT) ==
          (kOpenFlagsKnown | kOpenRead | kOpenWrite | kOpenSync | kOpenDsync | kOpenCreate));
}

TEST_CASE("open flags: fdinfo's octal flags field, read with base 8", "[open_flags]") {
    // What /proc/PID/fdinfo/N says for an O_RDWR|O_DIRECT|O_CLOEXEC file on this architecture.
    const uint64_t fdinfo = O_RDWR | O_DIRECT | O_CLOEXEC | O_LARGEFILE;
    CHECK(open_flags_from_kernel(fdinfo) == (kOpenFlagsKnown | kOpenRead | kOpenWrite | kOpenDirect));
}

TEST_CASE("open flags: strace's and perf's names decode to the same kernel bits", "[open_flags]") {
    CHECK(kernel_open_flags("O_RDWR|O_DIRECT|O_CLOEXEC") == uint64_t(O_RDWR | O_DIRECT | O_CLOEXEC));
    CHECK(kernel_open_flags("RDWR|DIRECT|CLOEXEC") == uint64_t(O_RDWR | O_DIRECT | O_CLOEXEC));
    CHECK(kernel_open_flags("O_WRONLY|O_CREAT|O_TRUNC") == uint64_t(O_WRONLY | O_CREAT | O_TRUNC));
    CHECK(kernel_open_flags("O_RDONLY") == 0);
    CHECK(kernel_open_flags(" O_WRONLY | O_APPEND ") == uint64_t(O_WRONLY | O_APPEND));
    // O_SYNC and its old name O_FSYNC carry O_DSYNC.
    CHECK(kernel_open_flags("O_SYNC") == uint64_t(O_SYNC));
    CHECK((kernel_open_flags("O_FSYNC") & O_DSYNC) != 0);
    CHECK(kernel_open_flags("SYNC") == uint64_t(O_SYNC));
}

TEST_CASE("open flags: numbers in flag text are raw kernel bits", "[open_flags]") {
    CHECK(kernel_open_flags("O_RDONLY|0x4000") == 0x4000);
    CHECK(kernel_open_flags("0x4041") == 0x4041);
    CHECK(kernel_open_flags("O_WRONLY|040000") == (uint64_t(O_WRONLY) | 040000));  // octal
    CHECK(kernel_open_flags("65") == 65);
    CHECK(kernel_open_flags("SYNC|0x101000") == (uint64_t(O_SYNC) | 0x101000));
}

TEST_CASE("open flags: unknown names and comments add nothing", "[open_flags]") {
    CHECK(kernel_open_flags("O_WRONLY|O_NOSUCHFLAG") == uint64_t(O_WRONLY));
    CHECK(kernel_open_flags("NOSUCHFLAG") == 0);
    CHECK(kernel_open_flags("O_RDWR /* 0x2 */") == uint64_t(O_RDWR));
    CHECK(kernel_open_flags("") == 0);
    CHECK(open_flags_of_text("O_WRONLY|O_BOGUS") == (kOpenFlagsKnown | kOpenWrite));
}

TEST_CASE("open flags: text to OpenFlag bits, as the strace and perf readers use it", "[open_flags]") {
    CHECK(open_flags_of_text("O_RDWR|O_SYNC|O_CLOEXEC") ==
          (kOpenFlagsKnown | kOpenRead | kOpenWrite | kOpenSync | kOpenDsync));
    CHECK(open_flags_of_text("O_WRONLY|O_CREAT|O_APPEND|O_DSYNC") ==
          (kOpenFlagsKnown | kOpenWrite | kOpenCreate | kOpenAppend | kOpenDsync));
    CHECK(open_flags_of_text("CREAT|WRONLY|TRUNC") ==
          (kOpenFlagsKnown | kOpenWrite | kOpenCreate | kOpenTrunc));
    CHECK(open_flags_of_text("RDONLY|DIRECT") == (kOpenFlagsKnown | kOpenRead | kOpenDirect));
}
