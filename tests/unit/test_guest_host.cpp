#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <string>

#include "analysis/guest_host.hpp"
#include "usecase/kvm_compare.hpp"

using namespace iodiag;
using namespace iodiag::analysis;

namespace {

const std::string kData = std::string(IODIAG_TEST_DATA) + "/kvm_compare/";

// n latencies drawn from base + an exponential tail (1 us bins), shifted by `shift` us.
LatencyBins sample_bins(uint64_t n, double shift, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::exponential_distribution<double> tail(1.0 / 50.0);
    std::map<double, uint64_t> counts;
    for (uint64_t i = 0; i < n; ++i) counts[std::floor(200.0 + tail(rng)) + shift]++;
    return LatencyBins(counts.begin(), counts.end());
}

LatencySide side_from(const LatencyBins& bins, double iops) {
    LatencySide side;
    side.source = "synthetic";
    side.iops = iops;
    side.bins = bins;
    side.latency_known = true;
    side.clat_us = bins_stats(bins);
    for (const auto& [value, count] : bins) side.ios += count;
    side.job = normalize_job_options({{"rw", "write"}, {"bs", "4k"}, {"direct", "1"}, {"iodepth", "1"}});
    return side;
}

LatencySide side_with(double mean, double p50, double iops) {
    LatencySide side;
    side.source = "fixture";
    side.iops = iops;
    side.ios = 1000;
    side.latency_known = true;
    side.clat_us = {mean, p50, p50 * 2, p50 * 4, p50 * 8};
    return side;
}

}  // namespace

TEST_CASE("guest_host: percentiles and mean of fio's bins, fio's way", "[guest_host]") {
    LatencyBins bins = {{100, 50}, {200, 40}, {300, 9}, {400, 1}};
    auto s = bins_stats(bins);
    CHECK(s[0] == Approx(161.0));
    CHECK(s[1] == 100);
    CHECK(s[2] == 200);
    CHECK(s[3] == 300);
    CHECK(s[4] == 400);
    CHECK(bins_stats({})[1] == 0);
}

TEST_CASE("guest_host: the cost per percentile is lat_vm - lat_host and the verdict gives the share", "[guest_host]") {
    LatencySide guest = side_with(360, 290, 3000);
    LatencySide host = side_with(160, 110, 8000);
    auto c = compare_guest_host(guest, host);
    REQUIRE(c.stats.size() == kStatCount);
    CHECK(c.stats[0].name == "mean");
    CHECK(c.stats[0].cost_us == Approx(200));
    CHECK(c.stats[1].name == "p50");
    CHECK(c.stats[1].cost_us == Approx(180));
    CHECK(c.stats[2].cost_us == Approx(360));
    CHECK(c.stats[4].name == "p99.9");
    CHECK(c.stats[4].cost_us == Approx(8 * 180));
    REQUIRE(c.share_p50);
    CHECK(*c.share_p50 == Approx(180.0 / 290.0));
    REQUIRE(c.share_mean);
    CHECK(*c.share_mean == Approx(200.0 / 360.0));
    CHECK_THAT(c.verdict, Catch::Contains("the virtualisation layer adds 62% of the guest's median latency (180 us of 290 us)"));
    CHECK_THAT(c.verdict, Catch::Contains("56% of its mean latency (200 us of 360 us)"));
    REQUIRE(c.iops_ratio);
    CHECK(*c.iops_ratio == Approx(3000.0 / 8000.0));
    CHECK_THAT(c.verdict, Catch::Contains("38% of the host's IOPS"));
    // No bins: the uncertainty is unknown, and says what to do.
    CHECK_FALSE(c.uncertainty_known);
    CHECK_FALSE(c.stats[1].interval);
    CHECK_THAT(c.uncertainty, Catch::Contains("unknown") && Catch::Contains("json+") && Catch::Contains("repeat"));
    CHECK(c.cost_name == "virtualisation cost per IO");
}

