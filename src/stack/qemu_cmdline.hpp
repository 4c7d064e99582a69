// A QEMU command line as words and options: from /proc/PID/cmdline (NUL-separated), from a shell
// command (quotes, backslash-newline continuations, leading VAR=value assignments), or from a
// libvirt log file, where the command is one logical line among others.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace iodiag::stack {

struct QemuOption {
    std::string name;    // without dashes: "drive", "blockdev", "S"
    std::string value;   // empty for flags
};

struct QemuCommandLine {
    std::string binary;                      // argv[0]
    std::vector<std::string> env;            // VAR=value words before it (shell form)
    std::vector<QemuOption> options;         // in order
    std::vector<std::string> positional;     // words that are no option's value: a disk image
};

// /usr/bin/qemu-system-x86_64, qemu-kvm, /usr/libexec/qemu-kvm, kvm.
bool is_qemu_binary(std::string_view path);

// Shell words per logical line (an unquoted newline ends a line). bad_input for an unterminated
// quote.
Result<std::vector<std::vector<std::string>>> split_shell_lines(std::string_view text);

// argv[0] must be a QEMU binary; bad_input (naming argv[0]) otherwise, or when an option lacks
// its value.
Result<QemuCommandLine> parse_qemu_argv(const std::vector<std::string>& argv);

// NUL-separated when the text has a NUL, else shell form: the first line whose program (after
// VAR=value words, or behind a wrapper such as taskset or sudo) is QEMU.
Result<QemuCommandLine> parse_qemu_text(std::string_view text);

}  // namespace iodiag::stack
