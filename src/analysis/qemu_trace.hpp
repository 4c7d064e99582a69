// A QEMU process seen from the host while its guest does IO (`iodiag kvm trace`): what each of
// its thread roles (vCPU, iothread, main loop, worker pool) does (IO syscalls on the images with
// their latency, eventfd reads and writes, async requests, off-CPU time), who wakes whom between
// the roles (with wake-to-run latency), and from these the host-side time of a guest request
// split into its steps: kick -> IO thread running -> submit -> host IO -> completion seen ->
// guest notified. Pure: fed events and the off-CPU tracer's wakeups, then summarised.
#pragma once

#include <cstdint>
#include <map>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/offcpu.hpp"
#include "common/histogram.hpp"
#include "trace/io_event.hpp"

namespace iodiag::analysis {

struct QemuThreadRole {
    std::string role;   // vcpu, iothread, main-loop, worker, ... (stack::classify_qemu_thread)
    std::string name;   // the thread's name (comm)
};

// Collects the QEMU process's IO syscalls and async requests per thread. Only the counts and
// latency histograms are kept, so memory does not grow with the trace.
class QemuIoSink final : public trace::EventSink {
public:
    explicit QemuIoSink(int32_t pid) : pid_(pid) {}
    void on_event(const trace::IoEvent& event) override;
    void on_async(const trace::AsyncRequest& request) override;
    void on_block(const trace::BlockRequest& request) override;

    struct CallKey {
        int32_t tid = 0;
        trace::Syscall call = trace::Syscall::unknown;
        uint32_t file_id = 0;  // 0 for calls that name no file (io_submit, io_uring_enter)
        auto operator<=>(const CallKey&) const = default;
    };
    struct Calls {
        trace::FileKind kind = trace::FileKind::unknown;
        trace::EventKind event = trace::EventKind::data;
        uint64_t bytes = 0;
        uint64_t total_ns = 0;
        LogHistogram ns;
    };
    struct Requests {
        uint64_t count = 0;
        uint64_t total_ns = 0;   // of those whose completion was seen
        LogHistogram ns;
    };

    const std::map<CallKey, Calls>& calls() const { return calls_; }
    const std::map<int32_t, Requests>& requests() const { return requests_; }  // by submitting thread
    // The block requests QEMU's threads issued (charged to its pid), queue insert (or issue) to
    // completion: the host IO of requests whose async completion QEMU reaps from the ring itself.
    const Requests& block() const { return block_; }

private:
    int32_t pid_;
    std::map<CallKey, Calls> calls_;
    std::map<int32_t, Requests> requests_;
    Requests block_;
};

struct RoleCall {
    std::string call;        // "pwritev", "io_submit", "fdatasync", "eventfd read"
    uint64_t count = 0;
    uint64_t bytes = 0;
    uint64_t total_ns = 0;
    Summary us;
};

struct RoleActivity {
    std::string role;
    std::vector<int32_t> tids;
    std::vector<std::string> names;      // distinct thread names
    std::vector<RoleCall> io_calls;      // on the images (regular files, block devices) and the
                                         // aio/io_uring calls, most time first
    uint64_t ios = 0;                    // requests this role issued to the host kernel: data
                                         // calls on images plus async requests submitted
    uint64_t eventfd_reads = 0, eventfd_writes = 0;
    uint64_t async_requests = 0;
    Summary async_us;                    // submit -> complete of those requests
    uint64_t offcpu_ns = 0;
};

struct RoleWakeup {
    std::string waker;      // a role of QEMU's, or "outside: COMM" / "interrupt" for other wakers
    std::string wakee;      // a role of QEMU's
    uint64_t count = 0;
    double run_delay_us = 0;  // mean wake-to-run latency
    double waited_us = 0;     // mean time the woken thread had been off the CPU
};

// One step of a guest request's host-side path, as a mean per request (or per wakeup).
struct RequestStep {
    std::string name;        // "kick -> IO thread running", "submit", "host IO", ...
    std::optional<double> us;
    uint64_t samples = 0;
    std::string how;         // what it was measured from, or why it is unknown
};

struct QemuTraceReport {
    double seconds = 0;
    bool named_threads = true;
    std::vector<RoleActivity> roles;     // most IO first
    std::vector<RoleWakeup> wakeups;     // most often first
    std::string io_role;                 // the role that issued most of the IO ("" = no IO)
    uint64_t guest_requests = 0;         // the IO QEMU issued for the guest (its estimate)
    uint64_t block_requests = 0;         // on the host's disks, issued by QEMU
    Summary block_us;                    // their latency, queue insert (or issue) to completion
    std::vector<RequestStep> steps;
    std::optional<double> host_us;       // the known steps summed
    std::optional<double> guest_us;      // the guest's mean completion latency (compare --guest)
    std::optional<double> explained;     // host_us / guest_us
    std::vector<std::string> notes;
};

struct QemuTraceInput {
    std::map<int32_t, QemuThreadRole> roles;   // every QEMU thread seen
    int32_t pid = 0;
    bool named_threads = true;
    double seconds = 0;
    std::vector<Wakeup> wakeups;               // per thread (not merged)
    std::vector<OffcpuStack> offcpu;           // per thread
    std::optional<double> guest_us;
    std::set<std::string> images;              // the disks' image files and devices; empty: every
                                               // regular file and block device counts as one
};

// `path_of`: a FileTable id's path (to tell eventfds from other pseudo files).
QemuTraceReport summarise_qemu_trace(const QemuIoSink& sink, const QemuTraceInput& input,
                                     const std::function<std::string(uint32_t)>& path_of);

nlohmann::ordered_json to_json(const QemuTraceReport& report);
std::string render_text(const QemuTraceReport& report);

}  // namespace iodiag::analysis
