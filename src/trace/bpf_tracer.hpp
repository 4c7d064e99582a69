// The shape every BPF tracer wrapper has (RAII over its skeleton: open -> set rodata filters ->
// choose the attach variant from BpfFeatures -> load -> attach -> poll -> detach). The bpf source
// runs several of them for one target and drains them all from one loop.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "common/result.hpp"
#include "trace/bpf_features.hpp"
#include "trace/io_event.hpp"
#include "trace/tracer_totals.hpp"

namespace iodiag::trace {

struct BpfTarget {
    uint32_t tgid = 0;              // the traced process
    bool children = false;          // also its descendants (forks after the start)
    int targets_map_fd = -1;        // shared hash map tgid -> 1 of traced processes, created by
                                    // the bpf source; tracers reuse it (bpf_map__reuse_fd) before load
};

class BpfTracer {
public:
    virtual ~BpfTracer() = default;
    virtual std::string_view name() const = 0;
    // The attach variants its BPF object carries, in order of preference. The bpf source loads
    // the first that works here and falls back to the next when one fails to load or attach.
    virtual std::span<const BpfVariant> variants() const { return kAllVariants; }
    // Loads the variant `features` allows (the bpf source narrows them to one). Once per object:
    // a retry with another variant uses a fresh tracer.
    virtual Status load(const BpfTarget& target, const BpfFeatures& features) = 0;
    virtual Status attach() = 0;
    // Drains what the kernel side buffered; never blocks. Returns events delivered.
    virtual uint64_t poll(EventSink& sink, FileTable& files) = 0;
    // Exact in-kernel counts (maps): sets this tracer's member of `totals` (model.json's source.totals).
    virtual void collect_totals(TracerTotals& totals) const = 0;
    virtual uint64_t dropped() const = 0;
    // Its programs' run time so far, where the bpf source turned statistics on (before detach).
    virtual ProgramTime program_time() const { return {}; }
    // User space added processes to the shared targets map after attach (the --children walk of
    // /proc): a tracer that remembers "not a target" per thread must ask again.
    virtual void targets_added() {}
    // Idempotent; the destructor calls it. Leaves no link or program of iodiag's behind.
    virtual void detach() = 0;
};

}  // namespace iodiag::trace
