// Reference (scalar) conversions for the ggml block formats; layouts are documented in quant.h.
#include "core/quant.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/quant_blocks.h"

namespace muse::core {
namespace {

uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

float bits_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Round half away from zero, as C's roundf: ggml's reference quantizers use it, and matching it
// makes our Q8_0 bytes identical to files written by ggml/gguf-py.
int round_away(float v) { return static_cast<int>(std::round(v)); }

// ---------------------------------------------------------------------------------------------
// Q8_0 / Q4_0: the ggml reference algorithms, so that re-quantizing an F32 tensor reproduces
// the bytes of a ggml-written file.

void quantize_q8_0(const float* x, BlockQ8_0* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 32) {
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.0f;  // x = d * q, |q| <= 127
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = f32_to_f16(d);
    for (int j = 0; j < 32; ++j) y[i].qs[j] = static_cast<int8_t>(round_away(x[j] * id));
  }
}

void dequantize_q8_0(const BlockQ8_0* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += 32) {
    const float d = f16_to_f32(b[i].d);
    for (int j = 0; j < 32; ++j) y[j] = d * static_cast<float>(b[i].qs[j]);
  }
}

void quantize_q4_0(const float* x, BlockQ4_0* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 32) {
    // The signed value of largest magnitude maps to level 0 (= -8), so the other side gets +7.
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < 32; ++j) {
      if (std::fabs(x[j]) > amax) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    }
    const float d = max / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = f32_to_f16(d);
    for (int j = 0; j < 16; ++j) {
      // ggml computes x*id + 8.5 with one rounding (an FMA when the compiler contracts it); gguf-py
      // emulates that in double, then truncates in f32. Doing the same keeps the bytes identical.
      auto level = [&](float v) {
        const float t = static_cast<float>(static_cast<double>(v) * static_cast<double>(id) + 8.5);
        return std::min(15, std::max(0, static_cast<int>(std::trunc(t))));
      };
      y[i].qs[j] = static_cast<uint8_t>(level(x[j]) | (level(x[j + 16]) << 4));
    }
  }
}

