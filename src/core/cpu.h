// Run-time CPU feature detection (x86-64): which SIMD kernels this machine can run.
//
// A feature counts only if the CPU has it (cpuid) AND the OS saves its registers on context switch
// (xgetbv: XMM/YMM state for AVX*, plus opmask/ZMM state for AVX-512). Detection runs once, on first
// use; the result is immutable, so cpu_features() is thread-safe. Never fails: on a non-x86 build or
// a CPU without cpuid every flag is false and the scalar kernels are used.
#pragma once

#include <string>

namespace muse::core {

struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;
  bool bmi2 = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512vl = false;
  bool avx512dq = false;
  bool avx512vnni = false;
  bool avx512bf16 = false;

  // The sets our kernel files are compiled for (cmake/MuseOptions.cmake).
  bool has_avx2_set() const { return avx2 && fma && f16c && bmi2; }
  bool has_avx512_set() const {
    return has_avx2_set() && avx512f && avx512bw && avx512vl && avx512dq && avx512vnni && avx512bf16;
  }
  std::string to_string() const;  // e.g. "avx2 fma f16c bmi2 avx512f ..."
};

const CpuFeatures& cpu_features();

// Detects from scratch (what cpu_features() caches); exposed for tests.
CpuFeatures detect_cpu_features();

}  // namespace muse::core
