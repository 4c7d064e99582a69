#include "fio/iolog_replay.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <unordered_map>

#include <fmt/format.h>

#include "common/table.hpp"
#include "common/units.hpp"
#include "fio/comparison.hpp"
#include "trace/strace_parser.hpp"
#include "trace/syscall_decoder.hpp"

namespace iodiag::fio {
namespace {

namespace fs = std::filesystem;
using trace::EventKind;
using trace::FileKind;
using trace::IoDir;
using trace::IoEvent;

constexpr uint64_t kAlign = 4096;
constexpr uint64_t kMiB = 1 << 20;
// A thread's iolog lines are buffered up to this much before they are appended to its file.
constexpr size_t kFlushBytes = 1 << 20;

bool usable_file(uint32_t file_id, FileKind kind) {
    return file_id != 0 && (kind == FileKind::regular || kind == FileKind::block || kind == FileKind::unknown);
}

// One IO as both passes see it, from a syscall or a libaio request.
struct Io {
    int32_t tid = 0;
    uint64_t ts_ns = 0;
    uint32_t file_id = 0;
    IoDir dir = IoDir::none;
    bool flush = false;        // fsync/fdatasync (datasync when `data_only`)
    bool data_only = false;
    uint64_t offset = 0, bytes = 0;
    bool direct = false;
};

// Turns the decoder's events into Ios for `handle`, and counts what cannot be replayed.
template <class Handler>
class IoSink final : public trace::EventSink {
public:
    explicit IoSink(Handler& handler) : handler_(handler) {}

    void on_event(const IoEvent& e) override {
        switch (e.kind) {
        case EventKind::data: {
            if (e.failed() || !usable_file(e.file_id, e.file_kind)) return;
            if (e.offset_kind == trace::OffsetKind::unknown) {
                handler_.unplaced(e.tid);
                return;
            }
            handler_.io(Io{e.tid, e.ts_ns, e.file_id, e.dir, false, false, e.offset, e.bytes,
                           (e.open_flags & trace::kOpenDirect) != 0});
            return;
        }
        case EventKind::flush:
            if (e.failed() || !usable_file(e.file_id, e.file_kind) || e.call == trace::Syscall::sync_file_range) return;
            handler_.io(Io{e.tid, e.ts_ns, e.file_id, IoDir::none, true, e.call == trace::Syscall::fdatasync, 0, 0, false});
            return;
        case EventKind::mmap:
            if (!e.failed() && e.file_id) handler_.mapped(e.file_id);
            return;
        case EventKind::aio_submit:
            if (e.ring_reaped) handler_.reaped(e.tid, e.ring_reaped);  // taken before this call
            if (e.ret > 0) handler_.submitted(e.tid, static_cast<uint64_t>(e.ret));
            return;
        case EventKind::aio_reap:
            if (e.ring_reaped) handler_.reaped(e.tid, e.ring_reaped);
            if (e.ret > 0) handler_.reaped(e.tid, static_cast<uint64_t>(e.ret));
            return;
        case EventKind::uring_enter:
            handler_.uring(e.tid);
            return;
        default:
            return;
        }
    }

    void on_async(const trace::AsyncRequest& r) override {
        if (r.file_id == 0) return;
        if (r.is_flush) {
            handler_.io(Io{r.tid, r.submit_ns, r.file_id, IoDir::none, true, true, 0, 0, false});
            return;
        }
        if (r.dir == IoDir::none) return;
        handler_.io(Io{r.tid, r.submit_ns, r.file_id, r.dir, false, false, r.offset, r.bytes,
                       (r.open_flags & trace::kOpenDirect) != 0});
        handler_.async(r.tid);
    }

private:
    Handler& handler_;
};

struct ThreadCensus {
    uint64_t reads = 0, writes = 0, flushes = 0, direct = 0, unplaced = 0;
    uint64_t first_ns = 0, last_ns = 0;
    bool async = false, uring = false;
    uint64_t inflight = 0, max_inflight = 0;
};

struct FileCensus {
    uint64_t ops = 0, extent = 0;
    bool mapped = false;
};

// Pass 1: which files and threads did replayable IO, how far into each file, which engine.
struct Census {
    std::map<int32_t, ThreadCensus> threads;
    std::map<uint32_t, FileCensus> files;
    std::set<std::pair<int32_t, uint32_t>> touched;  // (thread, file) with data IO

