// Rng: the trainer's one source of randomness (weight init, batch sampling), small enough that its
// whole state (one u64) goes into a checkpoint, which is what makes a resumed run bit-identical.
//
// SplitMix64 (Steele, Lea, Flood 2014): state += golden gamma; output = a mixed copy of the state.
// Passes BigCrush; plenty for shuffling and init, not for cryptography. A value type: copy it to fork
// a stream; not thread-safe (each thread owns its Rng). Never throws.
#pragma once

#include <cmath>
#include <cstdint>

namespace muse::train {

class Rng {
 public:
  explicit Rng(uint64_t seed = 0) : state_(seed) {}

  uint64_t state() const { return state_; }
  void set_state(uint64_t state) { state_ = state; }

  uint64_t next_u64() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

  // Uniform integer in [0, n). REQUIRES: n > 0. Multiply-shift: bias < n / 2^64, negligible here.
  uint64_t below(uint64_t n) { return static_cast<uint64_t>((static_cast<unsigned __int128>(next_u64()) * n) >> 64); }

  // Standard normal by Box-Muller (the second variate is dropped so the state stays one u64).
  double normal() {
    const double u1 = 1.0 - uniform();  // (0, 1]: log(u1) is finite
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  uint64_t state_;
};

}  // namespace muse::train
