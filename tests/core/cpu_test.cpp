// Sanity of core::cpu_features(): consistent with the compiler's own cpuid probe, and the feature
// implications every real CPU obeys.
#include "core/cpu.h"

#include <gtest/gtest.h>

namespace muse::core {
namespace {

TEST(Cpu, AgreesWithCompilerBuiltins) {
  const CpuFeatures& f = cpu_features();
  __builtin_cpu_init();
  // GCC's probe also checks OS support (XCR0) for AVX/AVX-512, so the two must agree.
  EXPECT_EQ(f.avx2, static_cast<bool>(__builtin_cpu_supports("avx2")));
  EXPECT_EQ(f.fma, static_cast<bool>(__builtin_cpu_supports("fma")));
  EXPECT_EQ(f.avx512f, static_cast<bool>(__builtin_cpu_supports("avx512f")));
  EXPECT_EQ(f.avx512bw, static_cast<bool>(__builtin_cpu_supports("avx512bw")));
  EXPECT_EQ(f.avx512vl, static_cast<bool>(__builtin_cpu_supports("avx512vl")));
  EXPECT_EQ(f.avx512vnni, static_cast<bool>(__builtin_cpu_supports("avx512vnni")));
}

TEST(Cpu, ImplicationsHold) {
  const CpuFeatures& f = cpu_features();
  if (f.avx512bw || f.avx512vl || f.avx512vnni || f.avx512bf16 || f.avx512dq) {
    EXPECT_TRUE(f.avx512f);
  }
  if (f.has_avx512_set()) {
    EXPECT_TRUE(f.has_avx2_set());
  }
  if (f.avx512f) {
    EXPECT_TRUE(f.avx2);
  }
  EXPECT_FALSE(f.to_string().empty());
}

TEST(Cpu, CachedEqualsFreshDetection) {
  const CpuFeatures a = detect_cpu_features();
  EXPECT_EQ(a.to_string(), cpu_features().to_string());
}

}  // namespace
}  // namespace muse::core
