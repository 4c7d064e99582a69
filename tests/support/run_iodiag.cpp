#include "run_iodiag.hpp"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <unistd.h>

#include <thread>

#include <catch2/catch.hpp>

#include "support.hpp"

namespace iodiag::testing {
namespace {

// spawn() cannot drop privileges, so this child does: fork, become nobody, exec.
pid_t spawn_as_nobody(const std::vector<std::string>& argv, int in, int out, int err) {
    std::vector<char*> args;
    for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    pid_t pid = fork();
    if (pid == 0) {
        if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) _exit(127);
        if (setgroups(0, nullptr) != 0 || setresgid(65534, 65534, 65534) != 0 ||
            setresuid(65534, 65534, 65534) != 0)
            _exit(126);
        execvp(args[0], args.data());
        _exit(127);
    }
    return pid;
}

}  // namespace

CommandOutput run_iodiag(const std::vector<std::string>& args, const RunOptions& options) {
    std::vector<std::string> argv = options.prefix;
    argv.push_back(IODIAG_BINARY);
    argv.insert(argv.end(), args.begin(), args.end());
    std::string line;
    for (const auto& arg : args) line += " " + arg;
    if (!options.as_nobody && !options.interrupt_after) {
        // Through pipes, as a terminal user's pipeline would: a command iodiag launches inherits
        // these, and its own messages must not become file writes in the model it is traced for.
        auto captured = run_capture(argv);
        REQUIRE(captured);
        UNSCOPED_INFO("iodiag" << line << " -> exit " << captured->exit_code << "\nstdout:\n" << captured->out
                               << "stderr:\n" << captured->err);
        return *captured;
    }
    ScratchDir io;
    const std::string out_path = io / "stdout", err_path = io / "stderr";
    UniqueFd out(open(out_path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    UniqueFd err(open(err_path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    UniqueFd in(open("/dev/null", O_RDONLY | O_CLOEXEC));

    pid_t pid = -1;
    if (options.as_nobody) {
        pid = spawn_as_nobody(argv, in.get(), out.get(), err.get());
        REQUIRE(pid > 0);
    } else {
        auto spawned = spawn({argv, in.get(), out.get(), err.get()});
        REQUIRE(spawned);
        pid = *spawned;
    }
    if (options.interrupt_after) {
        std::this_thread::sleep_for(*options.interrupt_after);
        kill(pid, SIGINT);
    }
    CommandOutput run;
    run.exit_code = wait_for(pid);
    run.out = read_text(out_path);
    run.err = read_text(err_path);
    UNSCOPED_INFO("iodiag" << line << " -> exit " << run.exit_code << "\nstdout:\n" << run.out << "stderr:\n" << run.err);
    return run;
}

std::string nobody_cannot_run_iodiag() {
    if (run_iodiag({"--version"}, as_nobody()).exit_code == 0) return {};
    return "user nobody cannot run " IODIAG_BINARY " (folder permissions)";
}

}  // namespace iodiag::testing
