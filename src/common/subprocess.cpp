#include "common/subprocess.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

extern char** environ;

namespace iodiag {
namespace {

bool is_executable_file(const std::string& path) {
    struct stat st {};
    return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
}

}  // namespace

void UniqueFd::reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
}

Result<std::pair<UniqueFd, UniqueFd>> make_pipe() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return fail(ErrorKind::internal, std::string("pipe: ") + std::strerror(errno));
    return std::pair{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

std::optional<std::string> find_in_path(std::string_view name) {
    if (name.empty()) return std::nullopt;
    if (name.find('/') != std::string_view::npos) {
        std::string path(name);
        if (is_executable_file(path)) return path;
        return std::nullopt;
    }
    const char* env = std::getenv("PATH");
    std::string_view dirs = env ? env : "/usr/local/bin:/usr/bin:/bin";
    while (true) {
        size_t colon = dirs.find(':');
        std::string_view dir = dirs.substr(0, colon);
        std::string candidate = (dir.empty() ? std::string(".") : std::string(dir)) + "/" +
                                std::string(name);
        if (is_executable_file(candidate)) return candidate;
        if (colon == std::string_view::npos) break;
        dirs.remove_prefix(colon + 1);
    }
    return std::nullopt;
}

Result<pid_t> spawn(const SpawnOptions& options) {
    if (options.argv.empty()) return fail(ErrorKind::internal, "spawn: empty argv");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    const int targets[] = {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO};
    const int sources[] = {options.stdin_fd, options.stdout_fd, options.stderr_fd};
    for (int i = 0; i < 3; ++i) {
        if (sources[i] >= 0) posix_spawn_file_actions_adddup2(&actions, sources[i], targets[i]);
    }
    std::vector<char*> argv;
    for (const std::string& arg : options.argv) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);

    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    if (options.sigmask) {
        // A shell starts a background job with SIGINT ignored: the child gets the default back.
        sigset_t defaults;
        sigemptyset(&defaults);
        sigaddset(&defaults, SIGINT);
        sigaddset(&defaults, SIGTERM);
        posix_spawnattr_setsigmask(&attr, options.sigmask);
        posix_spawnattr_setsigdefault(&attr, &defaults);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    }
    pid_t pid = 0;
    int err = posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), environ);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
    if (err != 0)
        return fail(ErrorKind::not_found,
                    "cannot run " + options.argv[0] + ": " + std::strerror(err));
    return pid;
}

int exit_code_from_wait_status(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 255;
}

int wait_for(pid_t pid) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return 255;
    }
    return exit_code_from_wait_status(status);
}

Result<CommandOutput> run_capture(const std::vector<std::string>& argv) {
    auto out_pipe = make_pipe();
    if (!out_pipe) return tl::unexpected(out_pipe.error());
    auto err_pipe = make_pipe();
    if (!err_pipe) return tl::unexpected(err_pipe.error());
    auto& [out_r, out_w] = *out_pipe;
    auto& [err_r, err_w] = *err_pipe;
    UniqueFd null_in(open("/dev/null", O_RDONLY | O_CLOEXEC));

    auto pid = spawn({argv, null_in.get(), out_w.get(), err_w.get()});
    if (!pid) return tl::unexpected(pid.error());
    out_w.reset();
    err_w.reset();

    CommandOutput result;
    pollfd fds[2] = {{out_r.get(), POLLIN, 0}, {err_r.get(), POLLIN, 0}};
    std::string* sinks[2] = {&result.out, &result.err};
    int open_count = 2;
    while (open_count > 0) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || fds[i].revents == 0) continue;
            char buf[4096];
            ssize_t n = read(fds[i].fd, buf, sizeof buf);
            if (n > 0) {
                sinks[i]->append(buf, static_cast<size_t>(n));
            } else if (n == 0 || errno != EINTR) {
                fds[i].fd = -1;  // poll ignores negative fds
                --open_count;
            }
        }
    }
    result.exit_code = wait_for(*pid);
    return result;
}

}  // namespace iodiag
