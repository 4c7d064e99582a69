// A finding: one thing an inspection shows that matters for IO performance, with a one-line why
// and the section of the analysis note it comes from. Plain data, so the report can merge the
// findings of every module later; rules live beside the inspection they read.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/workload_model.hpp"

namespace iodiag::stack {

enum class Severity { info, warning, critical };

std::string_view severity_name(Severity severity);

struct Finding {
    std::string id;              // stable rule id: kvm.cache_none_aio_threads
    Severity severity = Severity::info;
    std::string title;           // what, for this instance: "virtio-disk0: cache=none with aio=threads"
    std::string why;             // one line: why it matters
    std::string note_section;    // the analysis note's section
    std::vector<std::pair<std::string, std::string>> evidence;   // what was seen, in order
};

// The analysis note's sections the rules cite.
namespace note {
inline constexpr const char* kEmulation = "KVM IO performance analysis > understand how IO is emulated";
inline constexpr const char* kWholeStack =
    "IO performance analysis approaches > understand the whole IO stack for the understood workload";
inline constexpr const char* kSyncWrite = "typical IO workloads > fio --rw=write --sync=1";
inline constexpr const char* kIothread = "one example: observe qemu iothread";
}  // namespace note

nlohmann::ordered_json to_json(const Finding& finding);
nlohmann::ordered_json to_json(const std::vector<Finding>& findings);
std::string render_text(const std::vector<Finding>& findings);

// What rules may know about the workload. Unknown (nullopt) makes workload-dependent rules speak
// conditionally at info level instead of staying silent.
struct WorkloadHint {
    std::optional<bool> busy;          // enough IO that where it runs matters
    std::optional<bool> write_heavy;   // writes are at least half of the IO
    std::optional<bool> sync_writes;   // fsync/fdatasync or O_SYNC/O_DSYNC writes
    std::string source;                // where the hint came from (model.json path)
};

WorkloadHint workload_hint(const model::WorkloadModel& model);

}  // namespace iodiag::stack
