// The kvm tracepoints' capture through a private tracefs instance: created with the threads'
// filter and the events on, removed on stop, and an instance left by a killed iodiag removed at
// the next start. (No guest here runs under KVM, so no event fires: the counting is tested on
// recorded lines in tests/unit/test_kvm_exits.cpp.)
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "trace/kvm_events.hpp"

using namespace iodiag;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace

TEST_CASE("kvm events: the tracefs instance lives exactly as long as the capture", "[kvm_events]") {
    if (::geteuid() != 0) {
        WARN("skipped: tracefs instances need root");
        return;
    }
    auto root = trace::kvm_events_root();
    if (!root) {
        WARN("skipped: " + root.error().message);
        return;
    }
    const fs::path instances = fs::path(*root) / "instances";
    const fs::path stale = instances / "iodiag-kvm-1-999999999";  // its owner pid does not exist
    ::mkdir(stale.c_str(), 0700);
    REQUIRE(fs::exists(stale));

    const int32_t self = ::getpid();
    uint64_t lines = 0;
    auto capture = trace::KvmEventCapture::start({self}, [&lines](std::string_view) { ++lines; });
    REQUIRE(capture);
    CHECK_FALSE(fs::exists(stale));
    const fs::path instance = instances / ("iodiag-kvm-" + std::to_string(self) + "-" + std::to_string(self));
    REQUIRE(fs::exists(instance));
    CHECK(slurp(instance / "events/kvm/kvm_exit/enable").starts_with("1"));
    CHECK(slurp(instance / "events/kvm/kvm_msi_set_irq/enable").starts_with("1"));
    CHECK(slurp(instance / "set_event_pid").find(std::to_string(self)) != std::string::npos);
    // The global trace is untouched: the capture works in its own instance.
    CHECK(slurp(fs::path(*root) / "events/kvm/kvm_exit/enable").starts_with("0"));

    (*capture)->stop();
    CHECK_FALSE(fs::exists(instance));
    CHECK(lines == 0);  // this process runs no guest
    (*capture)->stop();  // idempotent
}
