// The evidence behind each fio option of a job group, as the one-line comment the job file
// writes after the option ("98.7% of writes consecutive", "in flight: p50 14, p99 16").
#pragma once

#include <string>
#include <string_view>

#include "model/workload_model.hpp"

namespace iodiag::fio {

// Evidence for `key` in `group.fio`, from the group's counts and histograms; a generic phrase
// for options the model has no specific evidence for.
std::string evidence_for(const model::JobGroup& group, std::string_view key);

// "98.7%": shares for comments and tables (one decimal below 100, none at 0 or 100).
std::string percent(double share);

}  // namespace iodiag::fio