void dequantize_q4_0(const BlockQ4_0* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += 32) {
    const float d = f16_to_f32(b[i].d);
    for (int j = 0; j < 16; ++j) {
      y[j] = d * static_cast<float>((b[i].qs[j] & 0x0F) - 8);
      y[j + 16] = d * static_cast<float>((b[i].qs[j] >> 4) - 8);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// K-quant helpers.

// Fits x[0..n) ~= scale * q - min with q in [0, nmax], scale >= 0, min >= 0, minimizing the squared
// error over a small grid of candidate scales (each refined by least squares for the chosen levels).
void fit_asymmetric(const float* x, int n, int nmax, float* scale, float* min_out) {
  float lo = x[0], hi = x[0];
  for (int i = 1; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  lo = std::min(lo, 0.0f);  // the format's offset is -min with min >= 0
  if (hi <= lo) {
    *scale = 0.0f;
    *min_out = -lo;
    return;
  }
  float best_err = INFINITY, best_s = (hi - lo) / static_cast<float>(nmax), best_b = lo;
  uint8_t q[32];
  for (int step = -10; step <= 10; ++step) {
    const float iscale = (static_cast<float>(nmax) + 0.1f * static_cast<float>(step)) / (hi - lo);
    double sq = 0, sqq = 0, sx = 0, sqx = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(round_away(iscale * (x[i] - lo)), 0, nmax);
      q[i] = static_cast<uint8_t>(l);
      sq += l;
      sqq += static_cast<double>(l) * l;
      sx += x[i];
      sqx += static_cast<double>(l) * x[i];
    }
    // Least squares for x ~= s*q + b: [sqq sq; sq n] [s b]' = [sqx sx]'.
    const double det = n * sqq - sq * sq;
    if (det <= 0) continue;
    double s = (n * sqx - sq * sx) / det;
    double b = (sqq * sx - sq * sqx) / det;
    if (b > 0) {  // the format cannot add a positive offset
      b = 0;
      s = sqx / sqq;
    }
    if (s <= 0) continue;
    double err = 0;
    for (int i = 0; i < n; ++i) {
      const double e = s * q[i] + b - x[i];
      err += e * e;
    }
    if (err < best_err) {
      best_err = static_cast<float>(err);
      best_s = static_cast<float>(s);
      best_b = static_cast<float>(b);
    }
  }
  *scale = best_s;
  *min_out = -best_b;
}

// Fits x[0..n) ~= scale * q with q in [-nmax, nmax-1]; the scale's sign is chosen so that the
// element of largest magnitude can use the extra negative level. Returns the (signed) scale.
float fit_symmetric(const float* x, int n, int nmax) {
  float amax = 0.0f, max = 0.0f;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
  if (amax == 0.0f) return 0.0f;
  float best_err = INFINITY, best_s = max / -static_cast<float>(nmax);
  for (int step = -10; step <= 10; ++step) {
    const float iscale = -(static_cast<float>(nmax) + 0.1f * static_cast<float>(step)) / max;
    double sqq = 0, sqx = 0;
    int q[32];
    for (int i = 0; i < n; ++i) {
      q[i] = std::clamp(round_away(iscale * x[i]), -nmax, nmax - 1);
      sqq += static_cast<double>(q[i]) * q[i];
      sqx += static_cast<double>(q[i]) * x[i];
    }
    if (sqq <= 0) continue;
    const double s = sqx / sqq;
    double err = 0;
    for (int i = 0; i < n; ++i) {
      const double e = s * q[i] - x[i];
      err += e * e;
    }
    if (err < best_err) {
      best_err = static_cast<float>(err);
      best_s = static_cast<float>(s);
    }
  }
  return best_s;
}

// 6-bit scale/min packing of Q4_K/Q5_K (sub-blocks j = 0..7):
//   j < 4: sc = s[j] & 63, m = s[j+4] & 63
//   j >= 4: sc = (s[j+4] & 15) | (s[j-4] >> 6) << 4, m = (s[j+4] >> 4) | (s[j] >> 6) << 4
void pack_scales_k4(const uint8_t* sc, const uint8_t* m, uint8_t* s) {
  for (int j = 0; j < 4; ++j) {
    s[j] = static_cast<uint8_t>((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
    s[j + 4] = static_cast<uint8_t>((m[j] & 63) | ((m[j + 4] >> 4) << 6));
    s[j + 8] = static_cast<uint8_t>((sc[j + 4] & 15) | ((m[j + 4] & 15) << 4));
  }
}

// Shared by Q4_K (nmax 15) and Q5_K (nmax 31): sub-block scales/mins, then final levels.
void quantize_k4_common(const float* x, int nmax, uint16_t* d_out, uint16_t* dmin_out, uint8_t* scales,
                        uint8_t* levels) {
  float sub_scale[8], sub_min[8];
  float max_scale = 0.0f, max_min = 0.0f;
  for (int j = 0; j < 8; ++j) {
    fit_asymmetric(x + 32 * j, 32, nmax, &sub_scale[j], &sub_min[j]);
    max_scale = std::max(max_scale, sub_scale[j]);
    max_min = std::max(max_min, sub_min[j]);
  }
  *d_out = f32_to_f16(max_scale / 63.0f);
  *dmin_out = f32_to_f16(max_min / 63.0f);
  const float d = f16_to_f32(*d_out), dmin = f16_to_f32(*dmin_out);
  uint8_t sc[8], mn[8];
  for (int j = 0; j < 8; ++j) {
    sc[j] = d > 0 ? static_cast<uint8_t>(std::clamp(round_away(sub_scale[j] / d), 0, 63)) : 0;
    mn[j] = dmin > 0 ? static_cast<uint8_t>(std::clamp(round_away(sub_min[j] / dmin), 0, 63)) : 0;
  }
  pack_scales_k4(sc, mn, scales);
  for (int j = 0; j < 8; ++j) {
    const float step = d * sc[j], offset = dmin * mn[j];  // x = step*q - offset
    for (int i = 0; i < 32; ++i) {
      const int l = step > 0 ? std::clamp(round_away((x[32 * j + i] + offset) / step), 0, nmax) : 0;
      levels[32 * j + i] = static_cast<uint8_t>(l);
    }
  }
}

void quantize_q4_k(const float* x, BlockQ4_K* y, int64_t nb) {
  uint8_t l[256];
  for (int64_t i = 0; i < nb; ++i, x += 256) {
    quantize_k4_common(x, 15, &y[i].d, &y[i].dmin, y[i].scales, l);
    // Chunk c of 32 bytes: low nibbles hold sub-block 2c, high nibbles sub-block 2c+1.
    for (int c = 0; c < 4; ++c) {
      for (int t = 0; t < 32; ++t) {
        y[i].qs[32 * c + t] = static_cast<uint8_t>(l[64 * c + t] | (l[64 * c + 32 + t] << 4));
      }
    }
  }
}

void dequantize_q4_k(const BlockQ4_K* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += 256) {
    const float d = f16_to_f32(b[i].d), dmin = f16_to_f32(b[i].dmin);
    for (int c = 0; c < 4; ++c) {
      uint8_t sc0, m0, sc1, m1;
      scale_min_k4(2 * c, b[i].scales, &sc0, &m0);
      scale_min_k4(2 * c + 1, b[i].scales, &sc1, &m1);
      for (int t = 0; t < 32; ++t) {
        const uint8_t q = b[i].qs[32 * c + t];
        y[64 * c + t] = d * sc0 * static_cast<float>(q & 0x0F) - dmin * m0;
        y[64 * c + 32 + t] = d * sc1 * static_cast<float>(q >> 4) - dmin * m1;
      }
    }
  }
}

void quantize_q5_k(const float* x, BlockQ5_K* y, int64_t nb) {
  uint8_t l[256];
  for (int64_t i = 0; i < nb; ++i, x += 256) {
    quantize_k4_common(x, 31, &y[i].d, &y[i].dmin, y[i].scales, l);
    std::memset(y[i].qh, 0, sizeof(y[i].qh));
    // Like Q4_K for the low 4 bits; bit 4 of sub-block s's element t is bit s of qh[t].
    for (int c = 0; c < 4; ++c) {
      for (int t = 0; t < 32; ++t) {
        const uint8_t a = l[64 * c + t], b = l[64 * c + 32 + t];
        y[i].qs[32 * c + t] = static_cast<uint8_t>((a & 15) | ((b & 15) << 4));
        y[i].qh[t] |= static_cast<uint8_t>(((a >> 4) << (2 * c)) | ((b >> 4) << (2 * c + 1)));
      }
    }
  }
}

void dequantize_q5_k(const BlockQ5_K* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += 256) {
    const float d = f16_to_f32(b[i].d), dmin = f16_to_f32(b[i].dmin);
    for (int c = 0; c < 4; ++c) {
      uint8_t sc0, m0, sc1, m1;
      scale_min_k4(2 * c, b[i].scales, &sc0, &m0);
      scale_min_k4(2 * c + 1, b[i].scales, &sc1, &m1);
      for (int t = 0; t < 32; ++t) {
        const uint8_t q = b[i].qs[32 * c + t], h = b[i].qh[t];
        const int q0 = (q & 0x0F) | (((h >> (2 * c)) & 1) << 4);
        const int q1 = (q >> 4) | (((h >> (2 * c + 1)) & 1) << 4);
        y[64 * c + t] = d * sc0 * static_cast<float>(q0) - dmin * m0;
        y[64 * c + 32 + t] = d * sc1 * static_cast<float>(q1) - dmin * m1;
      }
    }
  }
}

void quantize_q6_k(const float* x, BlockQ6_K* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 256) {
    float sub[16];
    float max_abs = 0.0f, max_scale = 0.0f;
    for (int j = 0; j < 16; ++j) {
      sub[j] = fit_symmetric(x + 16 * j, 16, 32);
      if (std::fabs(sub[j]) > max_abs) {
        max_abs = std::fabs(sub[j]);
        max_scale = sub[j];
      }
    }
    // The sub-block scale of largest magnitude maps to -128 (int8 has one more negative level).
    y[i].d = f32_to_f16(max_scale / -128.0f);
    const float d = f16_to_f32(y[i].d);
    uint8_t l[256];
    for (int j = 0; j < 16; ++j) {
      const int sc = d != 0.0f ? std::clamp(round_away(sub[j] / d), -128, 127) : 0;
      y[i].scales[j] = static_cast<int8_t>(sc);
      const float step = d * static_cast<float>(sc);
      for (int t = 0; t < 16; ++t) {
        const int q = step != 0.0f ? std::clamp(round_away(x[16 * j + t] / step), -32, 31) : 0;
        l[16 * j + t] = static_cast<uint8_t>(q + 32);
      }
    }
    // Half h (128 elements): ql[64h + t] low/high nibble = elements 128h+t / 128h+64+t,
    // ql[64h + 32 + t] = elements 128h+32+t / 128h+96+t; qh[32h + t] holds the top two bits of
    // elements 128h + t, +32, +64, +96 in bit pairs 0-1, 2-3, 4-5, 6-7.
    for (int h = 0; h < 2; ++h) {
      const uint8_t* q = l + 128 * h;
      for (int t = 0; t < 32; ++t) {
        y[i].ql[64 * h + t] = static_cast<uint8_t>((q[t] & 15) | ((q[t + 64] & 15) << 4));
        y[i].ql[64 * h + 32 + t] = static_cast<uint8_t>((q[t + 32] & 15) | ((q[t + 96] & 15) << 4));
        y[i].qh[32 * h + t] = static_cast<uint8_t>((q[t] >> 4) | ((q[t + 32] >> 4) << 2) |
                                                   ((q[t + 64] >> 4) << 4) | ((q[t + 96] >> 4) << 6));
      }
    }
  }
}

void dequantize_q6_k(const BlockQ6_K* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += 256) {
    const float d = f16_to_f32(b[i].d);
    for (int h = 0; h < 2; ++h) {
      const uint8_t* ql = b[i].ql + 64 * h;
      const uint8_t* qh = b[i].qh + 32 * h;
      const int8_t* sc = b[i].scales + 8 * h;
      float* o = y + 128 * h;
      for (int t = 0; t < 32; ++t) {
        const int s = t / 16;
        const int q0 = ((ql[t] & 15) | (((qh[t] >> 0) & 3) << 4)) - 32;
        const int q1 = ((ql[t + 32] & 15) | (((qh[t] >> 2) & 3) << 4)) - 32;
        const int q2 = ((ql[t] >> 4) | (((qh[t] >> 4) & 3) << 4)) - 32;
        const int q3 = ((ql[t + 32] >> 4) | (((qh[t] >> 6) & 3) << 4)) - 32;
        o[t] = d * sc[s + 0] * static_cast<float>(q0);
        o[t + 32] = d * sc[s + 2] * static_cast<float>(q1);
        o[t + 64] = d * sc[s + 4] * static_cast<float>(q2);
        o[t + 96] = d * sc[s + 6] * static_cast<float>(q3);
      }
    }
  }
}

