// Tests of the f16/bf16 conversions and the block formats of core/quant.h.
#include "core/quant.h"

#include <gtest/gtest.h>
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/cpu.h"
#include "core/dtype.h"
#include "core/quant_blocks.h"
#include "core/mini_gguf.h"

namespace muse::core {
namespace {

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

TEST(F16, EveryValueRoundTripsBitExactly) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = f16_to_f32(static_cast<uint16_t>(h));
    ASSERT_EQ(f32_to_f16(f), h) << "h=" << h;
  }
}

TEST(F16, DecodesKnownValues) {
  EXPECT_EQ(f16_to_f32(0x3C00), 1.0f);
  EXPECT_EQ(f16_to_f32(0xC000), -2.0f);
  EXPECT_EQ(f16_to_f32(0x7BFF), 65504.0f);
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(f16_to_f32(0x0400), std::ldexp(1.0f, -14));  // smallest normal
  EXPECT_TRUE(std::isinf(f16_to_f32(0x7C00)));
  EXPECT_TRUE(std::isnan(f16_to_f32(0x7E00)));
  EXPECT_EQ(bits(f16_to_f32(0x8000)), 0x80000000u);
}

// For every pair of adjacent finite f16 values, the exact midpoint (a float, since f16 has 11 bits
// of precision) must round to the even one, and the floats just beside it to the nearer one.
TEST(F16, RoundsToNearestEvenAtEveryMidpoint) {
  for (uint32_t h = 0; h < 0x7C00; ++h) {
    const float lo = f16_to_f32(static_cast<uint16_t>(h));
    const float hi = h + 1 < 0x7C00 ? f16_to_f32(static_cast<uint16_t>(h + 1)) : 65536.0f;
    const float mid = lo + (hi - lo) / 2;  // exact: one more bit than f16 has
    const uint16_t even = static_cast<uint16_t>((h & 1) ? h + 1 : h);
    ASSERT_EQ(f32_to_f16(mid), even) << "h=" << h;
    ASSERT_EQ(f32_to_f16(std::nextafter(mid, 0.0f)), h) << "h=" << h;
    ASSERT_EQ(f32_to_f16(std::nextafter(mid, INFINITY)), h + 1) << "h=" << h;
    ASSERT_EQ(f32_to_f16(-mid), even | 0x8000) << "h=" << h;
  }
}

TEST(F16, OverflowUnderflowAndNaN) {
  EXPECT_EQ(f32_to_f16(65519.99f), 0x7BFF);
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7C00);
  EXPECT_EQ(f32_to_f16(1e30f), 0x7C00);
  EXPECT_EQ(f32_to_f16(-INFINITY), 0xFC00);
  EXPECT_EQ(f32_to_f16(1e-30f), 0x0000);
  EXPECT_EQ(f32_to_f16(-1e-30f), 0x8000);
  // NaNs stay NaN even when the payload lives only in the low mantissa bits.
  EXPECT_EQ(f32_to_f16(from_bits(0x7F800001)) & 0x7C00, 0x7C00);
  EXPECT_NE(f32_to_f16(from_bits(0x7F800001)) & 0x3FF, 0);
}

__attribute__((target("f16c"))) uint16_t hw_f32_to_f16(float f) {
  return static_cast<uint16_t>(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT));
}

TEST(F16, MatchesHardwareF16cOnRandomFloats) {
  if (!cpu_features().f16c) GTEST_SKIP() << "no F16C on this CPU";
  std::mt19937 rng(1);
  for (int i = 0; i < 200000; ++i) {
    // Random bit patterns around the f16 range (exponents 2^-30 .. 2^20), both signs.
    const uint32_t u = (rng() & 0x807FFFFF) | ((97u + rng() % 50u) << 23);
    const float f = from_bits(u);
    ASSERT_EQ(f32_to_f16(f), hw_f32_to_f16(f)) << std::hex << u;
  }
}

TEST(BF16, RoundsToNearestEvenAndKeepsNaN) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3F80);
  EXPECT_EQ(f32_to_bf16(from_bits(0x3F808000)), 0x3F80);  // tie, even stays
  EXPECT_EQ(f32_to_bf16(from_bits(0x3F818000)), 0x3F82);  // tie, odd rounds up
  EXPECT_EQ(f32_to_bf16(from_bits(0x3F808001)), 0x3F81);  // above the tie
  EXPECT_EQ(f32_to_bf16(from_bits(0x7F7FFFFF)), 0x7F80);  // max float rounds to inf
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(from_bits(0x7F800001)))));
  for (uint32_t h = 0; h < 65536; ++h) {
    if ((h & 0x7F80) == 0x7F80 && (h & 0x7F)) continue;  // NaNs: quieted, checked above
    ASSERT_EQ(f32_to_bf16(bf16_to_f32(static_cast<uint16_t>(h))), h);
  }
}

