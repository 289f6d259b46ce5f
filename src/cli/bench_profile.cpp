#include "cli/bench_profile.h"

#include <cstdio>

namespace muse::cli {
namespace {

size_t bytes_of(const core::WeightView& w) {
  return static_cast<size_t>(w.rows) * w.row_stride();
}

// Weight bytes a phase reads per call (all layers); 0 for phases without weights.
size_t phase_weight_bytes(const model::Model& m, model::Phase phase) {
  const model::Weights& w = m.weights();
  size_t bytes = 0;
  for (const model::LayerWeights& l : w.layers) {
    switch (phase) {
      case model::Phase::kQkv:
        bytes += bytes_of(l.attn_q) + bytes_of(l.attn_k) + bytes_of(l.attn_v);
        break;
      case model::Phase::kAttnOut:
        bytes += bytes_of(l.attn_output);
        break;
      case model::Phase::kGateUp:
        bytes += bytes_of(l.ffn_gate) + bytes_of(l.ffn_up);
        break;
      case model::Phase::kDown:
        bytes += bytes_of(l.ffn_down);
        break;
      default:
        break;
    }
  }
  if (phase == model::Phase::kLogits) bytes = bytes_of(w.output);
  return bytes;
}

}  // namespace

void print_profile(const model::PhaseProfile& p, const model::Model& m, const char* what) {
  if (p.calls == 0) return;
  double total = 0;
  for (double s : p.seconds) total += s;
  std::printf("\nprofile            per %s, mean of %lld (phases summed over the layers)\n", what,
              static_cast<long long>(p.calls));
  std::printf("  %-18s %9s %7s %12s %8s\n", "phase", "ms", "share", "weights MiB", "GB/s");
  for (int i = 0; i < static_cast<int>(model::Phase::kCount); ++i) {
    const auto phase = static_cast<model::Phase>(i);
    const double s = p.seconds[i] / static_cast<double>(p.calls);
    const size_t bytes = phase_weight_bytes(m, phase);
    std::printf("  %-18s %9.3f %6.1f%%", model::phase_name(phase), s * 1e3,
                total > 0 ? 100.0 * p.seconds[i] / total : 0);
    if (bytes > 0 && s > 0) {
      std::printf(" %12.1f %8.1f\n", bytes / 1048576.0, bytes / s / 1e9);
    } else {
      std::printf("\n");
    }
  }
  std::printf("  %-18s %9.3f\n", "total", total / static_cast<double>(p.calls) * 1e3);
}

nlohmann::json profile_json(const model::PhaseProfile& p, const model::Model& m) {
  nlohmann::json phases = nlohmann::json::array();
  for (int i = 0; i < static_cast<int>(model::Phase::kCount); ++i) {
    const auto phase = static_cast<model::Phase>(i);
    phases.push_back({{"phase", model::phase_name(phase)},
                      {"seconds_per_call", p.calls > 0 ? p.seconds[i] / static_cast<double>(p.calls) : 0.0},
                      {"weight_bytes", phase_weight_bytes(m, phase)}});
  }
  return {{"calls", p.calls}, {"batch_size", p.batch_size}, {"phases", std::move(phases)}};
}

}  // namespace muse::cli