void quantize_q8_k(const float* x, BlockQ8_K* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 256) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < 256; ++j) {
      if (std::fabs(x[j]) > amax) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    }
    if (amax == 0.0f) {
      std::memset(&y[i], 0, sizeof(BlockQ8_K));
      continue;
    }
    const float iscale = -127.0f / max;
    for (int j = 0; j < 256; ++j) y[i].qs[j] = static_cast<int8_t>(std::min(127, round_away(iscale * x[j])));
    for (int j = 0; j < 16; ++j) {
      int sum = 0;
      for (int t = 0; t < 16; ++t) sum += y[i].qs[16 * j + t];
      y[i].bsums[j] = static_cast<int16_t>(sum);
    }
    y[i].d = 1.0f / iscale;
  }
}

void dequantize_q8_k(const BlockQ8_K* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += 256) {
    for (int j = 0; j < 256; ++j) y[j] = b[i].d * static_cast<float>(b[i].qs[j]);
  }
}

}  // namespace

float f16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1F;
  uint32_t mant = h & 0x3FF;
  if (exp == 0x1F) return bits_float(sign | 0x7F800000u | (mant << 13));  // inf / NaN (payload kept)
  if (exp == 0) {
    if (mant == 0) return bits_float(sign);
    // Subnormal: value = mant * 2^-24; normalize so the leading 1 becomes the implicit bit.
    exp = 1;
    while ((mant & 0x400) == 0) {
      mant <<= 1;
      --exp;
    }
    mant &= 0x3FF;
  }
  return bits_float(sign | ((exp + 112) << 23) | (mant << 13));  // 112 = 127 - 15 (bias change)
}

