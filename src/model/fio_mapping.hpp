// The classifier's last step (model/classifier.hpp): a job group's totals in fio's own options
// and value syntax (rw, bs/bssplit, ioengine, iodepth, direct, sync, fsync cadence, size, rate),
// what could not be seen in `unknown`, the judgement calls in `notes`; and the group's name.
// Internal to the classifier.
#pragma once

#include <set>
#include <string>

#include "model/job_group.hpp"

namespace iodiag::model::classify {

// rw (with rwmixread, percentage_random) and bs or bssplit from the offsets and sizes seen.
void fio_pattern_options(JobGroup& group, const GroupTotals& g, double read_share);
// An io_uring group whose requests the source could not see: what is unknown, and why.
void describe_blind_uring(JobGroup& group, const GroupTotals& g, const ClassifierOptions& options);
// Engine, direct, sync, flushes, depth, jobs, size and rate.
void fio_common_options(JobGroup& group, const GroupTotals& g, size_t jobs,
                        const std::set<int32_t>& processes, const ClassifierOptions& options);
// "randread-4k-psync", "write-strided-64k-libaio": from the fio options.
std::string group_name(const JobGroup& group);

}  // namespace iodiag::model::classify
