// Sizes of the files a live trace touched, read at the end of the trace (a saved log names files
// that may no longer exist or differ, so only live sources call this).
#pragma once

#include "trace/io_event.hpp"

namespace iodiag::trace {

// Fills FileInfo::size of regular files (st_size) and block devices (/sys/dev/block/M:m/size)
// whose size is still unknown. Files that cannot be stat'ed keep size 0 (unknown).
void fill_file_sizes(FileTable& files, const std::string& root = "/");

}  // namespace iodiag::trace
