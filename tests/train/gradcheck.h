// Test helpers for train/: random fills and a central finite-difference gradient check.
//
// The check perturbs one float at a time by +-eps and compares (J(x+eps) - J(x-eps)) / (2 eps) with
// the analytic gradient, within atol + rtol * |analytic|. J is accumulated in double so that the
// outputs a perturbation does not touch cancel exactly and only the touched ones add rounding noise.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "train/rng.h"

namespace muse::train::testing {

inline std::vector<float> random_vector(Rng& rng, size_t n, double scale = 1.0, double offset = 0.0) {
  std::vector<float> v(n);
  for (float& x : v) x = static_cast<float>(offset + scale * rng.normal());
  return v;
}

// sum_i out[i] * r[i] in double: a scalar objective whose gradient w.r.t. out is exactly r.
inline double weighted_sum(const std::vector<float>& out, const std::vector<float>& r) {
  double s = 0.0;
  for (size_t i = 0; i < out.size(); i++) s += static_cast<double>(out[i]) * r[i];
  return s;
}

struct GradCheckOptions {
  float eps = 1e-2f;
  double atol = 1e-3;
  double rtol = 1e-2;
  size_t max_checked = 1u << 30;  // check every element up to this many (then a strided subset)
};

// Checks analytic[i] against the finite difference of loss() w.r.t. x[i]; x is restored after.
// Returns the number of mismatches (each is also an EXPECT failure, the first few printed).
inline int expect_gradient(const std::string& name, std::vector<float>& x, const std::vector<float>& analytic,
                           const std::function<double()>& loss, const GradCheckOptions& opt = {}) {
  EXPECT_EQ(x.size(), analytic.size()) << name;
  const size_t stride = x.size() <= opt.max_checked ? 1 : (x.size() + opt.max_checked - 1) / opt.max_checked;
  int bad = 0;
  double max_err = 0.0;
  for (size_t i = 0; i < x.size(); i += stride) {
    const float orig = x[i];
    x[i] = orig + opt.eps;
    const double lp = loss();
    x[i] = orig - opt.eps;
    const double lm = loss();
    x[i] = orig;
    // The step actually taken in float, not the nominal eps.
    const double h = static_cast<double>(orig + opt.eps) - static_cast<double>(orig - opt.eps);
    const double numeric = (lp - lm) / h;
    const double err = std::fabs(numeric - analytic[i]);
    max_err = std::max(max_err, err);
    if (err > opt.atol + opt.rtol * std::fabs(analytic[i])) {
      if (++bad <= 5) {
        ADD_FAILURE() << name << "[" << i << "]: analytic " << analytic[i] << " vs numeric " << numeric
                      << " (|diff| " << err << ")";
      }
    }
  }
  if (bad > 0) ADD_FAILURE() << name << ": " << bad << " mismatches, max |diff| " << max_err;
  return bad;
}

}  // namespace muse::train::testing
