// The command line's Observer: a use case's remarks on stderr as "iodiag: <note>", its progress
// lines bare, each flushed at once so they interleave rightly with the tools iodiag runs. A
// tracer's status lines overwrite each other on a terminal and are plain lines elsewhere.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <string_view>

#include "usecase/observer.hpp"

namespace iodiag::cli {

class StderrObserver final : public usecase::Observer {
public:
    void note(std::string_view message) override { print("iodiag: ", message); }
    void progress(std::string_view line) override { print("", line); }
    void status(std::string_view line) override {
        std::fprintf(stderr, tty_ ? "\r\033[K%.*s" : "%.*s\n", static_cast<int>(line.size()), line.data());
        std::fflush(stderr);
        status_shown_ = true;
    }
    void status_end() override {
        if (status_shown_ && tty_) std::fputc('\n', stderr);
        status_shown_ = false;
    }

private:
    bool tty_ = isatty(STDERR_FILENO) == 1;
    bool status_shown_ = false;
    static void print(const char* prefix, std::string_view text) {
        std::fprintf(stderr, "%s%.*s\n", prefix, static_cast<int>(text.size()), text.data());
        std::fflush(stderr);
    }
};

}  // namespace iodiag::cli