uint16_t f32_to_f16(float f) {
  const uint32_t x = float_bits(f);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000);
  const uint32_t ax = x & 0x7FFFFFFF;
  if (ax >= 0x7F800000) {
    if (ax == 0x7F800000) return sign | 0x7C00;
    const uint32_t payload = (ax >> 13) & 0x3FF;
    return static_cast<uint16_t>(sign | 0x7C00 | (payload != 0 ? payload : 0x200));  // stay a NaN
  }
  if (ax >= 0x477FF000) return sign | 0x7C00;  // >= 65520 (halfway 65504..65536) rounds to inf
  if (ax < 0x38800000) {                       // below 2^-14: f16 subnormal (unit 2^-24) or zero
    if (ax <= 0x33000000) return sign;         // <= 2^-25 rounds to 0 (the tie goes to even 0)
    const uint32_t e = ax >> 23;
    const uint32_t m = (ax & 0x7FFFFF) | 0x800000;
    const uint32_t shift = 126 - e;  // value / 2^-24 = m * 2^(e - 126)
    uint32_t q = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (q & 1))) ++q;
    return static_cast<uint16_t>(sign | q);  // q == 0x400 is correctly the smallest normal
  }
  // Normal: round the 23-bit mantissa to 10 bits (nearest even), then rebias the exponent.
  const uint32_t r = ax + 0xFFF + ((ax >> 13) & 1) - 0x38000000;
  return static_cast<uint16_t>(sign | (r >> 13));
}

