// Turns RawSyscalls into IoEvents: keeps each process's fd table (fd -> open file description
// with path, flags and file position), follows clone/fork so threads share a table and forked
// children copy it, and resolves read()/write() offsets from the tracked position.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "trace/io_event.hpp"
#include "trace/raw_syscall.hpp"

namespace iodiag::trace {

struct DecoderStats {
    uint64_t syscalls = 0;        // RawSyscalls seen
    uint64_t events = 0;          // IoEvents emitted
    uint64_t async_requests = 0;  // AsyncRequests emitted
    uint64_t unknown_fds = 0;     // data calls on an fd whose file we never learned
    uint64_t aio_unseen_submits = 0;  // libaio completions of iocbs submitted before the trace
};

class SyscallDecoder final : public RawSyscallSink {
public:
    SyscallDecoder(EventSink& sink, FileTable& files);
    ~SyscallDecoder() override;
    SyscallDecoder(const SyscallDecoder&) = delete;
    SyscallDecoder& operator=(const SyscallDecoder&) = delete;

    // Threads whose process we never saw created belong to this process (the traced pid).
    void set_default_tgid(int32_t tgid);
    // Declares tid a thread of tgid (e.g. from /proc/PID/task at attach time).
    void add_thread(int32_t tid, int32_t tgid);
    // An fd that was open before the trace started (from /proc/PID/fd and fdinfo).
    void preload_fd(int32_t tgid, int32_t fd, const std::string& path, uint32_t open_flags,
                    std::optional<uint64_t> position);
    void on_pending_spawn(int32_t parent_tid, uint32_t clone_flags) override;
    void on_syscall(const RawSyscall& call) override;
    void on_thread_exit(int32_t tid, uint64_t ts_ns) override;

    const DecoderStats& stats() const { return stats_; }

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    DecoderStats stats_;
    EventSink& sink_;
    FileTable& files_;
};

}  // namespace iodiag::trace
