// A system call as a text source (strace, perf trace) decoded it, before fd/offset resolution.
// The SyscallDecoder turns these into IoEvents.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "trace/io_event.hpp"

namespace iodiag::trace {

// IOCB_CMD_* values (kernel ABI).
enum IocbCmd : uint8_t {
    kIocbPread = 0, kIocbPwrite = 1, kIocbFsync = 2, kIocbFdsync = 3, kIocbPoll = 5,
    kIocbNoop = 6, kIocbPreadv = 7, kIocbPwritev = 8,
};

struct RawIocb {
    uint8_t opcode = kIocbPread;
    int32_t fd = -1;
    std::string fd_path;   // strace -y annotation of aio_fildes, empty when not shown
    uint64_t bytes = 0;    // aio_nbytes (or the iovec sum for PREADV/PWRITEV)
    uint64_t offset = 0;   // aio_offset
    uint64_t data = 0;     // aio_data (user cookie)
};

// One completion io_getevents returned: its iocb's aio_data and the iocb's address.
struct RawAioEvent {
    uint64_t data = 0;
    uint64_t obj = 0;
};

struct RawSyscall {
    uint64_t ts_ns = 0;       // entry time; 0 = unknown
    uint64_t dur_ns = 0;      // 0 = unknown
    int32_t tid = 0;          // 0 = the log has no pids (single process)
    Syscall call = Syscall::unknown;
    int64_t ret = 0;          // return value, or -errno
    bool ret_known = true;    // false for "= ?" (the thread died inside the call)

    int32_t fd = -1;          // first fd argument (oldfd for dup*, ring fd for io_uring_enter)
    int32_t fd2 = -1;         // newfd for dup2/dup3
    int32_t cmd = 0;          // lseek whence (SEEK_*), fcntl command (F_*)
    uint64_t offset = 0;      // explicit offset argument (pread*/pwrite*/preadv*/sync_file_range/lseek)
    bool has_offset = false;  // false also for preadv2/pwritev2 with offset -1 (use file position)
    uint64_t bytes = 0;       // count, iovec sum, or sync_file_range nbytes
    uint32_t count = 0;       // io_submit nr; io_getevents min_nr; io_uring_enter to_submit;
                              // io_setup nr_events; io_uring_setup entries
    uint32_t count2 = 0;      // io_getevents nr; io_uring_enter min_complete
    uint32_t flags = 0;       // CLONE_* / RWF_* / IORING_* / SYNC_FILE_RANGE_*
    uint32_t open_flags = 0;  // OpenFlag bits: open*/creat flags, fcntl F_SETFL argument
    uint64_t ctx = 0;         // aio context (io_setup's result, io_submit/io_getevents's first arg)

    std::string path;         // open*/creat: the path argument as written
    std::string fd_path;      // the source's name for `fd` (strace -y), empty when not shown
    std::string ret_path;     // open*/dup*/fcntl(F_DUPFD): the source's name for the returned fd
    std::vector<RawIocb> iocbs;  // io_submit
    std::vector<RawAioEvent> aio_events;  // io_getevents/io_pgetevents, when the source prints them
};

// Receives decoded syscalls from a text source. SyscallDecoder is the real one; tests capture.
class RawSyscallSink {
public:
    virtual ~RawSyscallSink() = default;
    virtual void on_syscall(const RawSyscall& call) = 0;
    // A clone/fork is in progress in parent_tid (strace printed "<unfinished ...>"): a tid that
    // appears before the call returns is its child.
    virtual void on_pending_spawn(int32_t parent_tid, uint32_t clone_flags) {
        (void)parent_tid, (void)clone_flags;
    }
    virtual void on_thread_exit(int32_t tid, uint64_t ts_ns) { (void)tid, (void)ts_ns; }
};

// fcntl commands we follow (x86_64 / generic values).
constexpr int32_t kFcntlDupfd = 0, kFcntlSetfl = 4, kFcntlDupfdCloexec = 1030;
constexpr int32_t kSeekSet = 0, kSeekCur = 1, kSeekEnd = 2;

}  // namespace iodiag::trace
