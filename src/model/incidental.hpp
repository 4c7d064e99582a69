// Incidental IO: the start-up and configuration reads every program does (locale files, shared
// libraries, /proc, /sys, small files under /etc and /usr/share) are not its workload. They are
// kept out of the job groups and counted in the model's `ignored["incidental"]`, so two reads of
// /etc/locale.alias cannot turn `dd oflag=direct` into a 4k/1m read-write job. Pure: decides from
// paths and per-file totals only.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "trace/io_event.hpp"

namespace iodiag::model {

// Where a file lies, for the incidental rule.
enum class PathPlace {
    data,    // anywhere else (and block devices): may be the workload's
    pseudo,  // /proc, /sys, /dev but block devices (also /dev/shm): never the storage workload
    system,  // /etc, /usr/share, /usr/lib, /usr/lib64, /lib, /lib64: configuration, locale, libraries
};
PathPlace path_place(std::string_view path, trace::FileKind kind);

struct IncidentalLimits {
    // A system file that saw at most this many calls and this many bytes, over all threads, and
    // was only read, is start-up reading...
    uint64_t max_ops = 64;
    uint64_t max_bytes = 1u << 20;
    // ...unless such files together make at least this share of the trace's ops and of its bytes:
    // then reading them is what the program does (a config scanner, `cat /etc/*`) and is modelled.
    double workload_share = 0.5;
};

// One file's IO over the whole trace (all threads).
struct FileActivity {
    uint32_t file_id = 0;
    std::string path;
    trace::FileKind kind = trace::FileKind::unknown;
    uint64_t ops = 0;
    uint64_t bytes = 0;
    bool written = false;
};

// The ids of the files whose IO is incidental:
//  - any IO on a pseudo path (/proc, /sys, /dev but block devices);
//  - reads only of a system path, small (<= max_ops calls and <= max_bytes in all), unless those
//    small system reads together are at least workload_share of all ops and of all bytes.
std::set<uint32_t> incidental_files(const std::vector<FileActivity>& files, const IncidentalLimits& limits = {});

}  // namespace iodiag::model
