#include "model/source_totals.hpp"

namespace iodiag::model {
namespace {

// Each bucket under its lower bound: "4096" counts [4096, 8192).
ordered_json histogram(const trace::Log2Buckets& buckets) {
    ordered_json h = ordered_json::object();
    for (const auto& [lower, count] : buckets) h[std::to_string(lower)] = count;
    return h;
}

ordered_json syscalls_json(const trace::SyscallTotals& t) {
    ordered_json calls = ordered_json::object();
    for (const trace::SyscallCallTotals& c : t.calls) {
        ordered_json entry = {{"calls", c.calls},
                              {"errors", c.errors},
                              {"latency_ns_total", c.latency_ns_total},
                              {"latency_ns_log2", histogram(c.latency_ns_log2)}};
        if (c.has_bytes) {
            entry["bytes"] = c.bytes;
            entry["size_log2"] = histogram(c.size_log2);
        }
        calls[c.name] = std::move(entry);
    }
    return {{"calls", std::move(calls)},
            {"records", t.records},
            {"dropped", t.dropped},
            {"aio_iocbs", t.aio_iocbs},
            {"aio_iocbs_unread", t.aio_iocbs_unread},
            {"aio_completions", t.aio_completions},
            {"aio_completions_from_ring", t.aio_completions_from_ring},
            {"aio_completions_unseen_submit", t.aio_completions_unseen_submit},
            {"processes_started", t.processes_started},
            {"processes_exited", t.processes_exited}};
}

ordered_json uring_json(const trace::UringTotals& t) {
    ordered_json ops = ordered_json::object();
    for (const auto& [op, count] : t.submitted_by_opcode) ops[op] = count;
    return {{"reads", t.reads},
            {"writes", t.writes},
            {"fsyncs", t.fsyncs},
            {"read_bytes", t.read_bytes},
            {"write_bytes", t.write_bytes},
            {"errors", t.errors},
            {"submit_batches", t.submit_batches},
            {"complete_batches", t.complete_batches},
            {"submitted_by_opcode", std::move(ops)},
            {"not_files", t.not_files},
            {"untracked", t.untracked},
            {"dropped", t.dropped},
            {"order_gaps_skipped", t.order_gaps_skipped},
            {"late", t.late},
            {"reap_unseen", t.reap_unseen}};
}

ordered_json block_json(const std::vector<trace::BlockDeviceTotals>& devices) {
    ordered_json out = ordered_json::object();
    for (const trace::BlockDeviceTotals& d : devices)
        out[d.name] = {{"dev", d.dev},
                       {"requests", d.requests},
                       {"reads", d.reads},
                       {"writes", d.writes},
                       {"flushes", d.flushes},
                       {"discards", d.discards},
                       {"others", d.others},
                       {"read_bytes", d.read_bytes},
                       {"write_bytes", d.write_bytes},
                       {"attributed", d.attributed},
                       {"errors", d.errors},
                       {"untracked", d.untracked},
                       {"dropped", d.dropped},
                       {"missed_completions", d.missed_completions},
                       {"in_flight_at_end", d.in_flight_at_end}};
    return out;
}

}  // namespace

ordered_json to_json(const trace::OffcpuTotals& t) {
    ordered_json stacks = ordered_json::array();
    for (const trace::OffcpuStackTotals& s : t.stacks)
        stacks.push_back({{"tgid", s.tgid},
                          {"tid", s.tid},
                          {"comm", s.comm},
                          {"state", s.state},
                          {"total_ns", s.total_ns},
                          {"count", s.count},
                          {"kernel", s.kernel},
                          {"user", s.user}});
    ordered_json out = {{"switches", t.switches},
                        {"too_short", t.too_short},
                        {"lost", t.lost},
                        {"kernel_symbols", t.kernel_symbols},
                        {"stacks", std::move(stacks)}};
    if (t.wakeups) {
        ordered_json wakeups = ordered_json::array();
        for (const trace::WakeupTotals& w : *t.wakeups)
            wakeups.push_back({{"woken", w.woken},
                               {"wakee_tgid", w.wakee_tgid},
                               {"wakee_tid", w.wakee_tid},
                               {"wakee_comm", w.wakee_comm},
                               {"waker_tgid", w.waker_tgid},
                               {"waker_tid", w.waker_tid},
                               {"waker_comm", w.waker_comm},
                               {"waited_ns", w.waited_ns},
                               {"count", w.count},
                               {"run_delay_ns", w.run_delay_ns},
                               {"waker_kernel", w.waker_kernel},
                               {"waker_user", w.waker_user}});
        out["wakeups"] = std::move(wakeups);
    }
    return out;
}

ordered_json to_json(const trace::TracerTotals& totals) {
    ordered_json out = ordered_json::object();
    if (totals.bpf_programs) out["bpf_programs"] = {{"run_ns", totals.bpf_programs->run_ns}, {"runs", totals.bpf_programs->runs}};
    if (totals.syscalls) out["syscalls"] = syscalls_json(*totals.syscalls);
    if (totals.io_uring) out["io_uring"] = uring_json(*totals.io_uring);
    if (totals.block) out["block"] = block_json(*totals.block);
    if (totals.offcpu) out["offcpu"] = to_json(*totals.offcpu);
    return out;
}

}  // namespace iodiag::model
