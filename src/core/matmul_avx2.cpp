// AVX2 + FMA + F16C kernels; compiled with those flags, called only when cpu_features() has them.
// Integer dots use vpmaddubsw (u8 x s8 -> pairs of i16) then vpmaddwd (-> i32). Operands are kept
// small enough that the i16 pair sums cannot saturate: nibbles (<= 31) x |a| <= 127, or the
// |w| x sign(a, w) trick for Q8_0. Activation layouts: matmul_internal.h. The K-quant kernels live
// in matmul_ymm_kernels.h (shared with the AVX-512 file).
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "core/attention_impl.h"
#include "core/matmul_internal.h"
#include "core/matmul_ymm_kernels.h"
#include "core/quant_blocks.h"

namespace muse::core::detail {
namespace {

using namespace ymm;  // NOLINT(build/namespaces): the shared 256-bit helpers and K-quant kernels

// ---------------------------------------------------------------------------------------------
// Q4_0: two blocks per step; nibbles of blocks (2p, 2p+1) against the pack's lo/hi halves.
struct Q4_0Kernel {
  template <int R, int T>
  static void run(const GemmArgs& a, const int64_t* rows, int64_t t) {
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    const __m256i ones = _mm256_set1_epi16(1);
    const int64_t nb = a.k / 32;
    __m256 acc[R][T];
    float extra[R][T] = {};
    for (int i = 0; i < R; ++i)
      for (int j = 0; j < T; ++j) acc[i][j] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b += 2) {
      const bool pair = b + 1 < nb;
      const int64_t g = b / 4, p = (b % 4) / 2;
      __m256i lo[R], hi[R];
      __m256 dw[R];
      for (int i = 0; i < R; ++i) {
        const uint8_t* blk = a.w + rows[i] * a.w_stride + 18 * b;
        const __m128i q0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 2));
        const __m128i q1 = pair ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 20)) : _mm_setzero_si128();
        const __m256i q = _mm256_set_m128i(q1, q0);
        lo[i] = _mm256_and_si256(q, m4);
        hi[i] = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
        dw[i] = _mm256_set_m128(_mm_set1_ps(pair ? f16(blk + 18) : 0.0f), _mm_set1_ps(f16(blk)));
      }
      for (int j = 0; j < T; ++j) {
        const uint8_t* ap = a.act + (t + j) * a.act_stride + g * kQ4_0GroupBytes;
        const __m256i alo = load256(ap + 32 * p);
        const __m256i ahi = load256(ap + 64 + 32 * p);
        const __m256i bias = load256(ap + 128 + 32 * p);
        const uint8_t* act_t = a.act + (t + j) * a.act_stride;
        const float da0 = q4_0_act_scale(act_t, b), da1 = pair ? q4_0_act_scale(act_t, b + 1) : 0.0f;
        const __m256 da = _mm256_set_m128(_mm_set1_ps(da1), _mm_set1_ps(da0));
        for (int i = 0; i < R; ++i) {
          const __m256i s16 = _mm256_add_epi16(_mm256_maddubs_epi16(lo[i], alo), _mm256_maddubs_epi16(hi[i], ahi));
          const __m256i s = _mm256_add_epi32(_mm256_madd_epi16(s16, ones), bias);
          acc[i][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_mul_ps(dw[i], da), acc[i][j]);
        }
      }
    }
    store_sums<R, T>(a, rows, t, acc, extra);
  }
};

