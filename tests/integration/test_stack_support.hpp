// Helpers for the stack and kvm integration tests beyond tests/support/: running a helper program
// (losetup, mkfs, qemu-img) that must succeed.
#pragma once

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "common/subprocess.hpp"
#include "fio_harness.hpp"

namespace iodiag::test {

// Runs a helper program; its failure fails the test with its output.
inline std::string must_run(const std::vector<std::string>& argv) {
    auto run = run_capture(argv);
    REQUIRE(run);
    INFO(argv.front() << " exit " << run->exit_code << ": " << run->err);
    REQUIRE(run->exit_code == 0);
    return run->out;
}

}  // namespace iodiag::test
