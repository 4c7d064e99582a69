// What unit and integration tests share: a scratch folder, reading a file whole, and the skip
// checks (a tool missing, not root). A skip is WARN("skipped: why") and return: ctest counts it as
// skipped (SKIP_REGULAR_EXPRESSION in tests/CMakeLists.txt).
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

namespace iodiag::testing {

// A scratch folder on a disk file system (/var/tmp: O_DIRECT, loop devices and qemu want one,
// and /tmp may be tmpfs), removed with everything in it when the object goes.
class ScratchDir {
public:
    ScratchDir();
    ~ScratchDir();
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    const std::filesystem::path& path() const { return path_; }
    std::string operator/(const std::string& name) const { return (path_ / name).string(); }

private:
    std::filesystem::path path_;
};

// A file's bytes ("" when it cannot be read).
std::string read_text(const std::filesystem::path& path);

// The tools in `tools` that are not on $PATH, comma-separated; empty when all are.
std::string missing_tools(const std::vector<std::string>& tools);

}  // namespace iodiag::testing

// Skips the test case when a tool is not installed.
#define SKIP_WITHOUT(...)                                                               \
    do {                                                                                \
        std::string missing_ = ::iodiag::testing::missing_tools({__VA_ARGS__});         \
        if (!missing_.empty()) {                                                        \
            WARN("skipped: not installed: " << missing_);                               \
            return;                                                                     \
        }                                                                               \
    } while (0)

// Skips the test case when it does not run as root; `why` says what needs it.
#define SKIP_UNLESS_ROOT(why)                                                           \
    do {                                                                                \
        if (geteuid() != 0) {                                                           \
            WARN("skipped: needs root (" << why << ")");                                \
            return;                                                                     \
        }                                                                               \
    } while (0)
