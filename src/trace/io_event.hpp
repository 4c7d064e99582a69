// The event model every trace source emits and the classifier consumes.
//
// Sources (strace, perf, bpf) resolve what they can before emitting: the file behind an fd, the
// fd's open flags, and the file offset of read()/write() from the tracked position. The classifier
// then never needs to know which source produced an event.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace iodiag::trace {

// The system calls iodiag understands. Names match the syscall (and so strace's output).
enum class Syscall : uint8_t {
    unknown,
    read, write, pread64, pwrite64, readv, writev, preadv, pwritev, preadv2, pwritev2,
    lseek, fsync, fdatasync, sync_file_range,
    open, openat, openat2, creat, close, dup, dup2, dup3, fcntl,
    io_setup, io_destroy, io_submit, io_getevents, io_pgetevents,
    io_uring_setup, io_uring_enter, io_uring_register,
    mmap, clone, clone3, fork, vfork, exit, exit_group,
};

std::string_view syscall_name(Syscall call);
Syscall syscall_from_name(std::string_view name);  // Syscall::unknown when not ours

enum class EventKind : uint8_t {
    data,          // read/write family: bytes moved between memory and a file
    flush,         // fsync / fdatasync / sync_file_range
    seek,          // lseek: offset = new absolute position (ok) or the requested one, flags = whence
    open,          // open/openat/creat: fd now names file_id
    close,
    dup,           // fd (old) duplicated to ret (new)
    aio_setup,     // io_setup: ctx, count = nr_events
    aio_submit,    // io_submit: count = nr asked, ret = nr accepted; iocbs go out as AsyncRequests
    aio_reap,      // io_getevents: count = min_nr, count2 = nr, ret = completions returned
    uring_setup,   // io_uring_setup: count = sq entries, flags = IORING_SETUP_*
    uring_enter,   // io_uring_enter: count = to_submit, count2 = min_complete, flags = IORING_ENTER_*
    mmap,          // a file mapped into memory: its IO becomes page faults no syscall shows
    spawn,         // clone/fork: ret = new tid, flags = CLONE_* (CLONE_THREAD means same process)
    exit,
};

enum class IoDir : uint8_t { none, read, write };

enum class FileKind : uint8_t { unknown, regular, block, pipe, socket, pseudo };

enum class OffsetKind : uint8_t {
    unknown,     // not known at all (e.g. io_uring via strace)
    absolute,    // the real file offset
    relative,    // tracked from an unknown starting position: differences are exact
};

// Flag bits kept from the fd's open flags (the kernel's O_* values on x86_64/arm64 differ, so we
// keep our own portable bits).
enum OpenFlag : uint32_t {
    kOpenRead = 1u << 0,
    kOpenWrite = 1u << 1,
    kOpenDirect = 1u << 2,
    kOpenSync = 1u << 3,    // O_SYNC (implies O_DSYNC semantics plus metadata)
    kOpenDsync = 1u << 4,
    kOpenAppend = 1u << 5,
    kOpenCreate = 1u << 6,
    kOpenTrunc = 1u << 7,
    kOpenFlagsKnown = 1u << 31,  // the flags above are meaningful
};

// RWF_* flags of preadv2/pwritev2 (values are the kernel ABI).
enum RwfFlag : uint32_t { kRwfHipri = 1, kRwfDsync = 2, kRwfSync = 4, kRwfNowait = 8, kRwfAppend = 16 };

// IORING_SETUP_* / IORING_ENTER_* bits we look at (kernel ABI values).
enum UringFlag : uint32_t {
    kUringSetupIopoll = 1u << 0,
    kUringSetupSqpoll = 1u << 1,
    kUringEnterGetevents = 1u << 0,
    kUringEnterSqWakeup = 1u << 1,
};

constexpr uint32_t kCloneThread = 0x00010000;  // CLONE_THREAD
constexpr uint32_t kCloneFiles = 0x00000400;   // CLONE_FILES