float bf16_to_f32(uint16_t h) { return bits_float(static_cast<uint32_t>(h) << 16); }

uint16_t f32_to_bf16(float f) {
  const uint32_t x = float_bits(f);
  if ((x & 0x7FFFFFFF) > 0x7F800000) return static_cast<uint16_t>((x >> 16) | 0x40);  // quiet NaN
  return static_cast<uint16_t>((x + 0x7FFF + ((x >> 16) & 1)) >> 16);
}

void quantize_row(DType type, const float* x, void* dst, int64_t n) {
  const int64_t bs = dtype_info(type).block_size;
  MUSE_ASSERT(n >= 0 && n % bs == 0);
  const int64_t nb = n / bs;
  switch (type) {
    case DType::kF32: std::memcpy(dst, x, static_cast<size_t>(n) * 4); return;
    case DType::kF16: {
      auto* y = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) y[i] = f32_to_f16(x[i]);
      return;
    }
    case DType::kBF16: {
      auto* y = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) y[i] = f32_to_bf16(x[i]);
      return;
    }
    case DType::kQ8_0: quantize_q8_0(x, static_cast<BlockQ8_0*>(dst), nb); return;
    case DType::kQ4_0: quantize_q4_0(x, static_cast<BlockQ4_0*>(dst), nb); return;
    case DType::kQ4_K: quantize_q4_k(x, static_cast<BlockQ4_K*>(dst), nb); return;
    case DType::kQ5_K: quantize_q5_k(x, static_cast<BlockQ5_K*>(dst), nb); return;
    case DType::kQ6_K: quantize_q6_k(x, static_cast<BlockQ6_K*>(dst), nb); return;
    case DType::kQ8_K: quantize_q8_k(x, static_cast<BlockQ8_K*>(dst), nb); return;
    default: MUSE_ASSERT(false && "quantize_row: unsupported dtype");
  }
}

void dequantize_row(DType type, const void* src, float* y, int64_t n) {
  const int64_t bs = dtype_info(type).block_size;
  MUSE_ASSERT(n >= 0 && n % bs == 0);
  const int64_t nb = n / bs;
  switch (type) {
    case DType::kF32: std::memcpy(y, src, static_cast<size_t>(n) * 4); return;
    case DType::kF16: {
      const auto* h = static_cast<const uint8_t*>(src);
      for (int64_t i = 0; i < n; ++i) y[i] = f16_to_f32(load_u16(h + 2 * i));
      return;
    }
    case DType::kBF16: {
      const auto* h = static_cast<const uint8_t*>(src);
      for (int64_t i = 0; i < n; ++i) y[i] = bf16_to_f32(load_u16(h + 2 * i));
      return;
    }
    case DType::kQ8_0: dequantize_q8_0(static_cast<const BlockQ8_0*>(src), y, nb); return;
    case DType::kQ4_0: dequantize_q4_0(static_cast<const BlockQ4_0*>(src), y, nb); return;
    case DType::kQ4_K: dequantize_q4_k(static_cast<const BlockQ4_K*>(src), y, nb); return;
    case DType::kQ5_K: dequantize_q5_k(static_cast<const BlockQ5_K*>(src), y, nb); return;
    case DType::kQ6_K: dequantize_q6_k(static_cast<const BlockQ6_K*>(src), y, nb); return;
    case DType::kQ8_K: dequantize_q8_k(static_cast<const BlockQ8_K*>(src), y, nb); return;
    default: MUSE_ASSERT(false && "dequantize_row: unsupported dtype");
  }
}

}  // namespace muse::core
