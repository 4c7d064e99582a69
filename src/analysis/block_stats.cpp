#include "analysis/block_stats.hpp"

#include <algorithm>
#include <array>
#include <bit>

#include "common/histogram.hpp"

namespace iodiag::analysis {

using trace::BlockRequest;
using trace::IoDir;

namespace {

constexpr uint64_t kSectorBytes = 512;
// Requests complete out of issue order (and several streams interleave), so "consecutive" means
// adjacent to one of the last few requests (starting where it ended, or ending where it started),
// not only following the very last one.
constexpr size_t kRecent = 32;
constexpr size_t kMaxDistinctSizes = 512;  // past this, sizes round up to a power of two
constexpr size_t kMaxDistinctGaps = 32;

}  // namespace

struct BlockStats::Device {
    model::DeviceEvidence evidence;
    LogHistogram q2d_ns, d2c_ns;
    struct Extent {
        uint64_t start = 0, end = 0;  // sectors
    };
    std::array<Extent, kRecent> recent{};  // a ring
    size_t recent_next = 0, recent_filled = 0;
    bool has_last = false;
    uint64_t last_end = 0;
    std::map<uint64_t, uint64_t> gaps;  // forward gap in bytes -> times (bounded)

    void add(const BlockRequest& r) {
        model::DeviceEvidence& e = evidence;
        ++e.requests;
        if (r.is_flush) ++e.flushes;
        else if (r.dir == IoDir::read) ++e.reads;
        else if (r.dir == IoDir::write) ++e.writes;
        e.bytes += r.bytes;
        if (r.tgid) ++e.attributed;
        if (r.issue_ns) {
            if (r.in_device) ++e.in_device[r.in_device];
            if (r.insert_ns && r.issue_ns >= r.insert_ns) q2d_ns.record(r.issue_ns - r.insert_ns);
            if (r.complete_ns >= r.issue_ns) d2c_ns.record(r.complete_ns - r.issue_ns);
        }
        if (r.dir == IoDir::none || r.bytes == 0) return;  // flush, discard: no data, no pattern
        uint64_t size = r.bytes;
        if (e.sizes.size() >= kMaxDistinctSizes && !e.sizes.count(size)) size = std::bit_ceil(size);
        ++e.sizes[size];
        observe(r.sector, (r.bytes + kSectorBytes - 1) / kSectorBytes);
    }

    bool adjacent(uint64_t start, uint64_t end) const {
        for (size_t i = 0; i < recent_filled; ++i)
            if (recent[i].end == start || recent[i].start == end) return true;
        return false;
    }

    void observe(uint64_t sector, uint64_t sectors) {
        const uint64_t end = sector + sectors;
        if (has_last) {
            model::PatternEvidence& p = evidence.pattern;
            ++p.ops;
            if (adjacent(sector, end)) {
                ++p.consecutive;
                ++p.sequential;
            } else if (sector > last_end) {
                ++p.sequential;
                uint64_t gap = (sector - last_end) * kSectorBytes;
                if (gaps.size() < kMaxDistinctGaps || gaps.count(gap)) ++gaps[gap];
            } else {
                ++p.backward;
            }
        }
        has_last = true;
        last_end = end;
        recent[recent_next] = {sector, end};
        recent_next = (recent_next + 1) % kRecent;
        recent_filled = std::min(recent_filled + 1, kRecent);
    }

    model::DeviceEvidence finish() const {
        model::DeviceEvidence e = evidence;
        for (const auto& [gap, times] : gaps)
            if (times > e.pattern.strided) e.pattern.strided = times, e.pattern.stride = static_cast<int64_t>(gap);
        e.q2d_us = q2d_ns.summary(1000.0);
        e.d2c_us = d2c_ns.summary(1000.0);
        return e;
    }
};

BlockStats::BlockStats() = default;
BlockStats::~BlockStats() = default;

void BlockStats::add(const BlockRequest& request) {
    auto& device = devices_[request.dev];
    if (!device) {
        device = std::make_unique<Device>();
        device->evidence.dev = request.dev;
    }
    device->add(request);
}

std::vector<model::DeviceEvidence> BlockStats::devices(const std::function<std::string(uint32_t)>& name_of) const {
    std::vector<model::DeviceEvidence> out;
    for (const auto& [dev, device] : devices_) {
        out.push_back(device->finish());
        out.back().name = name_of ? name_of(dev) : std::to_string(dev >> 20) + ":" + std::to_string(dev & 0xfffff);
    }
    return out;
}

}  // namespace iodiag::analysis
