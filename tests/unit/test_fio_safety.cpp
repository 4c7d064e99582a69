#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "fio/safety.hpp"
#include "support/support.hpp"

using namespace iodiag;
using namespace iodiag::fio;
namespace fs = std::filesystem;
using iodiag::testing::ScratchDir;

namespace {

}  // namespace

TEST_CASE("a directory target gets a new marked scratch directory inside it", "[fio][safety]") {
    ScratchDir dir;
    auto target = resolve_target({dir.path().string(), false});
    REQUIRE(target);
    CHECK(target->kind == TargetKind::scratch_dir);
    CHECK(target->created);
    CHECK(fs::path(target->path).parent_path() == dir.path());
    CHECK(fs::path(target->path).filename().string().rfind("iodiag-scratch-", 0) == 0);
    CHECK(is_scratch_dir(target->path));
    CHECK(target->free_bytes > 0);

    SECTION("a scratch directory given again is used as it is") {
        auto again = resolve_target({target->path, false});
        REQUIRE(again);
        CHECK(again->path == target->path);
        CHECK_FALSE(again->created);
    }
    SECTION("a file in it is iodiag's") {
        std::ofstream(fs::path(target->path) / "data.0.0") << "x";
        auto file = resolve_target({(fs::path(target->path) / "data.0.0").string(), false});
        REQUIRE(file);
        CHECK(file->kind == TargetKind::file);
        CHECK(file->iodiag_file);
    }
    SECTION("remove_scratch_data keeps the marker and what is asked") {
        std::ofstream(fs::path(target->path) / "data.0.0") << "x";
        std::ofstream(fs::path(target->path) / "fio-output.json") << "{}";
        remove_scratch_data(*target, {"fio-output.json"});
        CHECK_FALSE(fs::exists(fs::path(target->path) / "data.0.0"));
        CHECK(fs::exists(fs::path(target->path) / "fio-output.json"));
        CHECK(is_scratch_dir(target->path));
    }
}

TEST_CASE("a path that does not exist becomes the scratch directory", "[fio][safety]") {
    ScratchDir dir;
    auto target = resolve_target({(dir.path() / "new").string(), false});
    REQUIRE(target);
    CHECK(target->path == (dir.path() / "new").string());
    CHECK(target->created);
    CHECK(is_scratch_dir(target->path));

    auto orphan = resolve_target({(dir.path() / "no" / "parent").string(), false});
    REQUIRE_FALSE(orphan);
    CHECK(orphan.error().kind == ErrorKind::not_found);
}

TEST_CASE("an existing file iodiag did not create is refused unless destructive", "[fio][safety]") {
    ScratchDir dir;
    const fs::path file = dir.path() / "precious.db";
    std::ofstream(file) << "data";
    auto refused = resolve_target({file.string(), false});
    REQUIRE_FALSE(refused);
    CHECK(refused.error().kind == ErrorKind::permission);
    CHECK(refused.error().message.find("iodiag did not create") != std::string::npos);
    CHECK(refused.error().hint.find("--allow-destructive") != std::string::npos);

    auto allowed = resolve_target({file.string(), true});
    REQUIRE(allowed);
    CHECK(allowed->kind == TargetKind::file);
    CHECK_FALSE(allowed->iodiag_file);
    CHECK(allowed->size_bytes == 4);
}

TEST_CASE("a symlink in a scratch directory is judged by where it points", "[fio][safety]") {
    ScratchDir dir;
    auto scratch = resolve_target({dir.path().string(), false});
    REQUIRE(scratch);
    const fs::path outside = dir.path() / "outside.db";
    std::ofstream(outside) << "data";
    const fs::path link = fs::path(scratch->path) / "link";
    fs::create_symlink(outside, link);
    auto refused = resolve_target({link.string(), false});
    REQUIRE_FALSE(refused);
    CHECK(refused.error().kind == ErrorKind::permission);
}

TEST_CASE("character devices are never a target, block devices need --allow-destructive", "[fio][safety]") {
    auto null = resolve_target({"/dev/null", true});
    REQUIRE_FALSE(null);
    CHECK(null.error().kind == ErrorKind::unsupported);
    for (const char* dev : {"/dev/loop0", "/dev/vda", "/dev/sda", "/dev/nvme0n1"}) {
        std::error_code ec;
        if (!fs::is_block_file(dev, ec)) continue;
        auto refused = resolve_target({dev, false});
        REQUIRE_FALSE(refused);
        CHECK(refused.error().kind == ErrorKind::permission);
        CHECK(refused.error().message.find("block device") != std::string::npos);
        break;
    }
}

TEST_CASE("paths fio would misread are refused", "[fio][safety]") {
    CHECK(check_fio_path("/var/tmp/a"));
    CHECK_FALSE(check_fio_path("/var/tmp/a:b"));
    CHECK_FALSE(check_fio_path("/var/tmp/a b"));
    CHECK_FALSE(check_fio_path("/var/tmp/a;b"));
}

TEST_CASE("placement is capped by --max-size, free space and device size", "[fio][safety]") {
    Target t;
    t.path = "/scratch";
    t.free_bytes = 10ull << 30;
    Placement p = placement_for(t, 2ull << 30);
    CHECK_FALSE(p.single_file);
    CHECK(p.capacity == 2ull << 30);
    CHECK(p.capacity_why == "--max-size 2g");

    t.free_bytes = 1ull << 30;
    p = placement_for(t, 2ull << 30);
    CHECK(p.capacity == (1ull << 30) / 10 * 9);
    CHECK(p.capacity_why.find("free space") != std::string::npos);

    t.kind = TargetKind::block_device;
    t.path = "/dev/vdb";
    t.size_bytes = 512ull << 20;
    p = placement_for(t, 2ull << 30);
    CHECK(p.single_file);
    CHECK(p.capacity == 512ull << 20);
}

TEST_CASE("ScratchGuard removes a scratch directory a failed run created", "[fio][safety]") {
    ScratchDir dir;
    auto target = resolve_target({(dir.path() / "s").string(), false});
    REQUIRE(target);
    { ScratchGuard guard(*target); }
    CHECK_FALSE(fs::exists(target->path));

    target = resolve_target({(dir.path() / "t").string(), false});
    REQUIRE(target);
    {
        ScratchGuard guard(*target);
        guard.done();
    }
    CHECK(fs::exists(target->path));
}
