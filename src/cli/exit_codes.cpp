#include "cli/exit_codes.hpp"

#include <cstdio>
#include <iostream>
#include <string_view>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace iodiag::cli {
namespace {

struct Row {
    ErrorKind kind;
    ExitCode code;
    const char* meaning;
};

constexpr Row kRows[] = {
    {ErrorKind::internal, kExitInternal, "internal error (a bug, or an unexpected system failure)"},
    {ErrorKind::usage, kExitUsage, "bad command line"},
    {ErrorKind::bad_input, kExitBadInput, "unreadable or garbled input (log, model)"},
    {ErrorKind::not_found, kExitNotFound, "pid, file or command not found"},
    {ErrorKind::permission, kExitPermission, "permission denied (ptrace, files)"},
    {ErrorKind::missing_tool, kExitMissingTool, "a needed tool (strace, fio) is not installed"},
    {ErrorKind::no_io, kExitNoIo, "the trace finished but saw no IO"},
    {ErrorKind::output, kExitOutput, "cannot write the output file"},
    {ErrorKind::unsupported, kExitUnsupported, "not supported here (source, kernel feature)"},
};

}  // namespace

int exit_code_for(ErrorKind kind) {
    if (kind == ErrorKind::aborted) return kExitAborted;
    for (const Row& row : kRows)
        if (row.kind == kind) return row.code;
    return kExitInternal;
}

namespace {

const char* kind_name(ErrorKind kind) {
    switch (kind) {
    case ErrorKind::usage: return "usage";
    case ErrorKind::bad_input: return "bad_input";
    case ErrorKind::not_found: return "not_found";
    case ErrorKind::permission: return "permission";
    case ErrorKind::missing_tool: return "missing_tool";
    case ErrorKind::no_io: return "no_io";
    case ErrorKind::output: return "output";
    case ErrorKind::unsupported: return "unsupported";
    case ErrorKind::internal: return "internal";
    case ErrorKind::aborted: return "aborted";
    }
    return "internal";
}

}  // namespace

int report_error(const Error& error, bool json) {
    const int code = exit_code_for(error.kind);
    if (error.kind == ErrorKind::aborted) {
        std::fprintf(stderr, "iodiag: %s\n", error.message.c_str());
    } else {
        std::fprintf(stderr, "iodiag: error: %s\n", error.message.c_str());
        if (!error.hint.empty()) std::fprintf(stderr, "hint: %s\n", error.hint.c_str());
    }
    std::fflush(stderr);
    if (json) {
        nlohmann::ordered_json out = {
            {"error", {{"kind", kind_name(error.kind)}, {"message", error.message}, {"hint", error.hint}}},
            {"exit_code", code}};
        print_json(out);
        std::cout.flush();
    }
    return code;
}

int finish_output(bool json) {
    std::cout.flush();
    if (!std::cout) return report_error({ErrorKind::output, "cannot write to stdout", {}}, json);
    return kExitOk;
}

bool wants_json(int argc, const char* const* argv) {
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--") return false;
        if (arg == "--json") return true;
    }
    return false;
}

std::string exit_code_help() {
    std::string text = "Exit codes:\n    0  ok\n";
    for (const Row& row : kRows)
        text += fmt::format("  {:>3}  {}\n", static_cast<int>(row.code), row.meaning);
    text += fmt::format("  {:>3}  aborted by a second Ctrl-C (nothing written)\n",
                        static_cast<int>(kExitAborted));
    return text;
}

}  // namespace iodiag::cli
