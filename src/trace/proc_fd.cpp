#include "trace/proc_fd.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <memory>
#include <sstream>

#include "trace/io_event.hpp"
#include "trace/open_flags.hpp"

namespace iodiag::trace {
namespace {

constexpr const char* kPermissionHint = "run as root or set kernel.yama.ptrace_scope=0";

// One message per errno class, naming what was being read.
Error errno_error(int err, int32_t pid, const std::string& what) {
    if (err == ENOENT || err == ESRCH)
        return Error{ErrorKind::not_found, "no process with pid " + std::to_string(pid),
                     "check the pid (ps -p " + std::to_string(pid) + ")"};
    if (err == EACCES || err == EPERM)
        return Error{ErrorKind::permission, "cannot read " + what + ": " + std::strerror(err),
                     kPermissionHint};
    return Error{ErrorKind::internal, "cannot read " + what + ": " + std::strerror(err), {}};
}

template <class Int>
std::optional<Int> parse_int(std::string_view text, int base = 10) {
    Int value{};
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\n'))
        text.remove_suffix(1);
    return text;
}

struct DirCloser {
    void operator()(DIR* dir) const { closedir(dir); }
};

// Numeric entry names of a /proc directory (fd/, task/), ascending.
Result<std::vector<int32_t>> numeric_entries(const std::string& dir_path, int32_t pid) {
    std::unique_ptr<DIR, DirCloser> dir(opendir(dir_path.c_str()));
    if (!dir) return tl::unexpected(errno_error(errno, pid, dir_path));
    std::vector<int32_t> out;
    while (const dirent* entry = readdir(dir.get())) {
        if (auto number = parse_int<int32_t>(entry->d_name)) out.push_back(*number);
    }
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

ProcFs::ProcFs(std::string root) : root_(std::move(root)) {
    while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
}

std::string ProcFs::proc_path(int32_t pid, const std::string& rest) const {
    std::string path = (root_ == "/" ? std::string() : root_) + "/proc/" + std::to_string(pid);
    if (!rest.empty()) path += "/" + rest;
    return path;
}

bool ProcFs::exists(int32_t pid) const {
    struct stat st {};
    return pid > 0 && stat(proc_path(pid).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

Result<std::string> ProcFs::read_small_file(int32_t pid, const std::string& rest) const {
    const std::string path = proc_path(pid, rest);
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        // A missing file inside an existing process dir is not "no such process".
        if (err == ENOENT && exists(pid))
            return fail(ErrorKind::not_found, path + " does not exist");
        return tl::unexpected(errno_error(err, pid, path));
    }
    std::string data;
    char buf[4096];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int err = errno;
            close(fd);
            return tl::unexpected(errno_error(err, pid, path));
        }
        if (n == 0) break;
        data.append(buf, static_cast<size_t>(n));
    }
    close(fd);
    return data;
}

Result<ProcFd> ProcFs::fd(int32_t pid, int32_t fd) const {
    const std::string link = proc_path(pid, "fd/" + std::to_string(fd));
    std::string target(4096, '\0');
    ssize_t n = readlink(link.c_str(), target.data(), target.size());
    if (n < 0) {
        int err = errno;
        if (err == ENOENT && exists(pid))
            return fail(ErrorKind::not_found,
                        "pid " + std::to_string(pid) + " has no fd " + std::to_string(fd));
        return tl::unexpected(errno_error(err, pid, link));
    }
    target.resize(static_cast<size_t>(n));

    ProcFd out;
    out.fd = fd;
    out.target = std::move(target);
    // fdinfo can vanish (fd closed) or be unreadable; the fd is still worth knowing.
    if (auto info = read_small_file(pid, "fdinfo/" + std::to_string(fd))) {
        std::istringstream lines(*info);
        std::string line;
        while (std::getline(lines, line)) {
            std::string_view view(line);
            if (view.rfind("pos:", 0) == 0) {
                out.position = parse_int<uint64_t>(trim(view.substr(4)));
            } else if (view.rfind("flags:", 0) == 0) {
                if (auto flags = parse_int<uint64_t>(trim(view.substr(6)), 8))
                    out.open_flags = open_flags_from_kernel(*flags);
            }
        }
    }
    return out;
}

Result<std::vector<ProcFd>> ProcFs::fds(int32_t pid) const {
    auto numbers = numeric_entries(proc_path(pid, "fd"), pid);
    if (!numbers) return tl::unexpected(numbers.error());
    std::vector<ProcFd> out;
    for (int32_t number : *numbers) {
        auto entry = fd(pid, number);
        if (entry) out.push_back(std::move(*entry));
        else if (entry.error().kind != ErrorKind::not_found) return tl::unexpected(entry.error());
    }
    return out;
}

Result<std::vector<int32_t>> ProcFs::threads(int32_t pid) const {
    return numeric_entries(proc_path(pid, "task"), pid);
}

Result<std::string> ProcFs::comm(int32_t pid) const {
    auto text = read_small_file(pid, "comm");
    if (!text) return text;
    if (!text->empty() && text->back() == '\n') text->pop_back();
    return text;
}

Result<std::vector<std::string>> ProcFs::cmdline(int32_t pid) const {
    auto text = read_small_file(pid, "cmdline");
    if (!text) return tl::unexpected(text.error());
    std::vector<std::string> args;
    size_t start = 0;
    while (start < text->size()) {
        size_t end = text->find('\0', start);
        if (end == std::string::npos) end = text->size();
        args.emplace_back(text->substr(start, end - start));
        start = end + 1;
    }
    return args;
}

Result<std::vector<int32_t>> ProcFs::children(int32_t pid) const {
    auto tids = threads(pid);
    if (!tids) return tids;
    std::vector<int32_t> out;
    for (int32_t tid : *tids) {
        auto text = read_small_file(pid, "task/" + std::to_string(tid) + "/children");
        if (!text) {
            if (text.error().kind == ErrorKind::not_found && exists(pid)) {
                // Either the thread just exited, or the kernel lacks CONFIG_PROC_CHILDREN.
                continue;
            }
            return tl::unexpected(text.error());
        }
        std::istringstream words(*text);
        int32_t child = 0;
        while (words >> child) out.push_back(child);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

}  // namespace iodiag::trace
