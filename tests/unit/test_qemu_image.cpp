// Image headers written byte by byte: qcow2 v2/v3 fields, header extensions, backing chains
// (relative names, loops, network backing), other formats by magic, raw allocation, bad headers.
// Images made by the real qemu-img are in tests/integration/test_stack_kvm.cpp.
#include <fcntl.h>
#include <unistd.h>

#include <fstream>

#include <catch2/catch.hpp>

#include "stack/image_format.hpp"
#include "test_stack_fixture.hpp"

using namespace iodiag;
using namespace iodiag::stack;
using iodiag::test::TempRoot;

namespace {

using Qcow2 = iodiag::test::Qcow2Spec;
std::string qcow2(const Qcow2& spec) { return iodiag::test::qcow2_bytes(spec); }

void write(const TempRoot& root, const std::string& path, const std::string& bytes) {
    std::filesystem::create_directories((root.path / path.substr(1)).parent_path());
    std::ofstream(root.path / path.substr(1), std::ios::binary) << bytes;
}

}  // namespace

TEST_CASE("image: qcow2 v3 header fields and extensions", "[kvm][image]") {
    TempRoot dir;
    Qcow2 q;
    q.backing = "base.qcow2";
    q.backing_format = "qcow2";
    q.incompatible = 1 | 16;   // dirty, extended L2
    q.compatible = 1;          // lazy refcounts
    write(dir, "/vm/top.qcow2", qcow2(q));
    auto info = read_image_info(SysRoot(dir.str()), "/vm/top.qcow2");
    REQUIRE(info);
    CHECK(info->format == "qcow2");
    CHECK(info->version == 3u);
    CHECK(info->virtual_size == (1ull << 30));
    CHECK(info->cluster_size == 65536u);
    CHECK(info->backing_file == "base.qcow2");
    CHECK(info->backing_format == "qcow2");
    CHECK(info->dirty);
    CHECK(info->extended_l2);
    CHECK(info->lazy_refcounts);
    CHECK_FALSE(info->corrupt);
    CHECK(info->compression_type == "zlib");
    CHECK(info->file_size == 1024);
    CHECK(info->allocation == "sparse");   // 1 KiB written of a 1 GiB disk
}

TEST_CASE("image: a backing chain with relative names, ending in raw", "[kvm][image]") {
    TempRoot dir;
    Qcow2 top;
    top.backing = "../base/mid.qcow2";
    write(dir, "/vm/top.qcow2", qcow2(top));
    Qcow2 mid;
    mid.version = 2;
    mid.cluster_bits = 12;
    mid.backing = "/base/root.raw";
    write(dir, "/base/mid.qcow2", qcow2(mid));
    write(dir, "/base/root.raw", std::string(4096, 'x'));

    auto chain = read_backing_chain(SysRoot(dir.str()), "/vm/top.qcow2");
    REQUIRE(chain.size() == 3);
    CHECK(chain[1].path == "/base/mid.qcow2");
    REQUIRE(chain[1].info);
    CHECK(chain[1].info->version == 2u);
    CHECK(chain[1].info->cluster_size == 4096u);
    CHECK(chain[2].path == "/base/root.raw");
    REQUIRE(chain[2].info);
    CHECK(chain[2].info->format == "raw");
    CHECK(chain[2].info->virtual_size == 4096);
    CHECK(chain[2].info->allocation == "full");
    for (const auto& link : chain) CHECK(link.error.empty());

    CHECK(backing_path("/vm/top.qcow2", "base.qcow2") == "/vm/base.qcow2");
    CHECK(backing_path("/vm/top.qcow2", "/abs.qcow2") == "/abs.qcow2");
    CHECK(backing_path("/vm/top.qcow2", "nbd://server/export") == "nbd://server/export");
    CHECK(backing_path("/vm/top.qcow2", "json:{\"driver\":\"raw\"}") == "json:{\"driver\":\"raw\"}");
}

