// What every BPF tracer does around its skeleton, in one place: pick the attach variant the
// kernel supports (tp_btf > raw_tp > classic tracepoint), load only that variant's programs
// (chosen by section prefix, so an object just defines all three), share the bpf source's targets
// map, attach, and read per-CPU counters. Built only with BPF (IODIAG_HAVE_BPF).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "trace/bpf_features.hpp"
#include "trace/bpf_tracer.hpp"

struct bpf_object;
struct bpf_map;
struct bpf_link;

namespace iodiag::trace {

enum class BpfVariant : uint8_t { tp_btf, raw_tp, tracepoint };

std::string_view variant_name(BpfVariant variant);

// The fastest variant `features` allows; unsupported (naming `tracer`) when none attaches.
Result<BpfVariant> pick_variant(const BpfFeatures& features, std::string_view tracer);

// Before load: autoload only the programs of `variant`.
void select_variant(bpf_object* object, BpfVariant variant);

// Before load: use the bpf source's targets map when it gave one (its definition wins).
Status share_targets(bpf_map* targets, const BpfTarget& target);

// After load: a tracer running without the bpf source puts its target into its own map.
Status fill_own_targets(bpf_map* targets, const BpfTarget& target);

// "load failed" with libbpf's errno and a hint to see libbpf's own messages.
Error load_error(std::string_view tracer, int err);

// The links of one object's attached programs; destroying them detaches everything.
class BpfLinks {
public:
    BpfLinks() = default;
    ~BpfLinks() { destroy(); }
    BpfLinks(const BpfLinks&) = delete;
    BpfLinks& operator=(const BpfLinks&) = delete;

    // Attaches every program that was loaded; on failure nothing stays attached.
    Status attach(bpf_object* object, std::string_view tracer);
    void destroy();
    bool attached() const { return !links_.empty(); }

private:
    std::vector<bpf_link*> links_;
};

// Sums a one-element per-CPU array whose value is `words` u64 counters into `out`.
Status sum_percpu_u64(const bpf_map* map, uint64_t* out, size_t words);

// The processes in a targets map (at most `limit`), `first` always first (also when the map is empty).
std::vector<int32_t> traced_processes(const bpf_map* targets, int32_t first, size_t limit = 4096);

}  // namespace iodiag::trace
