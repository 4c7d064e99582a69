#include "model/workload_model.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include <unistd.h>

// ValueCounts read best as {"4096": 120, "8192": 3}: nlohmann's default for a map with integer
// keys is a list of pairs.
namespace nlohmann {
template <>
struct adl_serializer<iodiag::model::ValueCounts> {
    template <class Json>
    static void to_json(Json& j, const iodiag::model::ValueCounts& counts) {
        j = Json::object();
        for (const auto& [value, count] : counts) j[std::to_string(value)] = count;
    }
    template <class Json>
    static void from_json(const Json& j, iodiag::model::ValueCounts& counts) {
        counts.clear();
        for (const auto& [key, count] : j.items()) {
            size_t used = 0;
            uint64_t value = std::stoull(key, &used);
            if (used != key.size()) throw std::invalid_argument("not a number: " + key);
            counts[value] = count.template get<uint64_t>();
        }
    }
};
}  // namespace nlohmann

namespace iodiag {

// nlohmann's NLOHMANN_DEFINE_TYPE_* macros only target nlohmann::json; model.json keeps field
// order (ordered_json), so the same field lists are expanded here for it. Loading is strict:
// every field must be present, so a truncated or hand-cut model is reported, not half-loaded.
#define IODIAG_JSON_FIELDS(Type, ...)                                                             \
    void to_json(nlohmann::ordered_json& nlohmann_json_j, const Type& nlohmann_json_t) {                    \
        NLOHMANN_JSON_EXPAND(NLOHMANN_JSON_PASTE(NLOHMANN_JSON_TO, __VA_ARGS__))                  \
    }                                                                                             \
    void from_json(const nlohmann::ordered_json& nlohmann_json_j, Type& nlohmann_json_t) {                  \
        NLOHMANN_JSON_EXPAND(NLOHMANN_JSON_PASTE(NLOHMANN_JSON_FROM, __VA_ARGS__))                \
    }

IODIAG_JSON_FIELDS(Summary, count, min, mean, p50, p90, p99, p999, max)

namespace model {

IODIAG_JSON_FIELDS(PatternEvidence, ops, consecutive, sequential, backward, strided, stride)
IODIAG_JSON_FIELDS(DirectionEvidence, ops, bytes, errors, short_ops, sizes, pattern, latency_us)
IODIAG_JSON_FIELDS(Evidence, reads, writes, fsyncs, fdatasyncs, sync_file_ranges, writes_per_flush,
                   flush_latency_us, syscalls, direct_ops, sync_ops, dsync_ops, inflight,
                   submit_batch, complete_batch, complete_min, idle_gap_us, busy_fraction, iops,
                   bandwidth_bytes_s, active_seconds, offset_min, offset_max)
IODIAG_JSON_FIELDS(FileUse, path, kind, size, ops, bytes)
IODIAG_JSON_FIELDS(JobGroup, name, threads, processes, files, engine, pattern, direction, fio,
                   unknown, notes, evidence)
IODIAG_JSON_FIELDS(TargetInfo, pid, comm, cmdline)
IODIAG_JSON_FIELDS(SourceInfo, kind, detail, why, lines, bad_lines, events, dropped_events, totals)
IODIAG_JSON_FIELDS(DeviceEvidence, name, dev, requests, reads, writes, flushes, bytes, attributed, sizes,
                   pattern, in_device, q2d_us, d2c_us)
IODIAG_JSON_FIELDS(WorkloadModel, schema_version, tool_version, created, target, source, duration_s,
                   complete, end_reason, groups, devices, ignored)

#undef IODIAG_JSON_FIELDS

ordered_json to_json(const WorkloadModel& model) {
    ordered_json json;
    to_json(json, model);
    return json;
}

Result<WorkloadModel> from_json(const ordered_json& json) {
    if (!json.is_object())
        return fail(ErrorKind::bad_input, "model is not a JSON object");
    if (!json.contains("schema_version"))
        return fail(ErrorKind::bad_input, "model has no schema_version",
                    "is this a model.json written by `iodiag model`?");
    const auto& version = json.at("schema_version");
    if (!version.is_number_integer() || version.get<int>() != kSchemaVersion)
        return fail(ErrorKind::bad_input,
                    "model schema_version " + version.dump() + " is not supported (this iodiag reads " +
                        std::to_string(kSchemaVersion) + ")",
                    "re-run `iodiag model` with this version of iodiag");
    try {
        WorkloadModel model;
        from_json(json, model);
        return model;
    } catch (const nlohmann::json::exception& e) {
        return fail(ErrorKind::bad_input, std::string("model is incomplete or hand-edited: ") + e.what(),
                    "re-run `iodiag model` to produce a complete model.json");
    } catch (const std::exception& e) {
        return fail(ErrorKind::bad_input, std::string("model has a malformed value: ") + e.what());
    }
}

Status save_model(const WorkloadModel& model, const std::string& path) {
    const std::string temp = path + ".tmp." + std::to_string(::getpid());
    {
        std::ofstream out(temp, std::ios::trunc);
        if (!out)
            return fail(ErrorKind::output, "cannot write " + temp + ": " + std::strerror(errno),
                        "choose a writable output path with -o");
        out << to_json(model).dump(2) << '\n';
        out.flush();
        if (!out) {
            std::remove(temp.c_str());
            return fail(ErrorKind::output, "writing " + temp + " failed: " + std::strerror(errno),
                        "is the file system full?");
        }
    }
    if (std::rename(temp.c_str(), path.c_str()) != 0) {
        int err = errno;
        std::remove(temp.c_str());
        return fail(ErrorKind::output, "cannot rename " + temp + " to " + path + ": " + std::strerror(err));
    }
    return {};
}

Result<WorkloadModel> load_model(const std::string& path) {
    std::ifstream in(path);
    if (!in)
        return fail(errno == ENOENT ? ErrorKind::not_found : ErrorKind::bad_input,
                    "cannot read " + path + ": " + std::strerror(errno));
    ordered_json json;
    try {
        json = ordered_json::parse(in);
    } catch (const nlohmann::json::parse_error& e) {
        return fail(ErrorKind::bad_input, path + " is not valid JSON: " + e.what(),
                    "the file may be truncated; re-run `iodiag model`");
    }
    auto model = from_json(json);
    if (!model) {
        model.error().message = path + ": " + model.error().message;
        return model;
    }
    return model;
}

}  // namespace model
}  // namespace iodiag
