// Shared by the BPF tracer tests: run a command traced by tracers in-process (no bpf source): the
// command is held before exec until every tracer is attached, the tracers are polled while it
// runs, then detached and drained once it exits.
#pragma once

#include <string>
#include <vector>

#include "trace/bpf_tracer.hpp"
#include "trace/io_event.hpp"

namespace iodiag::testing {

// Why BPF tracing cannot run here ("" when it can): not root, no BTF, nothing attaches.
std::string bpf_unavailable();

// Why `fresh` (a tracer not loaded yet) cannot load and attach here, "" when it can; it is
// detached again before returning.
std::string attach_problem(trace::BpfTracer& fresh);

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
