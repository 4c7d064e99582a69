// trace::KernelSymbols from a kallsyms-format file, and trace::ProcessSymbols on this very process.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "support/support.hpp"
#include "trace/symbols.hpp"

using namespace iodiag;

TEST_CASE("kernel symbols: the function an address falls in, with the offset, data symbols ignored", "[symbols]") {
    testing::ScratchDir dir;
    const auto path = (dir.path() / "kallsyms").string();
    std::ofstream(path) << "ffffffff81000000 T _stext\n"
                           "ffffffff81000100 t io_schedule\n"
                           "ffffffff81000180 D some_data\n"
                           "ffffffff81000200 T vfs_read\n"
                           "ffffffffc0000000 t ext4_read [ext4]\n";
    trace::KernelSymbols symbols(path);
    CHECK(symbols.size() == 4);
    CHECK(symbols.name(0xffffffff81000100) == "io_schedule");
    CHECK(symbols.name(0xffffffff81000190) == "io_schedule+0x90");  // the data symbol does not count
    CHECK(symbols.name(0xffffffff81000210) == "vfs_read+0x10");
    CHECK(symbols.name(0xffffffffc0000004) == "ext4_read+0x4");
    CHECK(symbols.name(0x1000) == "0x1000");  // below every symbol
}

TEST_CASE("kernel symbols: a kallsyms without addresses (not root) names nothing", "[symbols]") {
    testing::ScratchDir dir;
    const auto path = (dir.path() / "kallsyms").string();
    std::ofstream(path) << "0000000000000000 T _stext\n0000000000000000 T vfs_read\n";
    trace::KernelSymbols symbols(path);
    CHECK(symbols.size() == 0);
    CHECK(symbols.name(0xffffffff81000000) == "0xffffffff81000000");
    CHECK(trace::KernelSymbols((dir.path() / "missing").string()).size() == 0);
}

TEST_CASE("process symbols: a libc function of this process by name, with its library", "[symbols]") {
    trace::ProcessSymbols symbols(getpid());
    const auto address = reinterpret_cast<uint64_t>(&getppid);
    const std::string name = symbols.name(address + 1);
    CHECK_THAT(name, Catch::Contains("getppid+0x1"));
    CHECK_THAT(name, Catch::Contains("libc"));
    CHECK(symbols.name(0x10) == "0x10");  // mapped nowhere
}
