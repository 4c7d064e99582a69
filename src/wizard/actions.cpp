#include "wizard/actions.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>

#include <fmt/format.h>

#include "analysis/latency.hpp"
#include "common/units.hpp"
#include "fio/safety.hpp"
#include "model/workload_model.hpp"
#include "report/report.hpp"
#include "stack/finding.hpp"
#include "stack/stack_output.hpp"
#include "trace/proc_fd.hpp"
#include "usecase/kvm_compare.hpp"
#include "usecase/kvm_inspect.hpp"
#include "usecase/kvm_trace.hpp"
#include "usecase/latency.hpp"
#include "usecase/model.hpp"
#include "usecase/offcpu.hpp"
#include "usecase/probe.hpp"
#include "usecase/reproduce.hpp"
#include "usecase/slow.hpp"
#include "usecase/stack.hpp"
#include "wizard/facts.hpp"

namespace iodiag::wizard {
namespace {

namespace fs = std::filesystem;
using Params = std::map<std::string, std::string>;

constexpr size_t kSummaryRows = 6;

std::string param(const Params& params, const std::string& name) {
    auto it = params.find(name);
    return it == params.end() ? std::string() : it->second;
}

uint64_t duration_ms(const Params& params, const std::string& name = "duration") {
    auto ns = parse_duration_ns(param(params, name));
    return ns ? std::max<uint64_t>(1, *ns / 1'000'000) : 0;
}

uint64_t duration_ns(const Params& params, const std::string& name) { return parse_duration_ns(param(params, name)).value_or(0); }

bool alive(int32_t pid) { return pid > 0 && trace::ProcFs().comm(pid).has_value(); }

Status write_json(const Session& session, const std::string& file, const nlohmann::ordered_json& json) {
    return write_file_atomic(session.path(file), json.dump(2) + "\n");
}

// The session's target for a tracing use case. A launched command's output goes to a file in the
// session folder, so it does not mix with the checklist.
Result<usecase::TraceTarget> trace_target(const Session& session, const Step& step, const Params& params) {
    usecase::TraceTarget target;
    target.pid = session.target.pid;
    target.command = session.target.command;
    target.children = session.target.children;
    target.progress = session.target.progress;
    target.duration_ms = duration_ms(params);
    if (target.pid && !alive(target.pid))
        return fail(ErrorKind::not_found, fmt::format("the target, pid {}, is gone", target.pid),
                    "start the process again and begin a new session");
    if (!target.command.empty()) target.command_stdout = session.path(step.id + "-command-output.txt");
    return target;
}

std::string fio_value(const nlohmann::ordered_json& fio, const char* key) {
    if (!fio.contains(key)) return "-";
    return fio.at(key).is_string() ? fio.at(key).get<std::string>() : fio.at(key).dump();
}

// --- each action -----------------------------------------------------------------------------

Result<StepOutcome> run_model(const Step& step, const Params& params, Session& session, usecase::Observer& observer) {
    auto target = trace_target(session, step, params);
    if (!target) return tl::unexpected(target.error());
    usecase::ModelRequest request;
    request.target = *target;
    request.source = param(params, "source").empty() ? "auto" : param(params, "source");
    auto run = usecase::build_model(request, observer);
    if (!run) return tl::unexpected(run.error());
    const model::WorkloadModel& model = run->model;
    if (auto ok = model::save_model(model, session.path("model.json")); !ok) return tl::unexpected(ok.error());

    StepOutcome out;
    out.outputs = {"model.json"};
    out.summary.push_back(fmt::format("{:.1f}s with {}, {} IO events, {} group(s), ended: {}", model.duration_s,
                                      model.source.kind, model.source.events, model.groups.size(), model.end_reason));
    for (const auto& g : model.groups)
        out.summary.push_back(fmt::format("{}: rw={} bs={} ioengine={} iodepth={} numjobs={} direct={} {:.0f} IOPS, {} in IO calls",
                                          g.name, fio_value(g.fio, "rw"),
                                          g.fio.contains("bs") ? fio_value(g.fio, "bs") : fio_value(g.fio, "bssplit"),
                                          fio_value(g.fio, "ioengine"), fio_value(g.fio, "iodepth"),
                                          fio_value(g.fio, "numjobs"), fio_value(g.fio, "direct"), g.evidence.iops,
                                          fmt::format("{:.0f}%", 100 * g.evidence.busy_fraction)));
    if (!model.complete) out.note = "the trace was cut short (" + model.end_reason + "): the model has what was gathered";
    return out;
}

// The folder of the first disk image kvm inspect found (a file image, not a block device).
std::string image_folder(const Session& session) {
    std::ifstream in(session.path("kvm.json"));
    if (!in) return {};
    const auto kvm = nlohmann::ordered_json::parse(in, nullptr, false);
    std::vector<std::string> images;
    const std::function<void(const nlohmann::ordered_json&)> walk = [&](const nlohmann::ordered_json& j) {
        if (j.is_object()) {
            if (j.contains("image") && j.at("image").is_string()) images.push_back(j.at("image").get<std::string>());
            for (const auto& [key, value] : j.items()) walk(value);
        } else if (j.is_array()) {
            for (const auto& item : j) walk(item);
        }
    };
    walk(kvm);
    std::error_code ec;
    for (const auto& image : images)
        if (fs::is_regular_file(image, ec)) return fs::path(image).parent_path().string();
    return {};
}

// Where the workload's data lives: the folder of the file the model saw the most IO on, or on a
// qemu host the folder of the guest's image.
std::string workload_folder(const Session& session) {
    auto model = model::load_model(session.path("model.json"));
    if (!model) return image_folder(session);
    const model::FileUse* busiest = nullptr;
    for (const auto& g : model->groups)
        for (const auto& f : g.files)
            if (f.kind != "block" && (!busiest || f.ops > busiest->ops)) busiest = &f;
    if (!busiest || busiest->path.empty() || busiest->path.front() != '/') return {};
    std::error_code ec;
    const fs::path folder = fs::path(busiest->path).parent_path();
    return fs::is_directory(folder, ec) ? folder.string() : std::string();
}

Result<StepOutcome> run_stack(const Step&, const Params& params, Session& session, usecase::Observer& observer) {
    usecase::StackRequest request;
    request.path = param(params, "path");
    if (request.path.empty()) request.path = workload_folder(session);
    if (request.path.empty()) {
        if (!alive(session.target.pid))
            return fail(ErrorKind::not_found, "no path to inspect: no model with files, and no running target",
                        "give the step a path (answers: \"stack.path\": \"/var/lib/db\")");
        request.pid = session.target.pid;
    }
    observer.note(request.pid ? fmt::format("the files pid {} has open", request.pid) : "under " + request.path);
    auto result = usecase::inspect_stack(request);
    if (!result) return tl::unexpected(result.error());
    if (auto ok = write_json(session, "stack.json", usecase::to_json(*result)); !ok) return tl::unexpected(ok.error());

    StepOutcome out;
    out.outputs = {"stack.json"};
    const std::string tree = std::visit([](const auto& report) { return stack::render_text(report); }, result->report);
    size_t lines = 0;
    for (size_t at = 0; at < tree.size() && lines < 14; ++lines) {
        const size_t end = tree.find('\n', at);
        out.summary.push_back(tree.substr(at, end == std::string::npos ? std::string::npos : end - at));
        if (end == std::string::npos) break;
        at = end + 1;
    }
    out.summary.push_back(result->virtualization.guest ? "this machine is a guest (" + result->virtualization.hypervisor + ")"
                                                       : "this machine is not a guest");
    for (const auto& f : result->findings)
        out.summary.push_back(fmt::format("finding [{}]: {}", stack::severity_name(f.severity), f.title));
    return out;
}

Result<StepOutcome> run_latency(const Step& step, const Params& params, Session& session, usecase::Observer& observer) {
    auto target = trace_target(session, step, params);
    if (!target) return tl::unexpected(target.error());
    usecase::LatencyRequest request;
    request.target = *target;
    auto run = usecase::measure_latency(request, observer);
    if (!run) return tl::unexpected(run.error());
    if (auto ok = write_json(session, "latency.json", usecase::to_json(*run)); !ok) return tl::unexpected(ok.error());
    StepOutcome out;
    out.outputs = {"latency.json"};
    auto rows = run->rows;
    std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.total_ns > b.total_ns; });
    out.summary.push_back(fmt::format("{:.1f}s, {}", run->seconds, run->end ? usecase::describe_end(*run->end) : ""));
    for (size_t i = 0; i < rows.size() && i < kSummaryRows; ++i)
        out.summary.push_back(fmt::format("{:<18} {:<16} {:>8} calls  p50 {:>8.1f} us  p99 {:>8.1f} us  total {:.1f} ms",
                                          analysis::layer_name(rows[i].layer), rows[i].name, rows[i].us.count,
                                          rows[i].us.p50, rows[i].us.p99, static_cast<double>(rows[i].total_ns) / 1e6));
    return out;
}

