// Disk image headers: which format a file or device holds (qcow2, raw, vmdk, ...), its virtual
// size, how much of it is allocated, and for qcow2 the cluster size, features and backing file,
// which is followed to give the whole chain.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "stack/sysroot.hpp"

namespace iodiag::stack {

struct ImageInfo {
    std::string path;
    std::string format;                  // qcow2, qcow, qed, vmdk, vdi, vhdx, vpc, luks, parallels, raw
    bool block_device = false;
    uint64_t virtual_size = 0;           // what the guest sees
    uint64_t file_size = 0;              // apparent size of the file (or the device size)
    std::optional<uint64_t> allocated_bytes;   // blocks really allocated (files only)
    // How much is allocated up front: "full" (clusters/blocks all there), "metadata" (qcow2 L2
    // tables only), "sparse" (allocated on first write), "" for a block device.
    std::string allocation;
    // qcow2
    std::optional<uint32_t> version;
    std::optional<uint64_t> cluster_size;
    std::string backing_file;            // as written in the header (may be relative)
    std::string backing_format;
    std::string data_file;               // external data file
    bool encrypted = false;
    bool lazy_refcounts = false;
    bool extended_l2 = false;
    bool dirty = false;
    bool corrupt = false;
    std::string compression_type;
};

// not_found / permission for the path; bad_input for a truncated or inconsistent header. Paths are
// read inside `root`.
Result<ImageInfo> read_image_info(const SysRoot& root, const std::string& path);

struct ChainLink {
    std::string path;
    std::optional<ImageInfo> info;
    std::string error;                   // why the header could not be read
};

// The image and its backing files, active first; stops at an unreadable image, a json:/protocol
// backing name, a loop, or `max_depth` images. Relative backing names are relative to the image.
std::vector<ChainLink> read_backing_chain(const SysRoot& root, const std::string& path, int max_depth = 16);

// Where a relative backing file name points, seen from the image that names it.
std::string backing_path(const std::string& image, const std::string& backing);

}  // namespace iodiag::stack