// Q8_0: one block per step, |w| x sign(a, w) so that vpmaddubsw sees an unsigned first operand.
struct Q8_0Kernel {
  template <int R, int T>
  static void run(const GemmArgs& a, const int64_t* rows, int64_t t) {
    const __m256i ones = _mm256_set1_epi16(1);
    const int64_t nb = a.k / 32;
    __m256 acc[R][T];
    float extra[R][T] = {};
    for (int i = 0; i < R; ++i)
      for (int j = 0; j < T; ++j) acc[i][j] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
      const int64_t g = b / 2, p = b % 2;
      __m256i q[R];
      float dw[R];
      for (int i = 0; i < R; ++i) {
        const uint8_t* blk = a.w + rows[i] * a.w_stride + 34 * b;
        q[i] = load256(blk + 2);
        dw[i] = f16(blk);
      }
      for (int j = 0; j < T; ++j) {
        const uint8_t* ap = a.act + (t + j) * a.act_stride + g * kQ8_0GroupBytes;
        const __m256i aq = load256(ap + 32 * p);
        const float da = load_f32(ap + 64 + 32 * p);
        for (int i = 0; i < R; ++i) {
          const __m256i s16 = _mm256_maddubs_epi16(_mm256_abs_epi8(q[i]), _mm256_sign_epi8(aq, q[i]));
          const __m256i s = _mm256_madd_epi16(s16, ones);
          acc[i][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(dw[i] * da), acc[i][j]);
        }
      }
    }
    store_sums<R, T>(a, rows, t, acc, extra);
  }
};

// ---------------------------------------------------------------------------------------------
// F32 / F16 / BF16 weights: 8 elements per step, scalar tail.
template <typename Load>
struct PlainKernel {
  template <int R, int T>
  static void run(const GemmArgs& a, const int64_t* rows, int64_t t) {
    const int64_t k = a.k;
    const uint8_t* w[R];
    for (int i = 0; i < R; ++i) w[i] = a.w + rows[i] * a.w_stride;
    const float* x[T];
    for (int j = 0; j < T; ++j) x[j] = reinterpret_cast<const float*>(a.act + (t + j) * a.act_stride);
    __m256 acc[R][T];
    float extra[R][T] = {};
    for (int i = 0; i < R; ++i)
      for (int j = 0; j < T; ++j) acc[i][j] = _mm256_setzero_ps();
    int64_t e = 0;
    for (; e + 8 <= k; e += 8) {
      __m256 wv[R];
      for (int i = 0; i < R; ++i) wv[i] = Load::load(w[i], e);
      for (int j = 0; j < T; ++j) {
        const __m256 xv = _mm256_loadu_ps(x[j] + e);
        for (int i = 0; i < R; ++i) acc[i][j] = _mm256_fmadd_ps(wv[i], xv, acc[i][j]);
      }
    }
    for (; e < k; ++e) {
      for (int i = 0; i < R; ++i)
        for (int j = 0; j < T; ++j) extra[i][j] += Load::scalar(w[i], e) * x[j][e];
    }
    store_sums<R, T>(a, rows, t, acc, extra);
  }
};

struct LoadF32 {
  static __m256 load(const uint8_t* w, int64_t e) { return _mm256_loadu_ps(reinterpret_cast<const float*>(w) + e); }
  static float scalar(const uint8_t* w, int64_t e) { return load_f32(w + 4 * e); }
};
struct LoadF16 {
  static __m256 load(const uint8_t* w, int64_t e) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 2 * e)));
  }
  static float scalar(const uint8_t* w, int64_t e) { return f16(w + 2 * e); }
};
struct LoadBF16 {
  static __m256 load(const uint8_t* w, int64_t e) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 2 * e));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
  static float scalar(const uint8_t* w, int64_t e) {
    const uint32_t u = static_cast<uint32_t>(load_u16(w + 2 * e)) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  }
};

// ---------------------------------------------------------------------------------------------
// Vector helpers.

void f32_to_f16_row_avx2(const float* x, uint16_t* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
  for (; i < n; ++i) y[i] = _cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

uint64_t read_sum_avx2(const uint8_t* p, size_t n) {
  __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
  for (size_t i = 0; i < n; i += 128) {
    s0 = _mm256_add_epi64(s0, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i)));
    s1 = _mm256_add_epi64(s1, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 32)));
    s2 = _mm256_add_epi64(s2, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 64)));
    s3 = _mm256_add_epi64(s3, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 96)));
  }
  const __m256i s = _mm256_add_epi64(_mm256_add_epi64(s0, s1), _mm256_add_epi64(s2, s3));
  alignas(32) uint64_t v[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(v), s);
  return v[0] + v[1] + v[2] + v[3];
}

// ---------------------------------------------------------------------------------------------
// Activation packing: the same bytes as pack_token_scalar (same amax, d, 1/d, x*(1/d) and
// round-to-nearest-even conversion), 32 elements at a time.

