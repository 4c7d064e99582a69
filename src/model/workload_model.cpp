#include "model/workload_model.hpp"

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <type_traits>
#include <utility>

#include <fmt/format.h>

#include <unistd.h>

// ValueCounts read best as {"4096": 120, "8192": 3}: nlohmann's default for a map with integer
// keys is a list of pairs. (Loading is read_value's.)
namespace nlohmann {
template <>
struct adl_serializer<iodiag::model::ValueCounts> {
    template <class Json>
    static void to_json(Json& j, const iodiag::model::ValueCounts& counts) {
        j = Json::object();
        for (const auto& [value, count] : counts) j[std::to_string(value)] = count;
    }
};
}  // namespace nlohmann

namespace iodiag {
namespace model {

using Pointer = ordered_json::json_pointer;

namespace {

// A field that is missing, of the wrong type or out of range, by its JSON pointer ("" = the whole
// model). Thrown inside the loader only; from_json turns it into bad_input.
struct FieldError {
    std::string field;
    std::string problem;
};

[[noreturn]] void bad_field(const Pointer& at, std::string problem) {
    throw FieldError{at.to_string(), std::move(problem)};
}

// A value as the message quotes it: short, and safe for any bytes in a string.
std::string quoted(const ordered_json& value) {
    constexpr size_t kMax = 40;
    std::string text = value.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
    return text.size() > kMax ? text.substr(0, kMax - 3) + "..." : text;
}

template <class T> struct is_vector : std::false_type {};
template <class T> struct is_vector<std::vector<T>> : std::true_type {};
template <class T> struct is_map : std::false_type {};
template <class K, class V> struct is_map<std::map<K, V>> : std::true_type {};

// Reads `json` into `out`, checking what nlohmann's get<>() does not: get<uint32_t>() wraps 2^40
// and -1 without a word, and get<std::string>() on a number throws without saying which field.
// Structs go through their read_fields (IODIAG_JSON_FIELDS below), found by ADL.
template <class T>
void read_value(const ordered_json& json, const Pointer& at, T& out) {
    if constexpr (std::is_same_v<T, bool>) {
        if (!json.is_boolean()) bad_field(at, "expected true or false, found " + quoted(json));
        out = json.get<bool>();
    } else if constexpr (std::is_integral_v<T>) {
        if (!json.is_number_integer()) bad_field(at, "expected a whole number, found " + quoted(json));
        // nlohmann keeps a non-negative integer as unsigned, a negative one as signed.
        const bool fits = json.is_number_unsigned() ? std::in_range<T>(json.get<uint64_t>())
                                                    : std::in_range<T>(json.get<int64_t>());
        if (!fits)
            bad_field(at, fmt::format("{} is out of range ({} to {})", quoted(json), std::numeric_limits<T>::min(),
                                      std::numeric_limits<T>::max()));
        out = json.is_number_unsigned() ? static_cast<T>(json.get<uint64_t>()) : static_cast<T>(json.get<int64_t>());
    } else if constexpr (std::is_floating_point_v<T>) {
        if (!json.is_number()) bad_field(at, "expected a number, found " + quoted(json));
        out = json.get<T>();
    } else if constexpr (std::is_same_v<T, std::string>) {
        if (!json.is_string()) bad_field(at, "expected a string, found " + quoted(json));
        out = json.get<std::string>();
    } else if constexpr (std::is_same_v<T, ordered_json>) {
        // The free-form parts (a group's fio options, the bpf source's totals) are objects.
        if (!json.is_object()) bad_field(at, "expected an object, found " + quoted(json));
        out = json;
    } else if constexpr (is_vector<T>::value) {
        if (!json.is_array()) bad_field(at, "expected an array, found " + quoted(json));
        out.clear();
        out.resize(json.size());
        for (size_t i = 0; i < json.size(); ++i) read_value(json[i], at / i, out[i]);
    } else if constexpr (is_map<T>::value) {
        if (!json.is_object()) bad_field(at, "expected an object, found " + quoted(json));
        out.clear();
        for (const auto& [key, value] : json.items()) {
            typename T::key_type k{};
            if constexpr (std::is_same_v<typename T::key_type, std::string>) {
                k = key;
            } else {
                // ValueCounts read best as {"4096": 120, "8192": 3}: the value is the key.
                const auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), k);
                if (ec != std::errc() || end != key.data() + key.size() || key.empty())
                    bad_field(at / key, "the key is not a whole number from 0 to " +
                                            std::to_string(std::numeric_limits<typename T::key_type>::max()));
            }
            read_value(value, at / key, out[k]);
        }
    } else {
        if (!json.is_object()) bad_field(at, "expected an object, found " + quoted(json));
        read_fields(json, at, out);
    }
}

template <class T>
void read_field(const ordered_json& json, const Pointer& at, const char* name, T& out) {
    const auto found = json.find(name);
    if (found == json.end()) bad_field(at / name, "missing");
    read_value(*found, at / name, out);
}

}  // namespace
}  // namespace model

