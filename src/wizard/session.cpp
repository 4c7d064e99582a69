#include "wizard/session.hpp"

#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <sys/utsname.h>

#include <fmt/format.h>

namespace iodiag::wizard {
namespace {

namespace fs = std::filesystem;

constexpr StepState kStates[] = {StepState::todo, StepState::running, StepState::done, StepState::failed,
                                 StepState::skipped};

std::string first_line_of(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

std::string format_utc(const char* format) {
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, format, &tm);
    return buf;
}

template <class T>
T get_or(const ordered_json& json, const char* key, T fallback) {
    if (!json.is_object() || !json.contains(key)) return fallback;
    try {
        return json.at(key).get<T>();
    } catch (const nlohmann::json::exception&) {
        return fallback;
    }
}

}  // namespace

std::string_view state_name(StepState state) {
    switch (state) {
    case StepState::todo: return "todo";
    case StepState::running: return "running";
    case StepState::done: return "done";
    case StepState::failed: return "failed";
    case StepState::skipped: return "skipped";
    }
    return "todo";
}

MachineId this_machine() {
    MachineId id;
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) == 0) id.hostname = host;
    utsname uts{};
    if (uname(&uts) == 0) id.kernel = uts.release;
    id.boot_id = first_line_of("/proc/sys/kernel/random/boot_id");
    return id;
}

StepRecord* Session::find(std::string_view id) {
    for (auto& step : steps)
        if (step.id == id) return &step;
    return nullptr;
}

const StepRecord* Session::find(std::string_view id) const {
    return const_cast<Session*>(this)->find(id);
}

std::string Session::path(std::string_view file) const { return (fs::path(dir) / file).string(); }

size_t Session::first_unfinished() const {
    for (size_t i = 0; i < steps.size(); ++i)
        if (steps[i].state == StepState::todo || steps[i].state == StepState::running) return i;
    return steps.size();
}

std::string utc_now() { return format_utc("%Y-%m-%dT%H:%M:%SZ"); }

Result<std::string> make_session_dir(const std::string& dir) {
    fs::path path = dir.empty() ? fs::current_path() / ("iodiag-" + format_utc("%Y%m%d-%H%M%S")) : fs::path(dir);
    std::error_code ec;
    if (fs::exists(path / kSessionFile, ec))
        return fail(ErrorKind::usage, fmt::format("{} already holds a session", path.string()),
                    fmt::format("continue it with --resume {}, or choose another --session folder", path.string()));
    fs::create_directories(path, ec);
    if (ec) return fail(ErrorKind::output, fmt::format("cannot create {}: {}", path.string(), ec.message()));
    if (access(path.c_str(), W_OK) != 0)
        return fail(ErrorKind::output, fmt::format("cannot write in {}", path.string()),
                    "choose another folder with --session DIR");
    return fs::absolute(path).lexically_normal().string();
}

ordered_json to_json(const Session& session) {
    ordered_json steps = ordered_json::array();
    for (const auto& step : session.steps)
        steps.push_back({{"id", step.id},
                         {"state", std::string(state_name(step.state))},
                         {"reason", step.reason},
                         {"started", step.started},
                         {"ended", step.ended},
                         {"seconds", step.seconds},
                         {"params", step.params},
                         {"outputs", step.outputs},
                         {"summary", step.summary},
                         {"findings", step.findings}});
    return {{"schema", kSessionSchema},
            {"tool_version", session.tool_version},
            {"created", session.created},
            {"updated", session.updated},
            {"machine",
             {{"hostname", session.machine.hostname},
              {"kernel", session.machine.kernel},
              {"boot_id", session.machine.boot_id}}},
            {"playbook", {{"name", session.playbook_name}, {"file", session.playbook_file}}},
            {"target",
             {{"pid", session.target.pid},
              {"command", session.target.command},
              {"children", session.target.children},
              {"description", session.target.description}}},
            {"answers", session.answers},
            {"finished", session.finished},
            {"steps", std::move(steps)},
            {"playbook_source", session.playbook_source}};
}