float scale_of(const float* x, int n, float* id) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 m = _mm256_setzero_ps();
  for (int i = 0; i < n; i += 8) m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + i)));
  __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
  h = _mm_max_ps(h, _mm_movehl_ps(h, h));
  h = _mm_max_ss(h, _mm_movehdup_ps(h));
  const float d = _mm_cvtss_f32(h) / 127.0f;
  *id = d != 0.0f ? 1.0f / d : 0.0f;
  return d;
}

// 32 floats -> 32 int8 in order.
__m256i quant32(const float* x, float id) {
  const __m256 iv = _mm256_set1_ps(id);
  const __m256i q0 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x), iv));
  const __m256i q1 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 8), iv));
  const __m256i q2 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 16), iv));
  const __m256i q3 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 24), iv));
  const __m256i b = _mm256_packs_epi16(_mm256_packs_epi32(q0, q1), _mm256_packs_epi32(q2, q3));
  return _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// Sums of each 4 consecutive int8 (8 i32 lanes).
__m256i sum4(__m256i q) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), q), _mm256_set1_epi16(1));
}

void pack_token_avx2(ActFormat fmt, const float* x, int64_t k, uint8_t* dst) {
  const int64_t nb = k / 32;
  if (fmt == ActFormat::kQ8_0) {
    if (nb % 2) std::memset(dst + (nb / 2) * kQ8_0GroupBytes, 0, kQ8_0GroupBytes);
    for (int64_t b = 0; b < nb; ++b) {
      uint8_t* g = dst + (b / 2) * kQ8_0GroupBytes;
      const int j = static_cast<int>(b % 2);
      float id;
      const float d = scale_of(x + 32 * b, 32, &id);
      const __m256i q = quant32(x + 32 * b, id);
      _mm256_store_si256(reinterpret_cast<__m256i*>(g + 32 * j), q);
      _mm256_store_ps(reinterpret_cast<float*>(g + 64 + 32 * j), _mm256_set1_ps(d));
    }
  } else if (fmt == ActFormat::kQ4_0) {
    if (nb % 4) std::memset(dst + (nb / 4) * kQ4_0GroupBytes, 0, kQ4_0GroupBytes);
    for (int64_t b = 0; b < nb; ++b) {
      uint8_t* g = dst + (b / 4) * kQ4_0GroupBytes;
      const int j = static_cast<int>(b % 4);
      float id;
      const float d = scale_of(x + 32 * b, 32, &id);
      const __m256i q = quant32(x + 32 * b, id);
      _mm_store_si128(reinterpret_cast<__m128i*>(g + 16 * j), _mm256_castsi256_si128(q));
      _mm_store_si128(reinterpret_cast<__m128i*>(g + 64 + 16 * j), _mm256_extracti128_si256(q, 1));
      const __m256i s = sum4(q);
      const __m128i s2 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
      _mm_store_si128(reinterpret_cast<__m128i*>(g + 128 + 16 * j), _mm_slli_epi32(_mm_sub_epi32(_mm_setzero_si128(), s2), 3));
      if (j == 0) std::memset(g + 192, 0, 64);
      const int64_t pair = b / 8, h = (b / 4) % 2;
      float* dl = reinterpret_cast<float*>(dst + 2 * pair * kQ4_0GroupBytes + 192) + 4 * j + 2 * h;
      dl[0] = dl[1] = d;
    }
  } else {
    const bool split = fmt == ActFormat::kQ8KSplit;
    for (int64_t b = 0; b < k / 256; ++b) {
      const float* xb = x + 256 * b;
      uint8_t* g = dst + b * kQ8KBlockBytes;
      float id;
      const float d = scale_of(xb, 256, &id);
      alignas(32) int32_t lanes[8];
      int16_t b16[16], b32[8];
      for (int s = 0; s < 8; ++s) {
        const __m256i q = quant32(xb + 32 * s, id);
        _mm256_store_si256(reinterpret_cast<__m256i*>(g + 32 * (split ? split_pos(s) : s)), q);
        _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), sum4(q));
        b16[2 * s] = static_cast<int16_t>(lanes[0] + lanes[1] + lanes[2] + lanes[3]);
        b16[2 * s + 1] = static_cast<int16_t>(lanes[4] + lanes[5] + lanes[6] + lanes[7]);
        b32[s] = static_cast<int16_t>(b16[2 * s] + b16[2 * s + 1]);
      }
      std::memset(g + kQ8KBsum16Offset, 0, kQ8KBlockBytes - kQ8KBsum16Offset);
      std::memcpy(g + kQ8KBsum16Offset, b16, sizeof(b16));
      std::memcpy(g + kQ8KBsum32Offset, b32, sizeof(b32));
      std::memcpy(g + kQ8KScaleOffset, &d, 4);
    }
  }
}

}  // namespace

