#include "support.hpp"

#include <fstream>
#include <random>
#include <sstream>
#include <system_error>

#include "common/subprocess.hpp"

namespace fs = std::filesystem;

namespace iodiag::testing {

ScratchDir::ScratchDir() {
    std::random_device rd;
    path_ = fs::path("/var/tmp") / ("iodiag-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    fs::create_directories(path_);
}

ScratchDir::~ScratchDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
}

std::string read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string missing_tools(const std::vector<std::string>& tools) {
    std::string missing;
    for (const auto& tool : tools)
        if (!find_in_path(tool)) missing += (missing.empty() ? "" : ", ") + tool;
    return missing;
}

}  // namespace iodiag::testing
