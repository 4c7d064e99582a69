// Bounded-memory distributions: a log-linear histogram for latencies (≤ 1/16 relative error,
// fixed size whatever the sample count) and exact percentiles over small value->count maps.
#pragma once

#include <array>
#include <cstdint>
#include <map>

namespace iodiag {

struct Summary {
    uint64_t count = 0;
    double min = 0, mean = 0, p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0;
    bool operator==(const Summary&) const = default;
};

class LogHistogram {
public:
    void record(uint64_t value, uint64_t times = 1);
    void merge(const LogHistogram& other);
    uint64_t count() const { return count_; }
    // Value at quantile q in [0, 1]: the upper edge of the bucket holding it, clamped to max.
    double quantile(double q) const;
    Summary summary(double scale = 1.0) const;  // every value divided by scale (ns -> µs: 1000)

private:
    static constexpr int kSubBits = 4;
    static constexpr int kBuckets = (64 - kSubBits + 1) << kSubBits;
    static int bucket_of(uint64_t value);
    static uint64_t bucket_upper(int bucket);

    std::array<uint64_t, kBuckets> buckets_{};
    uint64_t count_ = 0;
    uint64_t min_ = UINT64_MAX;
    uint64_t max_ = 0;
    long double sum_ = 0;
};

// Exact quantile of a value->count map (IO sizes, depths, batch sizes). 0 when empty.
uint64_t quantile_of(const std::map<uint64_t, uint64_t>& counts, double q);
uint64_t total_of(const std::map<uint64_t, uint64_t>& counts);

}  // namespace iodiag
