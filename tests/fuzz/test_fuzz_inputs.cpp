// Seeded mutation fuzzing of what iodiag reads from users: strace logs, perf trace output and
// model.json. The fixtures in tests/data/ are mutated (bit flips, cuts, lines duplicated, dropped
// or swapped, numbers made huge, negative or 1e309, stray syntax) and fed through the same calls
// `iodiag model --strace-log/--perf-log` and `iodiag reproduce` make. They must answer with a
// model or an error: never an exception out of their API, never a crash (CI runs this under
// ASan and UBSan). A model they make must load back unchanged and become a job or an error.
//
// Deterministic: the same seed gives the same inputs; only how many run depends on the time
// budget (IODIAG_FUZZ_SECONDS per target, default 8). IODIAG_FUZZ_SEED picks another sequence.
// The input being tried is kept in a /var/tmp/iodiag-fuzz-* folder when a run fails or crashes.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "fio/job_generator.hpp"
#include "model/workload_model.hpp"
#include "support/support.hpp"
#include "usecase/model.hpp"

using namespace iodiag;
using iodiag::testing::read_text;
namespace fs = std::filesystem;

namespace {

uint64_t env_number(const char* name, uint64_t fallback) {
    const char* text = std::getenv(name);
    if (!text || !*text) return fallback;
    return std::strtoull(text, nullptr, 10);
}

std::vector<std::string> fixture_texts(const std::string& folder) {
    std::vector<fs::path> paths;
    for (const auto& entry : fs::directory_iterator(fs::path(IODIAG_TEST_DATA) / folder))
        if (entry.is_regular_file()) paths.push_back(entry.path());
    std::sort(paths.begin(), paths.end());  // directory order is not stable; the seed's sequence must be
    std::vector<std::string> texts;
    for (const auto& path : paths) texts.push_back(read_text(path));
    return texts;
}

std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

std::string join_lines(const std::vector<std::string>& lines) {
    std::string text;
    for (const auto& line : lines) text += line + '\n';
    return text;
}

// Values that have broken parsers before: beyond 32 and 64 bits, negative, beyond a double.
constexpr const char* kNumbers[] = {"0", "-1", "4294967296", "18446744073709551615", "18446744073709551616",
                                    "99999999999999999999999", "-9223372036854775809", "1e309", "-1e309",
                                    "1.5", "0x10", "NaN"};
// Fragments of strace, perf and JSON syntax, out of place.
constexpr const char* kFragments[] = {"<unfinished ...>", "<... read resumed>", "= ?", " = -1 ENOENT (x)", "[pid 7] ",
                                      "\"", "\\", "(", ")", "{", "}", "[", "]", ",", ":", "<", ">", "...",
                                      "+++ exited with 0 +++", "--- SIGINT {} ---", "LOST 5 events!", "?"};

class Mutator {
public:
    explicit Mutator(uint64_t seed) : rng_(seed) {}

    std::string mutate(const std::string& seed_text) {
        std::string text = seed_text;
        const size_t rounds = 1 + below(4);
        for (size_t i = 0; i < rounds; ++i) text = mutate_once(std::move(text));
        return text;
    }

private:
    size_t below(size_t n) { return n ? std::uniform_int_distribution<size_t>(0, n - 1)(rng_) : 0; }

    std::string mutate_once(std::string text) {
        switch (below(8)) {
        case 0:  // a bit flip
            if (!text.empty()) text[below(text.size())] ^= static_cast<char>(1u << below(8));
            return text;
        case 1:  // cut short, as a trace of a killed tracer is
            return text.substr(0, below(text.size() + 1));
        case 2:
        case 3: {  // a line duplicated, dropped or swapped with another
            auto lines = split_lines(text);
            if (lines.empty()) return text;
            const size_t a = below(lines.size()), b = below(lines.size());
            const size_t how = below(3);
            if (how == 0) lines.insert(lines.begin() + static_cast<long>(a), lines[b]);
            else if (how == 1) lines.erase(lines.begin() + static_cast<long>(a));
            else std::swap(lines[a], lines[b]);
            return join_lines(lines);
        }
        case 4:
        case 5: {  // a number replaced
            const size_t start = text.find_first_of("0123456789", below(text.size() + 1));
            if (start == std::string::npos) return text;
            const size_t end = std::min(text.find_first_not_of("0123456789.", start), text.size());
            return text.replace(start, end - start, kNumbers[below(std::size(kNumbers))]);
        }
        case 6: {  // a fragment of syntax inserted
            const size_t pick = below(std::size(kFragments) + 1);
            const std::string_view fragment =
                pick == std::size(kFragments) ? std::string_view("\0", 1) : std::string_view(kFragments[pick]);
            return text.insert(below(text.size() + 1), fragment);
        }
        default: {  // a stretch deleted
            if (text.empty()) return text;
            const size_t at = below(text.size());
            return text.erase(at, below(64));
        }
        }
    }

