// Where the target's IO time goes, layer by layer, from one trace: each syscall (entry to exit),
// each async request (libaio iocb or io_uring SQE: submit to completion) and each block request
// (queued: insert -> issue, Q2D; in the device: issue -> complete, D2C), as latency distributions
// with their counts and total time. Pure and streaming: memory is per row, whatever the trace
// length; reset() starts a new interval.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "common/histogram.hpp"
#include "trace/io_event.hpp"

namespace iodiag::analysis {

enum class LatencyLayer : uint8_t { syscall, async, block_queue, block_device };

// "read", "write", "flush" or "other": what a request did.
const char* request_op(bool is_flush, trace::IoDir dir);

// Names async requests by the engine their process was seen using: "io_uring read", "libaio
// write"; "async ..." when the process used both or neither (in what was traced).
// A block device's name by its kernel dev_t, asked of `name_of` once per device (it reads /sys).
class DeviceNames {
public:
    explicit DeviceNames(std::function<std::string(uint32_t)> name_of) : name_of_(std::move(name_of)) {}
    const std::string& operator()(uint32_t dev);

private:
    std::function<std::string(uint32_t)> name_of_;
    std::map<uint32_t, std::string> names_;
};

class AsyncEngines {
public:
    void observe(const trace::IoEvent& event);
    std::string name(const trace::AsyncRequest& request) const;

private:
    std::set<int32_t> uring_processes_;  // processes seen setting up or entering io_uring rings
    std::set<int32_t> aio_processes_;    // processes seen using libaio
};

std::string_view layer_name(LatencyLayer layer);  // "syscall", "async", "block queue (Q2D)", ...

struct LatencyRow {
    LatencyLayer layer = LatencyLayer::syscall;
    std::string name;                  // "pread64", "io_uring read", "vda write"
    uint64_t errors = 0;               // syscalls that failed, requests with a negative result
    uint64_t total_ns = 0;             // summed latency: where the time went
    Summary us;                        // latency percentiles in microseconds
    std::array<uint64_t, 40> log2_us{};  // [k]: latencies in [2^(k-1), 2^k) µs; [0]: under 1 µs
};

class LatencyStats final : public trace::EventSink {
public:
    // `device_name` names a block device by its kernel dev_t (e.g. trace::block_device_name).
    explicit LatencyStats(std::function<std::string(uint32_t)> device_name);

    void on_event(const trace::IoEvent& event) override;
    void on_async(const trace::AsyncRequest& request) override;
    void on_block(const trace::BlockRequest& request) override;

    // The rows seen since the start or the last reset(): syscalls, then async requests, then
    // block queue and device times; within a layer the most total time first.
    std::vector<LatencyRow> rows() const;
    void reset();  // forgets the latencies, keeps what it learnt about engines and devices

private:
    struct Accumulator {
        LogHistogram ns;
        uint64_t errors = 0;
        long double total_ns = 0;
        std::array<uint64_t, 40> log2_us{};
        void add(uint64_t latency_ns, bool failed);
    };
    using Key = std::tuple<LatencyLayer, std::string>;

    Accumulator& row(LatencyLayer layer, const std::string& name);

    DeviceNames devices_;
    AsyncEngines engines_;
    std::map<Key, Accumulator> rows_;
};

}  // namespace iodiag::analysis
