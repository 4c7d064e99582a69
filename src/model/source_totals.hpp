// The bpf tracers' exact totals (trace::TracerTotals) as model.json's source.totals: one object
// per tracer, under its name, in the order the bpf source runs them.
#pragma once

#include "model/workload_model.hpp"
#include "trace/tracer_totals.hpp"

namespace iodiag::model {

ordered_json to_json(const trace::TracerTotals& totals);
// source.totals.offcpu alone (what analysis::offcpu_from_json reads).
ordered_json to_json(const trace::OffcpuTotals& offcpu);

}  // namespace iodiag::model
