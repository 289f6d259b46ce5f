#include "train/layers.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "train/gemm.h"

namespace muse::train {
namespace {

// Below this many elementary operations a region runs on the calling thread: waking the workers
// costs microseconds (much more when the cores are oversubscribed), ~10-50 us of work here.
constexpr int64_t kMinParallelWork = 1 << 15;

// Runs fn(begin, end) over [0, n) split across the pool's workers; chunks are multiples of `grain`.
// `item_cost` (operations per item) decides whether splitting is worth it at all.
template <typename Fn>
void parallel_for(core::ThreadPool& pool, int64_t n, int64_t grain, int64_t item_cost, Fn&& fn) {
  if (pool.size() <= 1 || n <= grain || n * item_cost < kMinParallelWork) {
    fn(int64_t{0}, n);
    return;
  }
  pool.run([&](int ith, int nth) {
    int64_t begin = 0, end = 0;
    core::ThreadPool::chunk(n, ith, nth, grain, &begin, &end);
    if (begin < end) fn(begin, end);
  });
}

// e^x without a libm call, so that the loops calling it (softmax, SiLU) vectorize; ~2 ulp.
//   e^x = 2^n e^r, n = round(x / ln 2), r = x - n ln 2 in [-ln2/2, ln2/2]
// e^r by its Taylor series to r^7: the first dropped term is (ln2/2)^8 / 8! = 5e-9 < 2^-24.
// ln 2 is split into a part with few mantissa bits (n * hi is exact) and the rest, so r keeps its
// precision. x is clamped to where 2^n is a normal float: below -87.3 the result is ~1e-38 instead
// of an underflow to 0, above 88.7 it saturates at ~3.4e38; both harmless where it is used.
inline float exp_approx(float x) {
  x = std::min(std::max(x, -87.3f), 88.7f);  // = _mm_min_ps(_mm_max_ps(..)) for non-NaN x
  // round to nearest by the 1.5 * 2^23 trick (exact for |x / ln2| < 2^22)
  const float n = (x * 1.44269504f + 12582912.0f) - 12582912.0f;
  const float r = (x - n * 0.693145752f) - n * 1.42860682e-6f;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  return p * std::bit_cast<float>(bits);
}

#if defined(__SSE2__)
// exp_approx on 4 lanes, the same operations in the same order, so every element gets the same bits
// whether a vector loop or its scalar tail computes it. Written out because GCC will not vectorize the
// scalar version (it keeps the two float clamps as branches).
inline __m128 exp_approx4(__m128 x) {
  x = _mm_min_ps(_mm_max_ps(x, _mm_set1_ps(-87.3f)), _mm_set1_ps(88.7f));
  const __m128 magic = _mm_set1_ps(12582912.0f);
  const __m128 n = _mm_sub_ps(_mm_add_ps(_mm_mul_ps(x, _mm_set1_ps(1.44269504f)), magic), magic);
  const __m128 r = _mm_sub_ps(_mm_sub_ps(x, _mm_mul_ps(n, _mm_set1_ps(0.693145752f))),
                              _mm_mul_ps(n, _mm_set1_ps(1.42860682e-6f)));
  __m128 p = _mm_set1_ps(1.0f / 5040.0f);
  p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(1.0f / 720.0f));
  p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(1.0f / 120.0f));
  p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(1.0f / 24.0f));
  p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(1.0f / 6.0f));
  p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(0.5f));
  p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(1.0f));
  p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(1.0f));
  const __m128i bits = _mm_slli_epi32(_mm_add_epi32(_mm_cvttps_epi32(n), _mm_set1_epi32(127)), 23);
  return _mm_mul_ps(p, _mm_castsi128_ps(bits));
}
#endif

}  // namespace

// ----------------------------------------------------------------------------------------------------
// embedding

void embedding_forward(float* out, const int32_t* tokens, const float* wte, int64_t BT, int64_t C) {
  for (int64_t i = 0; i < BT; i++) {
    std::memcpy(out + i * C, wte + static_cast<int64_t>(tokens[i]) * C, static_cast<size_t>(C) * sizeof(float));
  }
}

