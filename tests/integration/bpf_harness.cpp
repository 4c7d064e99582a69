#include "bpf_harness.hpp"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <thread>

#include "common/subprocess.hpp"
#include "trace/kernel_ids.hpp"

namespace iodiag::testing {

std::string bpf_source_unusable() {
    static const std::string why = [] {
        ScratchDir dir;
        auto run = run_iodiag({"model", "--source", "bpf", "-o", (dir.path() / "m.json").string(), "--", "true"});
        if (run.exit_code == 7) return std::string();  // traced, and `true` does no file IO
        return "iodiag model --source bpf exits " + std::to_string(run.exit_code) + ": " + run.err;
    }();
    return why;
}

std::string bpf_unavailable() {
    auto features = trace::probe_bpf_features();
    return features ? std::string() : features.error().message;
}

std::string attach_problem(trace::BpfTracer& fresh, std::optional<trace::BpfVariant> variant) {
    auto features = trace::probe_bpf_features();
    if (!features) return features.error().message;
    if (variant == trace::BpfVariant::tracepoint)
        if (auto tracefs = trace::ensure_tracefs(); !tracefs) return tracefs.error().message;
    trace::BpfTarget self;
    self.tgid = static_cast<uint32_t>(::getpid());
    Status status = fresh.load(self, variant ? features->only(*variant) : *features);
    if (status) status = fresh.attach();
    fresh.detach();
    return status ? std::string() : status.error().message;
}

std::string write_fio_job(const std::string& directory, const std::string& job_body, int seconds) {
    const std::string job = directory + "/job.fio";
    {
        std::ofstream out(job);
        out << "[global]\ndirectory=" << directory << "\nruntime=" << seconds
            << "\ntime_based=1\nthread=1\ngroup_reporting=1\n\n" << job_body << "\n";
    }
    auto layout = run_capture({"fio", "--create_only=1", "--output=/dev/null", job});
    REQUIRE(layout);
    INFO(layout->err);
    REQUIRE(layout->exit_code == 0);
    return job;
}

TracedRun run_traced(const std::vector<std::string>& argv, const std::vector<trace::BpfTracer*>& tracers,
                     trace::EventSink& sink, trace::FileTable& files, const trace::BpfFeatures* features) {
    auto probed = trace::probe_bpf_features();
    REQUIRE(probed);
    const trace::BpfFeatures& use = features ? *features : *probed;

    // The shell waits for a line on stdin, then becomes the command: same pid, nothing missed.
    auto pipe = make_pipe();
    REQUIRE(pipe);
    std::vector<std::string> held{"sh", "-c", "read go; exec \"$@\"", "sh"};
    held.insert(held.end(), argv.begin(), argv.end());
    SpawnOptions spawn_options;
    spawn_options.argv = held;
    spawn_options.stdin_fd = pipe->first.get();
    auto pid = spawn(spawn_options);
    REQUIRE(pid);
    pipe->first.reset();

    trace::BpfTarget target;
    target.tgid = static_cast<uint32_t>(*pid);
    bool ready = true;
    for (trace::BpfTracer* t : tracers) {
        Status status = t->load(target, use);
        if (status) status = t->attach();
        if (!status) {
            UNSCOPED_INFO(t->name() << ": " << status.error().message);
            ready = false;
        }
    }
    // Release (or, on failure, let the shell exit on end of input) before asserting.
    const char line[] = "go\n";
    if (ready) REQUIRE(::write(pipe->second.get(), line, sizeof line - 1) == static_cast<ssize_t>(sizeof line - 1));
    pipe->second.reset();

    TracedRun run;
    const auto start = std::chrono::steady_clock::now();
    int status = 0;
    for (;;) {
        for (trace::BpfTracer* t : tracers) run.delivered += t->poll(sink, files);
        pid_t done = ::waitpid(*pid, &status, WNOHANG);
        if (done == *pid) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    run.exit_code = exit_code_from_wait_status(status);
    for (trace::BpfTracer* t : tracers) t->detach();
    for (trace::BpfTracer* t : tracers) run.delivered += t->poll(sink, files);
    REQUIRE(ready);
    return run;
}

std::optional<uint32_t> whole_disk_under(const std::filesystem::path& path) {
    struct stat st{};
    if (::stat(path.c_str(), &st) != 0) return std::nullopt;
    return trace::whole_disk(trace::kernel_dev(st.st_dev));
}

}  // namespace iodiag::testing
