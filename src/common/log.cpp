#include "common/log.hpp"

#include <memory>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace iodiag {

void setup_logging(int verbosity) {
    // A plain (uncoloured) sink: the log often ends up in files and CI output.
    auto logger = std::make_shared<spdlog::logger>(
        "iodiag", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    logger->set_pattern("iodiag: %l: %v");
    logger->set_level(verbosity >= 2   ? spdlog::level::debug
                      : verbosity == 1 ? spdlog::level::info
                                       : spdlog::level::warn);
    spdlog::set_default_logger(std::move(logger));
}

}  // namespace iodiag
