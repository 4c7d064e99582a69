#include "stack/image_format.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "common/subprocess.hpp"

namespace iodiag::stack {
namespace {

constexpr size_t kHeaderBytes = 4096;              // every format's header fits
constexpr uint32_t kQcowMagic = 0x514649fb;         // "QFI\xfb"
constexpr uint32_t kQcow2ExtEnd = 0;
constexpr uint32_t kQcow2ExtBackingFormat = 0xe2792aca;
constexpr uint32_t kQcow2ExtDataFile = 0x44415441;
constexpr uint64_t kQcow2IncompatDirty = 1u << 0;
constexpr uint64_t kQcow2IncompatCorrupt = 1u << 1;
constexpr uint64_t kQcow2IncompatDataFile = 1u << 2;
constexpr uint64_t kQcow2IncompatExtendedL2 = 1u << 4;
constexpr uint64_t kQcow2CompatLazyRefcounts = 1u << 0;
constexpr uint32_t kMaxBackingName = 1023;          // QEMU's own limit
constexpr double kFullyAllocated = 0.9;             // share of the virtual size counted as "full"

uint32_t be32(const unsigned char* p) {
    return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}
uint64_t be64(const unsigned char* p) { return (uint64_t(be32(p)) << 32) | be32(p + 4); }
uint64_t le64(const unsigned char* p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

Result<std::string> pread_exact(int fd, uint64_t offset, size_t size, const std::string& path) {
    std::string data(size, '\0');
    size_t done = 0;
    while (done < size) {
        ssize_t n = pread(fd, data.data() + done, size - done, static_cast<off_t>(offset + done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail(ErrorKind::internal, "cannot read " + path + ": " + std::strerror(errno));
        if (n == 0) break;
        done += static_cast<size_t>(n);
    }
    data.resize(done);
    return data;
}

Status read_qcow2(int fd, const std::string& head, ImageInfo& info) {
    const auto* h = reinterpret_cast<const unsigned char*>(head.data());
    auto truncated = [&] { return fail(ErrorKind::bad_input, info.path + ": truncated qcow2 header"); };
    if (head.size() < 72) return truncated();
    info.version = be32(h + 4);
    if (*info.version == 1) {
        info.format = "qcow";
        info.virtual_size = be64(h + 24);
        return {};
    }
    if (*info.version != 2 && *info.version != 3)
        return fail(ErrorKind::bad_input, info.path + ": unknown qcow2 version " + std::to_string(*info.version));
    info.format = "qcow2";
    const uint64_t backing_offset = be64(h + 8);
    const uint32_t backing_size = be32(h + 16);
    const uint32_t cluster_bits = be32(h + 20);
    if (cluster_bits < 9 || cluster_bits > 21)
        return fail(ErrorKind::bad_input, info.path + ": qcow2 cluster_bits " + std::to_string(cluster_bits) + " out of range");
    info.cluster_size = uint64_t(1) << cluster_bits;
    info.virtual_size = be64(h + 24);
    info.encrypted = be32(h + 32) != 0;

    uint32_t header_length = 72;
    if (*info.version == 3) {
        if (head.size() < 104) return truncated();
        const uint64_t incompatible = be64(h + 72);
        const uint64_t compatible = be64(h + 80);
        info.dirty = incompatible & kQcow2IncompatDirty;
        info.corrupt = incompatible & kQcow2IncompatCorrupt;
        info.extended_l2 = incompatible & kQcow2IncompatExtendedL2;
        info.lazy_refcounts = compatible & kQcow2CompatLazyRefcounts;
        header_length = be32(h + 100);
        if (header_length < 104 || header_length > head.size()) return truncated();
        info.compression_type = header_length > 104 && h[104] == 1 ? "zstd" : "zlib";
        if (incompatible & kQcow2IncompatDataFile) info.data_file = "(named in a header extension)";
    }

    // Header extensions: {u32 type, u32 length, data padded to 8 bytes}, until type 0.
    size_t at = header_length;
    while (at + 8 <= head.size()) {
        const uint32_t type = be32(h + at);
        const uint32_t length = be32(h + at + 4);
        if (type == kQcow2ExtEnd) break;
        if (at + 8 + length > head.size()) break;
        std::string data = head.substr(at + 8, length);
        if (type == kQcow2ExtBackingFormat) info.backing_format = data;
        if (type == kQcow2ExtDataFile) info.data_file = data;
        at += 8 + ((length + 7) & ~size_t(7));
    }

    if (backing_offset && backing_size) {
        if (backing_size > kMaxBackingName)
            return fail(ErrorKind::bad_input, info.path + ": backing file name longer than " + std::to_string(kMaxBackingName));
        auto name = pread_exact(fd, backing_offset, backing_size, info.path);
        if (!name) return tl::unexpected(name.error());
        if (name->size() != backing_size) return truncated();
        info.backing_file = *name;
    }
    return {};
}

// Formats recognised by their magic (and not read further).
std::string other_format(const std::string& head) {
    auto starts = [&](const char* magic, size_t offset = 0) {
        size_t n = std::strlen(magic);
        return head.size() >= offset + n && head.compare(offset, n, magic) == 0;
    };
    if (head.size() >= 4 && head.compare(0, 4, std::string("QED\0", 4)) == 0) return "qed";
    if (starts("KDMV") || starts("# Disk DescriptorFile")) return "vmdk";
    if (starts("vhdxfile")) return "vhdx";
    if (starts("conectix")) return "vpc";
    if (head.size() >= 6 && head.compare(0, 6, std::string("LUKS\xba\xbe", 6)) == 0) return "luks";
    if (starts("WithoutFreeSpace") || starts("WithouFreSpacExt")) return "parallels";
    if (head.size() >= 68 && head.compare(64, 4, std::string("\x7f\x10\xda\xbe", 4)) == 0) return "vdi";
    return "raw";
}

// "nbd://host/x", "json:{...}", "rbd:pool/img": a protocol prefix before any '/'.
bool is_protocol_name(const std::string& name) {
    size_t colon = name.find(':');
    return colon != std::string::npos && colon < name.find('/');
}

}  // namespace

std::string backing_path(const std::string& image, const std::string& backing) {
    if (backing.empty() || backing.front() == '/' || is_protocol_name(backing)) return backing;
    return normalize_path(dir_name(image) + "/" + backing);
}

Result<ImageInfo> read_image_info(const SysRoot& root, const std::string& path) {
    const std::string host = root.host_path(path);
    UniqueFd fd(open(host.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
        int err = errno;
        if (err == ENOENT || err == ENOTDIR)
            return fail(ErrorKind::not_found, "image " + path + " does not exist",
                        "on the host, with the path QEMU uses (check the VM's mount namespace)");
        if (err == EACCES || err == EPERM)
            return fail(ErrorKind::permission, "cannot read image " + path + ": " + std::strerror(err),
                        "run as root to read the image header");
        return fail(ErrorKind::internal, "cannot open image " + path + ": " + std::strerror(err));
    }
    struct stat st {};
    if (fstat(fd.get(), &st) != 0)
        return fail(ErrorKind::internal, "cannot stat image " + path + ": " + std::strerror(errno));
    ImageInfo info;
    info.path = path;
    if (S_ISBLK(st.st_mode)) {
        info.block_device = true;
        uint64_t bytes = 0;
        if (ioctl(fd.get(), BLKGETSIZE64, &bytes) == 0) info.file_size = bytes;
    } else if (S_ISREG(st.st_mode)) {
        info.file_size = static_cast<uint64_t>(st.st_size);
        info.allocated_bytes = static_cast<uint64_t>(st.st_blocks) * 512;
    } else {
        return fail(ErrorKind::bad_input, path + " is neither a file nor a block device");
    }

    auto head = pread_exact(fd.get(), 0, kHeaderBytes, path);
    if (!head) return tl::unexpected(head.error());
    const auto* h = reinterpret_cast<const unsigned char*>(head->data());
    if (head->size() >= 8 && be32(h) == kQcowMagic) {
        if (auto status = read_qcow2(fd.get(), *head, info); !status) return tl::unexpected(status.error());
    } else {
        info.format = other_format(*head);
        if (info.format == "raw") info.virtual_size = info.file_size;
        if (info.format == "qed" && head->size() >= 56) info.virtual_size = le64(h + 48);
    }

    if (info.allocated_bytes && info.virtual_size) {
        const double allocated = static_cast<double>(*info.allocated_bytes);
        if (allocated >= kFullyAllocated * static_cast<double>(info.virtual_size)) info.allocation = "full";
        else if (info.format == "qcow2" && info.file_size >= info.virtual_size) info.allocation = "metadata";
        else info.allocation = "sparse";
    }
    return info;
}

std::vector<ChainLink> read_backing_chain(const SysRoot& root, const std::string& path, int max_depth) {
    std::vector<ChainLink> chain;
    std::set<std::string> seen;
    std::string current = path;
    while (!current.empty() && static_cast<int>(chain.size()) < max_depth) {
        ChainLink link;
        link.path = current;
        if (!seen.insert(current).second) {
            link.error = "loop: " + current + " is already in the chain";
            chain.push_back(std::move(link));
            break;
        }
        auto info = read_image_info(root, current);
        if (!info) {
            link.error = info.error().message;
            chain.push_back(std::move(link));
            break;
        }
        std::string next;
        if (!info->backing_file.empty()) {
            next = backing_path(current, info->backing_file);
            if (is_protocol_name(next)) {
                link.error = "backing file " + next + " is not a local file; not followed";
                next.clear();
            }
        }
        link.info = std::move(*info);
        chain.push_back(std::move(link));
        current = next;
    }
    return chain;
}

}  // namespace iodiag::stack
