#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>

#include "trace/file_stat.hpp"

using namespace iodiag::trace;
namespace fs = std::filesystem;

TEST_CASE("fill_file_sizes stats regular files and leaves the rest unknown", "[file_stat]") {
    std::string templ = (fs::temp_directory_path() / "iodiag-filestat-XXXXXX").string();
    fs::path dir = mkdtemp(templ.data());
    std::ofstream(dir / "data.db") << std::string(12345, 'x');

    FileTable files;
    uint32_t data = files.intern((dir / "data.db").string(), FileKind::regular);
    uint32_t gone = files.intern((dir / "gone").string(), FileKind::regular);
    uint32_t pipe = files.intern("pipe:[42]", FileKind::pipe);
    uint32_t known = files.intern((dir / "known").string(), FileKind::regular);
    files.get_mut(known).size = 7;

    fill_file_sizes(files);
    CHECK(files.get(data).size == 12345);
    CHECK(files.get(gone).size == 0);
    CHECK(files.get(pipe).size == 0);
    CHECK(files.get(known).size == 7);  // a size the source already knew stays

    fs::remove_all(dir);
}
