// Throughput and memory of the offline path: strace log -> parser -> decoder -> classifier.
//
//   parse_model_bench generate FILE LINES   writes a synthetic `strace -f -ttt -T -y` log
//   parse_model_bench run FILE              parses and models it; prints lines/s and peak RSS
//
// The log mixes what real traces hold: psync reads and writes over several files and threads,
// fdatasync, libaio submit/reap with iocbs, unfinished/resumed pairs and ignored syscalls.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "model/classifier.hpp"
#include "trace/strace_parser.hpp"
#include "trace/syscall_decoder.hpp"

using namespace iodiag;

namespace {

int generate(const char* path, uint64_t lines) {
    FILE* out = std::fopen(path, "w");
    if (!out) {
        std::perror(path);
        return 1;
    }
    std::mt19937_64 rng(42);
    const int pids[] = {4001, 4002, 4003, 4004};
    double ts = 1795658926.000000;
    // Each thread opens its file first so later calls resolve.
    for (int i = 0; i < 4; ++i)
        std::fprintf(out, "%d  %.6f openat(AT_FDCWD</data>, \"/data/file.%d\", O_RDWR|O_DIRECT) = %d</data/file.%d> <0.000011>\n",
                     pids[i], ts, i, 5 + i, i);
    uint64_t written = 4;
    while (written < lines) {
        ts += 0.000007;
        int k = static_cast<int>(rng() % 4);
        int pid = pids[k];
        int fd = 5 + k;
        uint64_t offset = (rng() % 262144) * 4096;
        switch (rng() % 10) {
        case 0:
            std::fprintf(out, "%d  %.6f fdatasync(%d</data/file.%d>) = 0 <0.000420>\n", pid, ts, fd, k);
            break;
        case 1:
            std::fprintf(out,
                         "%d  %.6f io_submit(0x7f69a49df000, 1, [{aio_data=0, aio_lio_opcode=IOCB_CMD_PREAD, "
                         "aio_fildes=%d</data/file.%d>, aio_buf=0x55f39a63e000, aio_nbytes=8192, aio_offset=%llu}]) = 1 <0.000020>\n",
                         pid, ts, fd, k, static_cast<unsigned long long>(offset));
            break;
        case 2:
            std::fprintf(out, "%d  %.6f io_getevents(0x7f69a49df000, 1, 1, [{data=0, obj=0x55f39a6338c8, res=8192, res2=0}], NULL) = 1 <0.000077>\n",
                         pid, ts);
            break;
        case 3:
            std::fprintf(out, "%d  %.6f pwrite64(%d</data/file.%d>, \"\"..., 4096, %llu <unfinished ...>\n", pid, ts, fd, k,
                         static_cast<unsigned long long>(offset));
            std::fprintf(out, "%d  %.6f <... pwrite64 resumed>) = 4096 <0.000031>\n", pid, ts + 0.000003);
            ++written;
            break;
        case 4:
            std::fprintf(out, "%d  %.6f clock_gettime(CLOCK_MONOTONIC, {tv_sec=1, tv_nsec=2}) = 0 <0.000001>\n", pid, ts);
            break;
        default:
            std::fprintf(out, "%d  %.6f pread64(%d</data/file.%d>, \"\"..., 4096, %llu) = 4096 <0.000012>\n", pid, ts, fd, k,
                         static_cast<unsigned long long>(offset));
        }
        ++written;
    }
    std::fclose(out);
    std::printf("wrote %llu lines to %s\n", static_cast<unsigned long long>(written), path);
    return 0;
}

int run(const char* path) {
    trace::FileTable files;
    model::Classifier classifier;
    trace::SyscallDecoder decoder(classifier, files);
    auto start = std::chrono::steady_clock::now();
    auto stats = trace::read_strace_file(path, decoder);
    if (!stats) {
        std::fprintf(stderr, "error: %s\n", stats.error().message.c_str());
        return 1;
    }
    auto model = classifier.finish(files, model::WorkloadModel{});
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    std::printf("lines %llu  bad %llu  groups %zu  seconds %.3f  lines/s %.0f  peak_rss_kib %ld\n",
                static_cast<unsigned long long>(stats->lines), static_cast<unsigned long long>(stats->bad_lines),
                model.groups.size(), seconds, static_cast<double>(stats->lines) / seconds, usage.ru_maxrss);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 4 && std::string(argv[1]) == "generate") return generate(argv[2], std::strtoull(argv[3], nullptr, 10));
    if (argc == 3 && std::string(argv[1]) == "run") return run(argv[2]);
    std::fprintf(stderr, "usage: %s generate FILE LINES | run FILE\n", argv[0]);
    return 2;
}
