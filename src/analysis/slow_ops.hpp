// The slow operations of a trace, one by one (as bcc's *slower tools list them): every syscall,
// async request or block request whose latency reaches a threshold, with who did it, on which
// file or disk, where and how much. Pure: the sink calls back for each slow one as it arrives and
// counts what it saw per layer.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "analysis/latency.hpp"
#include "trace/io_event.hpp"

namespace iodiag::analysis {

struct SlowOp {
    uint64_t start_ns = 0;      // entry, submit, or block insert (issue when not queued)
    int32_t tgid = 0;           // 0: not known (block requests the target did not issue itself)
    int32_t tid = 0;
    LatencyLayer layer = LatencyLayer::syscall;  // syscall, async, or block_device (whole request)
    std::string op;             // "fdatasync", "libaio write", "vda write"
    std::string file;           // the file's path; the disk for block requests
    bool has_offset = false;
    uint64_t offset = 0;        // bytes into the file; block: bytes into the disk (sector * 512)
    uint64_t bytes = 0;
    uint64_t latency_ns = 0;
    uint64_t queue_ns = 0;      // block: insert -> issue, part of latency_ns
    int64_t result = 0;         // syscall return / request result; block: error
};

struct SlowCounts {
    uint64_t seen = 0;          // operations with a latency
    uint64_t slow = 0;          // of those, at or over the threshold
};

class SlowOps final : public trace::EventSink {
public:
    SlowOps(uint64_t min_latency_ns, const trace::FileTable& files,
            std::function<std::string(uint32_t)> device_name, std::function<void(const SlowOp&)> on_slow);

    void on_event(const trace::IoEvent& event) override;
    void on_async(const trace::AsyncRequest& request) override;
    void on_block(const trace::BlockRequest& request) override;

    const std::map<LatencyLayer, SlowCounts>& counts() const { return counts_; }

private:
    bool counts_as_slow(LatencyLayer layer, uint64_t latency_ns);
    std::string path(uint32_t file_id) const;

    uint64_t min_latency_ns_;
    const trace::FileTable& files_;
    DeviceNames devices_;
    std::function<void(const SlowOp&)> on_slow_;
    AsyncEngines engines_;
    std::map<LatencyLayer, SlowCounts> counts_;
};

}  // namespace iodiag::analysis