struct IoEvent {
    uint64_t ts_ns = 0;       // syscall entry on the source's clock; 0 = unknown
    uint64_t dur_ns = 0;      // entry to exit; 0 = unknown (e.g. strace without -T)
    int32_t tid = 0;          // thread that made the call (0 = unknown / single-thread log)
    int32_t tgid = 0;         // its process (0 = unknown)
    Syscall call = Syscall::unknown;
    EventKind kind = EventKind::data;
    IoDir dir = IoDir::none;
    OffsetKind offset_kind = OffsetKind::unknown;
    FileKind file_kind = FileKind::unknown;  // of file_id, so sinks need no FileTable lookup
    int32_t fd = -1;
    int64_t ret = 0;          // return value, or -errno on failure
    uint64_t offset = 0;      // data/seek/sync_file_range: file offset (see offset_kind)
    uint64_t bytes = 0;       // data: bytes requested; sync_file_range: nbytes
    uint32_t file_id = 0;     // FileTable id; 0 = unknown file
    uint32_t open_flags = 0;  // OpenFlag bits of the fd at the time of the call
    uint32_t count = 0;       // see EventKind
    uint32_t count2 = 0;      // see EventKind
    uint32_t flags = 0;       // RWF_* / IORING_* / CLONE_* / sync_file_range flags
    // aio_submit/aio_reap: completions the thread took from ctx's ring in user space (no
    // io_getevents) since its last call on ctx; only the bpf source reads the ring.
    uint32_t ring_reaped = 0;
    uint64_t ctx = 0;         // aio context id, or the io_uring fd

    bool failed() const { return ret < 0; }
};

// One asynchronous request: a libaio iocb, or an io_uring SQE where the source can see it.
struct AsyncRequest {
    uint64_t ctx = 0;
    int32_t tid = 0;
    int32_t tgid = 0;
    IoDir dir = IoDir::none;    // none for fsync/fdsync/poll/nop
    uint8_t opcode = 0;         // source-specific opcode (IOCB_CMD_* or IORING_OP_*)
    uint8_t is_flush = 0;       // fsync/fdsync request
    uint8_t pad = 0;
    int32_t fd = -1;
    uint32_t file_id = 0;
    uint32_t open_flags = 0;
    uint64_t offset = 0;
    uint64_t bytes = 0;
    uint64_t submit_ns = 0;
    uint64_t complete_ns = 0;   // 0 = completion not seen individually
    int64_t res = 0;
    // io_uring: the application reads CQEs in user space, long after they are posted when it is
    // busy; reaped_ns is the first later submit that shows it had (0 = unknown: use complete_ns).
    uint64_t reaped_ns = 0;
    uint32_t cq_head = 0;       // CQEs the application had taken at this request's submit
    uint32_t cqe_end = 0;       // CQ ring position just past this request's CQE
};

struct FileInfo {
    std::string path;
    FileKind kind = FileKind::unknown;
    uint64_t size = 0;         // bytes, when the source could stat it; 0 = unknown
};

// Interns paths so events carry a small id. Id 0 is reserved for "unknown file".
class FileTable {
public:
    FileTable();
    uint32_t intern(std::string_view path, FileKind kind = FileKind::unknown);
    const FileInfo& get(uint32_t id) const;
    FileInfo& get_mut(uint32_t id);
    size_t size() const { return files_.size(); }

    // Guess the kind from the path alone (for logs): /dev/sd*, /dev/vd*, /dev/nvme* ... are
    // block devices; pipe:[..], socket:[..], anon_inode:, /proc, /sys, /dev/null are not files.
    // A strace -yy "<block M:N>" / "<char M:N>" suffix, if still there, decides.
    static FileKind kind_from_path(std::string_view path);

private:
    // Transparent, so lookups by string_view do not allocate.
    struct PathHash {
        using is_transparent = void;
        size_t operator()(std::string_view path) const;
    };
    std::vector<FileInfo> files_;
    std::unordered_map<std::string, uint32_t, PathHash, std::equal_to<>> ids_;
};

// Splits strace -yy's device suffix off a path: "/dev/sda<block 8:0>" -> {"/dev/sda", block},
// "/dev/null<char 1:3>" -> {"/dev/null", pseudo}; other paths come back whole with unknown.
std::pair<std::string_view, FileKind> split_device_suffix(std::string_view path);

// One block-layer request on a device under the target's files (bpf source).
struct BlockRequest {
    uint32_t dev = 0;           // kernel dev_t (MKDEV(major, minor) as the kernel encodes it)
    int32_t tgid = 0;           // process charged at insert/issue; 0 = not attributable
    IoDir dir = IoDir::none;    // none for flush / discard
    uint8_t is_flush = 0;
    uint8_t pad[2] = {};
    uint64_t sector = 0;
    uint64_t bytes = 0;
    uint64_t insert_ns = 0;     // 0 = not seen (e.g. bypassed the scheduler)
    uint64_t issue_ns = 0;
    uint64_t complete_ns = 0;
    uint32_t in_device = 0;     // requests in flight on the device when this one was issued
    int32_t error = 0;
};

// Where sources send what they see. Calls arrive in trace order per thread.
class EventSink {
public:
    virtual ~EventSink() = default;
    virtual void on_event(const IoEvent& event) = 0;
    virtual void on_async(const AsyncRequest& request) { (void)request; }
    virtual void on_block(const BlockRequest& request) { (void)request; }
};

}  // namespace iodiag::trace