Result<StepOutcome> run_slow(const Step& step, const Params& params, Session& session, usecase::Observer& observer) {
    auto target = trace_target(session, step, params);
    if (!target) return tl::unexpected(target.error());
    usecase::SlowRequest request;
    request.target = *target;
    request.min_ns = duration_ns(params, "min");
    auto run = usecase::find_slow_ops(request, observer);
    if (!run) return tl::unexpected(run.error());
    if (auto ok = write_json(session, "slow.json", usecase::to_json(*run)); !ok) return tl::unexpected(ok.error());
    StepOutcome out;
    out.outputs = {"slow.json"};
    out.summary.push_back(fmt::format("{} operations at or over {}, {}", run->listed.size(), param(params, "min"),
                                      usecase::describe_end(run->end)));
    for (const auto& [layer, counts] : run->counts)
        out.summary.push_back(fmt::format("{:<8} {} slow of {}", usecase::slow_layer_name(layer), counts.slow, counts.seen));
    auto listed = run->listed;
    std::stable_sort(listed.begin(), listed.end(), [](const auto& a, const auto& b) { return a.op.latency_ns > b.op.latency_ns; });
    for (size_t i = 0; i < listed.size() && i < 3; ++i)
        out.summary.push_back(fmt::format("slowest: {} {} {:.1f} ms", listed[i].op.op, listed[i].op.file,
                                          static_cast<double>(listed[i].op.latency_ns) / 1e6));
    return out;
}

