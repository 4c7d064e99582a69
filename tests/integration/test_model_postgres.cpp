// PostgreSQL under pgbench (issue 11): a scratch cluster of its own (data folder, Unix socket in
// it, no TCP), traced live from the postmaster with --children and from a saved strace log. Each
// backend appends to the WAL with an fdatasync per commit and reads and writes data pages at
// random in the same process: the model must keep those apart as streams (a sequential synced WAL
// writer, random page IO without flushes), and fio must reproduce the WAL stream's rate.
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include <nlohmann/json.hpp>

#include "bpf_harness.hpp"
#include "common/subprocess.hpp"
#include "fio_harness.hpp"
#include "model/workload_model.hpp"
#include "support/run_iodiag.hpp"

using namespace iodiag;
using namespace iodiag::testing;
namespace fs = std::filesystem;
using std::chrono::milliseconds;

namespace {

// The newest installed server's programs (Debian: /usr/lib/postgresql/<major>/bin), or "".
std::string postgres_bin_dir() {
    std::vector<fs::path> found;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
        if (fs::exists(entry.path() / "bin" / "pg_ctl") && fs::exists(entry.path() / "bin" / "pgbench")) {
            found.push_back(entry.path() / "bin");
        }
    }
    if (found.empty()) return "";
    std::sort(found.begin(), found.end(), [](const fs::path& a, const fs::path& b) {
        return std::stoi(a.parent_path().filename().string()) < std::stoi(b.parent_path().filename().string());
    });
    return found.back().string();
}

// Why PostgreSQL cannot run here, or "" when it can. The server refuses to run as root: it runs
// as the `postgres` user the Debian package creates.
std::string postgres_unusable() {
    if (postgres_bin_dir().empty()) return "not installed: postgresql (scripts/install-deps.sh installs it)";
    if (getpwnam("postgres") == nullptr) return "no postgres user (the postgresql package creates it)";
    if (!missing_tools({"runuser"}).empty()) return "not installed: runuser (util-linux)";
    return "";
}

#define SKIP_UNLESS_POSTGRES()                                                  \
    do {                                                                        \
        SKIP_UNLESS_ROOT("the server runs as the postgres user");               \
        if (std::string why_ = postgres_unusable(); !why_.empty()) {            \
            WARN("skipped: " << why_);                                          \
            return;                                                             \
        }                                                                       \
    } while (0)

// A cluster in a scratch folder, started on construction and stopped (immediate) on every path.
// 16 MB of shared buffers against a ~150 MB pgbench database: backends read pages from the OS and
// write back dirty ones they evict, besides their WAL commits.
class PgCluster {
public:
    explicit PgCluster(const ScratchDir& dir) : bin_(postgres_bin_dir()), data_(dir.path() / "pgdata") {
        // The scratch folder is root's 0700: the postgres user must be able to reach its data.
        fs::permissions(dir.path(), fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
        fs::create_directories(data_);
        const passwd* pg = getpwnam("postgres");
        REQUIRE(pg != nullptr);
        REQUIRE(chown(data_.c_str(), pg->pw_uid, pg->pw_gid) == 0);
        as_postgres({bin_ + "/initdb", "-D", data_.string(), "-A", "trust", "-U", "postgres", "--no-sync"});
        as_postgres({bin_ + "/pg_ctl", "-D", data_.string(), "-w", "-l", (data_ / "server.log").string(), "-o",
                     "-p " + port() + " -k " + data_.string() + " -c listen_addresses='' -c shared_buffers=16MB",
                     "start"});
        started_ = true;
    }
    ~PgCluster() {
        if (!started_) return;
        // Immediate: no shutdown checkpoint to wait for; the folder goes with the scratch dir.
        run_capture({"runuser", "-u", "postgres", "--", bin_ + "/pg_ctl", "-D", data_.string(), "-m", "immediate",
                     "-w", "stop"});
    }
    PgCluster(const PgCluster&) = delete;
    PgCluster& operator=(const PgCluster&) = delete;

    // The postmaster's pid: the first line of postmaster.pid.
    pid_t postmaster() const {
        std::ifstream in(data_ / "postmaster.pid");
        pid_t pid = 0;
        in >> pid;
        REQUIRE(pid > 0);
        return pid;
    }
    // Runs pgbench against the cluster as the postgres user; its output.
    std::string pgbench(const std::vector<std::string>& args) const {
        std::vector<std::string> argv = {bin_ + "/pgbench", "-h", data_.string(), "-p", port()};
        argv.insert(argv.end(), args.begin(), args.end());
        argv.push_back("postgres");
        return as_postgres(argv);
    }
    const fs::path& data() const { return data_; }

private:
    // The socket's name only (listen_addresses is empty): no port clash with a real server.
    static std::string port() { return "55439"; }
    std::string as_postgres(const std::vector<std::string>& argv) const {
        std::vector<std::string> full = {"runuser", "-u", "postgres", "--"};
        full.insert(full.end(), argv.begin(), argv.end());
        auto run = run_capture(full);
        REQUIRE(run);
        INFO(argv.front() << ":\n" << run->out << run->err << "\nserver log:\n" << read_text(data_ / "server.log"));
        REQUIRE(run->exit_code == 0);
        return run->out + run->err;
    }

    std::string bin_;
    fs::path data_;
    bool started_ = false;
};

bool under(const model::FileUse& file, const std::string& folder) {
    return file.path.find("/" + folder + "/") != std::string::npos;
}

// The group all of whose files are WAL segments (REQUIREs one).
const model::JobGroup& wal_group(const model::WorkloadModel& m) {
    const model::JobGroup* found = nullptr;
    for (const auto& g : m.groups) {
        bool all_wal = !g.files.empty() &&
                       std::all_of(g.files.begin(), g.files.end(), [](const auto& f) { return under(f, "pg_wal"); });
        if (all_wal && g.evidence.writes.ops > 0) {
            REQUIRE(found == nullptr);
            found = &g;
        }
    }
    REQUIRE(found != nullptr);
    return *found;
}

// What a storage engineer writes down for pgbench's backends: the WAL is its own stream (append,
// fdatasync after each commit, by every backend), kept apart from random data-page IO.
void check_postgres_streams(const model::WorkloadModel& m, int clients) {
    INFO(model::to_json(m).dump(2));
    for (const auto& g : m.groups) {
        INFO("group " << g.name);
        bool wal = std::any_of(g.files.begin(), g.files.end(), [](const auto& f) { return under(f, "pg_wal"); });
        bool data = std::any_of(g.files.begin(), g.files.end(), [](const auto& f) { return under(f, "base"); });
        CHECK_FALSE((wal && data));
    }
    const auto& wal = wal_group(m);
    CHECK(option(wal, "rw") == "write");
    CHECK(option(wal, "fdatasync") == 1);
    CHECK(option(wal, "direct") == 0);
    // Each client's backend commits its own transactions; the WAL writer may join them.
    CHECK(option(wal, "numjobs").get<int>() >= clients);
    // The data pages: random, and their writes are not followed by a flush of their own.
    bool random_pages = false;
    for (const auto& g : m.groups) {
        bool data = std::any_of(g.files.begin(), g.files.end(), [](const auto& f) { return under(f, "base"); });
        if (!data || g.evidence.reads.ops + g.evidence.writes.ops < 100) continue;
        INFO("data group " << g.name);
        CHECK(option(g, "fdatasync").is_null());
        CHECK(option(g, "fsync").is_null());
        if (g.pattern == "random") random_pages = true;
    }
    CHECK(random_pages);
}

constexpr int kClients = 4;

}  // namespace

