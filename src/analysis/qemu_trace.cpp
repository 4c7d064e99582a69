#include "analysis/qemu_trace.hpp"

#include <algorithm>
#include <numeric>
#include <set>

#include <fmt/format.h>

#include "common/table.hpp"

namespace iodiag::analysis {

using trace::EventKind;
using trace::FileKind;
using trace::Syscall;

void QemuIoSink::on_event(const trace::IoEvent& event) {
    switch (event.kind) {
        case EventKind::data:
        case EventKind::flush:
        case EventKind::aio_submit:
        case EventKind::aio_reap:
        case EventKind::uring_enter: break;
        default: return;  // opens, seeks, mmaps: not part of a guest request's path
    }
    const bool names_file = event.kind == EventKind::data || event.kind == EventKind::flush;
    Calls& calls = calls_[{event.tid, event.call, names_file ? event.file_id : 0u}];
    calls.kind = event.file_kind;
    calls.event = event.kind;
    if (event.kind == EventKind::data && event.ret > 0) calls.bytes += static_cast<uint64_t>(event.ret);
    calls.total_ns += event.dur_ns;
    calls.ns.record(event.dur_ns);
}

void QemuIoSink::on_async(const trace::AsyncRequest& request) {
    Requests& requests = requests_[request.tid];
    ++requests.count;
    if (request.complete_ns > request.submit_ns && request.submit_ns) {
        const uint64_t ns = request.complete_ns - request.submit_ns;
        requests.total_ns += ns;
        requests.ns.record(ns);
    }
}

void QemuIoSink::on_block(const trace::BlockRequest& request) {
    if (request.tgid != pid_ || request.is_flush) return;  // another process's IO on the same disk
    ++block_.count;
    const uint64_t start = request.insert_ns ? request.insert_ns : request.issue_ns;
    if (start && request.complete_ns > start) {
        block_.total_ns += request.complete_ns - start;
        block_.ns.record(request.complete_ns - start);
    }
}

namespace {

constexpr const char* kInterrupt = "interrupt or idle";

bool is_image(FileKind kind) { return kind == FileKind::regular || kind == FileKind::block; }

double mean_us(uint64_t total_ns, uint64_t count) {
    return count ? static_cast<double>(total_ns) / 1000.0 / static_cast<double>(count) : 0.0;
}

// The part of a kernel thread's or another program's name that says what it is: "kworker/1:2" -> "kworker".
std::string outside_name(const std::string& comm) {
    const auto end = comm.find_first_of("/:-");
    return "outside: " + (end == std::string::npos || end == 0 ? comm : comm.substr(0, end));
}

struct RoleBook {
    const QemuTraceInput& input;

