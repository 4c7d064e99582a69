#include "usecase/latency.hpp"

#include <chrono>

#include "analysis/latency_output.hpp"
#include "trace/kernel_ids.hpp"

namespace iodiag::usecase {

Result<LatencyRun> measure_latency(const LatencyRequest& request, Observer& observer) {
    if (auto status = validate_target(request.target, "latency"); !status) return tl::unexpected(status.error());

    const std::string target = describe_target(request.target);
    analysis::LatencyStats stats([](uint32_t dev) { return trace::block_device_name(dev); });
    auto interval_start = std::chrono::steady_clock::now();
    const auto report = [&] {
        const std::chrono::duration<double> covered = std::chrono::steady_clock::now() - interval_start;
        return LatencyRun{target, covered.count(), stats.rows(), std::nullopt};
    };

    trace::BpfOptions bpf = bpf_options(request.target, observer);
    if (request.interval_ms) {
        bpf.interval_ms = request.interval_ms;
        bpf.on_interval = [&] {
            if (request.on_report) request.on_report(report());
            stats.reset();
            interval_start = std::chrono::steady_clock::now();
        };
    }
    auto source = start_bpf(bpf, "latency");
    if (!source) return tl::unexpected(source.error());
    interval_start = std::chrono::steady_clock::now();  // the first interval starts with the trace, not the load
    trace::FileTable files;
    auto run = run_bpf(**source, stats, files);
    if (!run) return tl::unexpected(run.error());

    LatencyRun last = report();
    last.end = trace_end(*run);
    if (request.on_report) request.on_report(last);
    if (last.rows.empty() && !request.interval_ms)
        return fail(ErrorKind::no_io, "no IO seen", "trace longer, or check that the target reads or writes files");
    return last;
}

nlohmann::ordered_json to_json(const LatencyRun& run) {
    nlohmann::ordered_json out = {
        {"target", run.target}, {"interval_s", run.seconds}, {"rows", analysis::to_json(run.rows)}};
    if (run.end) out["ended"] = describe_end(*run.end);
    return out;
}

}  // namespace iodiag::usecase
