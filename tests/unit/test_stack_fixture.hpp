// Fixture root trees for the stack tests, built at run time from a compact description (sysfs is
// mostly symlinks, which the description spells out and git does not have to store):
//
//   # comment
//   cd /sys/devices/pci0000:00/0000:00:04.0/virtio2    later relative paths start here
//   block/vda/dev = 252:0                             a file holding "252:0\n"
//   cmdline := qemu\0-smp\02\0                        raw bytes: \0 \n \\ escapes, no newline added
//   block/vda/device -> ../../../virtio2              a symlink
//   block/vda/holders/                                an empty folder
//   /proc/self/mountinfo <<EOF                        a file with the lines up to "EOF"
//   ...
//   EOF
//
// Absolute paths are inside the root; relative ones are below the last "cd".
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "support/support.hpp"

namespace iodiag::test {

// A temporary folder, removed with everything in it.
struct TempRoot {
    testing::ScratchDir scratch;
    const std::filesystem::path& path = scratch.path();
    std::string str() const { return path.string(); }
};

// Builds the description into `root`; throws std::runtime_error naming the bad line.
void build_tree(const std::filesystem::path& root, const std::string& description);

// tests/data/stack/NAME.tree built into a fresh TempRoot.
struct FixtureTree : TempRoot {
    explicit FixtureTree(const std::string& name);
};

using testing::read_text;

// A qcow2 image header as QEMU lays it out: fields, header extensions (backing format), the backing
// file name at offset 512; 1 KiB in all.
struct Qcow2Spec {
    uint32_t version = 3;
    uint64_t size = 1ull << 30;
    uint32_t cluster_bits = 16;
    std::string backing;
    std::string backing_format;
    uint64_t incompatible = 0;
    uint64_t compatible = 0;
};
std::string qcow2_bytes(const Qcow2Spec& spec);

// CHECKs `actual` against the JSON file at `path` (showing both on a mismatch).
// IODIAG_UPDATE_GOLDEN=1 rewrites the file instead; review its diff before committing.
void check_golden_json(const std::string& path, const nlohmann::ordered_json& actual);

}  // namespace iodiag::test
