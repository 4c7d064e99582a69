#include "stack/qemu_cmdline.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include "stack/sysroot.hpp"

namespace iodiag::stack {
namespace {

// QEMU options that take no value (qemu-options.hx entries without HAS_ARG).
constexpr std::array<std::string_view, 43> kFlags = {
    "S",           "s",            "snapshot",      "nographic",       "curses",
    "daemonize",   "enable-kvm",   "no-kvm",        "nodefaults",      "no-user-config",
    "nodefconfig", "no-hpet",      "no-shutdown",   "no-reboot",       "no-acpi",
    "no-fd-bootchk", "no-quit",    "no-frame",      "alt-grab",        "ctrl-grab",
    "full-screen", "portrait",     "usb",           "version",         "help",
    "h",           "enable-fips",  "win2k-hack",    "rtc-td-hack",     "only-migratable",
    "preconfig",   "old-param",    "semihosting",   "xen-attach",      "xen-domid-restrict",
    "enable-sync-profile", "no-kvm-irqchip", "no-kvm-pit", "no-kvm-pit-reinjection",
    "singlestep",  "one-insn-per-tb", "no-graphic", "watchdog-action-none"};

bool is_flag(std::string_view name) {
    return std::find(kFlags.begin(), kFlags.end(), name) != kFlags.end();
}

bool is_assignment(const std::string& word) {
    auto eq = word.find('=');
    if (eq == std::string::npos || eq == 0) return false;
    if (std::isdigit(static_cast<unsigned char>(word[0]))) return false;
    return std::all_of(word.begin(), word.begin() + static_cast<long>(eq), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
    });
}

// Programs that run another one given later on their command line.
bool is_wrapper(const std::string& word) {
    static const std::array<std::string_view, 11> kWrappers = {
        "sudo", "exec", "env", "nohup", "nice", "ionice", "taskset", "numactl", "chrt", "stdbuf", "time"};
    return std::find(kWrappers.begin(), kWrappers.end(), base_name(word)) != kWrappers.end();
}

std::vector<std::string> split_nul(std::string_view text) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find('\0', start);
        if (end == std::string_view::npos) end = text.size();
        out.emplace_back(text.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

}  // namespace

bool is_qemu_binary(std::string_view path) {
    std::string name = base_name(std::string(path));
    return name.rfind("qemu-system-", 0) == 0 || name == "qemu-kvm" || name == "kvm";
}

Result<std::vector<std::vector<std::string>>> split_shell_lines(std::string_view text) {
    std::vector<std::vector<std::string>> lines(1);
    std::string word;
    bool in_word = false;
    auto end_word = [&] {
        if (in_word) lines.back().push_back(std::move(word));
        word.clear();
        in_word = false;
    };
    size_t i = 0;
    while (i < text.size()) {
        char c = text[i];
        if (c == '\\') {
            if (i + 1 < text.size() && text[i + 1] == '\n') {   // continuation
                i += 2;
                continue;
            }
            if (i + 1 < text.size()) word += text[i + 1];
            in_word = true;
            i += 2;
        } else if (c == '\'') {
            size_t close = text.find('\'', i + 1);
            if (close == std::string_view::npos)
                return fail(ErrorKind::bad_input, "unterminated ' quote in the command line",
                            "give the command exactly as a shell would run it");
            word.append(text.substr(i + 1, close - i - 1));
            in_word = true;
            i = close + 1;
        } else if (c == '"') {
            size_t j = i + 1;
            for (; j < text.size() && text[j] != '"'; ++j) {
                if (text[j] == '\\' && j + 1 < text.size() &&
                    (text[j + 1] == '"' || text[j + 1] == '\\' || text[j + 1] == '$' ||
                     text[j + 1] == '`' || text[j + 1] == '\n')) {
                    if (text[j + 1] != '\n') word += text[j + 1];
                    ++j;
                } else {
                    word += text[j];
                }
            }
            if (j >= text.size())
                return fail(ErrorKind::bad_input, "unterminated \" quote in the command line",
                            "give the command exactly as a shell would run it");
            in_word = true;
            i = j + 1;
        } else if (c == '#' && !in_word) {
            while (i < text.size() && text[i] != '\n') ++i;
        } else if (c == '\n') {
            end_word();
            lines.emplace_back();
            ++i;
        } else if (c == ' ' || c == '\t' || c == '\r') {
            end_word();
            ++i;
        } else {
            word += c;
            in_word = true;
            ++i;
        }
    }
    end_word();
    lines.erase(std::remove_if(lines.begin(), lines.end(), [](const auto& l) { return l.empty(); }),
                lines.end());
    return lines;
}

Result<QemuCommandLine> parse_qemu_argv(const std::vector<std::string>& argv) {
    if (argv.empty()) return fail(ErrorKind::bad_input, "the command line is empty");
    if (!is_qemu_binary(argv[0]))
        return fail(ErrorKind::bad_input, "not a QEMU command line: it runs " + argv[0],
                    "give the command line of a qemu-system-* or qemu-kvm process");
    QemuCommandLine out;
    out.binary = argv[0];
    for (size_t i = 1; i < argv.size(); ++i) {
        const std::string& word = argv[i];
        if (word.size() < 2 || word[0] != '-') {
            out.positional.push_back(word);
            continue;
        }
        std::string name = word.substr(word[1] == '-' ? 2 : 1);
        if (is_flag(name)) {
            out.options.push_back({name, {}});
            continue;
        }
        if (i + 1 >= argv.size())
            return fail(ErrorKind::bad_input, "option " + word + " has no value (the command line ends)",
                        "is the command line cut short?");
        out.options.push_back({name, argv[++i]});
    }
    return out;
}

Result<QemuCommandLine> parse_qemu_text(std::string_view text) {
    if (text.find('\0') != std::string_view::npos) return parse_qemu_argv(split_nul(text));
    auto lines = split_shell_lines(text);
    if (!lines) return tl::unexpected(lines.error());
    if (lines->empty()) return fail(ErrorKind::bad_input, "the command line is empty");
    for (const auto& line : *lines) {
        // A command starts with its program, after VAR=value words and wrappers (taskset -c 2 ...);
        // other lines of a log only mention QEMU.
        auto first = std::find_if(line.begin(), line.end(), [](const std::string& w) { return !is_assignment(w); });
        if (first == line.end()) continue;
        auto qemu = is_qemu_binary(*first) ? first : line.end();
        if (qemu == line.end() && is_wrapper(*first))
            qemu = std::find_if(first, line.end(), [](const std::string& w) { return is_qemu_binary(w); });
        if (qemu == line.end()) continue;
        auto parsed = parse_qemu_argv(std::vector<std::string>(qemu, line.end()));
        if (!parsed) return parsed;
        for (auto it = line.begin(); it != qemu; ++it)
            if (is_assignment(*it)) parsed->env.push_back(*it);
        return parsed;
    }
    return fail(ErrorKind::bad_input,
                "no QEMU command in the text (first word: " + lines->front().front() + ")",
                "give a qemu-system-* or qemu-kvm command line, or a copy of /proc/PID/cmdline");
}

}  // namespace iodiag::stack
