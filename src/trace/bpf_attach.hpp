// What every BPF tracer does around its skeleton, in one place: pick the attach variant the
// kernel supports (tp_btf > raw_tp > classic tracepoint), load only that variant's programs
// (chosen by section prefix, so an object just defines all three), share the bpf source's targets
// map, attach, and read per-CPU counters. Built only with BPF (IODIAG_HAVE_BPF).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
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

// The fastest variant `features` allows; unsupported (naming `tracer`) when none attaches. The
// bpf source hands each tracer features narrowed to the one variant it tries (BpfFeatures::only).
Result<BpfVariant> pick_variant(const BpfFeatures& features, std::string_view tracer);

// IODIAG_BPF_VARIANT=tp_btf|raw_tp|tracepoint: the variant the user forces (nullopt: unset or
// empty); another value is a usage error.
Result<std::optional<BpfVariant>> forced_variant();

// The variants one tracer tries, in order, until one loads and attaches.
struct VariantPlan {
    std::vector<BpfVariant> order;
    bool forced = false;  // IODIAG_BPF_VARIANT chose it: no fallback
    std::string note;     // why a forced variant does not apply to this tracer ("" when it does)
};

// Unforced: each variant the tracer `has` (in its order of preference: tp_btf > raw_tp >
// tracepoint) that the feature probe did not see fail; one not probed is tried (its load is the
// probe). Forced: that variant alone when the tracer has it; a tracer without it (the syscall
// tracer has no classic tracepoint programs) plans as unforced and says so in `note`.
// Unsupported (naming `tracer`) when nothing is left to try.
Result<VariantPlan> plan_variants(const BpfFeatures& features, std::span<const BpfVariant> has,
                                  std::optional<BpfVariant> forced, std::string_view tracer);

// Test hook: IODIAG_BPF_FAIL_VARIANT, a comma-separated list of VARIANT or TRACER:VARIANT
// ("tp_btf", "syscalls:tp_btf,block:raw_tp"), makes the bpf source's load of those variants fail
// on purpose, so tests can prove the per-tracer fallback without a kernel that breaks. Returns
// the failure to report when `tracer`'s `variant` is listed.
Status fail_on_purpose(std::string_view tracer, BpfVariant variant);

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
    // The attached programs' statistics so far (read them before the object is destroyed).
    ProgramTime program_time() const;

private:
    std::vector<bpf_link*> links_;
    std::vector<int> program_fds_;   // owned by the object, not by us
};

// Turns on the kernel's per-program run-time statistics while the returned fd is open (they go
// back off when the last holder closes it: no sysctl is left changed); -1 where not allowed.
int enable_program_stats();

// Sums a one-element per-CPU array whose value is `words` u64 counters into `out`.
Status sum_percpu_u64(const bpf_map* map, uint64_t* out, size_t words);

// The processes in a targets map (at most `limit`), `first` always first (also when the map is empty).
std::vector<int32_t> traced_processes(const bpf_map* targets, int32_t first, size_t limit = 4096);

}  // namespace iodiag::trace