    void io(const Io& io) {
        if (io.flush) return;  // counted in pass 2, once the file is known to be replayed
        ThreadCensus& t = threads[io.tid];
        (io.dir == IoDir::read ? t.reads : t.writes)++;
        if (io.direct) ++t.direct;
        if (io.ts_ns) {
            if (!t.first_ns) t.first_ns = io.ts_ns;
            t.last_ns = std::max(t.last_ns, io.ts_ns);
        }
        FileCensus& f = files[io.file_id];
        ++f.ops;
        f.extent = std::max(f.extent, io.offset + io.bytes);
        touched.insert({io.tid, io.file_id});
    }
    void unplaced(int32_t tid) { ++threads[tid].unplaced; }
    void mapped(uint32_t file_id) { files[file_id].mapped = true; }
    void submitted(int32_t tid, uint64_t n) {
        ThreadCensus& t = threads[tid];
        t.inflight += n;
        t.max_inflight = std::max(t.max_inflight, t.inflight);
    }
    void reaped(int32_t tid, uint64_t n) {
        ThreadCensus& t = threads[tid];
        t.inflight -= std::min(t.inflight, n);
    }
    void async(int32_t tid) { threads[tid].async = true; }
    void uring(int32_t tid) { threads[tid].uring = true; }
};

// Pass 2: appends each replayed IO to its thread's iolog.
struct Writer {
    struct Log {
        std::string path, buffer;
        std::set<uint32_t> opened;
        uint64_t last_us = 0;
        uint64_t flushes = 0;
    };
    const std::map<uint32_t, ReplayFile*>& files;
    std::map<int32_t, Log> logs;   // only threads that are replayed
    uint64_t t0_ns = 0;
    Status status;

    uint64_t when(uint64_t ts_ns) const { return ts_ns > t0_ns ? (ts_ns - t0_ns) / 1000 : 0; }

    void io(const Io& io) {
        auto log_it = logs.find(io.tid);
        auto file_it = files.find(io.file_id);
        if (log_it == logs.end() || file_it == files.end()) return;
        Log& log = log_it->second;
        const ReplayFile& file = *file_it->second;
        uint64_t us = io.ts_ns ? when(io.ts_ns) : log.last_us;
        log.last_us = std::max(log.last_us, us);
        if (log.opened.insert(io.file_id).second) {
            log.buffer += fmt::format("{} {} add\n{} {} open\n", us, file.replayed, us, file.replayed);
        }
        if (io.flush) {
            ++log.flushes;
            log.buffer += fmt::format("{} {} {} 0 0\n", us, file.replayed, io.data_only ? "datasync" : "sync");
        } else {
            uint64_t offset = io.offset;
            if (io.bytes > file.size) return;
            // Past a capped file's end, offsets wrap (aligned, so O_DIRECT still works).
            if (offset + io.bytes > file.size) {
                offset = offset % file.size / kAlign * kAlign;
                if (offset + io.bytes > file.size) offset = (file.size - io.bytes) / kAlign * kAlign;
            }
            log.buffer += fmt::format("{} {} {} {} {}\n", us, file.replayed, io.dir == IoDir::read ? "read" : "write",
                                      offset, io.bytes);
        }
        if (log.buffer.size() >= kFlushBytes) flush(log);
    }
    void unplaced(int32_t) {}
    void mapped(uint32_t) {}
    void submitted(int32_t, uint64_t) {}
    void reaped(int32_t, uint64_t) {}
    void async(int32_t) {}
    void uring(int32_t) {}

    void flush(Log& log) {
        if (log.buffer.empty() || !status) return;
        std::ofstream out(log.path, std::ios::app);
        out << log.buffer;
        out.flush();
        if (!out) status = fail(ErrorKind::output, "cannot write " + log.path + ": " + std::strerror(errno));
        log.buffer.clear();
    }

