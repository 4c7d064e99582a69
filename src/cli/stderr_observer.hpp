// The command line's Observer: a use case's remarks on stderr as "iodiag: <note>", its progress
// lines bare, each flushed at once so they interleave rightly with the tools iodiag runs.
#pragma once

#include <cstdio>
#include <string_view>

#include "usecase/observer.hpp"

namespace iodiag::cli {

class StderrObserver final : public usecase::Observer {
public:
    void note(std::string_view message) override { print("iodiag: ", message); }
    void progress(std::string_view line) override { print("", line); }

private:
    static void print(const char* prefix, std::string_view text) {
        std::fprintf(stderr, "%s%.*s\n", prefix, static_cast<int>(text.size()), text.data());
        std::fflush(stderr);
    }
};

}  // namespace iodiag::cli
