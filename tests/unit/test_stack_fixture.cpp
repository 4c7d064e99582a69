// The fixture tree builder, and tests that it builds what the description says.
#include "test_stack_fixture.hpp"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <catch2/catch.hpp>

namespace fs = std::filesystem;

namespace iodiag::test {
namespace {

std::string trim(const std::string& text) {
    size_t start = text.find_first_not_of(" \t");
    if (start == std::string::npos) return {};
    size_t end = text.find_last_not_of(" \t\r");
    return text.substr(start, end - start + 1);
}

fs::path inside(const fs::path& root, const std::string& cwd, const std::string& path) {
    std::string full = path.front() == '/' ? path : cwd + "/" + path;
    while (!full.empty() && full.front() == '/') full.erase(0, 1);
    return root / full;
}

void write(const fs::path& path, const std::string& text) {
    fs::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary);
    out << text;
    if (!out) throw std::runtime_error("cannot write " + path.string());
}

}  // namespace

void build_tree(const fs::path& root, const std::string& description) {
    std::istringstream in(description);
    std::string line;
    std::string cwd = "/";
    int number = 0;
    auto bad = [&](const std::string& why) {
        throw std::runtime_error("fixture line " + std::to_string(number) + ": " + why + ": " + line);
    };
    while (std::getline(in, line)) {
        ++number;
        std::string text = trim(line);
        if (text.empty() || text.front() == '#') continue;
        if (text.rfind("cd ", 0) == 0) {
            cwd = trim(text.substr(3));
            if (cwd.empty() || cwd.front() != '/') bad("cd needs an absolute path");
            continue;
        }
        if (auto here = text.find(" <<"); here != std::string::npos) {
            const std::string end_marker = trim(text.substr(here + 3));
            std::string body;
            std::string body_line;
            bool closed = false;
            while (std::getline(in, body_line)) {
                ++number;
                if (body_line == end_marker) {
                    closed = true;
                    break;
                }
                body += body_line + "\n";
            }
            if (!closed) bad("no closing " + end_marker);
            write(inside(root, cwd, trim(text.substr(0, here))), body);
            continue;
        }
        if (auto arrow = text.find(" -> "); arrow != std::string::npos) {
            fs::path link = inside(root, cwd, trim(text.substr(0, arrow)));
            fs::create_directories(link.parent_path());
            fs::create_symlink(trim(text.substr(arrow + 4)), link);
            continue;
        }
        if (auto raw = text.find(" := "); raw != std::string::npos) {
            std::string value = text.substr(raw + 4), bytes;
            for (size_t i = 0; i < value.size(); ++i) {
                if (value[i] != '\\' || i + 1 == value.size()) {
                    bytes += value[i];
                    continue;
                }
                char c = value[++i];
                bytes += c == '0' ? '\0' : c == 'n' ? '\n' : c;
            }
            write(inside(root, cwd, trim(text.substr(0, raw))), bytes);
            continue;
        }
        if (auto eq = text.find(" = "); eq != std::string::npos) {
            write(inside(root, cwd, trim(text.substr(0, eq))), text.substr(eq + 3) + "\n");
            continue;
        }
        if (text.back() == '/') {
            fs::create_directories(inside(root, cwd, text));
            continue;
        }
        bad("expected 'path = value', 'path -> target', 'path/' or 'path <<END'");
    }
}

namespace {

void put32(std::string& out, size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) out[at + i] = static_cast<char>(v >> (24 - 8 * i));
}
void put64(std::string& out, size_t at, uint64_t v) {
    put32(out, at, static_cast<uint32_t>(v >> 32));
    put32(out, at + 4, static_cast<uint32_t>(v));
}

}  // namespace

std::string qcow2_bytes(const Qcow2Spec& q) {
    std::string out(1024, '\0');
    put32(out, 0, 0x514649fb);
    put32(out, 4, q.version);
    if (!q.backing.empty()) {
        put64(out, 8, 512);
        put32(out, 16, static_cast<uint32_t>(q.backing.size()));
        out.replace(512, q.backing.size(), q.backing);
    }
    put32(out, 20, q.cluster_bits);
    put64(out, 24, q.size);
    size_t ext = 72;
    if (q.version == 3) {
        put64(out, 72, q.incompatible);
        put64(out, 80, q.compatible);
        put32(out, 96, 4);     // refcount_order
        put32(out, 100, 112);  // header_length
        ext = 112;
    }
    if (!q.backing_format.empty()) {
        put32(out, ext, 0xe2792aca);
        put32(out, ext + 4, static_cast<uint32_t>(q.backing_format.size()));
        out.replace(ext + 8, q.backing_format.size(), q.backing_format);
        ext += 8 + ((q.backing_format.size() + 7) & ~size_t(7));
    }
    put32(out, ext, 0);   // end of extensions
    return out;
}

void check_golden_json(const std::string& path, const nlohmann::ordered_json& actual) {
    if (std::getenv("IODIAG_UPDATE_GOLDEN")) std::ofstream(path) << actual.dump(2) << '\n';
    auto expected = nlohmann::ordered_json::parse(read_text(path));
    INFO("expected " << path << "\nactual:\n" << actual.dump(2));
    CHECK(actual == expected);
}

FixtureTree::FixtureTree(const std::string& name) {
    build_tree(path, read_text(fs::path(IODIAG_TEST_DATA) / "stack" / (name + ".tree")));
}

}  // namespace iodiag::test

using iodiag::test::build_tree;
using iodiag::test::read_text;
using iodiag::test::TempRoot;

TEST_CASE("fixture trees: files, links, folders, here-documents and cd", "[stack][fixture]") {
    TempRoot root;
    build_tree(root.path, R"(
# a comment
cd /sys/devices/virtual/block/loop0
dev = 7:0
loop/backing_file = /var/tmp/a b.img
holders/
/sys/block/loop0 -> ../devices/virtual/block/loop0
/proc/self/mountinfo <<EOF
line one
  line two
EOF
/proc/1/cmdline := qemu\0-name\0a\\b\0
)");
    CHECK(read_text(root.path / "sys/devices/virtual/block/loop0/dev") == "7:0\n");
    CHECK(read_text(root.path / "sys/devices/virtual/block/loop0/loop/backing_file") == "/var/tmp/a b.img\n");
    CHECK(fs::is_directory(root.path / "sys/devices/virtual/block/loop0/holders"));
    CHECK(fs::read_symlink(root.path / "sys/block/loop0") == "../devices/virtual/block/loop0");
    CHECK(fs::equivalent(root.path / "sys/block/loop0/dev", root.path / "sys/devices/virtual/block/loop0/dev"));
    CHECK(read_text(root.path / "proc/self/mountinfo") == "line one\n  line two\n");
    CHECK(read_text(root.path / "proc/1/cmdline") == std::string("qemu\0-name\0a\\b\0", 15));
}

TEST_CASE("fixture trees: a bad line names itself", "[stack][fixture]") {
    TempRoot root;
    CHECK_THROWS_WITH(build_tree(root.path, "ok = 1\nthis is not a rule\n"),
                      Catch::Contains("fixture line 2") && Catch::Contains("this is not a rule"));
    CHECK_THROWS_WITH(build_tree(root.path, "f <<EOF\nno end\n"), Catch::Contains("no closing EOF"));
}