    Status finish() {
        for (auto& [tid, log] : logs) {
            for (uint32_t id : log.opened) log.buffer += fmt::format("{} {} close\n", log.last_us, files.at(id)->replayed);
            flush(log);
        }
        return status;
    }
};

// Both passes decode the log into the same FileTable, so pass 1's file ids name the same files
// in pass 2.
template <class Handler>
Status read_log(const std::string& path, Handler& handler, trace::FileTable& table) {
    IoSink<Handler> sink(handler);
    trace::SyscallDecoder decoder(sink, table);
    auto stats = trace::read_strace_file(path, decoder);
    if (!stats) return tl::unexpected(stats.error());
    return {};
}

std::string scratch_name(size_t index, const std::string& traced) {
    std::string base;
    for (unsigned char c : fs::path(traced).filename().string())
        base += std::isalnum(c) || c == '.' || c == '_' || c == '-' ? static_cast<char>(c) : '_';
    return fmt::format("replay-{}-{}", index, base.empty() ? "file" : base);
}

}  // namespace

Result<ReplayPlan> build_replay(const ReplayOptions& options) {
    Census census;
    trace::FileTable table;
    if (auto status = read_log(options.strace_log, census, table); !status) return tl::unexpected(status.error());

    ReplayPlan plan;
    std::set<uint32_t> replayed_ids;
    for (const auto& [id, f] : census.files)
        if (!f.mapped && f.ops) replayed_ids.insert(id);
    size_t mapped = census.files.size() - replayed_ids.size();
    if (mapped)
        plan.warnings.push_back(fmt::format("{} file(s) that were also mapped into memory (libraries, the program) "
                                            "are not replayed: their IO is page faults strace does not see", mapped));

    // Files: sized to their extents, scaled down together when they exceed the placement.
    const Placement& p = options.placement;
    uint64_t total = 0;
    for (uint32_t id : replayed_ids) total += std::max(census.files[id].extent, kAlign);
    double factor = p.capacity && total > p.capacity ? static_cast<double>(p.capacity) / static_cast<double>(total) : 1.0;
    std::map<uint32_t, ReplayFile*> by_id;
    plan.files.reserve(replayed_ids.size());
    for (uint32_t id : replayed_ids) {
        ReplayFile f;
        f.traced = table.get(id).path;
        f.extent = std::max(census.files[id].extent, kAlign);
        f.size = factor < 1.0 ? std::max(kMiB, static_cast<uint64_t>(static_cast<double>(f.extent) * factor) / kAlign * kAlign)
                              : (f.extent + kAlign - 1) / kAlign * kAlign;
        f.replayed = p.single_file ? fs::path(p.path).parent_path().string() + "/" + scratch_name(plan.files.size(), f.traced)
                                   : (fs::path(p.path) / scratch_name(plan.files.size(), f.traced)).string();
        if (p.single_file) f.size = std::min(f.extent, p.capacity ? p.capacity : f.extent);
        plan.footprint += p.single_file ? 0 : f.size;
        plan.files.push_back(std::move(f));
        by_id[id] = &plan.files.back();
    }
    if (factor < 1.0)
        plan.warnings.push_back(fmt::format("the traced files span {}; scratch copies scaled to {} ({}): offsets past "
                                            "a copy's end wrap around", human_bytes(total), human_bytes(plan.footprint),
                                            p.capacity_why));

    // Threads: every one that did data IO on a replayed file.
    std::error_code ec;
    if (!fs::create_directory(options.iolog_dir, ec))
        return fail(ErrorKind::output, "cannot create " + options.iolog_dir + (ec ? ": " + ec.message() : ": it exists"));
    Writer writer{by_id, {}, UINT64_MAX, {}};
    for (const auto& [tid, t] : census.threads) {
        if (t.uring)
            plan.warnings.push_back(fmt::format("thread {} used io_uring: strace cannot see its requests, so they are "
                                                "not replayed", tid));
        if (t.unplaced)
            plan.warnings.push_back(fmt::format("thread {}: {} IO(s) at an unknown file position are not replayed", tid,
                                                t.unplaced));
        bool replayed = false;
        for (uint32_t id : replayed_ids) replayed |= census.touched.count({tid, id}) > 0;
        if (!replayed) continue;
        ReplayThread rt;
        rt.tid = tid;
        rt.section = fmt::format("thread-{}", tid);
        rt.iolog = (fs::path(options.iolog_dir) / (rt.section + ".iolog")).string();
        rt.reads = t.reads;
        rt.writes = t.writes;
        rt.span_s = t.last_ns > t.first_ns ? static_cast<double>(t.last_ns - t.first_ns) / 1e9 : 0.0;
        rt.engine = t.async ? "libaio" : "psync";
        rt.depth = t.async ? std::max<uint64_t>(1, t.max_inflight) : 1;
        rt.direct = t.direct * 2 >= t.reads + t.writes;
        if (t.first_ns) writer.t0_ns = std::min(writer.t0_ns, t.first_ns);
        writer.logs[tid].path = rt.iolog;
        writer.logs[tid].buffer = "fio version 3 iolog\n";
        plan.threads.push_back(std::move(rt));
    }
    if (plan.threads.empty())
        return fail(ErrorKind::no_io, "the log holds no file IO that can be replayed",
                    "trace with strace -f -tt -T -y while the workload reads or writes files");
    if (writer.t0_ns == UINT64_MAX) {
        writer.t0_ns = 0;
        plan.warnings.push_back("the log has no timestamps (strace -tt gives them): replayed without the trace's timing");
    }
    if (auto status = read_log(options.strace_log, writer, table); !status) return tl::unexpected(status.error());
    if (auto status = writer.finish(); !status) return tl::unexpected(status.error());

    JobFile& job = plan.job;
    job.header.push_back(fmt::format("fio replay job generated by iodiag {} from {}", IODIAG_VERSION, options.strace_log));
    job.header.push_back("one section per traced thread, each replaying its own iolog (an iolog has no thread id)");
    JobSection global;
    global.name = "global";
    if (p.single_file)
        global.add("replay_redirect", p.path, "every IO goes to --target (allowed with --allow-destructive)");
    if (options.no_stall) global.add("replay_no_stall", "1", "--no-stall: as fast as possible, in the trace's order");
    else global.add("replay_no_stall", "0", "keep the trace's timing between IOs");
    job.sections.push_back(std::move(global));
    for (auto& rt : plan.threads) {
        rt.flushes = writer.logs[rt.tid].flushes;
        JobSection s;
        s.name = rt.section;
        s.preamble.push_back(fmt::format("thread {}: {} reads, {} writes, {} flushes over {:.2f} s", rt.tid, rt.reads,
                                         rt.writes, rt.flushes, rt.span_s));
        s.add("new_group", "1", "reported apart from the other threads");
        s.add("read_iolog", rt.iolog, "this thread's IO, in the trace's order and timing");
        s.add("ioengine", rt.engine, rt.engine == "libaio" ? "the thread submitted with io_submit" : "one call at a time");
        if (rt.engine == "libaio") s.add("iodepth", std::to_string(rt.depth), "most requests it had in flight");
        s.add("direct", rt.direct ? "1" : "0", rt.direct ? "most of its IO was on O_DIRECT fds" : "buffered IO");
        job.sections.push_back(std::move(s));
    }
    return plan;
}

Status lay_out_files(const ReplayPlan& plan, const Placement& placement) {
    if (placement.single_file) return {};
    const std::string zeros(kMiB, '\0');
    for (const auto& f : plan.files) {
        int fd = ::open(f.replayed.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) return fail(ErrorKind::output, "cannot create " + f.replayed + ": " + std::strerror(errno));
        for (uint64_t done = 0; done < f.size;) {
            size_t chunk = static_cast<size_t>(std::min<uint64_t>(kMiB, f.size - done));
            ssize_t n = ::write(fd, zeros.data(), chunk);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                int err = errno;
                ::close(fd);
                return fail(ErrorKind::output, "laying out " + f.replayed + " failed: " + std::strerror(err),
                            "choose --target with more free space, or a smaller --max-size");
            }
            done += static_cast<uint64_t>(n);
        }
        ::close(fd);
    }
    return {};
}