std::vector<float> gaussian(size_t n, uint32_t seed, float sigma = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, sigma);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

std::vector<float> round_trip(DType type, const std::vector<float>& x) {
  std::vector<uint8_t> q(row_bytes(type, static_cast<int64_t>(x.size())));
  quantize_row(type, x.data(), q.data(), static_cast<int64_t>(x.size()));
  std::vector<float> y(x.size());
  dequantize_row(type, q.data(), y.data(), static_cast<int64_t>(x.size()));
  return y;
}

// Q8_0: q = round(x/d), d = amax/127 (kept in f16), so |x - d16*q| <= d/2 + 127*|d - d16|
// (the rounding of d to f16 moves every level by at most 127 times the scale error).
TEST(Q8_0, RoundTripWithinHalfAStep) {
  const auto x = gaussian(32 * 64, 2, 3.0f);
  const auto y = round_trip(DType::kQ8_0, x);
  for (size_t b = 0; b < x.size() / 32; ++b) {
    float amax = 0;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[32 * b + j]));
    const float d = amax / 127, d16 = f16_to_f32(f32_to_f16(d));
    const float bound = d / 2 + 127 * std::fabs(d - d16) + 1e-6f * amax;
    for (int j = 0; j < 32; ++j) ASSERT_LE(std::fabs(x[32 * b + j] - y[32 * b + j]), bound);
  }
}

// Q4_0: 16 levels d*(q-8), d = max/-8; error <= d/2 except that the side opposite the largest
// magnitude ends at +7d, so values there may clip by up to one more step: bound |d| (+ f16 slack).
TEST(Q4_0, RoundTripWithinOneStep) {
  const auto x = gaussian(32 * 64, 3);
  const auto y = round_trip(DType::kQ4_0, x);
  for (size_t b = 0; b < x.size() / 32; ++b) {
    float amax = 0;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[32 * b + j]));
    const float d = amax / 8;
    const float bound = d * (1 + 8 * 0x1p-11f) + 1e-6f;
    for (int j = 0; j < 32; ++j) ASSERT_LE(std::fabs(x[32 * b + j] - y[32 * b + j]), bound);
  }
}

TEST(Plain, RoundTrips) {
  const auto x = gaussian(1000, 4);
  const auto f32 = round_trip(DType::kF32, x);
  const auto f16 = round_trip(DType::kF16, x);
  const auto bf16 = round_trip(DType::kBF16, x);
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(f32[i], x[i]);
    EXPECT_LE(std::fabs(f16[i] - x[i]), std::fabs(x[i]) * 0x1p-11f + 0x1p-25f);  // half an ulp of f16
    EXPECT_LE(std::fabs(bf16[i] - x[i]), std::fabs(x[i]) * 0x1p-8f);             // half an ulp of bf16
  }
}

// K-quants: the levels each sub-block can represent are fixed by its (quantized) scale and min; the
// quantizer must pick the nearest one for every element (a tie may go either way: 1e-4 of a step),
// and its scale search must beat an ideal uniform quantizer of the same range by the stated factor.
struct KCase {
  DType type;
  int sub;       // elements per sub-block scale
  int nmax;      // levels - 1
  double rms_ratio_max;  // rms error / (range / nmax / sqrt(12)) allowed
};

std::vector<float> levels_of(DType type, const uint8_t* blk, int sub_index, float* lowest_out) {
  std::vector<float> lv;
  if (type == DType::kQ4_K || type == DType::kQ5_K) {
    uint8_t sc, m;
    scale_min_k4(sub_index, blk + 4, &sc, &m);
    const float d = f16_to_f32(load_u16(blk)), dmin = f16_to_f32(load_u16(blk + 2));
    const int n = type == DType::kQ4_K ? 16 : 32;
    for (int q = 0; q < n; ++q) lv.push_back(d * sc * static_cast<float>(q) - dmin * m);
  } else {  // Q6_K
    const float d = f16_to_f32(load_u16(blk + 208));
    const auto sc = static_cast<int8_t>(blk[192 + sub_index]);
    for (int q = -32; q < 32; ++q) lv.push_back(d * sc * static_cast<float>(q));
  }
  *lowest_out = *std::min_element(lv.begin(), lv.end());
  return lv;
}

