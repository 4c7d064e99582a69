#include <catch2/catch.hpp>

#include "common/units.hpp"

using namespace iodiag;

TEST_CASE("fio_size writes fio's exact size syntax", "[units]") {
    CHECK(fio_size(0) == "0");
    CHECK(fio_size(512) == "512");
    CHECK(fio_size(1536) == "1536");
    CHECK(fio_size(4096) == "4k");
    CHECK(fio_size(65536) == "64k");
    CHECK(fio_size(1048576) == "1m");
    CHECK(fio_size(3ull << 30) == "3g");
    CHECK(fio_size(1ull << 40) == "1t");
    CHECK(fio_size(1ull << 50) == "1p");
    CHECK(fio_size(1ull << 60) == "1024p");  // no unit past p
    CHECK(fio_size(4096 + 1024) == "5k");
}

TEST_CASE("human_bytes is for people", "[units]") {
    CHECK(human_bytes(0) == "0B");
    CHECK(human_bytes(1023) == "1023B");
    CHECK(human_bytes(1024) == "1.0KiB");
    CHECK(human_bytes(1536) == "1.5KiB");
    CHECK(human_bytes(64ull << 20) == "64.0MiB");
    CHECK(human_bytes(5ull << 40) == "5.0TiB");
}

TEST_CASE("parse_duration_ms takes s, ms, m, min, h and bare seconds", "[units]") {
    CHECK(parse_duration_ms("10") == 10'000u);
    CHECK(parse_duration_ms("10s") == 10'000u);
    CHECK(parse_duration_ms("500ms") == 500u);
    CHECK(parse_duration_ms("2m") == 120'000u);
    CHECK(parse_duration_ms("2min") == 120'000u);
    CHECK(parse_duration_ms("1h") == 3'600'000u);
    CHECK(parse_duration_ms("0") == 0u);
    CHECK_FALSE(parse_duration_ms(""));
    CHECK_FALSE(parse_duration_ms("s"));
    CHECK_FALSE(parse_duration_ms("-1s"));
    CHECK_FALSE(parse_duration_ms("1.5s"));
    CHECK_FALSE(parse_duration_ms("10 s"));
    CHECK_FALSE(parse_duration_ms("10d"));
}

TEST_CASE("parse_duration_ns also takes us and ns, parse_duration_ms refuses parts of a millisecond", "[units]") {
    CHECK(parse_duration_ns("250us") == 250'000u);
    CHECK(parse_duration_ns("7ns") == 7u);
    CHECK(parse_duration_ns("10ms") == 10'000'000u);
    CHECK(parse_duration_ns("2") == 2'000'000'000u);
    CHECK(parse_duration_ns("1h") == 3'600'000'000'000u);
    CHECK_FALSE(parse_duration_ns("99999999999999999h"));  // would overflow
    CHECK_FALSE(parse_duration_ns("5 us"));
    CHECK_FALSE(parse_duration_ms("250us"));
    CHECK(parse_duration_ms("3000us") == 3u);
}
