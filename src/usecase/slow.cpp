#include "usecase/slow.hpp"

#include <ctime>

#include "trace/kernel_ids.hpp"

namespace iodiag::usecase {
namespace {

// Now on the BPF clock (CLOCK_MONOTONIC), which the ops' start times use.
uint64_t monotonic_ns() {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<uint64_t>(now.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(now.tv_nsec);
}

nlohmann::ordered_json to_json(const ListedSlowOp& listed) {
    const analysis::SlowOp& op = listed.op;
    nlohmann::ordered_json out = {{"t_s", listed.t_s},
                                  {"layer", slow_layer_name(op.layer)},
                                  {"op", op.op},
                                  {"pid", op.tgid},
                                  {"tid", op.tid},
                                  {"file", op.file},
                                  {"bytes", op.bytes},
                                  {"latency_ms", static_cast<double>(op.latency_ns) / 1e6},
                                  {"result", op.result}};
    if (op.has_offset) out["offset"] = op.offset;
    if (op.layer == analysis::LatencyLayer::block_device) out["queued_ms"] = static_cast<double>(op.queue_ns) / 1e6;
    return out;
}

}  // namespace

std::string_view slow_layer_name(analysis::LatencyLayer layer) {
    switch (layer) {
    case analysis::LatencyLayer::syscall: return "syscall";
    case analysis::LatencyLayer::async: return "async";
    default: return "block";
    }
}

Result<SlowRun> find_slow_ops(const SlowRequest& request, Observer& observer) {
    if (auto status = validate_target(request.target, "slow"); !status) return tl::unexpected(status.error());

    SlowRun result;
    result.target = describe_target(request.target);
    result.min_ns = request.min_ns;
    trace::FileTable files;
    uint64_t start_ns = 0;
    analysis::SlowOps slow(request.min_ns, files, [](uint32_t dev) { return trace::block_device_name(dev); },
                           [&](const analysis::SlowOp& op) {
                               if (result.listed.size() >= request.limit) return;
                               const uint64_t since = op.start_ns > start_ns ? op.start_ns - start_ns : 0;
                               result.listed.push_back({static_cast<double>(since) / 1e9, op});
                               if (request.on_listed) request.on_listed(result.listed.back());
                           });

    auto source = start_bpf(bpf_options(request.target, observer), "slow");
    if (!source) return tl::unexpected(source.error());
    if (request.on_start) request.on_start(result.target);
    start_ns = monotonic_ns();
    auto run = run_bpf(**source, slow, files);
    if (!run) return tl::unexpected(run.error());
    result.end = trace_end(*run);
    result.counts = slow.counts();
    return result;
}

nlohmann::ordered_json to_json(const SlowRun& run) {
    nlohmann::ordered_json counts = nlohmann::ordered_json::object();
    for (const auto& [layer, c] : run.counts)
        counts[std::string(slow_layer_name(layer))] = {{"seen", c.seen}, {"slow", c.slow}};
    nlohmann::ordered_json ops = nlohmann::ordered_json::array();
    for (const auto& listed : run.listed) ops.push_back(to_json(listed));
    return {{"target", run.target},     {"min_ms", static_cast<double>(run.min_ns) / 1e6},
            {"ended", describe_end(run.end)}, {"counts", counts},
            {"listed", run.listed.size()}, {"ops", ops}};
}

}  // namespace iodiag::usecase