TEST(KQuants, PickNearestLevelAndBeatUniformQuantizer) {
  const KCase cases[] = {{DType::kQ4_K, 32, 15, 1.15}, {DType::kQ5_K, 32, 31, 1.15}, {DType::kQ6_K, 16, 63, 1.15}};
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(dtype_name(c.type)));
    for (uint32_t seed = 0; seed < 4; ++seed) {
      // Mixed data: per-sub-block offsets and spreads, like real weights with structured rows.
      auto x = gaussian(256 * 8, 10 + seed);
      std::mt19937 rng(seed);
      for (size_t s = 0; s < x.size() / 32; ++s) {
        const float spread = 0.1f + static_cast<float>(rng() % 100) / 20.0f;
        const float shift = (seed % 2) ? static_cast<float>(static_cast<int>(rng() % 7) - 3) * 0.3f : 0.0f;
        for (int j = 0; j < 32; ++j) x[32 * s + j] = x[32 * s + j] * spread + shift;
      }
      std::vector<uint8_t> q(row_bytes(c.type, static_cast<int64_t>(x.size())));
      quantize_row(c.type, x.data(), q.data(), static_cast<int64_t>(x.size()));
      std::vector<float> y(x.size());
      dequantize_row(c.type, q.data(), y.data(), static_cast<int64_t>(x.size()));
      const size_t bb = static_cast<size_t>(dtype_info(c.type).type_size);
      double err2 = 0, ideal2 = 0;
      for (size_t b = 0; b < x.size() / 256; ++b) {
        for (int s = 0; s < 256 / c.sub; ++s) {
          float lowest;
          const auto lv = levels_of(c.type, q.data() + b * bb, s, &lowest);
          const float* xs = x.data() + 256 * b + c.sub * s;
          const float* ys = y.data() + 256 * b + c.sub * s;
          float step = 0;
          for (size_t i = 1; i < lv.size(); ++i) step = std::max(step, std::fabs(lv[i] - lv[i - 1]));
          for (int e = 0; e < c.sub; ++e) {
            float nearest = INFINITY;
            for (float l : lv) nearest = std::min(nearest, std::fabs(xs[e] - l));
            ASSERT_LE(std::fabs(xs[e] - ys[e]), nearest + 1e-4f * step + 1e-6f) << "block " << b << " sub " << s;
          }
          const float lo = std::min(0.0f, *std::min_element(xs, xs + c.sub));
          const float hi = *std::max_element(xs, xs + c.sub);
          const double range = c.type == DType::kQ6_K ? 2.0 * std::max(std::fabs(lo), std::fabs(hi)) : hi - lo;
          ideal2 += c.sub * std::pow(range / c.nmax, 2) / 12.0;
          for (int e = 0; e < c.sub; ++e) err2 += std::pow(xs[e] - ys[e], 2);
        }
      }
      EXPECT_LE(std::sqrt(err2 / ideal2), c.rms_ratio_max);
    }
  }
}

TEST(Q8_K, RoundTripAndBsums) {
  const auto x = gaussian(512, 5);
  std::vector<BlockQ8_K> q(2);
  quantize_row(DType::kQ8_K, x.data(), q.data(), 512);
  std::vector<float> y(512);
  dequantize_row(DType::kQ8_K, q.data(), y.data(), 512);
  for (int b = 0; b < 2; ++b) {
    float amax = 0;
    for (int j = 0; j < 256; ++j) amax = std::max(amax, std::fabs(x[256 * b + j]));
    for (int j = 0; j < 256; ++j) ASSERT_LE(std::fabs(x[256 * b + j] - y[256 * b + j]), amax / 127 * 0.5001f);
    for (int s = 0; s < 16; ++s) {
      int sum = 0;
      for (int j = 0; j < 16; ++j) sum += q[b].qs[16 * s + j];
      EXPECT_EQ(q[b].bsums[s], sum);
    }
  }
}

TEST(Quant, AllZeroBlocksStayZero) {
  for (DType t : {DType::kQ8_0, DType::kQ4_0, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K, DType::kQ8_K}) {
    const std::vector<float> x(256, 0.0f);
    for (float v : round_trip(t, x)) ASSERT_EQ(v, 0.0f) << dtype_name(t);
  }
}

// Hand-built blocks pin the byte layouts (which byte/bit holds which element) independently of
// our own quantizer.
TEST(Layout, Q4_0NibbleOrder) {
  BlockQ4_0 b{};
  b.d = f32_to_f16(0.5f);
  for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  float y[32];
  dequantize_row(DType::kQ4_0, &b, y, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], 0.5f * static_cast<float>(j - 8));
    EXPECT_EQ(y[j + 16], 0.5f * static_cast<float>(15 - j - 8));
  }
}

