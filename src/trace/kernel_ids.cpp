#include "trace/kernel_ids.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>

namespace iodiag::trace {

namespace fs = std::filesystem;

namespace {

std::string under(const std::string& root, const std::string& path) {
    return root == "/" || root.empty() ? path : root + path;
}

std::string dev_dir(uint32_t dev, const std::string& root) {
    return under(root, "/sys/dev/block/" + std::to_string(dev >> 20) + ":" + std::to_string(dev & 0xfffff));
}

// "254:1\n" -> kernel dev.
std::optional<uint32_t> read_dev_file(const fs::path& path) {
    std::ifstream in(path);
    unsigned major = 0, minor = 0;
    char colon = 0;
    if (!(in >> major >> colon >> minor) || colon != ':') return std::nullopt;
    return major << 20 | minor;
}

}  // namespace

uint32_t kernel_dev(uint64_t dev) {
    return static_cast<uint32_t>(major(dev) << 20 | (minor(dev) & 0xfffff));
}

uint64_t user_dev(uint32_t dev) {
    return makedev(dev >> 20, dev & 0xfffff);
}

std::vector<OpenFileId> open_file_ids(int32_t pid, const std::string& root) {
    // Only readlink and stat per fd (no fdinfo): the block tracer rescans while tracing.
    std::vector<OpenFileId> out;
    const fs::path fd_dir = under(root, "/proc/" + std::to_string(pid) + "/fd");
    std::error_code ec;
    for (fs::directory_iterator it(fd_dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        OpenFileId id;
        auto [ptr, err] = std::from_chars(name.data(), name.data() + name.size(), id.fd);
        if (err != std::errc() || ptr != name.data() + name.size()) continue;
        struct stat st {};
        std::error_code link_ec;
        fs::path target = fs::read_symlink(it->path(), link_ec);
        if (link_ec || ::stat(it->path().c_str(), &st) != 0) continue;  // closed meanwhile
        id.path = target.string();
        id.dev = kernel_dev(st.st_dev);
        id.ino = st.st_ino;
        if (S_ISREG(st.st_mode)) {
            id.kind = FileKind::regular;
            id.size = static_cast<uint64_t>(st.st_size);
        } else if (S_ISBLK(st.st_mode)) {
            id.kind = FileKind::block;
            id.rdev = kernel_dev(st.st_rdev);
        } else {
            id.kind = FileTable::kind_from_path(id.path);
        }
        out.push_back(std::move(id));
    }
    std::sort(out.begin(), out.end(), [](const OpenFileId& a, const OpenFileId& b) { return a.fd < b.fd; });
    return out;
}

std::optional<uint32_t> whole_disk(uint32_t dev, const std::string& root) {
    std::error_code ec;
    const fs::path dir = fs::canonical(dev_dir(dev, root), ec);
    if (ec) return std::nullopt;
    if (!fs::exists(dir / "partition", ec)) return dev;
    return read_dev_file(dir.parent_path() / "dev");
}

std::string block_device_name(uint32_t dev, const std::string& root) {
    std::ifstream uevent(dev_dir(dev, root) + "/uevent");
    std::string line;
    while (std::getline(uevent, line))
        if (line.rfind("DEVNAME=", 0) == 0) return line.substr(8);
    return std::to_string(dev >> 20) + ":" + std::to_string(dev & 0xfffff);
}

}  // namespace iodiag::trace