Result<StepOutcome> run_offcpu(const Step& step, const Params& params, Session& session, usecase::Observer& observer) {
    auto target = trace_target(session, step, params);
    if (!target) return tl::unexpected(target.error());
    usecase::OffcpuRequest request;
    request.target = *target;
    request.min_ns = duration_ns(params, "min");
    request.top = 50;
    auto run = usecase::profile_offcpu(request, observer);
    if (!run) return tl::unexpected(run.error());
    if (auto ok = write_json(session, "offcpu.json", usecase::to_json(*run)); !ok) return tl::unexpected(ok.error());
    StepOutcome out;
    out.outputs = {"offcpu.json"};
    std::map<std::string, double> by_state;
    double total = 0;
    for (const auto& s : run->report.stacks) {
        by_state[s.state] += static_cast<double>(s.total_ns) / 1e6;
        total += static_cast<double>(s.total_ns) / 1e6;
    }
    out.summary.push_back(fmt::format("{:.1f}s, {} context switches, {:.1f} ms off CPU", run->end.seconds(), run->report.switches, total));
    for (const auto& [state, ms] : by_state) out.summary.push_back(fmt::format("{:<10} {:>10.1f} ms", state, ms));
    for (size_t i = 0; i < run->report.stacks.size() && i < 3; ++i) {
        const auto& s = run->report.stacks[i];
        out.summary.push_back(fmt::format("top: {} {} {:.1f} ms in {}", s.comm, s.state, static_cast<double>(s.total_ns) / 1e6,
                                          s.kernel.empty() ? std::string("(no stack)") : s.kernel.front()));
    }
    return out;
}

Result<StepOutcome> run_wakeup(const Step& step, const Params& params, Session& session, usecase::Observer& observer) {
    auto target = trace_target(session, step, params);
    if (!target) return tl::unexpected(target.error());
    usecase::WakeupRequest request;
    request.target = *target;
    auto run = usecase::profile_wakeups(request, observer);
    if (!run) return tl::unexpected(run.error());
    if (auto ok = write_json(session, "wakeup.json", usecase::to_json(*run)); !ok) return tl::unexpected(ok.error());
    StepOutcome out;
    out.outputs = {"wakeup.json"};
    out.summary.push_back(fmt::format("{:.1f}s, {} wakeup pairs", run->end.seconds(), run->wakeups.size()));
    for (size_t i = 0; i < run->wakeups.size() && i < 4; ++i) {
        const auto& w = run->wakeups[i];
        out.summary.push_back(fmt::format("{} {} woke {} {} {} times ({:.1f} ms waited)", w.waker_comm, w.waker_tgid,
                                          w.wakee_comm, w.wakee_tgid, w.count, static_cast<double>(w.waited_ns) / 1e6));
    }
    return out;
}

Result<int32_t> qemu_pid_for(const Params& params, const Session& session);