namespace {
// Vector traits for attention_impl.h: 8 f32 lanes.
struct Ymm {
  using T = __m256;
  static constexpr int64_t W = 8;
  static T zero() { return _mm256_setzero_ps(); }
  static T set1(float x) { return _mm256_set1_ps(x); }
  static T load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, T x) { _mm256_storeu_ps(p, x); }
  static T load_f16(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
  static T add(T a, T b) { return _mm256_add_ps(a, b); }
  static T sub(T a, T b) { return _mm256_sub_ps(a, b); }
  static T mul(T a, T b) { return _mm256_mul_ps(a, b); }
  static T div(T a, T b) { return _mm256_div_ps(a, b); }
  static T fma(T a, T b, T c) { return _mm256_fmadd_ps(a, b, c); }
  static T max(T a, T b) { return _mm256_max_ps(a, b); }
  static T min(T a, T b) { return _mm256_min_ps(a, b); }
  static T round(T x) { return _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  // p * 2^n for integral n in [-126, 127] (exp_poly's clamp keeps it there): n goes into the exponent bits.
  static T ldexp2(T p, T n) {
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
  }
  static float hsum(T a) { return muse::core::detail::ymm::hsum(a); }
  static float hmax(T a) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
  }
  // Lane i = the sum of a[i]'s lanes (see Zmm::sum_lanes in matmul_avx512.cpp).
  static T sum_lanes(const T (&a)[8]) {
    T r1[4], r2[2];
    for (int i = 0; i < 4; ++i) {
      r1[i] = _mm256_add_ps(_mm256_permute2f128_ps(a[i], a[i + 4], 0x20), _mm256_permute2f128_ps(a[i], a[i + 4], 0x31));
    }
    for (int i = 0; i < 2; ++i) {
      r2[i] = _mm256_add_ps(_mm256_shuffle_ps(r1[i], r1[i + 2], _MM_SHUFFLE(1, 0, 1, 0)),
                            _mm256_shuffle_ps(r1[i], r1[i + 2], _MM_SHUFFLE(3, 2, 3, 2)));
    }
    const T r3 = _mm256_add_ps(_mm256_shuffle_ps(r2[0], r2[1], _MM_SHUFFLE(2, 0, 2, 0)),
                               _mm256_shuffle_ps(r2[0], r2[1], _MM_SHUFFLE(3, 1, 3, 1)));
    return _mm256_permute_ps(r3, _MM_SHUFFLE(3, 1, 2, 0));
  }
  static T exp(T x) { return exp_poly<Ymm>(x); }
};
}  // namespace

void fill_avx2_kernels(KernelSet* ks) {
  ks->pack_token = pack_token_avx2;
  ks->q4_0 = tiles<Q4_0Kernel>;
  ks->q8_0 = tiles<Q8_0Kernel>;
  ks->q4_k = tiles<K4Kernel<false>>;
  ks->q5_k = tiles<K4Kernel<true>>;
  ks->q6_k = tiles<Q6KKernel>;
  ks->f32 = tiles<PlainKernel<LoadF32>>;
  ks->f16 = tiles<PlainKernel<LoadF16>>;
  ks->bf16 = tiles<PlainKernel<LoadBF16>>;
  ks->f32_to_f16_row = f32_to_f16_row_avx2;
  ks->attend = attend_impl<Ymm>;
  ks->silu_mul = silu_mul_impl<Ymm>;
  ks->read_sum = read_sum_avx2;
}

}  // namespace muse::core::detail