TEST_CASE("image: chains stop at loops, missing files and network backing", "[kvm][image]") {
    TempRoot dir;
    Qcow2 a;
    a.backing = "b.qcow2";
    Qcow2 b;
    b.backing = "a.qcow2";
    write(dir, "/a.qcow2", qcow2(a));
    write(dir, "/b.qcow2", qcow2(b));
    auto loop = read_backing_chain(SysRoot(dir.str()), "/a.qcow2");
    REQUIRE(loop.size() == 3);
    CHECK(loop[2].error == "loop: /a.qcow2 is already in the chain");

    Qcow2 missing;
    missing.backing = "gone.qcow2";
    write(dir, "/m.qcow2", qcow2(missing));
    auto gone = read_backing_chain(SysRoot(dir.str()), "/m.qcow2");
    REQUIRE(gone.size() == 2);
    CHECK_FALSE(gone[1].info);
    CHECK(gone[1].error == "image /gone.qcow2 does not exist");

    Qcow2 net;
    net.backing = "nbd://storage:10809/base";
    write(dir, "/n.qcow2", qcow2(net));
    auto remote = read_backing_chain(SysRoot(dir.str()), "/n.qcow2");
    REQUIRE(remote.size() == 1);
    CHECK(remote[0].info);
    CHECK(remote[0].error == "backing file nbd://storage:10809/base is not a local file; not followed");
}

TEST_CASE("image: other formats by their magic", "[kvm][image]") {
    TempRoot dir;
    SysRoot root(dir.str());
    auto format_of = [&](const std::string& bytes) {
        write(dir, "/img", bytes);
        auto info = read_image_info(root, "/img");
        REQUIRE(info);
        return info->format;
    };
    CHECK(format_of("KDMV" + std::string(508, '\0')) == "vmdk");
    CHECK(format_of("# Disk DescriptorFile\nversion=1\n") == "vmdk");
    CHECK(format_of("vhdxfile" + std::string(100, '\0')) == "vhdx");
    CHECK(format_of("conectix" + std::string(100, '\0')) == "vpc");
    CHECK(format_of(std::string("LUKS\xba\xbe", 6) + std::string(100, '\0')) == "luks");
    CHECK(format_of(std::string("QED\0", 4) + std::string(100, '\0')) == "qed");
    CHECK(format_of(std::string(64, 'v') + std::string("\x7f\x10\xda\xbe", 4) + std::string(60, '\0')) == "vdi");
    CHECK(format_of("WithoutFreeSpace" + std::string(100, '\0')) == "parallels");
    CHECK(format_of(std::string(512, '\0')) == "raw");
    Qcow2 v1;
    v1.version = 1;
    CHECK(format_of(qcow2(v1)) == "qcow");
}

TEST_CASE("image: sparse and allocated raw files", "[kvm][image]") {
    TempRoot dir;
    const std::string sparse = (dir.path / "sparse.raw").string();
    int fd = open(sparse.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    REQUIRE(fd >= 0);
    REQUIRE(ftruncate(fd, 64 << 20) == 0);
    close(fd);
    auto info = read_image_info(SysRoot(dir.str()), "/sparse.raw");
    REQUIRE(info);
    CHECK(info->virtual_size == (64u << 20));
    CHECK(info->allocated_bytes < (1u << 20));
    CHECK(info->allocation == "sparse");
}

TEST_CASE("image: unreadable and inconsistent headers", "[kvm][image]") {
    TempRoot dir;
    SysRoot root(dir.str());
    auto missing = read_image_info(root, "/nope.qcow2");
    REQUIRE_FALSE(missing);
    CHECK(missing.error().kind == ErrorKind::not_found);
    CHECK(missing.error().message == "image /nope.qcow2 does not exist");

    std::filesystem::create_directory(dir.path / "folder");
    CHECK(read_image_info(root, "/folder").error().message == "/folder is neither a file nor a block device");

    write(dir, "/short.qcow2", qcow2({}).substr(0, 40));
    CHECK(read_image_info(root, "/short.qcow2").error().message == "/short.qcow2: truncated qcow2 header");

    Qcow2 huge_clusters;
    huge_clusters.cluster_bits = 40;
    write(dir, "/clusters.qcow2", qcow2(huge_clusters));
    CHECK(read_image_info(root, "/clusters.qcow2").error().message == "/clusters.qcow2: qcow2 cluster_bits 40 out of range");

    Qcow2 v9;
    v9.version = 9;
    write(dir, "/v9.qcow2", qcow2(v9));
    CHECK(read_image_info(root, "/v9.qcow2").error().kind == ErrorKind::bad_input);

    // The backing name points past the end of the file.
    std::string cut = qcow2(Qcow2{3, 1 << 20, 16, "far/away.qcow2", "", 0, 0}).substr(0, 520);
    write(dir, "/cut.qcow2", cut);
    CHECK(read_image_info(root, "/cut.qcow2").error().message == "/cut.qcow2: truncated qcow2 header");
}
