#include "fio/safety.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "common/units.hpp"
#include "fio/job_file.hpp"

namespace iodiag::fio {
namespace {

namespace fs = std::filesystem;

const char* const kDestructiveHint =
    "pass --target DIR to let iodiag create a scratch file there, or --allow-destructive if "
    "losing this data is acceptable";

ErrorKind kind_of_errno(int err) {
    return err == EACCES || err == EPERM ? ErrorKind::permission : ErrorKind::output;
}

std::string default_parent() {
    const char* tmp = std::getenv("TMPDIR");
    // /var/tmp rather than /tmp: it is on disk where /tmp may be tmpfs (no O_DIRECT).
    return tmp && *tmp ? tmp : "/var/tmp";
}

Status write_marker(const fs::path& dir) {
    std::time_t now = std::time(nullptr);
    char when[32] = {};
    std::tm tm{};
    gmtime_r(&now, &tm);
    std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    std::string text = std::string("iodiag scratch directory, created ") + when + " by iodiag " + IODIAG_VERSION +
                       ".\nfio data files written by `iodiag reproduce` and `iodiag probe` live here; iodiag may\n"
                       "overwrite or delete anything in this directory. Safe to delete.\n";
    return write_file_atomically((dir / kScratchMarker).string(), text);
}

Result<fs::path> make_scratch_in(const fs::path& parent) {
    std::string templ = (parent / "iodiag-scratch-XXXXXX").string();
    if (!mkdtemp(templ.data())) {
        int err = errno;
        return fail(kind_of_errno(err),
                    "cannot create a scratch directory in " + parent.string() + ": " + std::strerror(err),
                    "choose --target on a writable file system with free space");
    }
    return fs::path(templ);
}

void describe_fs(Target& target, const std::string& path) {
    struct statvfs vfs {};
    if (statvfs(path.c_str(), &vfs) == 0) target.free_bytes = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
    struct statfs sfs {};
    if (statfs(path.c_str(), &sfs) == 0) target.tmpfs = sfs.f_type == TMPFS_MAGIC;
}

Result<Target> scratch_target(const fs::path& dir, bool created) {
    Target target;
    target.kind = TargetKind::scratch_dir;
    target.path = fs::absolute(dir).lexically_normal().string();
    target.created = created;
    if (created) {
        if (auto status = write_marker(dir); !status) {
            std::error_code ec;
            fs::remove(dir, ec);
            return fail(status.error().kind, "cannot mark the scratch directory " + target.path + ": " +
                                                 status.error().message,
                        "choose --target on a writable file system with free space");
        }
    }
    if (auto status = check_fio_path(target.path); !status) return tl::unexpected(status.error());
    describe_fs(target, target.path);
    return target;
}

uint64_t device_size(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    uint64_t bytes = 0;
    if (ioctl(fd, BLKGETSIZE64, &bytes) != 0) bytes = 0;
    ::close(fd);
    return bytes;
}

}  // namespace

bool is_scratch_dir(const std::string& dir) {
    struct stat st {};
    return ::lstat((fs::path(dir) / kScratchMarker).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Status check_fio_path(const std::string& path) {
    if (path.find_first_of(":;# \t\n\r") != std::string::npos)
        return fail(ErrorKind::usage,
                    "fio cannot be given the path " + path + " (it holds ':', ';', '#' or white space)",
                    "choose a --target path without those characters");
    return {};
}

Result<Target> resolve_target(const TargetRequest& request) {
    if (request.path.empty()) {
        auto dir = make_scratch_in(default_parent());
        if (!dir) return tl::unexpected(dir.error());
        return scratch_target(*dir, true);
    }
    if (auto status = check_fio_path(fs::absolute(request.path).string()); !status)
        return tl::unexpected(status.error());

    struct stat st {};
    if (::stat(request.path.c_str(), &st) != 0) {
        if (errno != ENOENT)
            return fail(kind_of_errno(errno), "cannot use " + request.path + ": " + std::strerror(errno));
        // A new path: iodiag creates it, so it is iodiag's.
        if (::mkdir(request.path.c_str(), 0755) != 0) {
            int err = errno;
            return fail(err == ENOENT ? ErrorKind::not_found : kind_of_errno(err),
                        "cannot create the scratch directory " + request.path + ": " + std::strerror(err),
                        err == ENOENT ? "its parent directory must exist"
                                      : "choose --target on a writable file system with free space");
        }
        return scratch_target(request.path, true);
    }
    if (S_ISDIR(st.st_mode)) {
        if (is_scratch_dir(request.path)) return scratch_target(request.path, false);
        auto dir = make_scratch_in(request.path);
        if (!dir) return tl::unexpected(dir.error());
        return scratch_target(*dir, true);
    }

    // Judged by what the path resolves to: a symlink in a scratch directory may point anywhere.
    std::error_code ec;
    Target target;
    target.path = fs::canonical(request.path, ec).string();
    if (ec) return fail(ErrorKind::not_found, "cannot resolve " + request.path + ": " + ec.message());
    if (S_ISBLK(st.st_mode)) {
        if (!request.allow_destructive)
            return fail(ErrorKind::permission,
                        "refusing to run fio on block device " + target.path +
                            ": fio would overwrite the data on it (a file system, a partition table)",
                        kDestructiveHint);
        target.kind = TargetKind::block_device;
        target.size_bytes = device_size(target.path);
        return target;
    }
    if (!S_ISREG(st.st_mode))
        return fail(ErrorKind::unsupported, target.path + " is neither a directory, a regular file nor a block device",
                    "give --target a directory");
    target.kind = TargetKind::file;
    target.iodiag_file = is_scratch_dir(fs::path(target.path).parent_path().string());
    if (!target.iodiag_file && !request.allow_destructive)
        return fail(ErrorKind::permission,
                    "refusing to run fio on " + target.path +
                        ": it is an existing file iodiag did not create, and fio would overwrite its bytes",
                    kDestructiveHint);
    target.size_bytes = static_cast<uint64_t>(st.st_size);
    describe_fs(target, target.path);
    return target;
}

Placement placement_for(const Target& target, uint64_t max_size) {
    Placement placement;
    placement.single_file = target.kind != TargetKind::scratch_dir;
    placement.path = target.path;
    placement.capacity = max_size;
    placement.capacity_why = "--max-size " + fio_size(max_size);
    auto lower = [&](uint64_t limit, std::string why) {
        if (limit && (placement.capacity == 0 || limit < placement.capacity)) {
            placement.capacity = limit;
            placement.capacity_why = std::move(why);
        }
    };
    if (target.kind == TargetKind::block_device) {
        lower(target.size_bytes, "the size of " + target.path + " (" + human_bytes(target.size_bytes) + ")");
    } else {
        // An existing file's own blocks are reused; only growth needs free space.
        uint64_t usable = target.free_bytes / 10 * 9 + (target.kind == TargetKind::file ? target.size_bytes : 0);
        lower(std::max<uint64_t>(usable, 1), "90% of the free space on the target's file system (" +
                                                 human_bytes(target.free_bytes) + " free)");
    }
    return placement;
}

ScratchGuard::~ScratchGuard() {
    std::error_code ec;
    if (!done_ && target_.created && is_scratch_dir(target_.path)) fs::remove_all(target_.path, ec);
}

void remove_scratch_data(const Target& target, const std::vector<std::string>& keep) {
    if (target.kind != TargetKind::scratch_dir || !is_scratch_dir(target.path)) return;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(target.path, ec)) {
        std::string name = entry.path().filename().string();
        if (name == kScratchMarker || std::find(keep.begin(), keep.end(), name) != keep.end()) continue;
        fs::remove_all(entry.path(), ec);
    }
}

}  // namespace iodiag::fio
