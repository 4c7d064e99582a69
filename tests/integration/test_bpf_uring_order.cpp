// SubmitOrder: the io_uring tracer's reordering of completion-ordered records back into submit
// order; ReapTimes: when the application took each CQE. Pure logic (no root, no BPF); it lives
// with the tracer's tests.
#include <catch2/catch.hpp>

#include "trace/bpf_uring.hpp"

using iodiag::trace::AsyncRequest;
using iodiag::trace::ReapTimes;
using iodiag::trace::SubmitOrder;

namespace {

AsyncRequest req(uint64_t offset) {
    AsyncRequest r;
    r.offset = offset;
    return r;
}

std::vector<uint64_t> offsets(const std::vector<AsyncRequest>& out) {
    std::vector<uint64_t> v;
    for (const auto& r : out) v.push_back(r.offset);
    return v;
}

}  // namespace

TEST_CASE("SubmitOrder releases requests in sequence order, holding those ahead of a gap", "[uring][order]") {
    SubmitOrder order;
    std::vector<AsyncRequest> out;
    order.add(2, req(20), 0, out);
    order.add(3, req(30), 0, out);
    CHECK(out.empty());
    CHECK(order.held() == 2);
    order.add(1, req(10), 0, out);
    CHECK(offsets(out) == std::vector<uint64_t>{10, 20, 30});
    order.add(4, req(40), 0, out);
    CHECK(offsets(out) == std::vector<uint64_t>{10, 20, 30, 40});
    CHECK(order.held() == 0);
    CHECK(order.skipped() == 0);
}

TEST_CASE("SubmitOrder gives up a gap that waited too long, the late request passes through", "[uring][order]") {
    SubmitOrder order({/*max_wait_ns=*/1000, /*max_held=*/100});
    std::vector<AsyncRequest> out;
    order.add(2, req(20), 100, out);
    order.add(3, req(30), 200, out);
    order.expire(1099, out);
    CHECK(out.empty());
    order.expire(1100, out);  // seq 2 has waited 1000 ns behind the missing 1
    CHECK(offsets(out) == std::vector<uint64_t>{20, 30});
    CHECK(order.skipped() == 1);
    order.add(1, req(10), 1200, out);
    CHECK(offsets(out) == std::vector<uint64_t>{20, 30, 10});
    CHECK(order.late() == 1);
}

TEST_CASE("SubmitOrder bounds what it holds and flushes the rest in order", "[uring][order]") {
    SubmitOrder order({/*max_wait_ns=*/1'000'000'000, /*max_held=*/3});
    std::vector<AsyncRequest> out;
    for (uint64_t seq = 2; seq <= 4; ++seq) order.add(seq, req(seq * 10), 0, out);
    CHECK(out.empty());
    order.add(5, req(50), 0, out);  // a fourth held request: the gap at 1 is given up
    CHECK(offsets(out) == std::vector<uint64_t>{20, 30, 40, 50});
    order.add(7, req(70), 0, out);
    order.add(9, req(90), 0, out);
    order.flush(out);
    CHECK(offsets(out) == std::vector<uint64_t>{20, 30, 40, 50, 70, 90});
    CHECK(order.skipped() == 3);  // 1, 6 and 8
    CHECK(order.held() == 0);
}

TEST_CASE("SubmitOrder: a request that is not delivered still takes its place", "[uring][order]") {
    SubmitOrder order;
    std::vector<AsyncRequest> out;
    order.add(1, req(10), 0, out);
    order.add(3, req(30), 0, out);
    CHECK(offsets(out) == std::vector<uint64_t>{10});
    order.pass(2, 0, out);  // a socket read, say
    CHECK(offsets(out) == std::vector<uint64_t>{10, 30});
    CHECK(order.skipped() == 0);
    order.pass(1, 0, out);  // late and not delivered: nothing comes out
    CHECK(offsets(out) == std::vector<uint64_t>{10, 30});
}

namespace {

// A request submitted at `submit_ns` when the application had taken `cq_head` CQEs, whose CQE
// (posted at `complete_ns`, 0 = never) ends at `cqe_end`.
AsyncRequest uring(uint64_t offset, uint64_t submit_ns, uint32_t cq_head, uint64_t complete_ns, uint32_t cqe_end) {
    AsyncRequest r = req(offset);
    r.submit_ns = submit_ns;
    r.cq_head = cq_head;
    r.complete_ns = complete_ns;
    r.cqe_end = cqe_end;
    return r;
}

}  // namespace

TEST_CASE("ReapTimes: a CQE counts as taken at the first later submit whose head passed it", "[uring][order]") {
    ReapTimes reaps;
    std::vector<AsyncRequest> out;
    // Two requests posted at 150 and 160 (CQEs 1 and 2); the application takes only the first
    // before its submit at 200, the second before the one at 300.
    reaps.add(uring(10, 100, 0, 150, 1), 0, out);
    reaps.add(uring(20, 110, 0, 160, 2), 0, out);
    CHECK(out.empty());
    reaps.add(uring(30, 200, 1, 250, 3), 0, out);
    REQUIRE(offsets(out) == std::vector<uint64_t>{10});
    CHECK(out[0].reaped_ns == 200);
    reaps.add(uring(40, 300, 2, 0, 0), 0, out);  // still in flight at the end: nothing to wait for
    REQUIRE(offsets(out) == std::vector<uint64_t>{10, 20});
    CHECK(out[1].reaped_ns == 300);
    CHECK(reaps.held() == 2);
    reaps.flush(out);  // 30 was posted but never seen taken: its reap time is unknown
    REQUIRE(offsets(out) == std::vector<uint64_t>{10, 20, 30, 40});
    CHECK(out[2].reaped_ns == 0);
    CHECK(out[3].reaped_ns == 0);
    CHECK(reaps.unseen() == 1);
}

TEST_CASE("ReapTimes keeps submit order when CQEs are taken out of it, across the head's wrap", "[uring][order]") {
    ReapTimes reaps;
    std::vector<AsyncRequest> out;
    const uint32_t near_wrap = 0xffffffffu;
    reaps.add(uring(10, 100, near_wrap - 1, 180, near_wrap + 2), 0, out);  // CQE ends past the wrap
    reaps.add(uring(20, 100, near_wrap - 1, 170, near_wrap), 0, out);
    reaps.add(uring(30, 200, near_wrap, 0, 0), 0, out);  // took the second only
    CHECK(out.empty());
    reaps.add(uring(40, 300, near_wrap + 2, 0, 0), 0, out);
    REQUIRE(offsets(out) == std::vector<uint64_t>{10, 20, 30, 40});
    CHECK(out[0].reaped_ns == 300);
    CHECK(out[1].reaped_ns == 200);
}

TEST_CASE("ReapTimes lets a request go without a reap time after waiting too long", "[uring][order]") {
    ReapTimes reaps({/*max_wait_ns=*/1000, /*max_held=*/100});
    std::vector<AsyncRequest> out;
    reaps.add(uring(10, 100, 0, 150, 1), 50, out);
    reaps.expire(1049, out);
    CHECK(out.empty());
    reaps.expire(1050, out);
    REQUIRE(offsets(out) == std::vector<uint64_t>{10});
    CHECK(out[0].reaped_ns == 0);
    CHECK(reaps.unseen() == 1);
}