std::string render_replay(const ReplayPlan& plan, const FioReport& report) {
    using Align = Table::Align;
    Table table({{"thread", Align::left}, {"reads", Align::right}, {"writes", Align::right}, {"flushes", Align::right},
                 {"traced IOPS", Align::right}, {"replayed IOPS", Align::right}, {"diff", Align::right},
                 {"verdict", Align::left}});
    for (const auto& t : plan.threads) {
        const JobStats* job = report.find(t.section);
        double traced = t.span_s > 0 ? static_cast<double>(t.reads + t.writes) / t.span_s : 0;
        std::string replayed = job ? fmt::format("{:.0f}", job->iops()) : "-";
        std::string diff = "-", verdict = job ? "no traced rate" : "fio reported none";
        if (job && traced > 0) {
            double relative = (job->iops() - traced) / traced;
            diff = fmt::format("{:+.0f}%", relative * 100);
            verdict = verdict_of(relative);
        }
        table.add_row({t.section, std::to_string(t.reads), std::to_string(t.writes), std::to_string(t.flushes),
                       traced > 0 ? fmt::format("{:.0f}", traced) : "-", replayed, diff, verdict});
    }
    return table.render();
}

model::ordered_json replay_json(const ReplayPlan& plan, const FioReport* report) {
    model::ordered_json out = model::ordered_json::array();
    for (const auto& t : plan.threads) {
        model::ordered_json j;
        j["thread"] = t.tid;
        j["section"] = t.section;
        j["iolog"] = t.iolog;
        j["reads"] = t.reads;
        j["writes"] = t.writes;
        j["flushes"] = t.flushes;
        j["traced_iops"] = t.span_s > 0 ? static_cast<double>(t.reads + t.writes) / t.span_s : 0.0;
        const JobStats* job = report ? report->find(t.section) : nullptr;
        j["replayed_iops"] = job ? model::ordered_json(job->iops()) : model::ordered_json();
        out.push_back(std::move(j));
    }
    return out;
}

}  // namespace iodiag::fio
