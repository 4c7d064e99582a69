#include "trace/bpf_attach.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#if IODIAG_HAVE_BPF
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#endif

namespace iodiag::trace {

Result<BpfVariant> pick_variant(const BpfFeatures& features, std::string_view tracer) {
    for (BpfVariant v : kAllVariants)
        if (features.has(v)) return v;
    return fail(ErrorKind::unsupported,
                std::string(tracer) + ": no attach kind works on this kernel (" + features.summary() + ")",
                "run with -vv to see libbpf's messages, or use --source strace");
}

Result<std::optional<BpfVariant>> forced_variant() {
    // To test each variant, or to step around a kernel's bug.
    const char* forced = std::getenv("IODIAG_BPF_VARIANT");
    if (!forced || !*forced) return std::nullopt;
    const std::string_view want = forced;
    for (BpfVariant v : kAllVariants)
        if (want == variant_name(v)) return v;
    return fail(ErrorKind::usage, "IODIAG_BPF_VARIANT=" + std::string(want) + " is not a BPF variant",
                "use tp_btf, raw_tp or tracepoint, or unset it");
}

Result<VariantPlan> plan_variants(const BpfFeatures& features, std::span<const BpfVariant> has,
                                  std::optional<BpfVariant> forced, std::string_view tracer) {
    VariantPlan plan;
    const auto has_variant = [&](BpfVariant v) { return std::find(has.begin(), has.end(), v) != has.end(); };
    if (forced && has_variant(*forced)) {
        plan.order = {*forced};
        plan.forced = true;
        return plan;
    }
    if (forced)
        plan.note = fmt::format("IODIAG_BPF_VARIANT={} does not apply: the {} tracer has no {} programs",
                                variant_name(*forced), tracer, variant_name(*forced));
    for (BpfVariant v : has)
        if (features.has(v) || !features.probed_variant(v)) plan.order.push_back(v);
    if (plan.order.empty())
        return fail(ErrorKind::unsupported,
                    std::string(tracer) + ": none of its attach kinds works on this kernel (" + features.summary() + ")",
                    "run with -vv to see libbpf's messages, or use --source strace");
    return plan;
}

Status fail_on_purpose(std::string_view tracer, BpfVariant variant) {
    const char* list = std::getenv("IODIAG_BPF_FAIL_VARIANT");
    if (!list || !*list) return {};
    std::string_view rest = list;
    while (!rest.empty()) {
        const size_t comma = rest.find(',');
        std::string_view item = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        if (const size_t colon = item.find(':'); colon != std::string_view::npos) {
            if (item.substr(0, colon) != tracer) continue;
            item = item.substr(colon + 1);
        }
        if (item == variant_name(variant))
            return fail(ErrorKind::unsupported,
                        fmt::format("made to fail by the test hook IODIAG_BPF_FAIL_VARIANT={}", list),
                        "unset IODIAG_BPF_FAIL_VARIANT");
    }
    return {};
}

Error load_error(std::string_view tracer, int err) {
    return Error{ErrorKind::unsupported,
                 std::string(tracer) + ": the BPF programs did not load: " + std::strerror(err < 0 ? -err : err),
                 "run with -vv to see the verifier's and libbpf's messages"};
}

#if IODIAG_HAVE_BPF

namespace {

std::string_view section_prefix(BpfVariant variant) {
    switch (variant) {
    case BpfVariant::tp_btf: return "tp_btf/";
    case BpfVariant::raw_tp: return "raw_tp/";
    case BpfVariant::tracepoint: return "tracepoint/";
    }
    return {};
}

}  // namespace

void select_variant(bpf_object* object, BpfVariant variant) {
    bpf_program* program = nullptr;
    bpf_object__for_each_program(program, object) {
        std::string_view section = bpf_program__section_name(program);
        bpf_program__set_autoload(program, section.starts_with(section_prefix(variant)));
    }
}

Status share_targets(bpf_map* targets, const BpfTarget& target) {
    if (target.targets_map_fd < 0) return {};
    if (int err = bpf_map__reuse_fd(targets, target.targets_map_fd))
        return fail(ErrorKind::internal, std::string("cannot share the targets map: ") + std::strerror(-err));
    return {};
}

Status fill_own_targets(bpf_map* targets, const BpfTarget& target) {
    if (target.targets_map_fd >= 0) return {};
    uint32_t tgid = target.tgid;
    // The value's size is the map's: one byte here, but read it rather than assume.
    std::vector<uint8_t> one(bpf_map__value_size(targets), 0);
    one[0] = 1;
    if (bpf_map__update_elem(targets, &tgid, sizeof tgid, one.data(), one.size(), BPF_ANY))
        return fail(ErrorKind::internal, std::string("cannot add the target to the BPF map: ") + std::strerror(errno));
    return {};
}

Status BpfLinks::attach(bpf_object* object, std::string_view tracer) {
    bpf_program* program = nullptr;
    bpf_object__for_each_program(program, object) {
        if (!bpf_program__autoload(program)) continue;
        bpf_link* link = bpf_program__attach(program);
        if (!link) {
            int err = errno;
            destroy();
            return fail(ErrorKind::unsupported,
                        std::string(tracer) + ": cannot attach " + bpf_program__section_name(program) + ": " +
                            std::strerror(err),
                        "the kernel may lack this tracepoint; run with -vv for libbpf's messages");
        }
        links_.push_back(link);
        program_fds_.push_back(bpf_program__fd(program));
    }
    return {};
}

void BpfLinks::destroy() {
    for (bpf_link* link : links_) bpf_link__destroy(link);
    links_.clear();
    program_fds_.clear();
}

ProgramTime BpfLinks::program_time() const {
    ProgramTime sum;
    for (int fd : program_fds_) {
        bpf_prog_info info{};
        uint32_t length = sizeof info;
        if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &length) != 0) continue;
        sum.run_ns += info.run_time_ns;
        sum.runs += info.run_cnt;
    }
    return sum;
}