void embedding_backward(float* dwte, const float* dout, const int32_t* tokens, int64_t BT, int64_t C) {
  // forward: out[i,:] = wte[tokens[i],:]. Serial: positions sharing a token add into the same row.
  for (int64_t i = 0; i < BT; i++) {
    float* dw = dwte + static_cast<int64_t>(tokens[i]) * C;
    const float* d = dout + i * C;
    for (int64_t c = 0; c < C; c++) dw[c] += d[c];
  }
}

// ----------------------------------------------------------------------------------------------------
// rmsnorm

void rmsnorm_forward(core::ThreadPool& pool, float* out, float* rstd, const float* inp, const float* weight,
                     int64_t BT, int64_t C, float eps) {
  parallel_for(pool, BT, 16, C, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) {
      const float* x = inp + i * C;
      float ss = 0.0f;
      for (int64_t c = 0; c < C; c++) ss += x[c] * x[c];
      const float r = 1.0f / std::sqrt(ss / static_cast<float>(C) + eps);
      float* o = out + i * C;
      for (int64_t c = 0; c < C; c++) o[c] = x[c] * r * weight[c];
      rstd[i] = r;
    }
  });
}

void rmsnorm_backward(core::ThreadPool& pool, float* dinp, float* dweight, const float* dout, const float* rstd,
                      const float* inp, const float* weight, int64_t BT, int64_t C) {
  // forward: out[c] = x[c] * r * w[c], r = (mean(x^2) + eps)^(-1/2), dr/dx[c] = -r^3 x[c] / C
  //   dx[c] += r * w[c] dout[c] - r^3 / C * x[c] * sum_j(w[j] dout[j] x[j])
  //   dw[c] += sum over rows of dout[c] * x[c] * r
  parallel_for(pool, BT, 16, C, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) {
      const float* x = inp + i * C;
      const float* d = dout + i * C;
      const float r = rstd[i];
      float dot = 0.0f;
      for (int64_t c = 0; c < C; c++) dot += weight[c] * d[c] * x[c];
      const float k = r * r * r * dot / static_cast<float>(C);
      float* dx = dinp + i * C;
      for (int64_t c = 0; c < C; c++) dx[c] += r * weight[c] * d[c] - k * x[c];
    }
  });
  // Split by columns so each dweight element has one writer and a fixed summation order.
  parallel_for(pool, C, 16, BT, [&](int64_t c0, int64_t c1) {
    for (int64_t i = 0; i < BT; i++) {
      const float* x = inp + i * C;
      const float* d = dout + i * C;
      const float r = rstd[i];
      for (int64_t c = c0; c < c1; c++) dweight[c] += d[c] * x[c] * r;
    }
  });
}

// ----------------------------------------------------------------------------------------------------
// matmul

void matmul_forward(core::ThreadPool& pool, float* out, const float* inp, const float* weight, int64_t BT,
                    int64_t C, int64_t OC) {
  // out (BT,OC) = inp (BT,C) @ weight^T (C,OC)
  sgemm_parallel(pool, false, true, BT, OC, C, 1.0f, inp, C, weight, C, 0.0f, out, OC);
}

void matmul_backward(core::ThreadPool& pool, float* dinp, float* dweight, const float* dout, const float* inp,
                     const float* weight, int64_t BT, int64_t C, int64_t OC) {
  // forward: out = inp @ weight^T
  // dinp (BT,C) += dout (BT,OC) @ weight (OC,C)
  sgemm_parallel(pool, false, false, BT, C, OC, 1.0f, dout, OC, weight, C, 1.0f, dinp, C);
  // dweight (OC,C) += dout^T (OC,BT) @ inp (BT,C)
  sgemm_parallel(pool, true, false, OC, C, BT, 1.0f, dout, OC, inp, C, 1.0f, dweight, C);
}