Result<StepOutcome> run_kvm_inspect(const Step&, const Params& params, Session& session, usecase::Observer& observer) {
    usecase::KvmRequest request;
    auto pid = qemu_pid_for(params, session);
    if (!pid) return tl::unexpected(pid.error());
    request.pid = *pid;
    observer.note(fmt::format("qemu pid {}", request.pid));
    std::error_code ec;
    if (fs::exists(session.path("model.json"), ec)) request.model_file = session.path("model.json");
    auto inspection = usecase::inspect_kvm(request);
    if (!inspection) return tl::unexpected(inspection.error());
    if (auto ok = write_json(session, "kvm.json", usecase::to_json(*inspection)); !ok) return tl::unexpected(ok.error());
    StepOutcome out;
    out.outputs = {"kvm.json"};
    out.summary.push_back(fmt::format("qemu pid {}: {} finding(s)", request.pid, inspection->findings.size()));
    for (const auto& f : inspection->findings)
        out.summary.push_back(fmt::format("finding [{}]: {}", stack::severity_name(f.severity), f.title));
    return out;
}

// The qemu process a kvm step is about: its `pid` parameter, the target if it is qemu, else the
// first qemu running.
Result<int32_t> qemu_pid_for(const Params& params, const Session& session) {
    if (!param(params, "pid").empty()) return std::stoi(param(params, "pid"));
    if (session.target.pid && is_qemu(session.target.pid)) return session.target.pid;
    if (auto pids = qemu_pids(); !pids.empty()) return pids.front();
    return fail(ErrorKind::not_found, "no qemu process on this machine", "give the step qemu's pid (answers: \"kvm.pid\": 1234)");
}

Result<StepOutcome> run_kvm_trace(const Step&, const Params& params, Session& session, usecase::Observer& observer) {
    auto pid = qemu_pid_for(params, session);
    if (!pid) return tl::unexpected(pid.error());
    usecase::KvmTraceRequest request;
    request.pid = *pid;
    request.duration_ms = duration_ms(params);
    request.guest_file = param(params, "guest");
    request.progress = session.target.progress;
    observer.note(fmt::format("qemu pid {}: run the guest's workload now, while it is traced", request.pid));
    auto run = usecase::trace_qemu(request, observer);
    if (!run) return tl::unexpected(run.error());
    if (auto ok = write_json(session, "kvm-trace.json", usecase::to_json(*run)); !ok) return tl::unexpected(ok.error());
    StepOutcome out;
    out.outputs = {"kvm-trace.json"};
    const auto& r = run->report;
    out.summary.push_back(fmt::format("{} guest, {:.1f}s: {} requests issued by QEMU, mostly by its {}",
                                      run->accel == "kvm" ? "KVM" : "TCG", run->end.seconds(), r.guest_requests,
                                      r.io_role.empty() ? "(none)" : r.io_role));
    for (const auto& s : r.steps)
        out.summary.push_back(fmt::format("{:<40} {}", s.name, s.us ? fmt::format("{:.1f} us", *s.us) : "unknown"));
    if (r.host_us) out.summary.push_back(fmt::format("host side per request: {:.1f} us", *r.host_us));
    if (!run->vm_exits_note.empty()) out.summary.push_back("VM exits: " + run->vm_exits_note);
    if (!r.notes.empty() && r.io_role.empty()) out.note = r.notes.front();
    return out;
}

// The host's probe (this session's probe-KIND.json) against the guest's result of the same probe.
Result<StepOutcome> run_kvm_compare(const Step&, const Params& params, Session& session, usecase::Observer& observer) {
    const std::string kind = param(params, "kind").empty() ? "syncwrite" : param(params, "kind");
    usecase::KvmCompareRequest request;
    request.guest_file = param(params, "guest");
    request.host_file = session.path("probe-" + kind + ".json");
    if (request.guest_file.empty())
        return fail(ErrorKind::usage, "no guest result to compare with",
                    fmt::format("in the guest run `iodiag probe {} --json > guest-{}.json` (or the kvm-guest playbook, "
                                "whose session keeps probe-{}.json), copy it here and answer with its path",
                                kind, kind, kind));
    observer.note(fmt::format("guest {} against the host's {}", request.guest_file, request.host_file));
    auto comparison = usecase::compare_guest_host(request);
    if (!comparison) return tl::unexpected(comparison.error());
    if (auto ok = write_json(session, "kvm-compare.json", usecase::to_json(*comparison)); !ok) return tl::unexpected(ok.error());
    StepOutcome out;
    out.outputs = {"kvm-compare.json"};
    for (const auto& d : comparison->comparison.stats)
        if (d.name == "mean" || d.name == "p50" || d.name == "p99")
            out.summary.push_back(fmt::format("{:<5} lat_vm {:.1f} us, lat_host {:.1f} us, {} {:.1f} us", d.name, d.guest_us,
                                              d.host_us, comparison->comparison.cost_name, d.cost_us));
    out.summary.push_back(comparison->comparison.verdict);
    return out;
}

