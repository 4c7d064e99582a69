// The processes doing the most IO right now, to offer as targets when none was given: read and
// write bytes per second from /proc/PID/io over a short window.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace iodiag::wizard {

struct ProcessIo {
    int32_t pid = 0;
    std::string comm;
    std::string cmdline;
    double read_bytes_s = 0;    // rchar: every read() byte, page cache included
    double write_bytes_s = 0;   // wchar
    double disk_bytes_s = 0;    // read_bytes + write_bytes: what reached the block layer
};

// Samples /proc twice, `window_ms` apart; the `limit` busiest by total bytes/s, iodiag itself
// left out. Processes whose io file is unreadable (other users, no root) are skipped.
std::vector<ProcessIo> busiest_processes(uint32_t window_ms = 2000, size_t limit = 10,
                                         const std::string& proc_root = "/proc");

std::string describe(const ProcessIo& process);  // "1234 fio  12.3 MB/s read  4.0 MB/s write"

}  // namespace iodiag::wizard