// ----------------------------------------------------------------------------------------------------
// rope

void rope_table(float* cos_table, float* sin_table, int64_t T, int64_t HS, float theta) {
  const int64_t half = HS / 2;
  for (int64_t t = 0; t < T; t++) {
    for (int64_t i = 0; i < half; i++) {
      // Angles in double: pos * freq reaches ~T radians, where float's 2^-24 relative error would cost
      // ~1e-5 rad at T = 256, more than the gradient checks should have to absorb.
      const double freq = std::pow(static_cast<double>(theta), -2.0 * static_cast<double>(i) / static_cast<double>(HS));
      const double angle = static_cast<double>(t) * freq;
      cos_table[t * half + i] = static_cast<float>(std::cos(angle));
      sin_table[t * half + i] = static_cast<float>(std::sin(angle));
    }
  }
}

void rope_forward(float* out, const float* inp, const float* cos_table, const float* sin_table, int64_t B,
                  int64_t T, int64_t n_head, int64_t HS) {
  const int64_t half = HS / 2;
  for (int64_t b = 0; b < B; b++) {
    for (int64_t t = 0; t < T; t++) {
      const float* cs = cos_table + t * half;
      const float* sn = sin_table + t * half;
      for (int64_t h = 0; h < n_head; h++) {
        const int64_t base = ((b * T + t) * n_head + h) * HS;
        const float* x = inp + base;
        float* o = out + base;
        for (int64_t i = 0; i < half; i++) {
          const float x0 = x[2 * i], x1 = x[2 * i + 1];
          o[2 * i] = x0 * cs[i] - x1 * sn[i];
          o[2 * i + 1] = x0 * sn[i] + x1 * cs[i];
        }
      }
    }
  }
}

void rope_backward(float* dinp, const float* dout, const float* cos_table, const float* sin_table, int64_t B,
                   int64_t T, int64_t n_head, int64_t HS) {
  // forward: o0 = x0 cos - x1 sin ; o1 = x0 sin + x1 cos   (a rotation: its transpose rotates back)
  //   dx0 += d0 cos + d1 sin ; dx1 += -d0 sin + d1 cos
  const int64_t half = HS / 2;
  for (int64_t b = 0; b < B; b++) {
    for (int64_t t = 0; t < T; t++) {
      const float* cs = cos_table + t * half;
      const float* sn = sin_table + t * half;
      for (int64_t h = 0; h < n_head; h++) {
        const int64_t base = ((b * T + t) * n_head + h) * HS;
        const float* d = dout + base;
        float* dx = dinp + base;
        for (int64_t i = 0; i < half; i++) {
          const float d0 = d[2 * i], d1 = d[2 * i + 1];
          dx[2 * i] += d0 * cs[i] + d1 * sn[i];
          dx[2 * i + 1] += -d0 * sn[i] + d1 * cs[i];
        }
      }
    }
  }
}

// ----------------------------------------------------------------------------------------------------
// attention