    std::string of_thread(uint32_t tgid, uint32_t tid, const std::string& comm) const {
        if (auto it = input.roles.find(static_cast<int32_t>(tid)); it != input.roles.end()) return it->second.role;
        if (static_cast<int32_t>(tgid) == input.pid) return "other";
        if (tgid == 0) return kInterrupt;
        return outside_name(comm);
    }
    bool is_qemu(const std::string& role) const {
        return role != kInterrupt && !role.starts_with("outside: ");
    }
};

RoleActivity& activity_of(std::map<std::string, RoleActivity>& by_role, const std::string& role) {
    RoleActivity& a = by_role[role];
    a.role = role;
    return a;
}

// The way a request travels between two of QEMU's roles through wakeups: a direct wakeup, or a
// chain through other roles (vCPU -> iothread -> worker for aio=threads; iothread -> main loop
// -> vCPU under TCG, where the main loop raises the interrupt), at most kMaxHops long. The chain
// that carries the most wakeups end to end (its weakest link) wins; the shorter on a tie.
std::vector<const RoleWakeup*> best_path(const std::vector<RoleWakeup>& wakeups, const RoleBook& book,
                                         const std::string& from, const std::string& to) {
    constexpr size_t kMaxHops = 3;
    std::vector<const RoleWakeup*> best, path;
    uint64_t best_carried = 0;
    std::set<std::string> visited{from};
    const std::function<void(const std::string&, uint64_t)> walk = [&](const std::string& at, uint64_t carried) {
        if (at == to) {
            if (carried > best_carried || (carried == best_carried && path.size() < best.size())) {
                best = path;
                best_carried = carried;
            }
            return;
        }
        if (path.size() == kMaxHops) return;
        for (const auto& w : wakeups) {
            if (w.waker != at || !book.is_qemu(w.wakee) || visited.count(w.wakee)) continue;
            const uint64_t through = std::min(carried, w.count);
            if (through <= best_carried) continue;
            visited.insert(w.wakee);
            path.push_back(&w);
            walk(w.wakee, through);
            path.pop_back();
            visited.erase(w.wakee);
        }
    };
    walk(from, UINT64_MAX);
    return best;
}

// A wakeup step as a mean per request: a thread that was already running (polling, busy) needed
// no wakeup, so the wakeups' mean counts for the share of requests that had one.
RequestStep wake_step(const std::string& name, const RoleWakeup& w, uint64_t requests) {
    const double share = requests ? std::min(1.0, static_cast<double>(w.count) / static_cast<double>(requests)) : 1.0;
    return {name, w.run_delay_us * share, w.count,
            fmt::format("{} wakeups by {} for {} requests, {:.1f} us wake-to-run each", w.count, w.waker, requests,
                        w.run_delay_us)};
}

}  // namespace

QemuTraceReport summarise_qemu_trace(const QemuIoSink& sink, const QemuTraceInput& input,
                                     const std::function<std::string(uint32_t)>& path_of) {
    QemuTraceReport report;
    report.seconds = input.seconds;
    report.named_threads = input.named_threads;
    report.block_requests = sink.block().count;
    report.block_us = sink.block().ns.summary(1000.0);
    report.guest_us = input.guest_us;
    const RoleBook book{input};

    std::map<std::string, RoleActivity> by_role;
    for (const auto& [tid, thread] : input.roles) {
        RoleActivity& a = activity_of(by_role, thread.role);
        a.tids.push_back(tid);
        if (std::find(a.names.begin(), a.names.end(), thread.name) == a.names.end()) a.names.push_back(thread.name);
    }

    // Syscalls, per role and call.
    std::map<std::pair<std::string, std::string>, std::pair<RoleCall, LogHistogram>> calls;
    for (const auto& [key, c] : sink.calls()) {
        const std::string role = book.of_thread(static_cast<uint32_t>(input.pid), static_cast<uint32_t>(key.tid), "");
        RoleActivity& a = activity_of(by_role, role);
        const std::string path = key.file_id ? path_of(key.file_id) : std::string();
        const uint64_t count = c.ns.count();
        std::string name(trace::syscall_name(key.call));
        const bool on_image = is_image(c.kind) && (input.images.empty() || input.images.count(path));
        if (c.event == EventKind::data && is_image(c.kind) && !on_image) {
            name += " (not an image)";  // a serial console's log, a pidfile: not the guest's disk IO
        } else if (c.event == EventKind::data && !is_image(c.kind)) {
            if (path.find("eventfd") == std::string::npos) continue;  // pipes, sockets, signalfd, /proc
            (trace::syscall_name(key.call).find("read") != std::string_view::npos ? a.eventfd_reads : a.eventfd_writes) +=
                count;
            name = trace::syscall_name(key.call).find("read") != std::string_view::npos ? "eventfd read" : "eventfd write";
        } else if (c.event == EventKind::data) {
            a.ios += count;
        } else if (c.event == EventKind::flush && !on_image) {
            name += " (not an image)";
        }
        auto& [row, hist] = calls[{role, name}];
        row.call = name;
        row.count += count;
        row.bytes += c.bytes;
        row.total_ns += c.total_ns;
        hist.merge(c.ns);
    }
    for (auto& [key, entry] : calls) {
        entry.first.us = entry.second.summary(1000.0);
        by_role[key.first].io_calls.push_back(entry.first);
    }

    // Async requests, by the role of the thread that submitted them.
    std::map<std::string, LogHistogram> async_ns;
    std::map<std::string, uint64_t> async_total_ns;
    for (const auto& [tid, r] : sink.requests()) {
        const std::string role = book.of_thread(static_cast<uint32_t>(input.pid), static_cast<uint32_t>(tid), "");
        RoleActivity& a = activity_of(by_role, role);
        a.async_requests += r.count;
        a.ios += r.count;
        async_ns[role].merge(r.ns);
        async_total_ns[role] += r.total_ns;
    }
    for (auto& [role, hist] : async_ns) by_role[role].async_us = hist.summary(1000.0);

    for (const auto& stack : input.offcpu) {
        const std::string role = book.of_thread(stack.tgid, stack.tid, stack.comm);
        if (book.is_qemu(role)) activity_of(by_role, role).offcpu_ns += stack.total_ns;
    }

    // Who wakes whom, between roles.
    std::map<std::pair<std::string, std::string>, std::tuple<uint64_t, uint64_t, uint64_t>> edges;
    for (const auto& w : input.wakeups) {
        if (!w.woken) continue;
        const std::string wakee = book.of_thread(w.wakee_tgid, w.wakee_tid, w.wakee_comm);
        const std::string waker = book.of_thread(w.waker_tgid, w.waker_tid, w.waker_comm);
        if (!book.is_qemu(wakee)) continue;
        auto& [count, run_delay, waited] = edges[{waker, wakee}];
        count += w.count;
        run_delay += w.run_delay_ns;
        waited += w.waited_ns;
    }
    for (const auto& [key, value] : edges) {
        const auto& [count, run_delay, waited] = value;
        report.wakeups.push_back({key.first, key.second, count, mean_us(run_delay, count), mean_us(waited, count)});
    }
    std::stable_sort(report.wakeups.begin(), report.wakeups.end(),
                     [](const RoleWakeup& a, const RoleWakeup& b) { return a.count > b.count; });

    for (auto& [role, a] : by_role) {
        std::sort(a.io_calls.begin(), a.io_calls.end(),
                  [](const RoleCall& x, const RoleCall& y) { return x.total_ns > y.total_ns; });
        std::sort(a.tids.begin(), a.tids.end());
        report.roles.push_back(a);
    }
    std::stable_sort(report.roles.begin(), report.roles.end(), [](const RoleActivity& x, const RoleActivity& y) {
        return std::tie(x.ios, x.offcpu_ns) > std::tie(y.ios, y.offcpu_ns);
    });

    // The guest request's host-side path.
    const RoleActivity* io = report.roles.empty() || report.roles.front().ios == 0 ? nullptr : &report.roles.front();
    if (!io) {
        report.notes.push_back("QEMU issued no IO to its images during the trace: was the guest doing IO? "
                               "(run the workload in the guest while tracing, or trace longer)");
    } else {
        report.io_role = io->role;
        for (const auto& r : report.roles) report.guest_requests += r.ios;
        const uint64_t requests = io->ios;
        if (io->role == "vcpu") {
            report.steps.push_back({"kick", 0.0, 0, "the vCPU issues the IO itself (no ioeventfd: TCG, or ioeventfd=off)"});
        } else {
            const auto kick = best_path(report.wakeups, book, "vcpu", io->role);
            if (kick.empty())
                report.notes.push_back("no wakeup of the " + io->role + " by a vCPU was seen: it polls, or the kick goes another way");
            for (const RoleWakeup* hop : kick)
                report.steps.push_back(wake_step(fmt::format("kick: {} wakes {}", hop->waker, hop->wakee), *hop, requests));
        }

        // Submit and host IO, per request of the IO role.
        uint64_t submit_ns = 0, submit_calls = 0, data_ns = 0, data_calls = 0;
        for (const auto& c : io->io_calls) {
            if (c.call == "io_submit" || c.call == "io_uring_enter") {
                submit_ns += c.total_ns;
                submit_calls += c.count;
            } else if (!c.call.starts_with("eventfd") && c.call.find("(not an image)") == std::string::npos &&
                       c.call != "io_getevents" && c.call != "io_pgetevents") {
                data_ns += c.total_ns;
                data_calls += c.count;
            }
        }
        if (io->async_requests) {
            report.steps.push_back({"submit (per request)", mean_us(submit_ns, io->async_requests), io->async_requests,
                                    fmt::format("{} {} calls for {} requests", submit_calls,
                                                submit_calls ? "io_submit/io_uring_enter" : "submit", io->async_requests)});
            const uint64_t seen = async_ns[io->role].count();
            const uint64_t blocks = sink.block().ns.count();
            if (seen)
                report.steps.push_back({"host IO (submit -> complete)", mean_us(async_total_ns[io->role], seen), seen,
                                        "the requests' own latency in the host kernel"});
            else if (blocks)
                report.steps.push_back({"host IO (block layer)", mean_us(sink.block().total_ns, blocks), blocks,
                                        fmt::format("{} block requests QEMU issued, queued to completed (QEMU reaps the "
                                                    "completions from the ring: none was seen as a syscall)", blocks)});
            else
                report.steps.push_back({"host IO", std::nullopt, 0,
                                        "no completion was seen individually, and no block request of QEMU's "
                                        "(the image is in the host's page cache, or on a device the trace did not see)"});
        } else {
            report.steps.push_back({"host IO (synchronous call)", mean_us(data_ns, data_calls), data_calls,
                                    fmt::format("{} preadv/pwritev-like calls by {}: the submit is part of the call",
                                                data_calls, io->role)});
        }

        // The completion seen by QEMU (async IO only: a synchronous call's wait for its completion is
        // inside the call): the most frequent waker of the IO role from outside the process.
        const RoleWakeup* completion = nullptr;
        for (const auto& w : report.wakeups)
            if (io->async_requests && !book.is_qemu(w.waker) && w.wakee == io->role &&
                (!completion || w.count > completion->count))
                completion = &w;
        if (completion)
            report.steps.push_back(wake_step(fmt::format("completion wakes {}", io->role), *completion, requests));

        const auto notify = io->role == "vcpu" ? std::vector<const RoleWakeup*>{}
                                               : best_path(report.wakeups, book, io->role, "vcpu");
        if (notify.empty() && io->role != "vcpu")
            report.notes.push_back("no wakeup from the " + io->role + " back to a vCPU was seen: the vCPUs were busy, or "
                                   "the guest polls for completions");
        for (const RoleWakeup* hop : notify)
            report.steps.push_back(wake_step(fmt::format("notify: {} wakes {}", hop->waker, hop->wakee), *hop, requests));

        double sum = 0;
        bool any = false;
        for (const auto& step : report.steps)
            if (step.us) {
                sum += *step.us;
                any = true;
            }
        if (any) report.host_us = sum;
        if (report.host_us && report.guest_us && *report.guest_us > 0) report.explained = *report.host_us / *report.guest_us;
        report.notes.push_back("each step is a mean per request (a wakeup step counts for the requests that needed "
                               "one); QEMU's own processing between them (emulating the device, on-CPU) is not in the sum");
    }
    if (!input.named_threads)
        report.notes.push_back("QEMU's threads are not named, so only the main loop is told apart: start QEMU with "
                               "-name NAME,debug-threads=on (libvirt does this)");
    return report;
}

namespace {

nlohmann::ordered_json summary_json(const Summary& s) {
    return {{"mean", s.mean}, {"p50", s.p50}, {"p99", s.p99}, {"max", s.max}};
}

std::string us_text(std::optional<double> us) { return us ? fmt::format("{:.1f}", *us) : "unknown"; }

}  // namespace

nlohmann::ordered_json to_json(const QemuTraceReport& report) {
    nlohmann::ordered_json roles = nlohmann::ordered_json::array();
    for (const auto& a : report.roles) {
        nlohmann::ordered_json calls = nlohmann::ordered_json::array();
        for (const auto& c : a.io_calls)
            calls.push_back({{"call", c.call},
                             {"count", c.count},
                             {"per_s", report.seconds > 0 ? static_cast<double>(c.count) / report.seconds : 0.0},
                             {"bytes", c.bytes},
                             {"total_ms", static_cast<double>(c.total_ns) / 1e6},
                             {"us", summary_json(c.us)}});
        nlohmann::ordered_json role = {{"role", a.role},     {"threads", a.tids.size()},
                                       {"names", a.names},   {"ios", a.ios},
                                       {"syscalls", calls},  {"eventfd_reads", a.eventfd_reads},
                                       {"eventfd_writes", a.eventfd_writes},
                                       {"async_requests", a.async_requests},
                                       {"offcpu_ms", static_cast<double>(a.offcpu_ns) / 1e6}};
        if (a.async_requests) role["async_us"] = summary_json(a.async_us);
        roles.push_back(std::move(role));
    }
    nlohmann::ordered_json wakeups = nlohmann::ordered_json::array();
    for (const auto& w : report.wakeups)
        wakeups.push_back({{"waker", w.waker},
                           {"wakee", w.wakee},
                           {"count", w.count},
                           {"run_delay_us", w.run_delay_us},
                           {"waited_us", w.waited_us}});
    nlohmann::ordered_json steps = nlohmann::ordered_json::array();
    for (const auto& s : report.steps) {
        nlohmann::ordered_json step = {{"step", s.name}, {"us", nullptr}, {"samples", s.samples}, {"how", s.how}};
        if (s.us) step["us"] = *s.us;
        steps.push_back(std::move(step));
    }
    nlohmann::ordered_json request = {{"io_role", report.io_role},
                                      {"guest_requests", report.guest_requests},
                                      {"block_requests", report.block_requests},
                                      {"block_us", summary_json(report.block_us)},
                                      {"steps", steps},
                                      {"host_us", nullptr},
                                      {"guest_us", nullptr},
                                      {"explained", nullptr}};
    if (report.host_us) request["host_us"] = *report.host_us;
    if (report.guest_us) request["guest_us"] = *report.guest_us;
    if (report.explained) request["explained"] = *report.explained;
    return {{"named_threads", report.named_threads},
            {"roles", roles},
            {"wakeups", wakeups},
            {"request", request},
            {"notes", report.notes}};
}

std::string render_text(const QemuTraceReport& report) {
    using Align = Table::Align;
    std::string out;
    Table roles({{"role", Align::left},
                 {"threads", Align::right},
                 {"call", Align::left},
                 {"count", Align::right},
                 {"/s", Align::right},
                 {"mean us", Align::right},
                 {"p99 us", Align::right},
                 {"off-CPU ms", Align::right}});
    for (const auto& a : report.roles) {
        const std::string offcpu = fmt::format("{:.1f}", static_cast<double>(a.offcpu_ns) / 1e6);
        const std::string threads = std::to_string(a.tids.size());
        if (a.io_calls.empty() && a.async_requests == 0) {
            roles.add_row({a.role, threads, "-", "", "", "", "", offcpu});
            continue;
        }
        bool first = true;
        const auto row = [&](const std::string& call, uint64_t count, const Summary& us) {
            roles.add_row({first ? a.role : "", first ? threads : "", call, std::to_string(count),
                           fmt::format("{:.0f}", report.seconds > 0 ? static_cast<double>(count) / report.seconds : 0.0),
                           fmt::format("{:.1f}", us.mean), fmt::format("{:.1f}", us.p99), first ? offcpu : ""});
            first = false;
        };
        for (const auto& c : a.io_calls) row(c.call, c.count, c.us);
        if (a.async_requests) row("async requests", a.async_requests, a.async_us);
    }
    out += "QEMU's threads by role (IO syscalls on the images, eventfd kicks and notifications):\n" + roles.render();

    out += "\nwho wakes whom:\n";
    if (report.wakeups.empty()) out += "  (none seen)\n";
    constexpr size_t kShown = 10;
    for (size_t i = 0; i < report.wakeups.size() && i < kShown; ++i) {
        const auto& w = report.wakeups[i];
        out += fmt::format("  {:<28} -> {:<12} {:>8} times, wake-to-run {:.1f} us, had waited {:.1f} us\n", w.waker,
                           w.wakee, w.count, w.run_delay_us, w.waited_us);
    }
    if (report.wakeups.size() > kShown)
        out += fmt::format("  ... {} more pairs (--json has them all)\n", report.wakeups.size() - kShown);

    if (!report.io_role.empty()) {
        out += fmt::format("\na guest request on the host ({} requests issued by QEMU, mostly by its {}):\n",
                           report.guest_requests, report.io_role);
        for (const auto& s : report.steps)
            out += fmt::format("  {:<40} {:>10} us   {}\n", s.name, us_text(s.us), s.how);
        out += fmt::format("  {:<40} {:>10} us\n", "host side, summed", us_text(report.host_us));
        if (report.guest_us)
            out += fmt::format("  guest's mean completion latency {:.1f} us: the host side explains {}\n", *report.guest_us,
                               report.explained ? fmt::format("{:.0f}%", *report.explained * 100.0) : "unknown");
    }
    for (const auto& note : report.notes) out += "note: " + note + "\n";
    return out;
}

}  // namespace iodiag::analysis
