#include "fio/job_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>

namespace iodiag::fio {
namespace {

// Comments start at this column when the option is shorter, so they read as a column.
constexpr size_t kCommentColumn = 32;

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

void render_comment_lines(std::string& out, const std::vector<std::string>& lines) {
    for (const auto& line : lines) out += line.empty() ? ";\n" : "; " + line + "\n";
}

}  // namespace

void JobSection::add(std::string key, std::string value, std::string comment) {
    lines.push_back({std::move(key), std::move(value), std::move(comment)});
}

void JobSection::add_comment(std::string comment) { lines.push_back({{}, {}, std::move(comment)}); }

std::optional<std::string> JobSection::get(std::string_view key) const {
    std::optional<std::string> found;
    for (const auto& line : lines)
        if (line.key == key) found = line.value;
    return found;
}

const JobSection* JobFile::find(std::string_view name) const {
    for (const auto& section : sections)
        if (section.name == name) return &section;
    return nullptr;
}

std::string JobFile::render() const {
    std::string out;
    render_comment_lines(out, header);
    for (const auto& section : sections) {
        if (!out.empty()) out += "\n";
        render_comment_lines(out, section.preamble);
        out += "[" + section.name + "]\n";
        for (const auto& line : section.lines) {
            if (line.key.empty()) {
                out += "; " + line.comment + "\n";
                continue;
            }
            std::string text = line.value.empty() ? line.key : line.key + "=" + line.value;
            if (!line.comment.empty()) {
                text.append(text.size() < kCommentColumn ? kCommentColumn - text.size() : 1, ' ');
                text += "; " + line.comment;
            }
            out += text + "\n";
        }
    }
    return out;
}

Result<JobFile> parse_job(std::string_view text) {
    JobFile job;
    size_t number = 0;
    while (!text.empty()) {
        size_t end = text.find('\n');
        std::string_view raw = text.substr(0, end);
        text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
        ++number;
        std::string_view line = raw.substr(0, raw.find_first_of(";#"));
        line = trim(line);
        if (line.empty()) continue;
        if (line.front() == '[') {
            if (line.back() != ']' || line.size() < 3)
                return fail(ErrorKind::bad_input, "job line " + std::to_string(number) + ": bad section header: " +
                                                      std::string(raw));
            job.sections.push_back({std::string(trim(line.substr(1, line.size() - 2))), {}, {}});
            continue;
        }
        if (job.sections.empty())
            return fail(ErrorKind::bad_input,
                        "job line " + std::to_string(number) + ": option before any [section]: " + std::string(raw));
        size_t eq = line.find('=');
        std::string key(trim(line.substr(0, eq)));
        std::string value = eq == std::string_view::npos ? std::string() : std::string(trim(line.substr(eq + 1)));
        if (key.empty())
            return fail(ErrorKind::bad_input, "job line " + std::to_string(number) + ": no option name: " +
                                                  std::string(raw));
        job.sections.back().add(std::move(key), std::move(value));
    }
    return job;
}

std::optional<uint64_t> parse_fio_size(std::string_view text) {
    text = trim(text);
    uint64_t number = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (ec != std::errc() || end == text.data()) return std::nullopt;
    std::string unit(end, text.data() + text.size());
    std::transform(unit.begin(), unit.end(), unit.begin(), [](unsigned char c) { return std::tolower(c); });
    if (unit.size() == 2 && unit[1] == 'b') unit.pop_back();          // "kb" reads as "k"
    else if (unit.size() == 3 && unit.substr(1) == "ib") unit.resize(1);  // "kib" too
    static constexpr std::string_view units = "kmgtp";
    if (unit.empty()) return number;
    if (unit.size() != 1 || units.find(unit[0]) == std::string_view::npos) return std::nullopt;
    unsigned shift = 10 * static_cast<unsigned>(units.find(unit[0]) + 1);
    if (number > (UINT64_MAX >> shift)) return std::nullopt;
    return number << shift;
}

bool is_safe_job_value(std::string_view value) {
    return value.find_first_of(";#\n\r") == std::string_view::npos;
}

Status write_file_atomically(const std::string& path, std::string_view text) {
    namespace fs = std::filesystem;
    fs::path target(path);
    std::string temp = (target.parent_path().empty() ? fs::path(".") : target.parent_path()).string() + "/." +
                       target.filename().string() + ".tmp." + std::to_string(::getpid());
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return fail(ErrorKind::output, "cannot write " + path + ": " + std::strerror(errno),
                    "choose a writable place with -o");
    auto failed = [&](const char* what) {
        int err = errno;
        ::close(fd);
        ::unlink(temp.c_str());
        return fail(ErrorKind::output, std::string(what) + " " + path + " failed: " + std::strerror(err),
                    err == ENOSPC ? "the file system is full; free space or choose another place with -o"
                                  : "choose a writable place with -o");
    };
    while (!text.empty()) {
        ssize_t n = ::write(fd, text.data(), text.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return failed("writing");
        text.remove_prefix(static_cast<size_t>(n));
    }
    // Delayed allocation can report a full disk only here.
    if (::fsync(fd) != 0) return failed("writing");
    if (::close(fd) != 0) {
        int err = errno;
        ::unlink(temp.c_str());
        return fail(ErrorKind::output, "writing " + path + " failed: " + std::strerror(err));
    }
    if (std::rename(temp.c_str(), path.c_str()) != 0) {
        int err = errno;
        ::unlink(temp.c_str());
        return fail(ErrorKind::output, "cannot rename " + temp + " to " + path + ": " + std::strerror(err));
    }
    return {};
}

}  // namespace iodiag::fio