int enable_program_stats() { return bpf_enable_stats(BPF_STATS_RUN_TIME); }

Status sum_percpu_u64(const bpf_map* map, uint64_t* out, size_t words) {
    const int cpus = libbpf_num_possible_cpus();
    if (cpus <= 0) return fail(ErrorKind::internal, "cannot count the possible CPUs");
    const size_t stride = (bpf_map__value_size(map) + 7) / 8;  // u64 words per CPU slot
    if (stride < words) return fail(ErrorKind::internal, "per-CPU counter map is smaller than expected");
    std::vector<uint64_t> values(stride * static_cast<size_t>(cpus));
    uint32_t zero = 0;
    if (bpf_map__lookup_elem(map, &zero, sizeof zero, values.data(), values.size() * 8, 0))
        return fail(ErrorKind::internal, std::string("cannot read BPF counters: ") + std::strerror(errno));
    for (size_t w = 0; w < words; ++w) out[w] = 0;
    for (int cpu = 0; cpu < cpus; ++cpu)
        for (size_t w = 0; w < words; ++w) out[w] += values[static_cast<size_t>(cpu) * stride + w];
    return {};
}

std::vector<int32_t> traced_processes(const bpf_map* targets, int32_t first, size_t limit) {
    std::vector<int32_t> out{first};
    const int fd = bpf_map__fd(targets);
    uint32_t key = 0, next = 0;
    void* prev = nullptr;
    while (bpf_map_get_next_key(fd, prev, &next) == 0 && out.size() < limit) {
        if (static_cast<int32_t>(next) != first) out.push_back(static_cast<int32_t>(next));
        key = next;
        prev = &key;
    }
    return out;
}

#else

void select_variant(bpf_object*, BpfVariant) {}
ProgramTime BpfLinks::program_time() const { return {}; }
int enable_program_stats() { return -1; }
Status share_targets(bpf_map*, const BpfTarget&) { return {}; }
Status fill_own_targets(bpf_map*, const BpfTarget&) { return {}; }
Status BpfLinks::attach(bpf_object*, std::string_view tracer) {
    return fail(ErrorKind::unsupported, std::string(tracer) + ": built without BPF support");
}
void BpfLinks::destroy() {}
std::vector<int32_t> traced_processes(const bpf_map*, int32_t first, size_t) { return {first}; }
Status sum_percpu_u64(const bpf_map*, uint64_t*, size_t) {
    return fail(ErrorKind::unsupported, "built without BPF support");
}

#endif

}  // namespace iodiag::trace