void attention_forward(core::ThreadPool& pool, float* out, float* att, const float* q, const float* k,
                       const float* v, int64_t B, int64_t T, int64_t NH, int64_t NKV, int64_t HS) {
  const int64_t QD = NH * HS, KD = NKV * HS, group = NH / NKV;
  const float scale = 1.0f / std::sqrt(static_cast<float>(HS));
  // One task per (b, h): the per-head products are GEMMs over strided views of q/k/v.
  parallel_for(pool, B * NH, 1, 2 * T * T * HS, [&](int64_t begin, int64_t end) {
    for (int64_t bh = begin; bh < end; bh++) {
      const int64_t b = bh / NH, h = bh % NH, g = h / group;
      const float* qh = q + b * T * QD + h * HS;  // (T,HS), row stride QD
      const float* kg = k + b * T * KD + g * HS;  // (T,HS), row stride KD
      const float* vg = v + b * T * KD + g * HS;
      float* outh = out + b * T * QD + h * HS;
      float* p = att + bh * T * T;  // (T,T)
      for (int64_t r0 = 0; r0 < T; r0 += kAttentionRowBlock) {
        const int64_t r1 = std::min(T, r0 + kAttentionRowBlock), n = r1 - r0;
        // p[r0:r1, 0:r1] = scale * qh[r0:r1] @ kg[0:r1]^T
        sgemm(false, true, n, r1, HS, scale, qh + r0 * QD, QD, kg, KD, 0.0f, p + r0 * T, T);
        for (int64_t t = r0; t < r1; t++) {
          float* row = p + t * T;
          float maxv = row[0];
          for (int64_t s = 1; s <= t; s++) maxv = std::max(maxv, row[s]);
          float sum = 0.0f;
          int64_t s = 0;
#if defined(__SSE2__)
          // Four partial sums, folded in a fixed order: reproducible, and independent of the split.
          __m128 acc = _mm_setzero_ps();
          const __m128 vmax = _mm_set1_ps(maxv);
          for (; s + 4 <= t + 1; s += 4) {
            const __m128 e = exp_approx4(_mm_sub_ps(_mm_loadu_ps(row + s), vmax));
            _mm_storeu_ps(row + s, e);
            acc = _mm_add_ps(acc, e);
          }
          alignas(16) float parts[4];
          _mm_store_ps(parts, acc);
          sum = (parts[0] + parts[1]) + (parts[2] + parts[3]);
#endif
          for (; s <= t; s++) {
            row[s] = exp_approx(row[s] - maxv);
            sum += row[s];
          }
          const float inv = 1.0f / sum;
          for (int64_t s = 0; s <= t; s++) row[s] *= inv;
          for (int64_t s = t + 1; s < T; s++) row[s] = 0.0f;
        }
        // out_h[r0:r1] (n,HS) = p[r0:r1, 0:r1] @ vg[0:r1] (r1,HS)
        sgemm(false, false, n, HS, r1, 1.0f, p + r0 * T, T, vg, KD, 0.0f, outh + r0 * QD, QD);
      }
    }
  });
}

void attention_backward(core::ThreadPool& pool, float* dq, float* dk, float* dv, float* datt, const float* dout,
                        const float* att, const float* q, const float* k, const float* v, int64_t B, int64_t T,
                        int64_t NH, int64_t NKV, int64_t HS) {
  const int64_t QD = NH * HS, KD = NKV * HS, group = NH / NKV;
  const float scale = 1.0f / std::sqrt(static_cast<float>(HS));
  // One task per (b, kv head): the query heads of a group run in order inside it, so each dk/dv slice
  // has exactly one writer and a fixed summation order.
  parallel_for(pool, B * NKV, 1, 4 * T * T * HS * group, [&](int64_t begin, int64_t end) {
    for (int64_t bg = begin; bg < end; bg++) {
      const int64_t b = bg / NKV, g = bg % NKV;
      const float* kg = k + b * T * KD + g * HS;
      const float* vg = v + b * T * KD + g * HS;
      float* dkg = dk + b * T * KD + g * HS;
      float* dvg = dv + b * T * KD + g * HS;
      for (int64_t h = g * group; h < (g + 1) * group; h++) {
        const int64_t bh = b * NH + h;
        const float* qh = q + b * T * QD + h * HS;
        const float* douth = dout + b * T * QD + h * HS;
        float* dqh = dq + b * T * QD + h * HS;
        const float* p = att + bh * T * T;
        float* dp = datt + bh * T * T;
        for (int64_t r0 = 0; r0 < T; r0 += kAttentionRowBlock) {
          const int64_t r1 = std::min(T, r0 + kAttentionRowBlock), n = r1 - r0;
          // forward: out_h[r0:r1] = p[r0:r1, 0:r1] @ vg[0:r1]
          //   dp[r0:r1, 0:r1] = dout_h[r0:r1] @ vg[0:r1]^T ; dvg[0:r1] += p[r0:r1, 0:r1]^T @ dout_h[r0:r1]
          sgemm(false, true, n, r1, HS, 1.0f, douth + r0 * QD, QD, vg, KD, 0.0f, dp + r0 * T, T);
          sgemm(true, false, r1, HS, n, 1.0f, p + r0 * T, T, douth + r0 * QD, QD, 1.0f, dvg, KD);
          // forward: p[t,:] = softmax(s[t, 0..t]), s = scale * qh @ kg^T
          //   ds[t,s] = p[t,s] * (dp[t,s] - sum_j p[t,j] dp[t,j]) ; the scale is folded in here
          for (int64_t t = r0; t < r1; t++) {
            const float* prow = p + t * T;
            float* row = dp + t * T;
            float dot = 0.0f;
            for (int64_t s = 0; s <= t; s++) dot += prow[s] * row[s];
            for (int64_t s = 0; s <= t; s++) row[s] = scale * prow[s] * (row[s] - dot);
            for (int64_t s = t + 1; s < r1; s++) row[s] = 0.0f;
          }
          // dqh[r0:r1] += ds[r0:r1, 0:r1] @ kg[0:r1] ; dkg[0:r1] += ds[r0:r1, 0:r1]^T @ qh[r0:r1]
          sgemm(false, false, n, HS, r1, 1.0f, dp + r0 * T, T, kg, KD, 1.0f, dqh + r0 * QD, QD);
          sgemm(true, false, r1, HS, n, 1.0f, dp + r0 * T, T, qh + r0 * QD, QD, 1.0f, dkg, KD);
        }
      }
    }
  });
}

