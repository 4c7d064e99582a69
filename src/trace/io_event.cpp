#include "trace/io_event.hpp"

#include <array>
#include <utility>

namespace iodiag::trace {

namespace {

// Indexed by Syscall; "" for unknown.
constexpr std::array<std::string_view, static_cast<size_t>(Syscall::exit_group) + 1> kNames = {
    "",
    "read",
    "write",
    "pread64",
    "pwrite64",
    "readv",
    "writev",
    "preadv",
    "pwritev",
    "preadv2",
    "pwritev2",
    "lseek",
    "fsync",
    "fdatasync",
    "sync_file_range",
    "open",
    "openat",
    "openat2",
    "creat",
    "close",
    "dup",
    "dup2",
    "dup3",
    "fcntl",
    "io_setup",
    "io_destroy",
    "io_submit",
    "io_getevents",
    "io_pgetevents",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "mmap",
    "clone",
    "clone3",
    "fork",
    "vfork",
    "exit",
    "exit_group",
};

// Names that perf trace prints for calls we know under their x86_64 name.
constexpr std::array<std::pair<std::string_view, Syscall>, 2> kAliases = {{
    {"pread", Syscall::pread64},
    {"pwrite", Syscall::pwrite64},
}};

// syscall_from_name runs once per trace line, so it is a perfect hash: a key from the length and
// four characters (unique over our names), a multiplicative hash into 128 slots, one compare.
// The multiplier was searched offline; the static_assert below proves it has no collisions.
constexpr size_t kMinNameLen = 3;  // "dup"
constexpr unsigned kHashBits = 7;
constexpr uint64_t kHashMul = 0xf1776ca407817919ull;

constexpr uint32_t name_slot(std::string_view s) {
    const size_t n = s.size();
    const uint64_t key = uint64_t(n) | uint64_t(uint8_t(s[0])) << 8 |
                         uint64_t(uint8_t(s[n / 2])) << 16 | uint64_t(uint8_t(s[n - 2])) << 24 |
                         uint64_t(uint8_t(s[n - 1])) << 32;
    return static_cast<uint32_t>((key * kHashMul) >> (64 - kHashBits));
}

struct Slot {
    std::string_view name;
    Syscall call = Syscall::unknown;
};
using SlotTable = std::array<Slot, size_t(1) << kHashBits>;

// Returns an empty table when two names collide, which the static_assert rejects.
constexpr SlotTable build_slots() {
    SlotTable slots{};
    auto place = [&slots](std::string_view name, Syscall call) {
        Slot& slot = slots[name_slot(name)];
        if (!slot.name.empty()) return false;
        slot = {name, call};
        return true;
    };
    for (size_t i = 1; i < kNames.size(); ++i) {
        if (!place(kNames[i], static_cast<Syscall>(i))) return SlotTable{};
    }
    for (const auto& [name, call] : kAliases) {
        if (!place(name, call)) return SlotTable{};
    }
    return slots;
}

constexpr SlotTable kSlots = build_slots();

constexpr bool table_complete() {
    size_t used = 0;
    for (const Slot& slot : kSlots) used += slot.name.empty() ? 0 : 1;
    return used == kNames.size() - 1 + kAliases.size();
}
static_assert(table_complete(), "syscall name hash collides: search a new kHashMul");

bool starts_with_digit_run(std::string_view s) {
    return !s.empty() && s[0] >= '0' && s[0] <= '9';
}

// "nvme0n1", "nvme0n1p2": a namespace, not the "nvme0" controller (a char device).
bool is_nvme_namespace(std::string_view name) {
    size_t i = 4;  // after "nvme"
    if (!starts_with_digit_run(name.substr(i))) return false;
    while (i < name.size() && name[i] >= '0' && name[i] <= '9') ++i;
    return i + 1 < name.size() && name[i] == 'n' && starts_with_digit_run(name.substr(i + 1));
}

bool is_lower(char c) {
    return c >= 'a' && c <= 'z';
}

// Name under /dev/ of a block device, by the kernel's naming conventions.
bool is_block_dev_name(std::string_view name) {
    // Letter-suffixed disks: sda, vdb1, xvda, hdc.
    for (std::string_view prefix : {"sd", "vd", "xvd", "hd"}) {
        if (name.starts_with(prefix) && name.size() > prefix.size() &&
            is_lower(name[prefix.size()])) {
            return true;
        }
    }
    // Number-suffixed devices: loop0, dm-3, md127, mmcblk0p1, sr0, nbd1, zram0, ram0, rbd0, pmem0.
    for (std::string_view prefix :
         {"loop", "dm-", "md", "mmcblk", "sr", "nbd", "zram", "ram", "rbd", "pmem"}) {
        if (name.starts_with(prefix) && starts_with_digit_run(name.substr(prefix.size()))) {
            return true;
        }
    }
    if (name.starts_with("nvme")) return is_nvme_namespace(name);
    // Symlink directories that only hold block devices.
    return (name.starts_with("mapper/") && name != "mapper/control") || name.starts_with("md/") ||
           name.starts_with("disk/");
}

FileKind kind_of_dev(std::string_view name) {
    if (name.starts_with("shm/")) return FileKind::regular;  // tmpfs: ordinary files
    return is_block_dev_name(name) ? FileKind::block : FileKind::pseudo;
}

// "TCP:[..]", "UDPv6:[..]", "UNIX-STREAM:[..]", "NETLINK:[..]": strace -yy socket forms.
bool is_protocol_socket(std::string_view path) {
    const size_t colon = path.find(":[");
    if (colon == 0 || colon == std::string_view::npos) return false;
    for (char c : path.substr(0, colon)) {
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == 'v';
        if (!ok) return false;
    }
    return path[0] >= 'A' && path[0] <= 'Z';
}

}  // namespace

std::string_view syscall_name(Syscall call) {
    const auto i = static_cast<size_t>(call);
    return i < kNames.size() ? kNames[i] : std::string_view{};
}

Syscall syscall_from_name(std::string_view name) {
    if (name.size() < kMinNameLen) return Syscall::unknown;
    const Slot& slot = kSlots[name_slot(name)];
    return slot.name == name ? slot.call : Syscall::unknown;
}

std::pair<std::string_view, FileKind> split_device_suffix(std::string_view path) {
    // strace -yy: "/dev/sda<block 8:0>", "/dev/null<char 1:3>".
    if (!path.ends_with('>')) return {path, FileKind::unknown};
    const size_t open = path.rfind('<');
    if (open == std::string_view::npos) return {path, FileKind::unknown};
    const std::string_view tag = path.substr(open + 1);
    if (tag.starts_with("block ")) return {path.substr(0, open), FileKind::block};
    if (tag.starts_with("char ")) return {path.substr(0, open), FileKind::pseudo};
    return {path, FileKind::unknown};
}

size_t FileTable::PathHash::operator()(std::string_view path) const {
    return std::hash<std::string_view>{}(path);
}

FileTable::FileTable() {
    files_.push_back(FileInfo{});
}

uint32_t FileTable::intern(std::string_view path, FileKind kind) {
    if (path.empty()) return 0;
    if (auto it = ids_.find(path); it != ids_.end()) {
        FileInfo& info = files_[it->second];
        if (info.kind == FileKind::unknown) info.kind = kind;  // learn, never overwrite
        return it->second;
    }
    const auto id = static_cast<uint32_t>(files_.size());
    files_.push_back(FileInfo{std::string(path), kind, 0});
    ids_.emplace(files_.back().path, id);
    return id;
}

const FileInfo& FileTable::get(uint32_t id) const {
    return id < files_.size() ? files_[id] : files_[0];
}

FileInfo& FileTable::get_mut(uint32_t id) {
    return files_.at(id);
}

FileKind FileTable::kind_from_path(std::string_view path) {
    const auto [name, device_kind] = split_device_suffix(path);
    if (device_kind != FileKind::unknown) return device_kind;
    if (name.empty()) return FileKind::unknown;
    if (name[0] == '/') {
        if (name.starts_with("/dev/")) return kind_of_dev(name.substr(5));
        // readlink of a memfd gives "/memfd:name (deleted)".
        const bool pseudo_fs = name.starts_with("/proc/") || name == "/proc" ||
                               name.starts_with("/sys/") || name == "/sys" ||
                               name.starts_with("/memfd:");
        return pseudo_fs ? FileKind::pseudo : FileKind::regular;
    }
    if (name.starts_with("pipe:[")) return FileKind::pipe;
    if (name.starts_with("socket:[") || is_protocol_socket(name)) return FileKind::socket;
    // anon_inode:[eventfd], memfd:x, and namespace links such as net:[4026531840].
    const bool pseudo = name.starts_with("anon_inode:") || name.starts_with("memfd:") ||
                        name.find(":[") != std::string_view::npos;
    return pseudo ? FileKind::pseudo : FileKind::unknown;  // else relative: cannot tell
}

}  // namespace iodiag::trace
