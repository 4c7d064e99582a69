// SubmitOrder: the io_uring tracer's reordering of completion-ordered records back into submit
// order. Pure logic (no root, no BPF); it lives with the tracer's tests.
#include <catch2/catch.hpp>

#include "trace/bpf_uring.hpp"

using iodiag::trace::AsyncRequest;
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
