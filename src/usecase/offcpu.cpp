#include "usecase/offcpu.hpp"

#include <utility>

#include "model/source_totals.hpp"

namespace iodiag::usecase {
namespace {

// The off-CPU tracer keeps everything in its maps; the other tracers' events are not needed here.
class IgnoreEvents final : public trace::EventSink {
public:
    void on_event(const trace::IoEvent&) override {}
};

struct OffcpuTrace {
    TraceEnd end;
    analysis::OffcpuReport report;
};

// Traces with the off-CPU tracer (configured in `bpf`) and hands over what it gathered.
Result<OffcpuTrace> trace_offcpu(const trace::BpfOptions& bpf, std::string_view use_case) {
    auto source = start_bpf(bpf, use_case);
    if (!source) return tl::unexpected(source.error());
    IgnoreEvents ignore;
    trace::FileTable files;
    auto run = run_bpf(**source, ignore, files);
    if (!run) return tl::unexpected(run.error());
    if (!run->totals.offcpu) return fail(ErrorKind::internal, "the off-CPU tracer left no totals");
    auto report = analysis::offcpu_from_json(model::to_json(*run->totals.offcpu));
    if (!report) return tl::unexpected(report.error());
    return OffcpuTrace{trace_end(*run), std::move(*report)};
}

}  // namespace

Result<OffcpuRun> profile_offcpu(const OffcpuRequest& request, Observer& observer) {
    if (auto status = validate_target(request.target, "offcpu"); !status) return tl::unexpected(status.error());
    const std::string target = describe_target(request.target);

    trace::BpfOptions bpf = bpf_options(request.target, observer);
    bpf.offcpu = true;
    bpf.offcpu_min_ns = request.min_ns;
    auto traced = trace_offcpu(bpf, "offcpu");
    if (!traced) return tl::unexpected(traced.error());
    OffcpuRun run{target, traced->end, std::move(traced->report), request.top};
    auto& stacks = run.report.stacks;
    stacks = analysis::in_state(request.per_thread ? stacks : analysis::merge_threads(stacks), request.state);
    return run;
}

nlohmann::ordered_json to_json(const OffcpuRun& run) {
    auto stacks = run.report.stacks;
    if (stacks.size() > run.top) stacks.resize(run.top);
    return {{"target", run.target},
            {"duration_s", run.end.seconds()},
            {"ended", describe_end(run.end)},
            {"switches", run.report.switches},
            {"too_short", run.report.too_short},
            {"lost", run.report.lost},
            {"stacks", analysis::to_json(stacks)}};
}

Result<WakeupRun> profile_wakeups(const WakeupRequest& request, Observer& observer) {
    if (auto status = validate_target(request.target, "wakeup"); !status) return tl::unexpected(status.error());
    const std::string target = describe_target(request.target);

    trace::BpfOptions bpf = bpf_options(request.target, observer);
    bpf.wakers = true;
    auto traced = trace_offcpu(bpf, "wakeup");
    if (!traced) return tl::unexpected(traced.error());
    const auto& wakeups = traced->report.wakeups;
    return WakeupRun{target, traced->end, traced->report.lost,
                     request.per_thread ? wakeups : analysis::merge_threads(wakeups)};
}

nlohmann::ordered_json to_json(const WakeupRun& run) {
    return {{"target", run.target},
            {"duration_s", run.end.seconds()},
            {"ended", describe_end(run.end)},
            {"lost", run.lost},
            {"wakeups", analysis::to_json(run.wakeups)}};
}

}  // namespace iodiag::usecase
