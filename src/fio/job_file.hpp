// An fio job file as iodiag writes it: sections of `key=value` lines, each option followed by a
// comment that says why it has that value. Also reads job files back (tests, templates) and
// writes any text file atomically, so a reader never finds half a job.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace iodiag::fio {

// One line of a section: an option with its comment, or (key empty) a comment line alone.
struct JobLine {
    std::string key;
    std::string value;     // empty: a bare flag (`thread`)
    std::string comment;   // without the leading "; "
};

struct JobSection {
    std::string name;                    // "global" for [global]
    std::vector<std::string> preamble;   // comment lines above the header
    std::vector<JobLine> lines;

    void add(std::string key, std::string value, std::string comment = {});
    void add_comment(std::string comment);
    // The last value given for `key` (fio lets a later line win), or nullopt.
    std::optional<std::string> get(std::string_view key) const;
};

struct JobFile {
    std::vector<std::string> header;     // comment lines at the top of the file
    std::vector<JobSection> sections;

    const JobSection* find(std::string_view name) const;
    // Options are aligned so their comments form a column; ends with a newline.
    std::string render() const;
};

// Reads a job file the way fio does: ';' and '#' start comments, [name] starts a section,
// `key=value` or a bare `key` is an option. bad_input on anything else, with the line number.
Result<JobFile> parse_job(std::string_view text);

// fio's size syntax back to bytes: "4k" -> 4096, "1m", "1536", "2g" (binary units, as fio reads
// them by default). nullopt when it is not a plain size (e.g. a range or a percentage).
std::optional<uint64_t> parse_fio_size(std::string_view text);

// A value fio would read back unchanged from a job line: no newline, no comment character.
bool is_safe_job_value(std::string_view value);

// Writes `text` to a temp file beside `path`, flushes it to disk and renames it into place:
// `path` is either the old file or the whole new one, never a partial write.
Status write_file_atomically(const std::string& path, std::string_view text);

}  // namespace iodiag::fio
