// Rotary position embedding tables: per rotated pair i, the angle theta_i(pos) and a magnitude scale,
// for the scalings GGUF models use (none, linear, YaRN) and Llama 3.1's per-dimension rope_freqs.
//
//   theta_i(pos) = pos * base^(-2i / n_rot) / freq_factor_i          (no scaling)
//   linear:        theta_i(pos) / factor
//   YaRN:          mix of the interpolated (/factor) and extrapolated angle per pair, ramped between
//                  the "correction dims" given by beta_fast/beta_slow; magnitude * (1 + 0.1 ln factor)
//
// Immutable after construction; thread-safe. Pure computation, no errors.
#pragma once

#include <cstdint>
#include <vector>

#include "model/hparams.h"

namespace muse::model {

class RopeTable {
 public:
  // freq_factors: empty, or n_rot/2 divisors (Llama 3.1 rope_freqs.weight).
  RopeTable(const HParams& hp, std::vector<float> freq_factors);

  int64_t n_pairs() const { return static_cast<int64_t>(inv_freq_.size()); }
  // Fills cos_sin with n_pairs (cos, sin) pairs for position pos, already multiplied by the magnitude.
  void angles(int64_t pos, float* cos_sin) const;

 private:
  std::vector<float> inv_freq_;   // (n_pairs) base^(-2i/n_rot) / freq_factor_i
  std::vector<float> ramp_mix_;   // (n_pairs) YaRN extrapolation weight, 0 = fully interpolated
  float freq_scale_ = 1.0f;       // 1/factor for linear and YaRN
  float mscale_ = 1.0f;
};

// Applies the rotation to one head vector x (head_dim floats) in place; only the first n_rot dims rotate.
//   normal: (x[2i], x[2i+1])          <- rotate by theta_i
//   neox:   (x[i], x[i + n_rot/2])    <- rotate by theta_i
void rope_rotate(float* x, const float* cos_sin, int64_t n_rot, RopeOrder order);

}  // namespace muse::model
