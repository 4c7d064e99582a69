#include "fio_harness.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include <unistd.h>

namespace iodiag::testing {

namespace fs = std::filesystem;

fs::path traced_job(const ScratchDir& dir) { return dir.path() / "job.fio"; }
fs::path model_file(const ScratchDir& dir) { return dir.path() / "model.json"; }

double measure_fio_iops(const std::string& job_path) {
    const std::string report = job_path + ".untraced.json";
    auto run = run_capture({"fio", "--output-format=json", "--output=" + report, job_path});
    REQUIRE(run);
    INFO(run->err);
    REQUIRE(run->exit_code == 0);
    std::ifstream in(report);
    auto json = nlohmann::json::parse(in);
    double iops = 0;
    for (const auto& job : json.at("jobs")) iops += job.at("read").at("iops").get<double>() + job.at("write").at("iops").get<double>();
    return iops;
}

fs::path write_fio_job(const ScratchDir& dir, const std::string& name, const std::string& job_body, int seconds) {
    const fs::path job = dir.path() / name;
    {
        std::ofstream out(job);
        out << "[global]\ndirectory=" << dir.path().string() << "\nruntime=" << seconds
            << "\ntime_based=1\ngroup_reporting=1\n\n" << job_body << "\n";
    }
    // Lay the files out first, untraced: fio's layout writes are not the workload.
    auto layout = run_capture({"fio", "--create_only=1", "--output=/dev/null", job.string()});
    REQUIRE(layout);
    INFO(layout->err);
    REQUIRE(layout->exit_code == 0);
    return job;
}

ReaderRun run_on_direct_reader(const ScratchDir& dir, const std::vector<std::string>& iodiag_args, int seconds) {
    const fs::path job =
        write_fio_job(dir, "reader.fio", "[r]\nrw=randread\nbs=4k\nioengine=psync\ndirect=1\nsize=16m\n", seconds);
    const std::string report = (dir.path() / "fio.json").string();
    std::vector<std::string> args = iodiag_args;
    for (std::string part : {"--", "fio", "--output-format=json"}) args.push_back(part);
    args.push_back("--output=" + report);
    args.push_back(job.string());
    auto run = run_iodiag(args);
    INFO("iodiag stdout:\n" << run.out << "\niodiag stderr:\n" << run.err);
    REQUIRE(run.exit_code == 0);
    ReaderRun out;
    out.out = nlohmann::json::parse(run.out);
    std::ifstream in(report);
    out.fio_read = nlohmann::json::parse(in).at("jobs").at(0).at("read");
    out.reads = out.fio_read.at("total_ios").get<uint64_t>();
    out.data_file = dir.path() / "r.0.0";
    return out;
}

model::WorkloadModel model_fio_job(const ScratchDir& dir, const std::string& job_body, int seconds,
                                   const std::vector<std::string>& extra_iodiag_args) {
    const fs::path job = write_fio_job(dir, traced_job(dir).filename().string(), job_body, seconds);

    return model_command(model_file(dir).string(), extra_iodiag_args, {"fio", "--output=/dev/null", job.string()});
}

model::WorkloadModel model_command(const std::string& model_path, const std::vector<std::string>& iodiag_args,
                                   const std::vector<std::string>& command) {
    std::vector<std::string> args{"model", "-o", model_path};
    args.insert(args.end(), iodiag_args.begin(), iodiag_args.end());
    args.push_back("--");
    args.insert(args.end(), command.begin(), command.end());
    auto run = run_iodiag(args);
    INFO("iodiag stdout:\n" << run.out << "\niodiag stderr:\n" << run.err);
    REQUIRE(run.exit_code == 0);
    auto model = model::load_model(model_path);
    REQUIRE(model);
    return *model;
}

const model::JobGroup& group_with(const model::WorkloadModel& model, const std::string& key,
                                  const std::string& value) {
    const model::JobGroup* found = nullptr;
    int matches = 0;
    for (const auto& group : model.groups)
        if (group.fio.contains(key) && group.fio.at(key) == value) found = &group, ++matches;
    INFO("model: " << model::to_json(model).dump(2).substr(0, 6000));
    REQUIRE(matches == 1);
    return *found;
}

model::ordered_json option(const model::JobGroup& group, const char* key) {
    return group.fio.contains(key) ? group.fio.at(key) : model::ordered_json();
}

}  // namespace iodiag::testing
