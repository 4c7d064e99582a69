// The classifier in four steps, each in its own file: events accumulated per thread and file
// (event_accumulator), each thread's files split into streams by the kind of IO they see and the
// streams of all threads clustered (thread_summary), each cluster added up into a job group
// (job_group) and mapped to fio options (fio_mapping). This file holds the public entry, puts the
// groups in order and lists which groups each thread feeds.
#include "model/classifier.hpp"

#include <algorithm>

#include "common/histogram.hpp"
#include "model/event_accumulator.hpp"
#include "model/job_group.hpp"
#include "model/thread_summary.hpp"

namespace iodiag::model {

using classify::kIncidentalOps;
using classify::share;

namespace {

// A group below both of these is incidental IO, not part of the workload.
constexpr uint64_t kMinorGroupOps = 100;
constexpr double kMinorGroupShare = 0.005;
constexpr double kSetupReadShare = 0.25;  // a slow workload (a loaded machine) still outweighs it

// How much a group did: data ops, or submit calls when the source cannot see its requests.
uint64_t activity(const JobGroup& g) {
    return g.evidence.reads.ops + g.evidence.writes.ops + total_of(g.evidence.submit_batch);
}

// Start-up chatter (a config file read, a pid file written) would otherwise show as groups of a
// handful of ops beside the real workload; they are listed under `ignored` instead.
void drop_minor_groups(WorkloadModel& model) {
    uint64_t total = 0;
    for (const auto& g : model.groups) total += activity(g);
    std::erase_if(model.groups, [&](const JobGroup& g) {
        uint64_t ops = activity(g);
        uint64_t most_per_file = 0;
        for (const auto& f : g.files) most_per_file = std::max(most_per_file, f.ops);
        // Reading a few small files once each (a job file, locale data) is set-up, even beside
        // a workload that is itself small; a group that writes is never waved away this way.
        bool setup_reads = g.evidence.writes.ops == 0 && most_per_file < kIncidentalOps &&
                           share(ops, total) < kSetupReadShare;
        bool minor = ops < kMinorGroupOps && (share(ops, total) < kMinorGroupShare || setup_reads);
        if (minor) model.ignored["minor group " + g.name + " (ops)"] += ops;
        return minor;
    });
}

// Which groups each thread feeds, by tid. Only the target's own thread has a known comm.
std::vector<ThreadUse> thread_uses(const WorkloadModel& model,
                                   const std::unordered_map<int32_t, classify::ThreadState>& threads) {
    std::map<int32_t, ThreadUse> by_tid;
    for (const auto& g : model.groups) {
        for (int32_t tid : g.threads) {
            ThreadUse& use = by_tid[tid];
            use.tid = tid;
            if (auto t = threads.find(tid); t != threads.end()) use.tgid = t->second.tgid;
            if (tid == model.target.pid) use.comm = model.target.comm;
            use.groups.push_back(g.name);
        }
    }
    std::vector<ThreadUse> uses;
    for (auto& [tid, use] : by_tid) uses.push_back(std::move(use));
    return uses;
}

}  // namespace

struct Classifier::Impl {
    explicit Impl(ClassifierOptions options) : events(std::move(options)) {}
    classify::EventAccumulator events;
};

Classifier::Classifier(ClassifierOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Classifier::~Classifier() = default;

uint64_t Classifier::io_events() const { return impl_->events.io_events(); }

void Classifier::on_event(const trace::IoEvent& e) { impl_->events.on_event(e); }

void Classifier::on_async(const trace::AsyncRequest& r) { impl_->events.on_async(r); }

WorkloadModel Classifier::finish(const trace::FileTable& files, WorkloadModel base) const {
    const classify::EventAccumulator& events = impl_->events;
    const std::vector<classify::StreamSummary> summaries =
        classify::summarize_streams(events.threads(), files, base.ignored);
    std::vector<classify::StreamProfile> profiles;
    profiles.reserve(summaries.size());
    for (const auto& sum : summaries) profiles.push_back(classify::profile_of(sum));

    base.groups.clear();
    std::map<std::string, int> names;
    for (const auto& cluster : classify::cluster_streams(profiles)) {
        JobGroup group = classify::build_group(cluster, files, events.options());
        if (int n = names[group.name]++; n > 0) group.name += "-" + std::to_string(n + 1);
        base.groups.push_back(std::move(group));
    }
    drop_minor_groups(base);
    // Biggest groups first: the reader looks at the top row.
    std::stable_sort(base.groups.begin(), base.groups.end(), [](const JobGroup& a, const JobGroup& b) {
        auto ops = [](const JobGroup& g) { return g.evidence.reads.ops + g.evidence.writes.ops; };
        return ops(a) > ops(b);
    });
    base.threads = thread_uses(base, events.threads());
    for (const auto& [what, count] : events.ignored()) base.ignored[what] += count;
    base.source.events = events.io_events();
    return base;
}

}  // namespace iodiag::model
