// Helpers for the stack and kvm integration tests: a scratch folder on a disk file system, running
// the iodiag binary, and the skip checks (root, tools).
#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "common/subprocess.hpp"
#include "fio_harness.hpp"

namespace iodiag::test {

// /var/tmp, not /tmp: /tmp may be tmpfs, and loop devices, O_DIRECT and qemu want a disk.
struct Scratch {
    std::filesystem::path path;
    Scratch() {
        std::string templ = "/var/tmp/iodiag-stack-XXXXXX";
        if (!mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed");
        path = templ;
    }
    ~Scratch() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;
    std::string operator/(const std::string& name) const { return (path / name).string(); }
};

inline std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

struct Run {
    int code = -1;
    std::string out, err;
};

// Runs `iodiag ARGS` to completion with stdout and stderr captured.
inline Run run_iodiag(const std::vector<std::string>& args) {
    std::vector<std::string> argv{IODIAG_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    auto run = run_capture(argv);
    REQUIRE(run);
    std::string line;
    for (const auto& arg : args) line += " " + arg;
    UNSCOPED_INFO("iodiag" << line << " -> exit " << run->exit_code << "\nstdout:\n"
                           << run->out << "stderr:\n" << run->err);
    return {run->exit_code, run->out, run->err};
}

// Runs a helper program; its failure fails the test with its output.
inline std::string must_run(const std::vector<std::string>& argv) {
    auto run = run_capture(argv);
    REQUIRE(run);
    INFO(argv.front() << " exit " << run->exit_code << ": " << run->err);
    REQUIRE(run->exit_code == 0);
    return run->out;
}

using iodiag::testing::missing_tools;

}  // namespace iodiag::test

// Skips the test case (with a WARN naming why) when a tool is missing.
#define STACK_SKIP_WITHOUT(...)                                                     \
    do {                                                                            \
        std::string missing_ = iodiag::test::missing_tools({__VA_ARGS__});          \
        if (!missing_.empty()) {                                                    \
            WARN("skipped: not installed: " << missing_);                           \
            return;                                                                 \
        }                                                                           \
    } while (0)

#define STACK_SKIP_UNLESS_ROOT(why)                                                 \
    do {                                                                            \
        if (geteuid() != 0) {                                                       \
            WARN("skipped: needs root (" << why << ")");                            \
            return;                                                                 \
        }                                                                           \
    } while (0)