    std::mt19937_64 rng_;
};

// A folder for the inputs, removed only when the target finished cleanly.
struct Workspace {
    fs::path dir;
    Workspace() {
        std::string templ = "/var/tmp/iodiag-fuzz-XXXXXX";
        REQUIRE(mkdtemp(templ.data()));
        dir = templ;
    }
    void write(const fs::path& path, const std::string& text) const { std::ofstream(path, std::ios::binary) << text; }
    void finished() const {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
};

// Runs `one(input)` on mutations of the seeds until the time budget is spent.
template <class One>
uint64_t fuzz(const char* target, const std::vector<std::string>& seeds, One&& one) {
    REQUIRE_FALSE(seeds.empty());
    const uint64_t seed = env_number("IODIAG_FUZZ_SEED", 20261204) ^ std::hash<std::string>{}(target);
    const auto budget = std::chrono::seconds(env_number("IODIAG_FUZZ_SECONDS", 8));
    Mutator mutator(seed);
    const auto start = std::chrono::steady_clock::now();
    uint64_t runs = 0;
    while (std::chrono::steady_clock::now() - start < budget) {
        const std::string input = mutator.mutate(seeds[runs % seeds.size()]);
        INFO(target << ": seed " << seed << ", input " << runs << " (a mutation of seed file " << runs % seeds.size()
                    << ")");
        one(input);
        ++runs;
    }
    std::cerr << "fuzz " << target << ": " << runs << " inputs\n";
    return runs;
}

fio::GeneratorOptions job_options(const fs::path& dir) {
    fio::GeneratorOptions options;
    options.placement.path = (dir / "scratch").string();
    options.placement.capacity_why = "--max-size";
    return options;
}

// What any model must stand: it saves and loads back unchanged, and becomes a job or an error.
void check_model(const model::WorkloadModel& built, const Workspace& space) {
    const auto path = space.dir / "model.json";
    REQUIRE(model::save_model(built, path.string()));
    auto back = model::load_model(path.string());
    INFO((back ? std::string() : back.error().message));
    REQUIRE(back);
    // Unchanged, but for bytes that are not UTF-8: saved as U+FFFD.
    const auto text = [](const model::WorkloadModel& m) {
        return model::to_json(m).dump(-1, ' ', false, model::ordered_json::error_handler_t::replace);
    };
    CHECK(text(*back) == text(built));
    REQUIRE_NOTHROW(fio::generate_job(*back, job_options(space.dir)));
}

void fuzz_log(const char* target, const std::string& folder, std::string usecase::ModelRequest::*log) {
    Workspace space;
    const auto input = space.dir / "trace.log";
    std::cerr << "fuzz " << target << ": inputs in " << space.dir << '\n';
    uint64_t models = 0;
    const uint64_t runs = fuzz(target, fixture_texts(folder), [&](const std::string& text) {
        space.write(input, text);
        usecase::ModelRequest request;
        request.*log = input.string();
        request.strict = text.size() % 2 != 0;  // both ways through the readers
        Result<usecase::ModelRun> run = fail(ErrorKind::internal, "not run");
        REQUIRE_NOTHROW(run = usecase::build_model(request, usecase::silent_observer()));
        if (!run) {
            CHECK_FALSE(run.error().message.empty());
            return;
        }
        ++models;
        check_model(run->model, space);
    });
    std::cerr << "fuzz " << target << ": " << models << " of " << runs << " inputs made a model\n";
    CHECK(models > 0);  // the mutations must not all be fatal, or the pipeline past the parser goes untested
    space.finished();
}

}  // namespace

TEST_CASE("mutated strace logs give a model or an error", "[fuzz]") {
    fuzz_log("strace", "strace", &usecase::ModelRequest::strace_log);
}

TEST_CASE("mutated perf trace output gives a model or an error", "[fuzz]") {
    fuzz_log("perf", "perf", &usecase::ModelRequest::perf_log);
}

TEST_CASE("mutated model.json loads or is bad input", "[fuzz]") {
    Workspace space;
    std::cerr << "fuzz model.json: inputs in " << space.dir << '\n';
    // The seeds: the models of the unmutated fixtures.
    std::vector<std::string> seeds;
    for (const char* folder : {"strace", "perf"})
        for (const auto& entry : fs::directory_iterator(fs::path(IODIAG_TEST_DATA) / folder)) {
            usecase::ModelRequest request;
            (std::string(folder) == "strace" ? request.strace_log : request.perf_log) = entry.path().string();
            if (auto run = usecase::build_model(request, usecase::silent_observer()))
                seeds.push_back(model::to_json(run->model).dump(2));
        }
    std::sort(seeds.begin(), seeds.end());
    const auto input = space.dir / "input.json";
    uint64_t loaded = 0;
    const uint64_t runs = fuzz("model.json", seeds, [&](const std::string& text) {
        space.write(input, text);
        Result<model::WorkloadModel> model = fail(ErrorKind::internal, "not run");
        REQUIRE_NOTHROW(model = model::load_model(input.string()));
        if (!model) {
            CHECK(model.error().kind == ErrorKind::bad_input);
            CHECK_THAT(model.error().message, Catch::Contains(input.string()));
            return;
        }
        ++loaded;
        check_model(*model, space);
    });
    std::cerr << "fuzz model.json: " << loaded << " of " << runs << " inputs loaded\n";
    space.finished();
}
