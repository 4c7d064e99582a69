// io_uring requests of the target, from the io_uring tracepoints (bpf/uring.bpf.c): opcode, file,
// offset, length, submit and completion time of every read/write/fsync SQE, also on SQPOLL rings
// where the process never calls io_uring_enter.
//
// What the sink gets, per ring and in submit order:
//   - once per (thread, ring) before its first request: IoEvent uring_setup with call unknown,
//     count = SQ entries, flags = IORING_SETUP_*, ctx = the ring's id (so the classifier knows the
//     ring, its size and SQPOLL);
//   - one AsyncRequest per request, ctx = the ring's id, opcode = IORING_OP_*. Requests of one
//     submit batch (one io_uring_enter, or one pass of the SQPOLL thread) share submit_ns; those
//     whose CQEs were committed together share complete_ns. From that the classifier gets exact
//     in-flight depth and submit/complete batch sizes. complete_ns is 0 for a request still in
//     flight when the trace ended. reaped_ns is when the application had taken its CQE (see
//     ReapTimes), so depth is the application's, not the kernel's.
// Requests on registered files (IOSQE_FIXED_FILE) are resolved through the file's inode against
// the process's open fds; when no fd names it, the file is "fixed file N". Reads and writes on
// sockets, pipes and other non-files are left out (counted in the totals as not_files).
//
// poll() after detach() delivers what is left (held requests, requests still in flight).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <vector>

#include "trace/bpf_tracer.hpp"

namespace iodiag::trace {

// Restores one ring's submit order. Requests arrive in completion order, each with the sequence
// number the kernel gave it at submit; a request waits until every earlier one has arrived. A gap
// that does not fill (a record lost to a full ring buffer, a request that never completes) is
// given up after `max_wait_ns` or when `max_held` requests wait behind it; a request arriving
// after its place was given up passes straight through (counted as late).
class SubmitOrder {
public:
    struct Limits {
        uint64_t max_wait_ns = 1'000'000'000;
        size_t max_held = 65536;
    };
    SubmitOrder() = default;
    explicit SubmitOrder(Limits limits) : limits_(limits) {}

    void add(uint64_t seq, const AsyncRequest& request, uint64_t now_ns, std::vector<AsyncRequest>& out);
    // A request that takes its place in the order but is not delivered (not file IO).
    void pass(uint64_t seq, uint64_t now_ns, std::vector<AsyncRequest>& out);
    void expire(uint64_t now_ns, std::vector<AsyncRequest>& out);  // give up gaps that waited too long
    void flush(std::vector<AsyncRequest>& out);                   // release everything, in order
    size_t held() const { return held_.size(); }
    uint64_t skipped() const { return skipped_; }  // sequence numbers given up on
    uint64_t late() const { return late_; }

private:
    struct Held {
        AsyncRequest request;
        uint64_t arrived_ns = 0;
        bool deliver = true;
    };
    void hold(uint64_t seq, Held held, std::vector<AsyncRequest>& out);
    void release_ready(std::vector<AsyncRequest>& out);
    void skip_gap(std::vector<AsyncRequest>& out);

    Limits limits_;
    uint64_t next_ = 1;
    std::map<uint64_t, Held> held_;
    uint64_t skipped_ = 0, late_ = 0;
};

// Gives one ring's requests, in submit order, the time the application had taken their CQEs
// (AsyncRequest::reaped_ns). An application reads the CQ ring in user space, so a CQE can wait
// there long after the kernel posted it (fio at depth 16 on a fast disk: ~12 of its 16 requests
// are posted and not yet taken); counting it as done at posting underestimates the depth. Each
// submit batch carries rings->cq.head, so a request counts as taken at the first later batch whose
// head is at or past its CQE. A request waits until then, so delivery stays in submit order; one
// whose CQE is never seen taken goes out after `max_wait_ns` (or at flush) with reaped_ns 0.
class ReapTimes {
public:
    explicit ReapTimes(SubmitOrder::Limits limits = {}) : limits_(limits) {}
    void add(const AsyncRequest& request, uint64_t now_ns, std::vector<AsyncRequest>& out);
    void expire(uint64_t now_ns, std::vector<AsyncRequest>& out);
    void flush(std::vector<AsyncRequest>& out);
    size_t held() const { return waiting_.size(); }
    uint64_t unseen() const { return unseen_; }  // delivered without a reap time

private:
    struct Waiting {
        AsyncRequest request;
        uint64_t arrived_ns = 0;
        bool known = false;
    };
    void release(std::vector<AsyncRequest>& out);
    void give_up_front(std::vector<AsyncRequest>& out);

    SubmitOrder::Limits limits_;
    std::deque<Waiting> waiting_;
    uint64_t batch_ns_ = 0;
    uint64_t unseen_ = 0;
};

class BpfUringTracer final : public BpfTracer {
public:
    BpfUringTracer();
    ~BpfUringTracer() override;
    BpfUringTracer(const BpfUringTracer&) = delete;
    BpfUringTracer& operator=(const BpfUringTracer&) = delete;

    std::string_view name() const override { return "io_uring"; }
    Status load(const BpfTarget& target, const BpfFeatures& features) override;
    Status attach() override;
    uint64_t poll(EventSink& sink, FileTable& files) override;
    void collect_totals(TracerTotals& totals) const override;
    uint64_t dropped() const override;
    ProgramTime program_time() const override;
    void detach() override;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace iodiag::trace
