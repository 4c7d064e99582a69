// Shared by the BPF tracer tests: run a command traced by tracers in-process (no bpf source): the
// command is held before exec until every tracer is attached, the tracers are polled while it
// runs, then detached and drained once it exits.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "fio_harness.hpp"
#include "model/source_totals.hpp"
#include "trace/bpf_tracer.hpp"
#include "trace/io_event.hpp"

namespace iodiag::testing {

// Why BPF tracing cannot run here ("" when it can): not root, no BTF, nothing attaches.
std::string bpf_unavailable();

// Why `iodiag model --source bpf` cannot trace here ("" when it can), from iodiag's own message:
// it names what is missing (root, BTF, an attach kind, a locked-down kernel). Asked once.
std::string bpf_source_unusable();

// The whole disk (kernel dev_t) under `path`'s file system, nullopt when it is not on a block
// device (tmpfs, overlay without one).
std::optional<uint32_t> whole_disk_under(const std::filesystem::path& path);

// Why `fresh` (a tracer not loaded yet) cannot load and attach here, "" when it can; it is
// detached again before returning. With `variant`: that variant (classic tracepoints: tracefs
// mounted first), else the one the kernel offers first.
std::string attach_problem(trace::BpfTracer& fresh, std::optional<trace::BpfVariant> variant = std::nullopt);

// `tracer`'s totals as model.json's source.totals holds them.
inline model::ordered_json totals_json(const trace::BpfTracer& tracer) {
    trace::TracerTotals totals;
    tracer.collect_totals(totals);
    return model::to_json(totals);
}

// Sends every event to each of `sinks`.
class FanOut final : public trace::EventSink {
public:
    explicit FanOut(std::vector<trace::EventSink*> sinks) : sinks_(std::move(sinks)) {}
    void on_event(const trace::IoEvent& e) override {
        for (auto* s : sinks_) s->on_event(e);
    }
    void on_async(const trace::AsyncRequest& r) override {
        for (auto* s : sinks_) s->on_async(r);
    }
    void on_block(const trace::BlockRequest& r) override {
        for (auto* s : sinks_) s->on_block(r);
    }

private:
    std::vector<trace::EventSink*> sinks_;
};

struct TracedRun {
    int exit_code = -1;
    uint64_t delivered = 0;   // what the tracers handed over
    double seconds = 0;       // from release to exit
};

// REQUIREs that every tracer loads and attaches with the given features (tests decide to skip
// before calling). The features default to what the kernel offers.
TracedRun run_traced(const std::vector<std::string>& argv, const std::vector<trace::BpfTracer*>& tracers,
                     trace::EventSink& sink, trace::FileTable& files, const trace::BpfFeatures* features = nullptr);

// Writes an fio job file (a [global] section with `directory`, time based for `seconds`, threads
// so the job runs in fio's own process) and lays its files out, untraced. Returns its path.
std::string write_fio_job(const std::string& directory, const std::string& job_body, int seconds);

}  // namespace iodiag::testing

// Skips the test case (with a WARN naming why) when a tool is missing or the bpf source cannot
// trace here.
#define SKIP_UNLESS_BPF_SOURCE(...)                                                              \
    do {                                                                                         \
        SKIP_WITHOUT(__VA_ARGS__);                                                               \
        if (std::string why_ = ::iodiag::testing::bpf_source_unusable(); !why_.empty()) {        \
            WARN("skipped: the bpf source does not work here: " << why_);                        \
            return;                                                                              \
        }                                                                                        \
    } while (0)