TEST_CASE("guest_host: a synchronous write at depth 1 is the note's world switch cost", "[guest_host]") {
    LatencySide guest = side_with(300, 250, 3000);
    LatencySide host = side_with(200, 150, 5000);
    guest.probe = "syncwrite";
    auto c = compare_guest_host(guest, host);
    CHECK(c.world_switch);
    CHECK(c.cost_name == "world switch cost");
    CHECK_THAT(c.verdict, Catch::Contains("world switch (lat_vm - lat_host) adds 40% of the guest's median latency"));

    LatencySide fio_guest = side_with(300, 250, 3000);
    fio_guest.job = normalize_job_options({{"rw", "write"}, {"sync", "1"}, {"direct", "1"}});
    CHECK(compare_guest_host(fio_guest, host).world_switch);
    fio_guest.job = normalize_job_options({{"rw", "write"}, {"direct", "1"}});
    CHECK_FALSE(compare_guest_host(fio_guest, host).world_switch);
}

TEST_CASE("guest_host: a guest faster than its host is called not comparable", "[guest_host]") {
    auto c = compare_guest_host(side_with(100, 80, 9000), side_with(200, 150, 5000));
    CHECK(c.stats[1].cost_us == Approx(-70));
    CHECK_THAT(c.verdict, Catch::Contains("not comparable"));
    CHECK_THAT(c.verdict, Catch::Contains("180% of the host's IOPS"));
}

TEST_CASE("guest_host: the IOPS ratio is unknown when the host did no IO", "[guest_host]") {
    auto c = compare_guest_host(side_with(100, 80, 900), side_with(0, 0, 0));
    CHECK_FALSE(c.iops_ratio);
}

TEST_CASE("guest_host: the bootstrap interval brackets the true difference", "[guest_host]") {
    // Guest = host + 100 us for every IO, so every statistic's true difference is 100 us.
    CompareSettings settings;
    settings.resamples = 300;
    int bracketed_p50 = 0, bracketed_mean = 0;
    const int trials = 20;
    for (int t = 0; t < trials; ++t) {
        auto guest = sample_bins(4000, 100, 1000 + static_cast<uint64_t>(t));
        auto host = sample_bins(4000, 0, 5000 + static_cast<uint64_t>(t));
        settings.seed = 77 + static_cast<uint64_t>(t);
        auto intervals = bootstrap_differences(guest, host, settings);
        REQUIRE(intervals.size() == kStatCount);
        bracketed_mean += intervals[0].low <= 100 && 100 <= intervals[0].high;
        bracketed_p50 += intervals[1].low <= 100 && 100 <= intervals[1].high;
        for (const auto& in : intervals) CHECK(in.low <= in.high);
    }
    // A 90% interval: about 18 of 20.
    CHECK(bracketed_mean >= 15);
    CHECK(bracketed_p50 >= 15);
}

TEST_CASE("guest_host: the bootstrap interval is narrow for many IOs and wide for few", "[guest_host]") {
    auto width = [](uint64_t n) {
        auto intervals = bootstrap_differences(sample_bins(n, 100, 11), sample_bins(n, 0, 12));
        REQUIRE(intervals.size() == kStatCount);
        return std::pair{intervals[1].high - intervals[1].low, intervals[0].high - intervals[0].low};
    };
    auto [large_p50, large_mean] = width(100000);
    auto [small_p50, small_mean] = width(100);
    CHECK(large_p50 < 3.0);
    CHECK(large_mean < 2.0);
    CHECK(small_p50 > 4 * large_p50);
    CHECK(small_mean > 4 * large_mean);
    // The same inputs give the same interval (a fixed seed).
    auto again = bootstrap_differences(sample_bins(100, 100, 11), sample_bins(100, 0, 12));
    auto first = bootstrap_differences(sample_bins(100, 100, 11), sample_bins(100, 0, 12));
    CHECK(again[1].low == first[1].low);
    CHECK(again[1].high == first[1].high);
}

TEST_CASE("guest_host: with bins on both sides the comparison carries the intervals", "[guest_host]") {
    auto c = compare_guest_host(side_from(sample_bins(5000, 100, 3), 3000), side_from(sample_bins(5000, 0, 4), 6000));
    REQUIRE(c.uncertainty_known);
    CHECK(c.resamples == 1000);
    for (const auto& d : c.stats) {
        REQUIRE(d.interval);
        CHECK(d.interval->low <= d.cost_us + 1e-9);
        CHECK(d.cost_us <= d.interval->high + 1e-9);
    }
    CHECK_THAT(c.uncertainty, Catch::Contains("bootstrap"));
    CHECK(bootstrap_differences({}, sample_bins(10, 0, 1)).empty());
}

