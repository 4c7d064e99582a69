// The safety gate (DESIGN.md "Safety"): fio writes only into a scratch directory iodiag created
// and marked, unless the user passes --allow-destructive. A block device, or an existing file
// iodiag did not create, is refused with the reason.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace iodiag::fio {

// The file that marks a directory as iodiag's scratch: whatever is inside is iodiag's to
// overwrite and delete. Its presence is how "did iodiag create it" is decided.
inline constexpr const char* kScratchMarker = ".iodiag-scratch";

enum class TargetKind { scratch_dir, file, block_device };

struct TargetRequest {
    std::string path;                // empty: a fresh scratch directory under $TMPDIR or /var/tmp
    bool allow_destructive = false;
};

struct Target {
    TargetKind kind = TargetKind::scratch_dir;
    std::string path;           // absolute: the scratch directory, or the file / device fio uses
    bool created = false;       // this run created the scratch directory
    bool iodiag_file = false;   // kind file: it lies in an iodiag scratch directory
    uint64_t free_bytes = 0;    // free space on the target's file system (not for devices)
    uint64_t size_bytes = 0;    // device size, or the existing file's size
    bool tmpfs = false;         // O_DIRECT fails there
};

// Decides where fio may write. `path` may be:
//   an iodiag scratch directory (has the marker)  -> used as it is
//   another directory                              -> a new marked scratch directory inside it
//   a path that does not exist                     -> created as a marked scratch directory
//   a file in an iodiag scratch directory          -> used
//   any other file, a block device                 -> only with allow_destructive
// permission error (with the reason and the way out) when refused; output error when the
// directory cannot be created (read-only or full file system).
Result<Target> resolve_target(const TargetRequest& request);

// Where a generated job puts its data, and how much it may lay out.
struct Placement {
    bool single_file = false;   // every section uses `path` as its filename (file / device)
    std::string path;           // the scratch directory, or the file / device
    uint64_t capacity = 0;      // most bytes the job may lay out; 0 = no limit
    std::string capacity_why;   // what set the limit, for the job's comments and stderr
};

// The placement for a target: capped at `max_size` bytes, 90% of the free space, and (for a
// device) its size, whichever is least.
Placement placement_for(const Target& target, uint64_t max_size);

bool is_scratch_dir(const std::string& dir);

// Deletes what fio laid out in a scratch directory: every entry but the marker and the names in
// `keep`. Does nothing for file and device targets (their bytes are the user's).
void remove_scratch_data(const Target& target, const std::vector<std::string>& keep);

// Removes the scratch directory a failed run created, so a refused or failed run leaves nothing
// behind; done() once the run has produced something that refers to it.
class ScratchGuard {
public:
    explicit ScratchGuard(const Target& target) : target_(target) {}
    ~ScratchGuard();
    ScratchGuard(const ScratchGuard&) = delete;
    ScratchGuard& operator=(const ScratchGuard&) = delete;
    void done() { done_ = true; }

private:
    const Target& target_;
    bool done_ = false;
};

// A path fio can take as a filename/directory value: no ':' (fio's list separator), no
// whitespace, no comment characters.
Status check_fio_path(const std::string& path);

}  // namespace iodiag::fio
