// The classifier: consumes IoEvents (streaming, bounded state per thread and file) and builds the
// WorkloadModel: job groups with their pattern, mix, sizes, sync behaviour, engine, depth, batch,
// jobs, files and rate, each with fio options and evidence. Pure: no I/O, no processes.
#pragma once

#include <memory>

#include "model/workload_model.hpp"
#include "trace/io_event.hpp"

namespace iodiag::model {

struct ClassifierOptions {
    // Idle gaps shorter than this are tracer overhead, not think time (strace adds tens of µs
    // per syscall; BPF a few).
    uint64_t min_idle_gap_ns = 200'000;
    // A thread busier than this share of its active time is saturated (no rate limit).
    double saturated_busy_fraction = 0.75;
    // Source that produced the events: io_uring/mmap visibility depends on it.
    std::string source_kind = "strace";

    // The options for a trace source. strace and perf trace stop or buffer every syscall, and
    // on a busy machine that alone leaves gaps of several hundred µs between calls (491 µs median
    // seen for a saturated O_DIRECT writer under strace on a 2-core VM): only gaps of 1 ms and
    // more count as think time there. BPF costs a µs or less per call.
    static ClassifierOptions for_source(const std::string& kind) {
        ClassifierOptions options;
        options.source_kind = kind;
        if (kind == "strace" || kind == "perf") options.min_idle_gap_ns = 1'000'000;
        return options;
    }
};

class Classifier final : public trace::EventSink {
public:
    explicit Classifier(ClassifierOptions options = {});
    ~Classifier() override;
    Classifier(const Classifier&) = delete;
    Classifier& operator=(const Classifier&) = delete;

    void on_event(const trace::IoEvent& event) override;
    void on_async(const trace::AsyncRequest& request) override;

    uint64_t io_events() const;  // data + flush events seen so far (for progress lines)

    // Builds the model. `base` supplies target/source/duration fields; groups are filled in.
    WorkloadModel finish(const trace::FileTable& files, WorkloadModel base) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace iodiag::model
