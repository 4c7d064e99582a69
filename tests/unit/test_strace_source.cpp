#include <algorithm>

#include <catch2/catch.hpp>

#include "trace/io_event.hpp"
#include "trace/strace_source.hpp"

using namespace iodiag::trace;

TEST_CASE("strace is asked for every syscall iodiag models", "[strace_source]") {
    auto names = traced_syscall_names();
    CHECK(names.size() == static_cast<size_t>(Syscall::exit_group));
    for (const auto& name : names) {
        INFO(name);
        CHECK(syscall_from_name(name) != Syscall::unknown);
    }
    for (const char* name : {"pread64", "io_submit", "io_uring_enter", "clone3", "exit_group"})
        CHECK(std::find(names.begin(), names.end(), name) != names.end());
}

TEST_CASE("stop reasons read as the model's end_reason", "[strace_source]") {
    CHECK(stop_reason_name(StopReason::duration) == "duration");
    CHECK(stop_reason_name(StopReason::interrupted) == "interrupted");
    CHECK(stop_reason_name(StopReason::target_exited) == "target exited");
    CHECK(stop_reason_name(StopReason::aborted) == "aborted");
}
