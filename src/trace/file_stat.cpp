#include "trace/file_stat.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <fstream>
#include <string>

namespace iodiag::trace {
namespace {

// The kernel's view of a block device's size: 512-byte sectors in sysfs (no need to open the
// device itself).
uint64_t block_device_bytes(dev_t rdev, const std::string& root) {
    std::string path = (root == "/" ? std::string() : root) + "/sys/dev/block/" +
                       std::to_string(major(rdev)) + ":" + std::to_string(minor(rdev)) + "/size";
    uint64_t sectors = 0;
    std::ifstream(path) >> sectors;
    return sectors * 512;
}

}  // namespace

void fill_file_sizes(FileTable& files, const std::string& root) {
    for (uint32_t id = 1; id < files.size(); ++id) {
        FileInfo& info = files.get_mut(id);
        if (info.size != 0 || info.path.empty() || info.path.front() != '/') continue;
        if (info.kind != FileKind::regular && info.kind != FileKind::block &&
            info.kind != FileKind::unknown)
            continue;
        struct stat st {};
        std::string path = (root == "/" ? std::string() : root) + info.path;
        if (stat(path.c_str(), &st) != 0) continue;
        if (S_ISREG(st.st_mode)) {
            info.size = static_cast<uint64_t>(st.st_size);
        } else if (S_ISBLK(st.st_mode)) {
            info.size = block_device_bytes(st.st_rdev, root);
        }
    }
}

}  // namespace iodiag::trace