// ----------------------------------------------------------------------------------------------------
// swiglu

void swiglu_forward(core::ThreadPool& pool, float* out, const float* gate, const float* up, int64_t N) {
  parallel_for(pool, N, 4096, 8, [&](int64_t begin, int64_t end) {
    int64_t i = begin;
#if defined(__SSE2__)
    const __m128 one = _mm_set1_ps(1.0f), zero = _mm_setzero_ps();
    for (; i + 4 <= end; i += 4) {
      const __m128 g = _mm_loadu_ps(gate + i);
      const __m128 silu = _mm_div_ps(g, _mm_add_ps(one, exp_approx4(_mm_sub_ps(zero, g))));
      _mm_storeu_ps(out + i, _mm_mul_ps(silu, _mm_loadu_ps(up + i)));
    }
#endif
    for (; i < end; i++) {
      const float g = gate[i];
      out[i] = g / (1.0f + exp_approx(-g)) * up[i];
    }
  });
}

void swiglu_backward(core::ThreadPool& pool, float* dgate, float* dup, const float* dout, const float* gate,
                     const float* up, int64_t N) {
  // forward: out = silu(g) * u, silu(g) = g * sig(g)
  //   dg += dout * u * sig(g) * (1 + g * (1 - sig(g))) ; du += dout * silu(g)
  parallel_for(pool, N, 4096, 8, [&](int64_t begin, int64_t end) {
    int64_t i = begin;
#if defined(__SSE2__)
    const __m128 one = _mm_set1_ps(1.0f), zero = _mm_setzero_ps();
    for (; i + 4 <= end; i += 4) {
      const __m128 g = _mm_loadu_ps(gate + i), d = _mm_loadu_ps(dout + i);
      const __m128 sig = _mm_div_ps(one, _mm_add_ps(one, exp_approx4(_mm_sub_ps(zero, g))));
      const __m128 dg = _mm_mul_ps(_mm_mul_ps(_mm_mul_ps(d, _mm_loadu_ps(up + i)), sig),
                                   _mm_add_ps(one, _mm_mul_ps(g, _mm_sub_ps(one, sig))));
      _mm_storeu_ps(dgate + i, _mm_add_ps(_mm_loadu_ps(dgate + i), dg));
      _mm_storeu_ps(dup + i, _mm_add_ps(_mm_loadu_ps(dup + i), _mm_mul_ps(_mm_mul_ps(d, g), sig)));
    }
#endif
    for (; i < end; i++) {
      const float g = gate[i];
      const float sig = 1.0f / (1.0f + exp_approx(-g));
      dgate[i] += dout[i] * up[i] * sig * (1.0f + g * (1.0f - sig));
      dup[i] += dout[i] * g * sig;
    }
  });
}

