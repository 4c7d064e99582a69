// Block-layer requests -> what each device saw (model::DeviceEvidence): request counts and sizes,
// the sector pattern, requests in the device at each issue, and queue (insert -> issue) and device
// (issue -> complete) latency. Pure and streaming: per device a few counters, bounded histograms
// and a small window of recent request ends, whatever the trace length.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "model/workload_model.hpp"
#include "trace/io_event.hpp"

namespace iodiag::analysis {

class BlockStats final : public trace::EventSink {
public:
    BlockStats();
    ~BlockStats() override;
    BlockStats(const BlockStats&) = delete;
    BlockStats& operator=(const BlockStats&) = delete;

    void on_event(const trace::IoEvent&) override {}
    void on_block(const trace::BlockRequest& request) override { add(request); }
    void add(const trace::BlockRequest& request);

    // One entry per device seen, by dev; `name_of` names a device (e.g. trace::block_device_name).
    std::vector<model::DeviceEvidence> devices(const std::function<std::string(uint32_t)>& name_of) const;

private:
    struct Device;
    std::map<uint32_t, std::unique_ptr<Device>> devices_;
};

}  // namespace iodiag::analysis
