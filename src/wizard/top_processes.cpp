#include "wizard/top_processes.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include <fmt/format.h>

namespace iodiag::wizard {
namespace {

namespace fs = std::filesystem;

struct IoCounters {
    uint64_t rchar = 0, wchar = 0, read_bytes = 0, write_bytes = 0;
};

std::map<int32_t, IoCounters> sample(const std::string& proc_root) {
    std::map<int32_t, IoCounters> out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(proc_root, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
        std::ifstream in(entry.path() / "io");
        if (!in) continue;
        IoCounters c;
        std::string key;
        uint64_t value = 0;
        bool any = false;
        while (in >> key >> value) {
            any = true;
            if (key == "rchar:") c.rchar = value;
            else if (key == "wchar:") c.wchar = value;
            else if (key == "read_bytes:") c.read_bytes = value;
            else if (key == "write_bytes:") c.write_bytes = value;
        }
        if (any) out[std::stoi(name)] = c;
    }
    return out;
}

std::string read_text(const fs::path& path) {
    std::ifstream in(path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return text;
}

}  // namespace

std::vector<ProcessIo> busiest_processes(uint32_t window_ms, size_t limit, const std::string& proc_root) {
    const auto before = sample(proc_root);
    const auto start = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::chrono::milliseconds(window_ms));
    const auto after = sample(proc_root);
    const double seconds =
        std::max(1e-3, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    const int32_t self = getpid();

    std::vector<ProcessIo> out;
    for (const auto& [pid, now] : after) {
        auto it = before.find(pid);
        if (pid == self || it == before.end()) continue;
        const IoCounters& then = it->second;
        const auto rate = [seconds](uint64_t a, uint64_t b) { return b > a ? static_cast<double>(b - a) / seconds : 0.0; };
        ProcessIo p;
        p.pid = pid;
        p.read_bytes_s = rate(then.rchar, now.rchar);
        p.write_bytes_s = rate(then.wchar, now.wchar);
        p.disk_bytes_s = rate(then.read_bytes, now.read_bytes) + rate(then.write_bytes, now.write_bytes);
        if (p.read_bytes_s + p.write_bytes_s + p.disk_bytes_s <= 0) continue;
        const fs::path dir = fs::path(proc_root) / std::to_string(pid);
        p.comm = read_text(dir / "comm");
        if (!p.comm.empty() && p.comm.back() == '\n') p.comm.pop_back();
        p.cmdline = read_text(dir / "cmdline");
        std::replace(p.cmdline.begin(), p.cmdline.end(), '\0', ' ');
        while (!p.cmdline.empty() && p.cmdline.back() == ' ') p.cmdline.pop_back();
        out.push_back(std::move(p));
    }
    std::sort(out.begin(), out.end(), [](const ProcessIo& a, const ProcessIo& b) {
        return a.read_bytes_s + a.write_bytes_s + a.disk_bytes_s > b.read_bytes_s + b.write_bytes_s + b.disk_bytes_s;
    });
    if (out.size() > limit) out.resize(limit);
    return out;
}

std::string describe(const ProcessIo& p) {
    const auto mb = [](double bytes) { return bytes / 1e6; };
    std::string cmd = p.cmdline.size() > 40 ? p.cmdline.substr(0, 37) + "..." : p.cmdline;
    return fmt::format("{:>7}  {:<15} {:>8.1f} MB/s read {:>8.1f} MB/s write {:>8.1f} MB/s disk  {}", p.pid, p.comm,
                       mb(p.read_bytes_s), mb(p.write_bytes_s), mb(p.disk_bytes_s), cmd);
}

}  // namespace iodiag::wizard
