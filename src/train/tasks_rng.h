// TaskRng: the small, portable PRNG behind the task generators (train::Tasks).
//
// Why our own: std::uniform_int_distribution and friends are implementation-defined, so the same seed
// would give different problems under libstdc++ and libc++. Here every draw is specified bit for bit:
// splitmix64 expands the 64-bit seed into xoshiro256** state, and uniform ranges use rejection
// sampling (no modulo bias). A problem's text is therefore a pure function of (family, difficulty,
// seed) on every platform.
// Value type, no allocation; not thread-safe (one instance per generating thread). Never throws;
// REQUIRES of the range helpers are MUSE_ASSERTs (generator code computes the bounds, not the user).
#pragma once

#include <cstdint>
#include <string_view>

#include "core/error.h"

namespace muse::train {

// splitmix64 step: x += golden gamma; then two xor-shift-multiply rounds (Steele, Lea, Flood 2014).
inline uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// FNV-1a over bytes, then a splitmix64 finaliser so that nearby strings land far apart.
inline uint64_t hash_text(std::string_view s) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001B3ull;
  return splitmix64(h);
}

class TaskRng {
 public:
  explicit TaskRng(uint64_t seed) {
    for (uint64_t& w : s_) w = splitmix64(seed);
  }

  // xoshiro256** (Blackman, Vigna 2018): 256-bit state, period 2^256 - 1.
  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform integer in [lo, hi]. REQUIRES: lo <= hi and hi - lo < 2^63.
  int64_t range(int64_t lo, int64_t hi) {
    MUSE_ASSERT(lo <= hi);
    const uint64_t span = static_cast<uint64_t>(hi - lo) + 1;
    // Reject the top sliver of [0, 2^64) that does not divide evenly by span.
    const uint64_t limit = UINT64_MAX - (UINT64_MAX % span + 1) % span;
    uint64_t x = next();
    while (x > limit) x = next();
    return lo + static_cast<int64_t>(x % span);
  }

  // Uniform index in [0, n). REQUIRES: n > 0.
  size_t index(size_t n) {
    MUSE_ASSERT(n > 0);
    return static_cast<size_t>(range(0, static_cast<int64_t>(n) - 1));
  }

  // True with probability num/den. REQUIRES: 0 < den.
  bool chance(int num, int den) { return range(0, den - 1) < num; }

  template <typename T, size_t N>
  const T& pick(const T (&items)[N]) {
    return items[index(N)];
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace muse::train
