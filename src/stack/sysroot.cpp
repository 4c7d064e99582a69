#include "stack/sysroot.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <deque>
#include <memory>

namespace iodiag::stack {
namespace {

constexpr int kMaxLinks = 40;  // as the kernel's ELOOP limit

std::vector<std::string> split_components(const std::string& path) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= path.size()) {
        size_t end = path.find('/', start);
        if (end == std::string::npos) end = path.size();
        if (end > start) out.push_back(path.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

std::string join_components(const std::vector<std::string>& parts) {
    std::string out;
    for (const auto& part : parts) out += "/" + part;
    return out.empty() ? "/" : out;
}

std::string trim(std::string_view text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
        text.remove_prefix(1);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
        text.remove_suffix(1);
    return std::string(text);
}

struct DirCloser {
    void operator()(DIR* dir) const { closedir(dir); }
};

}  // namespace

std::string normalize_path(const std::string& path) {
    std::vector<std::string> parts;
    for (auto& part : split_components(path)) {
        if (part == ".") continue;
        if (part == "..") {
            if (!parts.empty()) parts.pop_back();
            continue;
        }
        parts.push_back(std::move(part));
    }
    if (path.empty() || path.front() != '/') {
        std::string out;
        for (size_t i = 0; i < parts.size(); ++i) out += (i ? "/" : "") + parts[i];
        return out.empty() ? "." : out;
    }
    return join_components(parts);
}

std::string base_name(const std::string& path) {
    auto parts = split_components(path);
    return parts.empty() ? std::string() : parts.back();
}

std::string dir_name(const std::string& path) {
    auto parts = split_components(path);
    if (!parts.empty()) parts.pop_back();
    return join_components(parts);
}

SysRoot::SysRoot(std::string root) {
    size_t keep = root.find_last_not_of('/');
    root_ = keep == std::string::npos ? std::string() : root.substr(0, keep + 1);
    display_root_ = root_.empty() ? std::string("/") : root_ + "/";
}

std::string SysRoot::raw_host_path(const std::string& path) const {
    if (path.empty() || path.front() != '/') return root_ + "/" + path;
    return root_ + path;
}

std::string SysRoot::host_path(const std::string& path) const {
    if (is_live()) return raw_host_path(path);
    // Resolve inside the root, or the kernel would follow absolute links out of it.
    auto resolved = resolve(path);
    return raw_host_path(resolved ? *resolved : path);
}

bool SysRoot::exists(const std::string& path) const {
    struct stat st {};
    return stat(host_path(path).c_str(), &st) == 0;
}

bool SysRoot::is_dir(const std::string& path) const {
    struct stat st {};
    return stat(host_path(path).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

Result<std::string> SysRoot::read(const std::string& path) const {
    const std::string host = host_path(path);
    int fd = open(host.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        if (err == ENOENT || err == ENOTDIR) return fail(ErrorKind::not_found, "no such file: " + path);
        if (err == EACCES || err == EPERM)
            return fail(ErrorKind::permission, "cannot read " + path + ": " + std::strerror(err),
                        "run as root");
        return fail(ErrorKind::internal, "cannot read " + path + ": " + std::strerror(err));
    }
    std::string data;
    char buf[8192];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int err = errno;
            close(fd);
            return fail(err == EACCES || err == EPERM ? ErrorKind::permission : ErrorKind::internal,
                        "cannot read " + path + ": " + std::strerror(err));
        }
        if (n == 0) break;
        data.append(buf, static_cast<size_t>(n));
    }
    close(fd);
    return data;
}

std::optional<std::string> SysRoot::read_line(const std::string& path) const {
    auto text = read(path);
    if (!text) return std::nullopt;
    return trim(std::string_view(*text).substr(0, text->find('\n')));
}

std::optional<int64_t> SysRoot::read_int(const std::string& path) const {
    auto line = read_line(path);
    if (!line || line->empty()) return std::nullopt;
    int64_t value = 0;
    auto [end, ec] = std::from_chars(line->data(), line->data() + line->size(), value);
    if (ec != std::errc() || end != line->data() + line->size()) return std::nullopt;
    return value;
}

std::vector<std::string> SysRoot::list(const std::string& path) const {
    std::vector<std::string> out;
    std::unique_ptr<DIR, DirCloser> dir(opendir(host_path(path).c_str()));
    if (!dir) return out;
    while (const dirent* entry = readdir(dir.get())) {
        std::string name = entry->d_name;
        if (name != "." && name != "..") out.push_back(std::move(name));
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::optional<std::string> SysRoot::link_target(const std::string& path) const {
    std::string target(4096, '\0');
    const std::string link = is_live() ? path : host_path(dir_name(path)).substr(root_.size()) + "/" + base_name(path);
    ssize_t n = readlink(raw_host_path(link).c_str(), target.data(), target.size());
    if (n < 0) return std::nullopt;
    target.resize(static_cast<size_t>(n));
    return target;
}

std::optional<std::string> SysRoot::link_name(const std::string& path) const {
    auto target = link_target(path);
    if (!target) return std::nullopt;
    return base_name(*target);
}

Result<std::string> SysRoot::resolve(const std::string& path) const {
    std::deque<std::string> todo;
    for (auto& part : split_components(path)) todo.push_back(std::move(part));
    std::vector<std::string> done;
    int links = 0;
    while (!todo.empty()) {
        std::string part = std::move(todo.front());
        todo.pop_front();
        if (part == ".") continue;
        if (part == "..") {
            if (!done.empty()) done.pop_back();
            continue;
        }
        done.push_back(part);
        const std::string current = join_components(done);
        struct stat st {};
        if (lstat(raw_host_path(current).c_str(), &st) != 0)
            return fail(ErrorKind::not_found, "no such file: " + current);
        if (!S_ISLNK(st.st_mode)) continue;
        if (++links > kMaxLinks)
            return fail(ErrorKind::bad_input, "too many levels of symbolic links: " + path);
        std::string target(4096, '\0');
        ssize_t n = readlink(raw_host_path(current).c_str(), target.data(), target.size());
        if (n < 0) return fail(ErrorKind::internal, "cannot read link " + current);
        target.resize(static_cast<size_t>(n));
        done.pop_back();
        if (!target.empty() && target.front() == '/') done.clear();
        auto parts = split_components(target);
        todo.insert(todo.begin(), parts.begin(), parts.end());
    }
    return join_components(done);
}

}  // namespace iodiag::stack
