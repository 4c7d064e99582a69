// The flag rules every trace source shares (trace/io_flags.hpp): per-call RWF flags, appends and
// creat's implied open flags; and F_SETFL's text (trace/open_flags.hpp).
#include <catch2/catch.hpp>

#include "trace/io_event.hpp"
#include "trace/io_flags.hpp"
#include "trace/open_flags.hpp"

using namespace iodiag::trace;

TEST_CASE("io flags: RWF_DSYNC and RWF_SYNC make one preadv2 or pwritev2 synchronous", "[io_flags]") {
    const uint32_t fd = kOpenFlagsKnown | kOpenWrite;
    CHECK(call_open_flags(Syscall::pwritev2, fd, kRwfDsync) == (fd | kOpenDsync));
    CHECK(call_open_flags(Syscall::pwritev2, fd, kRwfSync) == (fd | kOpenSync | kOpenDsync));
    CHECK(call_open_flags(Syscall::preadv2, fd, kRwfSync | kRwfHipri) == (fd | kOpenSync | kOpenDsync));
    CHECK(call_open_flags(Syscall::pwritev2, fd, kRwfNowait | kRwfAppend) == fd);
    // Other calls have no RWF argument: whatever their flags field holds adds nothing.
    CHECK(call_open_flags(Syscall::pwritev, fd, kRwfDsync) == fd);
    CHECK(call_open_flags(Syscall::write, fd, kRwfSync) == fd);
    // The fd's own O_SYNC stays.
    CHECK(call_open_flags(Syscall::pwrite64, fd | kOpenSync | kOpenDsync, 0) == (fd | kOpenSync | kOpenDsync));
}

TEST_CASE("io flags: writes append on O_APPEND or with RWF_APPEND, reads never", "[io_flags]") {
    const uint32_t appending = kOpenFlagsKnown | kOpenWrite | kOpenAppend;
    const uint32_t plain = kOpenFlagsKnown | kOpenWrite;
    CHECK(appends(Syscall::pwrite64, IoDir::write, appending, 0));
    CHECK(appends(Syscall::write, IoDir::write, appending, 0));
    CHECK_FALSE(appends(Syscall::pwrite64, IoDir::write, plain, 0));
    CHECK(appends(Syscall::pwritev2, IoDir::write, plain, kRwfAppend));
    CHECK_FALSE(appends(Syscall::pwritev, IoDir::write, plain, kRwfAppend));  // no RWF argument
    CHECK_FALSE(appends(Syscall::pread64, IoDir::read, kOpenFlagsKnown | kOpenRead | kOpenWrite | kOpenAppend, 0));
    CHECK_FALSE(appends(Syscall::preadv2, IoDir::read, plain, kRwfAppend));
}

TEST_CASE("io flags: creat opens for writing, creating and truncating", "[io_flags]") {
    CHECK(creat_open_flags() == (kOpenFlagsKnown | kOpenWrite | kOpenCreate | kOpenTrunc));
    // The same as strace's and perf's text for the open call creat stands for.
    CHECK(creat_open_flags() == open_flags_of_text("O_CREAT|O_WRONLY|O_TRUNC"));
    CHECK(creat_open_flags() == open_flags_of_text("CREAT|WRONLY|TRUNC"));
}

TEST_CASE("open flags: F_SETFL's argument keeps only O_DIRECT and O_APPEND", "[open_flags]") {
    CHECK(setfl_open_flags("O_RDONLY|O_APPEND|O_DIRECT") == (kOpenFlagsKnown | kOpenAppend | kOpenDirect));
    CHECK(setfl_open_flags("O_WRONLY|O_DSYNC|O_NONBLOCK") == kOpenFlagsKnown);  // not changeable, not shown
    CHECK(setfl_open_flags("APPEND") == (kOpenFlagsKnown | kOpenAppend));         // perf's spelling
    CHECK(setfl_open_flags("0") == kOpenFlagsKnown);
}
