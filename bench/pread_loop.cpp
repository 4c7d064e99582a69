// The price of one syscall, for bench/syscall_price.sh: 4k preads at random page-aligned offsets
// of a file that is in the page cache, in a tight loop for SECONDS, with nothing else in the loop
// (no clock read per call, unlike fio). Prints "WALL_NS CPU_NS" per call; CPU time (user+sys of
// this process) leaves out what other tenants of a shared machine steal.
//
//   pread_loop FILE SECONDS
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>

namespace {

double cpu_seconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    const auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec * 1e-6; };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s FILE SECONDS\n", argv[0]);
        return 2;
    }
    const int fd = open(argv[1], O_RDONLY);
    struct stat st{};
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size < 4096) {
        std::fprintf(stderr, "%s: cannot read a file of at least 4 KiB\n", argv[1]);
        return 1;
    }
    const double seconds = std::atof(argv[2]);
    const auto pages = static_cast<unsigned long>(st.st_size / 4096);
    std::minstd_rand random(1);
    alignas(4096) static char buffer[4096];

    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    const double cpu_start = cpu_seconds();
    unsigned long calls = 0;
    double elapsed = 0;
    do {
        for (int i = 0; i < 10000; i++, calls++)
            if (pread(fd, buffer, sizeof buffer, static_cast<off_t>(random() % pages) * 4096) != 4096) {
                std::perror("pread");
                return 1;
            }
        elapsed = std::chrono::duration<double>(clock::now() - start).count();
    } while (elapsed < seconds);
    std::printf("%.1f %.1f\n", elapsed * 1e9 / calls, (cpu_seconds() - cpu_start) * 1e9 / calls);
    return 0;
}