TEST_CASE("real apps: PostgreSQL under pgbench traced from the postmaster with --children keeps WAL and data streams apart",
          "[model][real apps][postgres][fio]") {
    SKIP_UNLESS_POSTGRES();
    SKIP_UNLESS_BPF_SOURCE("fio");
    ScratchDir dir;
    PgCluster pg(dir);
    pg.pgbench({"-i", "-q", "-s", "10"});
    const std::string model_path = dir / "model.json";
    // The trace starts first: the benchmark's backends are forked while it runs. run_capture, not
    // run_iodiag, on the second thread: Catch's INFO is not thread-safe.
    const std::vector<std::string> argv = {IODIAG_BINARY, "model", "--source", "bpf", "--pid",
                                           std::to_string(pg.postmaster()), "--children", "-d", "9s", "-o", model_path};
    auto traced = std::async(std::launch::async, [&] { return run_capture(argv); });
    std::this_thread::sleep_for(milliseconds(2500));
    std::string bench = pg.pgbench({"-c", std::to_string(kClients), "-j", "2", "-T", "5"});
    auto run = traced.get();
    REQUIRE(run);
    INFO("pgbench:\n" << bench << "\niodiag:\n" << run->out << run->err);
    REQUIRE(run->exit_code == 0);
    auto m = model::load_model(model_path);
    REQUIRE(m);
    check_postgres_streams(*m, kClients);

    // fio reproduces the WAL stream: a rate-limited synced appender (the model's rate_iops when
    // the backends were idle between commits). Loose bounds: a shared 2-CPU VM's fdatasync
    // latency varies by a factor of two from run to run.
    const std::string wal_name = wal_group(*m).name;
    auto reproduced = run_iodiag({"reproduce", model_path, "-o", dir / "job.fio", "--target", dir.path().string(),
                                  "--run", "--runtime", "5", "--json"});
    INFO("reproduce:\n" << reproduced.out << reproduced.err);
    REQUIRE(reproduced.exit_code == 0);
    auto result = nlohmann::json::parse(reproduced.out);
    bool compared = false;
    for (const auto& group : result["comparison"]["groups"]) {
        if (group["group"] != wal_name) continue;
        for (const auto& metric : group["metrics"]) {
            if (metric["metric"] != "IOPS") continue;
            double ratio = metric["reproduced"].get<double>() / metric["observed"].get<double>();
            INFO("WAL IOPS observed " << metric["observed"] << ", reproduced " << metric["reproduced"]);
            CHECK(ratio > 0.5);
            CHECK(ratio < 2.0);
            compared = true;
        }
    }
    CHECK(compared);
}

TEST_CASE("real apps: PostgreSQL under pgbench from a saved strace log keeps WAL and data streams apart",
          "[model][real apps][postgres][strace]") {
    SKIP_UNLESS_POSTGRES();
    SKIP_WITHOUT("strace");
    ScratchDir dir;
    PgCluster pg(dir);
    pg.pgbench({"-i", "-q", "-s", "10"});
    const std::string log = dir / "pg.strace";
    // The options `iodiag model --strace-log` documents: follow forks, times, durations, fd paths.
    auto strace = spawn({{"strace", "-f", "-tt", "-T", "-y", "-o", log, "-p", std::to_string(pg.postmaster())}});
    REQUIRE(strace);
    std::this_thread::sleep_for(milliseconds(1000));
    std::string bench = pg.pgbench({"-c", std::to_string(kClients), "-j", "2", "-T", "5"});
    kill(*strace, SIGINT);
    wait_for(*strace);
    const std::string model_path = dir / "model.json";
    auto run = run_iodiag({"model", "--strace-log", log, "-o", model_path});
    INFO("pgbench:\n" << bench << "\niodiag:\n" << run.out << run.err);
    REQUIRE(run.exit_code == 0);
    auto m = model::load_model(model_path);
    REQUIRE(m);
    check_postgres_streams(*m, kClients);
}