TEST_CASE("guest_host: fio's spellings of the same job compare equal", "[guest_host]") {
    auto a = normalize_job_options({{"rw", "write"}, {"bs", "4k"}, {"sync", "sync"}, {"direct", "1"}});
    auto b = normalize_job_options({{"readwrite", "write"}, {"bs", "4096"}, {"sync", "1"}, {"direct", "true"},
                                    {"iodepth", "1"}, {"ioengine", "psync"}});
    CHECK(job_mismatches(a, b).empty());
    CHECK(a.at("bs") == "4096");
    CHECK(normalize_job_options({{"buffered", "0"}}).at("direct") == "1");
}

TEST_CASE("guest_host: different jobs are refused with the options' names", "[guest_host]") {
    auto guest = normalize_job_options({{"rw", "write"}, {"bs", "4k"}, {"sync", "1"}, {"iodepth", "1"},
                                        {"ioengine", "psync"}, {"direct", "1"}});
    auto host = normalize_job_options({{"rw", "randwrite"}, {"bs", "8k"}, {"sync", "0"}, {"iodepth", "4"},
                                       {"ioengine", "libaio"}, {"direct", "0"}});
    auto mismatches = job_mismatches(guest, host);
    std::vector<std::string> names;
    for (const auto& m : mismatches) names.push_back(m.option);
    CHECK(names == std::vector<std::string>{"rw", "bs", "direct", "sync", "iodepth", "ioengine"});
    CHECK_THAT(describe_mismatches(mismatches), Catch::Contains("bs (guest 4096, host 8192)") &&
                                                     Catch::Contains("sync (guest 1, host 0)") &&
                                                     Catch::Contains("ioengine (guest psync, host libaio)"));
}

TEST_CASE("guest_host: kvm compare on real fio json+ runs", "[guest_host]") {
    usecase::KvmCompareRequest request{kData + "guest-syncwrite.json", kData + "host-syncwrite.json"};
    auto k = usecase::compare_guest_host(request);
    REQUIRE(k);
    CHECK(k->guest.job.at("sync") == "1");
    CHECK(k->guest.job.at("bs") == "4096");
    CHECK_FALSE(k->guest.bins.empty());
    CHECK(k->comparison.world_switch);
    REQUIRE(k->comparison.uncertainty_known);
    REQUIRE(k->comparison.stats.size() == kStatCount);
    for (const auto& d : k->comparison.stats) CHECK(d.cost_us == Approx(d.guest_us - d.host_us));
    auto j = usecase::to_json(*k);
    CHECK(j["differences"].size() == kStatCount);
    CHECK(j["differences"][1]["stat"] == "p50");
    CHECK(j["differences"][1]["interval_us"].size() == 2);
    CHECK(j["uncertainty"]["known"] == true);
    CHECK(j["verdict"].get<std::string>().find("median latency") != std::string::npos);
    CHECK(j["iops_ratio"].is_number());
}

TEST_CASE("guest_host: kvm compare refuses a different job, a truncated file and a missing one", "[guest_host]") {
    auto different = usecase::compare_guest_host({kData + "guest-syncwrite.json", kData + "host-write-8k.json"});
    REQUIRE_FALSE(different);
    CHECK(different.error().kind == ErrorKind::bad_input);
    CHECK_THAT(different.error().message, Catch::Contains("not the same job") && Catch::Contains("bs (guest 4096, host 8192)") &&
                                              Catch::Contains("sync (guest 1, host 0)"));

    auto truncated = usecase::compare_guest_host({kData + "truncated.json", kData + "host-syncwrite.json"});
    REQUIRE_FALSE(truncated);
    CHECK(truncated.error().kind == ErrorKind::bad_input);
    CHECK_THAT(truncated.error().message, Catch::Contains("truncated.json"));

    auto missing = usecase::compare_guest_host({kData + "guest-syncwrite.json", kData + "no-such.json"});
    REQUIRE_FALSE(missing);
    CHECK(missing.error().kind == ErrorKind::not_found);
    CHECK_THAT(missing.error().message, Catch::Contains("no-such.json"));

    // Foreign JSON: an object that is neither format.
    auto foreign = usecase::load_latency_side(kData + "../kvm_compare/foreign.json");
    REQUIRE_FALSE(foreign);
    CHECK(foreign.error().kind == ErrorKind::bad_input);
}