// nlohmann's NLOHMANN_DEFINE_TYPE_* macros only target nlohmann::json; model.json keeps field
// order (ordered_json), so the same field lists are expanded here for it. Loading is strict:
// every field must be present and of its type, so a truncated or hand-cut model is reported, not
// half-loaded.
#define IODIAG_READ_FIELD(field) ::iodiag::model::read_field(json, at, #field, out.field);
#define IODIAG_JSON_FIELDS(Type, ...)                                                             \
    void to_json(nlohmann::ordered_json& nlohmann_json_j, const Type& nlohmann_json_t) {         \
        NLOHMANN_JSON_EXPAND(NLOHMANN_JSON_PASTE(NLOHMANN_JSON_TO, __VA_ARGS__))                  \
    }                                                                                             \
    void read_fields(const nlohmann::ordered_json& json, const ::iodiag::model::Pointer& at, Type& out) { \
        NLOHMANN_JSON_EXPAND(NLOHMANN_JSON_PASTE(IODIAG_READ_FIELD, __VA_ARGS__))                 \
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
IODIAG_JSON_FIELDS(ThreadUse, tid, tgid, comm, groups)
IODIAG_JSON_FIELDS(TargetInfo, pid, comm, cmdline)
IODIAG_JSON_FIELDS(SourceInfo, kind, detail, why, lines, bad_lines, events, dropped_events, totals)
IODIAG_JSON_FIELDS(DeviceEvidence, name, dev, requests, reads, writes, flushes, bytes, attributed, sizes,
                   pattern, in_device, q2d_us, d2c_us)
IODIAG_JSON_FIELDS(WorkloadModel, schema_version, tool_version, created, target, source, duration_s,
                   complete, end_reason, groups, threads, devices, ignored)

#undef IODIAG_JSON_FIELDS
#undef IODIAG_READ_FIELD

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
    // get<int64_t>: 2^32 + 1 is not 1 (get<int>() wrapped it); a version in memory is signed, read from a file unsigned.
    constexpr int kOldestSchema = 1;
    if (!version.is_number_integer() || version.get<int64_t>() < kOldestSchema ||
        version.get<int64_t>() > kSchemaVersion)
        return fail(ErrorKind::bad_input,
                    fmt::format("model schema_version {} is not supported (this iodiag reads {} to {})",
                                quoted(version), kOldestSchema, kSchemaVersion),
                    "re-run `iodiag model` with this version of iodiag");
    try {
        WorkloadModel model;
        if (version.get<int64_t>() == 1 && !json.contains("threads")) {
            // Version 1 had no `threads`; everything else is as it was.
            ordered_json upgraded = json;
            upgraded["threads"] = ordered_json::array();
            read_value(upgraded, Pointer(), model);
        } else {
            read_value(json, Pointer(), model);
        }
        model.schema_version = kSchemaVersion;
        return model;
    } catch (const FieldError& e) {
        return fail(ErrorKind::bad_input, "model field " + e.field + ": " + e.problem,
                    "the model is incomplete or hand-edited; re-run `iodiag model` to write a complete one");
    }
}

Status save_model(const WorkloadModel& model, const std::string& path) {
    const std::string temp = path + ".tmp." + std::to_string(::getpid());
    {
        std::ofstream out(temp, std::ios::trunc);
        if (!out)
            return fail(ErrorKind::output, "cannot write " + temp + ": " + std::strerror(errno),
                        "choose a writable output path with -o");
        // replace: a path or comm from a trace may not be UTF-8 (found by tests/fuzz); it is
        // written with U+FFFD rather than failing the whole model.
        out << to_json(model).dump(2, ' ', false, ordered_json::error_handler_t::replace) << '\n';
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

namespace {

// Follows the parser through the document, so that an error it raises without a position (a
// number out of range: 1e309) can name the field it was reading.
class ParsePosition {
public:
    bool on_event(ordered_json::parse_event_t event, const ordered_json& parsed) {
        using Event = ordered_json::parse_event_t;
        switch (event) {
        case Event::object_start:
        case Event::array_start:
            begin_value();
            levels_.push_back({event == Event::array_start, {}, 0});
            break;
        case Event::key: levels_.back().key = parsed.get<std::string>(); break;
        case Event::object_end:
        case Event::array_end: levels_.pop_back(); break;
        case Event::value: begin_value(); break;
        }
        return true;
    }

    // The field the parser was reading when it stopped, as a JSON pointer.
    std::string field() const {
        if (levels_.empty()) return "the top level";
        Pointer at;
        for (size_t i = 0; i < levels_.size(); ++i) {
            const Level& level = levels_[i];
            // An outer array's value in hand has begun; the innermost one's failing value has not.
            const size_t index = i + 1 == levels_.size() ? level.values : level.values - 1;
            at = level.array ? at / index : at / level.key;
        }
        return at.to_string();
    }

private:
    struct Level {
        bool array;
        std::string key;   // object: the key of the value being read
        size_t values;     // array: values begun
    };
    void begin_value() {
        if (!levels_.empty() && levels_.back().array) ++levels_.back().values;
    }
    std::vector<Level> levels_;
};

// Where parsing `path` stops, as a JSON pointer: a second pass, on the error path only, so a good
// model loads without the per-event callback.
std::string field_of_parse_error(const std::string& path) {
    std::ifstream in(path);
    ParsePosition position;
    try {
        const ordered_json complete = ordered_json::parse(in, [&position](int, ordered_json::parse_event_t event, ordered_json& parsed) {
            return position.on_event(event, parsed);
        });
    } catch (const nlohmann::json::exception&) {
        // Expected: it stops where the first parse did.
    }
    return position.field();
}

}  // namespace

Result<WorkloadModel> load_model(const std::string& path) {
    std::ifstream in(path);
    if (!in)
        return fail(errno == ENOENT ? ErrorKind::not_found : ErrorKind::bad_input,
                    "cannot read " + path + ": " + std::strerror(errno));
    ordered_json json;
    try {
        json = ordered_json::parse(in);
    } catch (const nlohmann::json::exception& e) {
        // A syntax error (parse_error) or a number too large for a double (out_of_range).
        return fail(ErrorKind::bad_input, fmt::format("{} is not valid JSON, at {}: {}", path,
                                                      field_of_parse_error(path), e.what()),
                    "the file may be truncated or hand-edited; re-run `iodiag model`");
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