TEST(Layout, Q4_KScalesAndNibbles) {
  BlockQ4_K b{};
  b.d = f32_to_f16(1.0f);
  b.dmin = f32_to_f16(0.5f);
  // Sub-block 5: scale 0b110101 = 53 -> low 4 bits in scales[9] low nibble, top 2 bits in scales[1]
  // bits 6-7; min 0b101010 = 42 -> low 4 bits in scales[9] high nibble, top 2 in scales[5] bits 6-7.
  b.scales[9] = static_cast<uint8_t>((53 & 15) | ((42 & 15) << 4));
  b.scales[1] = static_cast<uint8_t>((53 >> 4) << 6);
  b.scales[5] = static_cast<uint8_t>((42 >> 4) << 6);
  // Sub-block 0: scale 7, min 3 in the low 6 bits of scales[0] / scales[4].
  b.scales[0] |= 7;
  b.scales[4] |= 3;
  b.qs[2 * 32 + 4] = 0x90;  // chunk 2, byte 4: high nibble 9 -> sub-block 5, element 4
  b.qs[0] = 0x02;           // chunk 0, byte 0: low nibble 2 -> sub-block 0, element 0
  float y[256];
  dequantize_row(DType::kQ4_K, &b, y, 256);
  EXPECT_EQ(y[5 * 32 + 4], 53.0f * 9 - 0.5f * 42);
  EXPECT_EQ(y[5 * 32 + 5], -0.5f * 42);
  EXPECT_EQ(y[0], 7.0f * 2 - 0.5f * 3);
}

TEST(Layout, Q6_KHighBits) {
  BlockQ6_K b{};
  b.d = f32_to_f16(1.0f);
  for (int i = 0; i < 16; ++i) b.scales[i] = static_cast<int8_t>(i + 1);
  // Element 128 + 96 + 3 (half 1, quarter 3): low nibble = high nibble of ql[64 + 32 + 3],
  // top bits = bits 6-7 of qh[32 + 3]; scale index (128+96+3)/16 = 14.
  b.ql[64 + 32 + 3] = 0xA0;
  b.qh[32 + 3] = 0x80;  // top bits 0b10 -> q = 0b10'1010 = 42
  float y[256];
  dequantize_row(DType::kQ6_K, &b, y, 256);
  EXPECT_EQ(y[128 + 96 + 3], 15.0f * (42 - 32));
  EXPECT_EQ(y[0], 1.0f * (0 - 32));
}

// ---------------------------------------------------------------------------------------------
// Real data: the shared stories260K model, F32 and the Q8_0/Q4_0 variants written by gguf-py.

class RealModel : public ::testing::Test {
 protected:
  static std::string path(const char* name) { return std::string(MUSE_SHARED_DATA) + "/models/" + name; }
};

TEST_F(RealModel, RequantizingF32ReproducesGgufPyBytesAndDequantizesWithinBound) {
  const testing::MiniGguf f32(path("stories260K.gguf"));
  for (const char* qname : {"stories260K-Q8_0-mixed.gguf", "stories260K-Q4_0-mixed.gguf"}) {
    SCOPED_TRACE(qname);
    const testing::MiniGguf qf(path(qname));
    int checked = 0;
    for (const auto& [name, t] : qf.tensors) {
      const auto dt = static_cast<DType>(t.type);
      if (dt != DType::kQ8_0 && dt != DType::kQ4_0) continue;
      const auto& ref = f32.tensors.at(name);
      ASSERT_EQ(ref.type, 0u);
      int64_t n = 1;
      for (auto d : t.dims) n *= static_cast<int64_t>(d);
      const float* x = reinterpret_cast<const float*>(f32.bytes.data() + ref.offset);
      const uint8_t* qbytes = qf.bytes.data() + t.offset;
      ASSERT_LE(t.offset + row_bytes(dt, n), qf.bytes.size());
      // Same bytes as the file: our quantizer follows the ggml reference rounding.
      std::vector<uint8_t> mine(row_bytes(dt, n));
      quantize_row(dt, x, mine.data(), n);
      EXPECT_EQ(std::memcmp(mine.data(), qbytes, mine.size()), 0) << name;
      // Dequantizing the file's bytes gives the F32 weights within each block's bound.
      std::vector<float> y(static_cast<size_t>(n));
      dequantize_row(dt, qbytes, y.data(), n);
      for (int64_t b = 0; b < n / 32; ++b) {
        float amax = 0;
        for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[32 * b + j]));
        const float bound = dt == DType::kQ8_0 ? amax / 127 * 0.5f * 1.13f + 1e-7f : amax / 8 * 1.01f + 1e-7f;
        for (int j = 0; j < 32; ++j) ASSERT_LE(std::fabs(y[32 * b + j] - x[32 * b + j]), bound) << name;
      }
      ++checked;
    }
    EXPECT_GE(checked, 10);
  }
}

}  // namespace
}  // namespace muse::core
