// Starting other programs (strace, fio): PATH lookup, spawn with chosen stdio, wait, and a
// run-to-completion helper that captures output. Everything iodiag opens itself is O_CLOEXEC, so a
// child sees only the fds given here.
#pragma once

#include <signal.h>

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace iodiag {

// Owns a file descriptor; closes it when it goes.
class UniqueFd {
public:
    explicit UniqueFd(int fd = -1) : fd_(fd) {}
    ~UniqueFd() { reset(); }
    UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept {
        if (this != &other) {
            reset();
            fd_ = other.release();
        }
        return *this;
    }
    int get() const { return fd_; }
    int release() {
        int fd = fd_;
        fd_ = -1;
        return fd;
    }
    void reset();

private:
    int fd_;
};

// A close-on-exec pipe: {read end, write end}.
Result<std::pair<UniqueFd, UniqueFd>> make_pipe();

// The executable `name` resolves to through $PATH (or `name` itself when it contains a '/');
// nullopt when there is none.
std::optional<std::string> find_in_path(std::string_view name);

struct SpawnOptions {
    std::vector<std::string> argv;   // argv[0] is looked up through $PATH
    int stdin_fd = -1;               // -1 = inherit iodiag's
    int stdout_fd = -1;
    int stderr_fd = -1;
    // The child's signal mask, with SIGINT and SIGTERM at their default action as a tracer and
    // its command need them to stop (nullptr = iodiag's mask and actions).
    const sigset_t* sigmask = nullptr;
};

// Starts the program; not_found when it cannot be executed.
Result<pid_t> spawn(const SpawnOptions& options);

// Exit status as a shell reports it: the exit code, or 128 + signal when killed.
int exit_code_from_wait_status(int status);

// Waits for the child (retrying on EINTR); returns exit_code_from_wait_status.
int wait_for(pid_t pid);

struct CommandOutput {
    int exit_code = 0;
    std::string out;
    std::string err;
};

// Runs argv to completion with stdin from /dev/null, capturing stdout and stderr.
Result<CommandOutput> run_capture(const std::vector<std::string>& argv);

}  // namespace iodiag