Result<Session> session_from_json(const ordered_json& json, const std::string& dir) {
    const std::string origin = (fs::path(dir) / kSessionFile).string();
    if (!json.is_object() || !json.contains("schema"))
        return fail(ErrorKind::bad_input, origin + ": not an iodiag session (no 'schema')");
    if (json.at("schema") != kSessionSchema)
        return fail(ErrorKind::bad_input,
                    fmt::format("{}: session schema {} (this iodiag reads schema {})", origin, json.at("schema").dump(),
                                kSessionSchema),
                    "start a new session; iodiag report DIR still reads its outputs");
    Session session;
    session.dir = dir;
    try {
        session.tool_version = get_or<std::string>(json, "tool_version", "");
        session.created = get_or<std::string>(json, "created", "");
        session.updated = get_or<std::string>(json, "updated", "");
        const auto machine = json.value("machine", ordered_json::object());
        session.machine = {get_or<std::string>(machine, "hostname", ""), get_or<std::string>(machine, "kernel", ""),
                           get_or<std::string>(machine, "boot_id", "")};
        const auto playbook = json.value("playbook", ordered_json::object());
        session.playbook_name = get_or<std::string>(playbook, "name", "");
        session.playbook_file = get_or<std::string>(playbook, "file", "");
        session.playbook_source = json.value("playbook_source", ordered_json());
        const auto target = json.value("target", ordered_json::object());
        session.target.pid = get_or<int32_t>(target, "pid", 0);
        session.target.command = get_or<std::vector<std::string>>(target, "command", {});
        session.target.children = get_or<bool>(target, "children", false);
        session.target.description = get_or<std::string>(target, "description", "");
        session.answers = json.value("answers", ordered_json::object());
        session.finished = get_or<bool>(json, "finished", false);
        for (const auto& item : json.value("steps", ordered_json::array())) {
            StepRecord step;
            step.id = get_or<std::string>(item, "id", "");
            const std::string state = get_or<std::string>(item, "state", "todo");
            bool known = false;
            for (StepState s : kStates)
                if (state_name(s) == state) step.state = s, known = true;
            if (step.id.empty() || !known)
                return fail(ErrorKind::bad_input, fmt::format("{}: a step without id or with state '{}'", origin, state));
            step.reason = get_or<std::string>(item, "reason", "");
            step.started = get_or<std::string>(item, "started", "");
            step.ended = get_or<std::string>(item, "ended", "");
            step.seconds = get_or<double>(item, "seconds", 0.0);
            step.params = get_or<std::map<std::string, std::string>>(item, "params", {});
            step.outputs = get_or<std::vector<std::string>>(item, "outputs", {});
            step.summary = get_or<std::vector<std::string>>(item, "summary", {});
            step.findings = get_or<std::vector<std::string>>(item, "findings", {});
            session.steps.push_back(std::move(step));
        }
    } catch (const nlohmann::json::exception& e) {
        return fail(ErrorKind::bad_input, fmt::format("{}: {}", origin, e.what()));
    }
    return session;
}

Status write_file_atomic(const std::string& path, const std::string& content) {
    const std::string temp = path + ".tmp";
    {
        std::ofstream out(temp, std::ios::trunc);
        out << content;
        out.flush();
        if (!out) return fail(ErrorKind::output, "cannot write " + temp);
    }
    // fsync the data before the rename, so a crash leaves the old file or the new one, whole.
    if (FILE* f = std::fopen(temp.c_str(), "r")) {
        fsync(fileno(f));
        std::fclose(f);
    }
    std::error_code ec;
    fs::rename(temp, path, ec);
    if (ec) return fail(ErrorKind::output, fmt::format("cannot rename {} to {}: {}", temp, path, ec.message()));
    return {};
}

Status save_session(Session& session) {
    session.updated = utc_now();
    return write_file_atomic(session.path(kSessionFile), to_json(session).dump(2) + "\n");
}

Result<Session> load_session(const std::string& dir) {
    const fs::path path = fs::path(dir) / kSessionFile;
    std::ifstream in(path);
    if (!in)
        return fail(ErrorKind::not_found, fmt::format("no session in {} (no {})", dir, kSessionFile),
                    "give the folder a diagnose run made (--session DIR, or the iodiag-DATE folder)");
    ordered_json json;
    try {
        json = ordered_json::parse(in);
    } catch (const nlohmann::json::parse_error& e) {
        return fail(ErrorKind::bad_input, fmt::format("{}: not valid JSON: {}", path.string(), e.what()));
    }
    std::error_code ec;
    return session_from_json(json, fs::absolute(dir, ec).lexically_normal().string());
}

Status check_resumable(const Session& session) {
    if (session.tool_version != IODIAG_VERSION)
        return fail(ErrorKind::bad_input,
                    fmt::format("{} was made by iodiag {}; this is iodiag {}", session.dir, session.tool_version,
                                IODIAG_VERSION),
                    "start a new session; iodiag report " + session.dir + " still writes its report");
    const MachineId here = this_machine();
    if (session.machine.hostname != here.hostname || session.machine.boot_id != here.boot_id)
        return fail(ErrorKind::bad_input,
                    fmt::format("{} was made on {} (boot {}), not on this machine and boot: its target and "
                                "files are not here",
                                session.dir, session.machine.hostname, session.machine.boot_id.substr(0, 8)),
                    "start a new session here; iodiag report " + session.dir + " still writes its report");
    if (session.finished)
        return fail(ErrorKind::usage, fmt::format("the session in {} is finished", session.dir),
                    "read its report.md, rewrite it with iodiag report " + session.dir +
                        ", or start a new session");
    return {};
}

}  // namespace iodiag::wizard