Result<StepOutcome> run_reproduce(const Step&, const Params& params, Session& session, usecase::Observer& observer) {
    usecase::ReproduceRequest request;
    request.model = session.path("model.json");
    request.output = session.path("job.fio");
    request.run = true;
    request.runtime = param(params, "runtime");
    request.target = param(params, "target");
    request.max_size = param(params, "max_size");
    auto run = usecase::reproduce(request, observer);
    if (!run) return tl::unexpected(run.error());
    if (auto ok = write_json(session, "reproduce.json", usecase::to_json(*run)); !ok) return tl::unexpected(ok.error());
    StepOutcome out;
    out.outputs = {"job.fio", "reproduce.json"};
    out.summary = usecase::summary_lines(*run);
    return out;
}

Result<StepOutcome> run_probe(const Step&, const Params& params, Session& session, usecase::Observer& observer) {
    usecase::ProbeRequest request;
    request.probe = param(params, "kind");
    request.target = param(params, "target");
    if (request.target.empty()) request.target = workload_folder(session);
    if (request.target.empty())
        observer.note("no workload folder known (no model): the probe runs in a scratch folder under $TMPDIR");
    else
        observer.note("on the workload's file system, in a scratch folder under " + request.target);
    request.size = param(params, "size");
    request.runtime = param(params, "runtime");
    auto run = usecase::run_probe(request, observer);
    if (!run) return tl::unexpected(run.error());
    const std::string file = "probe-" + request.probe + ".json";
    auto json = usecase::to_json(*run);
    StepOutcome out;
    // The probe ran in a scratch folder it made inside the user's folder: its job moves into the
    // session, and the folder goes, so nothing is left among the user's files.
    const fs::path job = run->result.job_file;
    const fs::path scratch = job.parent_path();
    if (fio::is_scratch_dir(scratch.string()) && fs::path(request.target) != scratch) {
        const std::string kept = "probe-" + request.probe + ".fio";
        std::error_code ec;
        fs::copy_file(job, session.path(kept), fs::copy_options::overwrite_existing, ec);
        if (!ec) {
            json["job_file"] = session.path(kept);
            out.outputs.push_back(kept);
        }
        fs::remove_all(scratch, ec);
    }
    if (auto ok = write_json(session, file, json); !ok) return tl::unexpected(ok.error());
    out.outputs.insert(out.outputs.begin(), file);
    out.summary.push_back(fmt::format("{}: {:.0f} IOPS, completion latency p50 {:.1f} us, p99 {:.1f} us",
                                      request.probe, json.value("iops", 0.0), json["clat_us"].value("p50", 0.0),
                                      json["clat_us"].value("p99", 0.0)));
    out.summary.push_back("target: " + json.value("target", std::string()));
    return out;
}

Result<StepOutcome> run_report(const Step&, const Params&, Session& session, usecase::Observer&) {
    // The report reads session.json: this step counts as done in it.
    auto written = report::write_report(session.dir);
    if (!written) return tl::unexpected(written.error());
    StepOutcome out;
    for (const auto& file : written->files) out.outputs.push_back(fs::path(file).filename().string());
    out.summary = report::top_findings(written->report, 5);
    return out;
}

using ActionFn = std::function<Result<StepOutcome>(const Step&, const Params&, Session&, usecase::Observer&)>;

const std::map<std::string, ActionFn>& actions() {
    static const std::map<std::string, ActionFn> table = {
        {"model", run_model},     {"stack", run_stack},         {"latency", run_latency},
        {"slow", run_slow},       {"offcpu", run_offcpu},       {"wakeup", run_wakeup},
        {"reproduce", run_reproduce}, {"probe", run_probe},     {"kvm_inspect", run_kvm_inspect},
        {"kvm_trace", run_kvm_trace}, {"kvm_compare", run_kvm_compare}, {"report", run_report}};
    return table;
}

}  // namespace

Result<StepOutcome> LibraryActions::run(const Step& step, const Params& params, Session& session,
                                        usecase::Observer& observer) {
    auto it = actions().find(step.action);
    if (it == actions().end()) return fail(ErrorKind::internal, "no implementation for action " + step.action);
    // A step's unexpected failure is that step's, recorded as failed; the others still run.
    try {
        return it->second(step, params, session, observer);
    } catch (const std::exception& e) {
        return fail(ErrorKind::internal, std::string("unexpected failure: ") + e.what(), "please report this as a bug");
    }
}

}  // namespace iodiag::wizard
