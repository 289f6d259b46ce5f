// `muse bench --profile`: where the forward pass spends its time (model::PhaseProfile), per call, with
// the weight bytes each matmul phase reads and the read speed that implies.
#pragma once

#include <nlohmann/json.hpp>

#include "model/model.h"
#include "model/runner.h"

namespace muse::cli {

// Prints one row per phase: ms per call, share of the call, and for the matmul phases MiB of weights
// read per call and GB/s. `what` names the call ("decode token", "8-agent step").
void print_profile(const model::PhaseProfile& p, const model::Model& m, const char* what);
// The same as JSON: {"calls", "phases": [{"phase", "seconds_per_call", "weight_bytes"}...]}.
nlohmann::json profile_json(const model::PhaseProfile& p, const model::Model& m);

}  // namespace muse::cli