// ----------------------------------------------------------------------------------------------------
// residual

void residual_forward(float* out, const float* inp1, const float* inp2, int64_t N) {
  for (int64_t i = 0; i < N; i++) out[i] = inp1[i] + inp2[i];
}

void residual_backward(float* dinp1, float* dinp2, const float* dout, int64_t N) {
  // forward: out = inp1 + inp2
  for (int64_t i = 0; i < N; i++) {
    dinp1[i] += dout[i];
    dinp2[i] += dout[i];
  }
}

// ----------------------------------------------------------------------------------------------------
// cross-entropy

namespace {
int64_t count_unmasked(const uint8_t* mask, int64_t BT) {
  int64_t n = 0;
  for (int64_t i = 0; i < BT; i++) n += mask[i] != 0;
  return n;
}
}  // namespace

float crossentropy_forward(float* probs, float* losses, const float* logits, const int32_t* targets,
                           const uint8_t* mask, int64_t BT, int64_t V) {
  double total = 0.0;
  for (int64_t i = 0; i < BT; i++) {
    const float* l = logits + i * V;
    float* p = probs + i * V;
    // Read before p (which may alias l) is written.
    const float l_target = mask[i] ? l[targets[i]] : 0.0f;
    float maxv = l[0];
    for (int64_t j = 1; j < V; j++) maxv = std::max(maxv, l[j]);
    float sum = 0.0f;
    for (int64_t j = 0; j < V; j++) {
      p[j] = exp_approx(l[j] - maxv);
      sum += p[j];
    }
    const float inv = 1.0f / sum;
    for (int64_t j = 0; j < V; j++) p[j] *= inv;
    // -log p[target] from the logits, not from p: p can underflow to 0 for a confident wrong guess.
    losses[i] = mask[i] ? std::log(sum) - (l_target - maxv) : 0.0f;
    total += losses[i];
  }
  const int64_t n = count_unmasked(mask, BT);
  return n > 0 ? static_cast<float>(total / static_cast<double>(n)) : 0.0f;
}

void crossentropy_backward(float* dlogits, const float* probs, const int32_t* targets, const uint8_t* mask,
                           int64_t BT, int64_t V) {
  // forward: mean = sum_i mask[i] * -log softmax(logits[i])[target[i]] / n_unmasked
  //   dlogits[i,j] += mask[i] * (probs[i,j] - [j == target[i]]) / n_unmasked
  const int64_t n = count_unmasked(mask, BT);
  if (n == 0) return;
  const float inv_n = 1.0f / static_cast<float>(n);
  for (int64_t i = 0; i < BT; i++) {
    if (!mask[i]) continue;
    const float* p = probs + i * V;
    float* d = dlogits + i * V;
    for (int64_t j = 0; j < V; j++) d[j] += p[j] * inv_n;
    d[targets[i]] -= inv_n;
  }
}

void crossentropy_backward_weighted(float* dlogits, const float* probs, const int32_t* targets, const float* dloss,
                                    int64_t BT, int64_t V) {
  // forward: J = sum_i dloss[i] * -log softmax(logits[i])[target[i]]
  //   dlogits[i,j] += dloss[i] * (probs[i,j] - [j == target[i]])
  for (int64_t i = 0; i < BT; i++) {
    const float w = dloss[i];
    if (w == 0.0f) continue;
    const float* p = probs + i * V;
    float* d = dlogits + i * V;
    for (int64_t j = 0; j < V; j++) d[j] += p[j] * w;
    d[targets[i]] -= w;
  }
}

}  // namespace muse::train
