#include "usecase/output_path.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace iodiag::usecase {

Status check_output_writable(const std::string& path) {
    const std::string hint = "choose another path with -o";
    struct stat st {};
    if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
        return fail(ErrorKind::output, "cannot write " + path + ": it is a directory", hint);

    std::filesystem::path dir = std::filesystem::path(path).parent_path();
    if (dir.empty()) dir = ".";
    std::string scratch = (dir / ".iodiag-write-check-XXXXXX").string();
    int fd = mkstemp(scratch.data());
    if (fd < 0)
        return fail(ErrorKind::output,
                    "cannot write " + path + ": " + dir.string() + ": " + std::strerror(errno),
                    hint);
    close(fd);
    unlink(scratch.c_str());
    return {};
}

}  // namespace iodiag::usecase
