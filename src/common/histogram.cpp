#include "common/histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace iodiag {

int LogHistogram::bucket_of(uint64_t value) {
    if (value < (1u << kSubBits)) return static_cast<int>(value);
    int exponent = 63 - std::countl_zero(value);             // >= kSubBits
    int shift = exponent - kSubBits;
    uint64_t sub = (value >> shift) & ((1u << kSubBits) - 1);
    return ((shift + 1) << kSubBits) + static_cast<int>(sub);
}

uint64_t LogHistogram::bucket_upper(int bucket) {
    if (bucket < (1 << kSubBits)) return static_cast<uint64_t>(bucket);
    int shift = (bucket >> kSubBits) - 1;
    uint64_t sub = static_cast<uint64_t>(bucket & ((1 << kSubBits) - 1));
    uint64_t low = ((uint64_t{1} << kSubBits) | sub) << shift;
    return low + ((uint64_t{1} << shift) - 1);
}

void LogHistogram::record(uint64_t value, uint64_t times) {
    if (times == 0) return;
    buckets_[static_cast<size_t>(bucket_of(value))] += times;
    count_ += times;
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
    sum_ += static_cast<long double>(value) * times;
}

void LogHistogram::merge(const LogHistogram& other) {
    if (other.count_ == 0) return;
    for (size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += other.buckets_[i];
    count_ += other.count_;
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
    sum_ += other.sum_;
}

double LogHistogram::quantile(double q) const {
    if (count_ == 0) return 0;
    auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
    rank = std::clamp<uint64_t>(rank, 1, count_);
    uint64_t seen = 0;
    for (size_t i = 0; i < buckets_.size(); ++i) {
        seen += buckets_[i];
        if (seen >= rank)
            return static_cast<double>(std::clamp(bucket_upper(static_cast<int>(i)), min_, max_));
    }
    return static_cast<double>(max_);
}

Summary LogHistogram::summary(double scale) const {
    Summary s;
    s.count = count_;
    if (count_ == 0) return s;
    s.min = static_cast<double>(min_) / scale;
    s.max = static_cast<double>(max_) / scale;
    s.mean = static_cast<double>(sum_ / count_) / scale;
    s.p50 = quantile(0.50) / scale;
    s.p90 = quantile(0.90) / scale;
    s.p99 = quantile(0.99) / scale;
    s.p999 = quantile(0.999) / scale;
    return s;
}

uint64_t total_of(const std::map<uint64_t, uint64_t>& counts) {
    uint64_t total = 0;
    for (const auto& [value, count] : counts) total += count;
    return total;
}

uint64_t quantile_of(const std::map<uint64_t, uint64_t>& counts, double q) {
    uint64_t total = total_of(counts);
    if (total == 0) return 0;
    auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(total)));
    rank = std::clamp<uint64_t>(rank, 1, total);
    uint64_t seen = 0;
    for (const auto& [value, count] : counts) {
        seen += count;
        if (seen >= rank) return value;
    }
    return counts.rbegin()->first;
}

}  // namespace iodiag
