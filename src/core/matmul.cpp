// Matmul driver (path selection, activation packing, work split) and the scalar reference kernels.
#include "core/matmul.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

#include "core/attention_impl.h"
#include "core/cpu.h"
#include "core/error.h"
#include "core/matmul_internal.h"
#include "core/quant.h"
#include "core/quant_blocks.h"

namespace muse::core {
namespace detail {
namespace {

// ---------------------------------------------------------------------------------------------
// Activation packing (layouts in matmul_internal.h).

// Round to nearest even for |v| < 2^22 without a libm call: adding 1.5*2^23 leaves no fraction
// bits, so the FPU's own rounding (nearest even) does the work; the SIMD packers' cvtps2dq agrees.
inline int rne(float v) {
  constexpr float kMagic = 12582912.0f;
  return static_cast<int>((v + kMagic) - kMagic);  // not folded: IEEE math, no -ffast-math
}

// Quantizes n values to int8 with one scale: q = rne(x * (1/d)), d = amax/127. Returns d.
float quantize_block_i8(const float* x, int n, int8_t* q) {
  float amax = 0.0f;
  for (int i = 0; i < n; ++i) amax = std::max(amax, std::fabs(x[i]));
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  for (int i = 0; i < n; ++i) q[i] = static_cast<int8_t>(rne(x[i] * id));
  return d;
}

void pack_q8_0(const float* x, int64_t k, uint8_t* dst) {
  const int64_t nb = k / 32, ng = (nb + 1) / 2;
  std::memset(dst, 0, static_cast<size_t>(ng) * kQ8_0GroupBytes);
  for (int64_t b = 0; b < nb; ++b) {
    uint8_t* g = dst + (b / 2) * kQ8_0GroupBytes;
    const int j = static_cast<int>(b % 2);
    auto* q = reinterpret_cast<int8_t*>(g) + 32 * j;
    const float d = quantize_block_i8(x + 32 * b, 32, q);
    auto* dl = reinterpret_cast<float*>(g + 64);
    for (int m = 0; m < 8; ++m) dl[8 * j + m] = d;
  }
}

void pack_q4_0(const float* x, int64_t k, uint8_t* dst) {
  const int64_t nb = k / 32, ng = (nb + 3) / 4;
  std::memset(dst, 0, static_cast<size_t>(ng) * kQ4_0GroupBytes);
  int8_t q[32];
  for (int64_t b = 0; b < nb; ++b) {
    uint8_t* g = dst + (b / 4) * kQ4_0GroupBytes;
    const int j = static_cast<int>(b % 4);
    const float d = quantize_block_i8(x + 32 * b, 32, q);
    auto* lo = reinterpret_cast<int8_t*>(g) + 16 * j;
    auto* hi = reinterpret_cast<int8_t*>(g) + 64 + 16 * j;
    std::memcpy(lo, q, 16);
    std::memcpy(hi, q + 16, 16);
    auto* bias = reinterpret_cast<int32_t*>(g + 128);
    for (int m = 0; m < 4; ++m) {
      int s = 0;
      for (int t = 0; t < 4; ++t) s += lo[4 * m + t] + hi[4 * m + t];
      bias[4 * j + m] = -8 * s;
    }
    const int64_t pair = b / 8, h = (b / 4) % 2;
    auto* dl = reinterpret_cast<float*>(dst + 2 * pair * kQ4_0GroupBytes + 192) + 4 * j + 2 * h;
    dl[0] = dl[1] = d;
  }
}

void pack_q8k(const float* x, int64_t k, uint8_t* dst, bool split) {
  const int64_t nsb = k / 256;
  for (int64_t b = 0; b < nsb; ++b, x += 256) {
    uint8_t* g = dst + b * kQ8KBlockBytes;
    std::memset(g, 0, kQ8KBlockBytes);
    int8_t q[256];
    const float d = quantize_block_i8(x, 256, q);
    auto* out = reinterpret_cast<int8_t*>(g);
    for (int s = 0; s < 8; ++s) std::memcpy(out + 32 * (split ? split_pos(s) : s), q + 32 * s, 32);
    int16_t b16[16], b32[8];
    for (int i = 0; i < 16; ++i) {
      int sum = 0;
      for (int t = 0; t < 16; ++t) sum += q[16 * i + t];
      b16[i] = static_cast<int16_t>(sum);
    }
    for (int s = 0; s < 8; ++s) b32[s] = static_cast<int16_t>(b16[2 * s] + b16[2 * s + 1]);
    std::memcpy(g + kQ8KBsum16Offset, b16, sizeof(b16));
    std::memcpy(g + kQ8KBsum32Offset, b32, sizeof(b32));
    std::memcpy(g + kQ8KScaleOffset, &d, 4);
  }
}

// ---------------------------------------------------------------------------------------------
// Scalar kernels: one (row, token) dot at a time, computing the same integer block sums as the SIMD
// kernels so that the paths differ only by float rounding.

float load_f32(const uint8_t* p) {
  float v;
  std::memcpy(&v, p, 4);
  return v;
}

float dot_q8_0_scalar(const uint8_t* w, const uint8_t* act, int64_t k) {
  const int64_t nb = k / 32;
  float sum = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = w + 34 * b;
    const uint8_t* g = act + (b / 2) * kQ8_0GroupBytes;
    const int j = static_cast<int>(b % 2);
    const auto* qa = reinterpret_cast<const int8_t*>(g) + 32 * j;
    const auto* qw = reinterpret_cast<const int8_t*>(blk + 2);
    int isum = 0;
    for (int e = 0; e < 32; ++e) isum += qw[e] * qa[e];
    const float da = load_f32(g + 64 + 4 * (8 * j));
    sum += static_cast<float>(isum) * (f16_to_f32(load_u16(blk)) * da);
  }
  return sum;
}

// The same sums in the same order over a WeightLayout::kQ8_0Chunks row: the results are bit-identical
// to dot_q8_0_scalar's on the row before repacking.
float dot_q8_0_chunks_scalar(const uint8_t* w, const uint8_t* act, int64_t k) {
  const int64_t nb = k / 32;
  float sum = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* ch = w + (b / kQ8_0ChunkBlocks) * kQ8_0ChunkBytes;
    const int lb = static_cast<int>(b % kQ8_0ChunkBlocks);
    const int l = chunk_block_lane(lb);
    const uint8_t* g = act + (b / 2) * kQ8_0GroupBytes;
    const int j = static_cast<int>(b % 2);
    const auto* qa = reinterpret_cast<const int8_t*>(g) + 32 * j;
    int isum = 0;
    for (int e = 0; e < 32; ++e) isum += (static_cast<int>(ch[chunk_q_byte(l, e)]) - 128) * qa[e];
    const float da = load_f32(g + 64 + 4 * (8 * j));
    sum += static_cast<float>(isum) * (f16_to_f32(load_u16(ch + kQ8_0ChunkScaleOffset + 2 * l)) * da);
  }
  return sum;
}

float dot_q4_0_scalar(const uint8_t* w, const uint8_t* act, int64_t k) {
  const int64_t nb = k / 32;
  float sum = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = w + 18 * b;
    const uint8_t* g = act + (b / 4) * kQ4_0GroupBytes;
    const int j = static_cast<int>(b % 4);
    const auto* lo = reinterpret_cast<const int8_t*>(g) + 16 * j;
    const auto* hi = reinterpret_cast<const int8_t*>(g) + 64 + 16 * j;
    int isum = 0;
    for (int e = 0; e < 16; ++e) isum += ((blk[2 + e] & 15) - 8) * lo[e] + ((blk[2 + e] >> 4) - 8) * hi[e];
    const float da = q4_0_act_scale(act, b);
    sum += static_cast<float>(isum) * (f16_to_f32(load_u16(blk)) * da);
  }
  return sum;
}

// Q4_K and Q5_K: x = d*sc*q - dmin*m, so dot = d*da*sum_s sc_s*(q_s . a_s) - dmin*da*sum_s m_s*bsum32_s.
template <bool kFive>
float dot_k4_scalar(const uint8_t* w, const uint8_t* act, int64_t k) {
  const int64_t nsb = k / 256;
  const size_t bytes = kFive ? sizeof(BlockQ5_K) : sizeof(BlockQ4_K);
  float sum = 0.0f;
  for (int64_t b = 0; b < nsb; ++b) {
    const uint8_t* blk = w + b * bytes;
    const uint8_t* g = act + b * kQ8KBlockBytes;
    const uint8_t* scales = blk + 4;
    const uint8_t* qh = blk + 16;
    const uint8_t* qs = blk + (kFive ? 48 : 16);
    int16_t b32[8];
    std::memcpy(b32, g + kQ8KBsum32Offset, sizeof(b32));
    int sumi = 0, summ = 0;
    for (int s = 0; s < 8; ++s) {
      uint8_t sc, m;
      scale_min_k4(s, scales, &sc, &m);
      const auto* a = reinterpret_cast<const int8_t*>(g) + 32 * split_pos(s);
      const int c = s / 2, shift = (s % 2) * 4;
      int isum = 0;
      for (int t = 0; t < 32; ++t) {
        int q = (qs[32 * c + t] >> shift) & 15;
        if (kFive) q |= ((qh[t] >> s) & 1) << 4;
        isum += q * a[t];
      }
      sumi += sc * isum;
      summ += m * b32[s];
    }
    const float da = load_f32(g + kQ8KScaleOffset);
    sum += f16_to_f32(load_u16(blk)) * da * static_cast<float>(sumi) -
           f16_to_f32(load_u16(blk + 2)) * da * static_cast<float>(summ);
  }
  return sum;
}

// Q6_K: x = d*sc*(q - 32), so dot = d*da*sum_i sc_i*((q_i . a_i) - 32*bsum16_i).
float dot_q6_k_scalar(const uint8_t* w, const uint8_t* act, int64_t k) {
  const int64_t nsb = k / 256;
  float sum = 0.0f;
  for (int64_t b = 0; b < nsb; ++b) {
    const uint8_t* blk = w + b * sizeof(BlockQ6_K);
    const uint8_t* g = act + b * kQ8KBlockBytes;
    const auto* a = reinterpret_cast<const int8_t*>(g);
    const uint8_t* ql = blk;
    const uint8_t* qh = blk + 128;
    const auto* sc = reinterpret_cast<const int8_t*>(blk + 192);
    int16_t b16[16];
    std::memcpy(b16, g + kQ8KBsum16Offset, sizeof(b16));
    int isub[16] = {};
    for (int h = 0; h < 2; ++h) {
      for (int t = 0; t < 32; ++t) {
        const uint8_t l0 = ql[64 * h + t], l1 = ql[64 * h + 32 + t], hb = qh[32 * h + t];
        const int q0 = (l0 & 15) | ((hb & 3) << 4);
        const int q1 = (l1 & 15) | (((hb >> 2) & 3) << 4);
        const int q2 = (l0 >> 4) | (((hb >> 4) & 3) << 4);
        const int q3 = (l1 >> 4) | (((hb >> 6) & 3) << 4);
        const int base = 128 * h + t;
        isub[base / 16] += q0 * a[base];
        isub[(base + 32) / 16] += q1 * a[base + 32];
        isub[(base + 64) / 16] += q2 * a[base + 64];
        isub[(base + 96) / 16] += q3 * a[base + 96];
      }
    }
    int sumi = 0;
    for (int i = 0; i < 16; ++i) sumi += sc[i] * (isub[i] - 32 * b16[i]);
    sum += f16_to_f32(load_u16(blk + 208)) * load_f32(g + kQ8KScaleOffset) * static_cast<float>(sumi);
  }
  return sum;
}

// Plain types accumulate in double: the scalar path is the reference the SIMD paths are held to.
template <typename Load>
float dot_plain_scalar(const uint8_t* w, const float* x, int64_t k, Load load) {
  double sum = 0.0;
  for (int64_t i = 0; i < k; ++i) sum += static_cast<double>(load(w, i)) * x[i];
  return static_cast<float>(sum);
}

using DotFn = float (*)(const uint8_t* w, const uint8_t* act, int64_t k);

template <DotFn kDot>
void tile_scalar(const GemmArgs& a, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
  for (int64_t t = t0; t < t1; ++t) {
    for (int64_t r = r0; r < r1; ++r) {
      a.y[t * a.y_stride + r] = kDot(a.w + r * a.w_stride, a.act + t * a.act_stride, a.k);
    }
  }
}

float dot_f32_w(const uint8_t* w, const uint8_t* act, int64_t k) {
  return dot_plain_scalar(w, reinterpret_cast<const float*>(act), k,
                          [](const uint8_t* p, int64_t i) { return load_f32(p + 4 * i); });
}
float dot_f16_w(const uint8_t* w, const uint8_t* act, int64_t k) {
  return dot_plain_scalar(w, reinterpret_cast<const float*>(act), k,
                          [](const uint8_t* p, int64_t i) { return f16_to_f32(load_u16(p + 2 * i)); });
}
float dot_bf16_w(const uint8_t* w, const uint8_t* act, int64_t k) {
  return dot_plain_scalar(w, reinterpret_cast<const float*>(act), k,
                          [](const uint8_t* p, int64_t i) { return bf16_to_f32(load_u16(p + 2 * i)); });
}

void f32_to_f16_row_scalar(const float* x, uint16_t* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = f32_to_f16(x[i]);
}
uint64_t read_sum_scalar(const uint8_t* p, size_t n) {
  uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (size_t i = 0; i < n; i += 32) {
    uint64_t v[4];
    std::memcpy(v, p + i, 32);
    s0 += v[0];
    s1 += v[1];
    s2 += v[2];
    s3 += v[3];
  }
  return s0 + s1 + s2 + s3;
}

void q8_0_to_chunks_scalar(const uint8_t* src, int64_t nb, uint8_t* dst) {
  for (int64_t c0 = 0; c0 < nb; c0 += kQ8_0ChunkBlocks, src += 34 * kQ8_0ChunkBlocks) {
    uint8_t* ch = dst + (c0 / kQ8_0ChunkBlocks) * kQ8_0ChunkBytes;
    for (int l = 0; l < 16; ++l) {
      const uint8_t* blk = src + 34 * chunk_lane_block(l);
      std::memcpy(ch + kQ8_0ChunkScaleOffset + 2 * l, blk, 2);
      for (int e = 0; e < 32; ++e) ch[chunk_q_byte(l, e)] = static_cast<uint8_t>(blk[2 + e] ^ 0x80);
    }
  }
}

KernelSet make_scalar() {
  KernelSet ks;
  ks.f32 = tile_scalar<dot_f32_w>;
  ks.f16 = tile_scalar<dot_f16_w>;
  ks.bf16 = tile_scalar<dot_bf16_w>;
  ks.q8_0 = tile_scalar<dot_q8_0_scalar>;
  ks.q8_0_chunks = tile_scalar<dot_q8_0_chunks_scalar>;
  ks.q8_0_to_chunks = q8_0_to_chunks_scalar;
  ks.q4_0 = tile_scalar<dot_q4_0_scalar>;
  ks.q4_k = tile_scalar<dot_k4_scalar<false>>;
  ks.q5_k = tile_scalar<dot_k4_scalar<true>>;
  ks.q6_k = tile_scalar<dot_q6_k_scalar>;
  ks.f32_to_f16_row = f32_to_f16_row_scalar;
  ks.attend = attend_impl<ScalarVec>;
  ks.silu_mul = silu_mul_impl<ScalarVec>;
  ks.read_sum = read_sum_scalar;
  ks.pack_token = pack_token_scalar;
  return ks;
}

}  // namespace

ActFormat act_format(DType weight_type) {
  switch (weight_type) {
    case DType::kQ8_0: return ActFormat::kQ8_0;
    case DType::kQ4_0: return ActFormat::kQ4_0;
    case DType::kQ4_K:
    case DType::kQ5_K: return ActFormat::kQ8KSplit;
    case DType::kQ6_K: return ActFormat::kQ8K;
    default: return ActFormat::kF32;
  }
}

size_t act_stride(ActFormat fmt, int64_t k) {
  auto up64 = [](size_t v) { return (v + 63) / 64 * 64; };
  switch (fmt) {
    case ActFormat::kF32: return static_cast<size_t>(k) * 4;
    case ActFormat::kQ8_0: return static_cast<size_t>((k / 32 + 1) / 2) * kQ8_0GroupBytes;
    case ActFormat::kQ4_0: return static_cast<size_t>((k / 32 + 3) / 4) * kQ4_0GroupBytes;
    case ActFormat::kQ8K:
    case ActFormat::kQ8KSplit: return up64(static_cast<size_t>(k / 256) * kQ8KBlockBytes);
  }
  return 0;
}

void pack_token_scalar(ActFormat fmt, const float* x, int64_t k, uint8_t* dst) {
  switch (fmt) {
    case ActFormat::kF32: MUSE_ASSERT(false && "pack_token: f32 activations are not packed"); break;
    case ActFormat::kQ8_0: pack_q8_0(x, k, dst); break;
    case ActFormat::kQ4_0: pack_q4_0(x, k, dst); break;
    case ActFormat::kQ8K: pack_q8k(x, k, dst, false); break;
    case ActFormat::kQ8KSplit: pack_q8k(x, k, dst, true); break;
  }
}

const KernelSet& scalar_kernels() {
  static const KernelSet ks = make_scalar();
  return ks;
}

}  // namespace detail

namespace {

using detail::KernelSet;

const KernelSet* avx2_set() {
  static const KernelSet ks = [] {
    KernelSet k = detail::scalar_kernels();
    if (cpu_features().has_avx2_set()) detail::fill_avx2_kernels(&k);
    return k;
  }();
  return cpu_features().has_avx2_set() ? &ks : nullptr;
}

const KernelSet* avx512_set() {
  static const KernelSet ks = [] {
    KernelSet k = detail::scalar_kernels();
    if (cpu_features().has_avx512_set()) {
      detail::fill_avx2_kernels(&k);  // for the types without an AVX-512 kernel
      detail::fill_avx512_kernels(&k);
    }
    return k;
  }();
  return cpu_features().has_avx512_set() ? &ks : nullptr;
}

KernelPath resolve(KernelPath path) {
  if (path != KernelPath::kAuto) return path;
  if (avx512_set() != nullptr) return KernelPath::kAvx512;
  if (avx2_set() != nullptr) return KernelPath::kAvx2;
  return KernelPath::kScalar;
}

const KernelSet& kernels_for(KernelPath path) {
  switch (resolve(path)) {
    case KernelPath::kAvx512: MUSE_ASSERT(avx512_set() != nullptr); return *avx512_set();
    case KernelPath::kAvx2: MUSE_ASSERT(avx2_set() != nullptr); return *avx2_set();
    default: return detail::scalar_kernels();
  }
}

const KernelSet& best() {
  static const KernelSet& ks = kernels_for(KernelPath::kAuto);
  return ks;
}

// Rows per cache block when several tokens share the weights: ~192 KiB of weights stays in L2 while
// every token tile streams over it.
int64_t rows_per_block(size_t row_bytes) {
  const int64_t rb = static_cast<int64_t>((192u << 10) / std::max<size_t>(row_bytes, 1));
  return std::max<int64_t>(4, rb / 4 * 4);
}

}  // namespace

namespace detail {
const KernelSet* kernel_set(KernelPath path) {
  return kernel_path_available(path) ? &kernels_for(path) : nullptr;
}

TileFn tile_for(const KernelSet& ks, DType type) {
  switch (type) {
    case DType::kF32: return ks.f32;
    case DType::kF16: return ks.f16;
    case DType::kBF16: return ks.bf16;
    case DType::kQ8_0: return ks.q8_0;
    case DType::kQ4_0: return ks.q4_0;
    case DType::kQ4_K: return ks.q4_k;
    case DType::kQ5_K: return ks.q5_k;
    case DType::kQ6_K: return ks.q6_k;
    default: return nullptr;
  }
}

TileFn tile_for(const KernelSet& ks, const WeightView& w) {
  if (w.layout == WeightLayout::kQ8_0Chunks) return w.type == DType::kQ8_0 ? ks.q8_0_chunks : nullptr;
  return tile_for(ks, w.type);
}
}  // namespace detail

namespace {

// One Q8_0 row (nb blocks, a multiple of 16) from kQ8_0Chunks back to the file layout.
void q8_0_row_from_chunks(const uint8_t* src, int64_t nb, uint8_t* dst) {
  for (int64_t c0 = 0; c0 < nb; c0 += detail::kQ8_0ChunkBlocks, dst += 34 * detail::kQ8_0ChunkBlocks) {
    const uint8_t* ch = src + (c0 / detail::kQ8_0ChunkBlocks) * detail::kQ8_0ChunkBytes;
    for (int l = 0; l < 16; ++l) {
      uint8_t* blk = dst + 34 * detail::chunk_lane_block(l);
      std::memcpy(blk, ch + detail::kQ8_0ChunkScaleOffset + 2 * l, 2);
      for (int e = 0; e < 32; ++e) blk[2 + e] = static_cast<uint8_t>(ch[detail::chunk_q_byte(l, e)] ^ 0x80);
    }
  }
}

bool can_chunk(const WeightView& w) {
  return w.type == DType::kQ8_0 && w.layout == WeightLayout::kFile && w.cols % 512 == 0;
}

}  // namespace

bool repack_pays(const WeightView& w) { return can_chunk(w) && avx512_set() != nullptr; }

void repack_weight(WeightView* w, void* bytes) {
  MUSE_ASSERT(can_chunk(*w) && bytes == w->data);
  const size_t stride = w->row_stride();
  std::vector<uint8_t> row(stride);
  auto* p = static_cast<uint8_t*>(bytes);
  const auto to_chunks = best().q8_0_to_chunks;
  for (int64_t r = 0; r < w->rows; ++r, p += stride) {
    std::memcpy(row.data(), p, stride);
    to_chunks(row.data(), w->cols / 32, p);
  }
  w->layout = WeightLayout::kQ8_0Chunks;
}

const char* best_kernel_path_name() {
  switch (resolve(KernelPath::kAuto)) {
    case KernelPath::kAvx512: return "avx512";
    case KernelPath::kAvx2: return "avx2";
    default: return "scalar";
  }
}

bool kernel_path_available(KernelPath path) {
  switch (path) {
    case KernelPath::kAuto:
    case KernelPath::kScalar: return true;
    case KernelPath::kAvx2: return avx2_set() != nullptr;
    case KernelPath::kAvx512: return avx512_set() != nullptr;
  }
  return false;
}

void matmul(ThreadPool& pool, const WeightView& w, const float* x, int64_t n_tokens, float* y,
            MatmulScratch& scratch, KernelPath path) {
  if (w.rows == 0 || n_tokens == 0) return;
  const KernelSet& ks = kernels_for(path);
  const detail::TileFn tile = detail::tile_for(ks, w);
  MUSE_ASSERT(tile != nullptr && "matmul: weight type without kernels (validate at load)");
  detail::matmul_with_tile(pool, w, x, n_tokens, y, scratch, ks, tile);
}

namespace {

// Packs x (n_tokens rows of k floats) for the tiles: quantized into `scratch` in `fmt`, or x itself for
// kF32. Sets *stride to the bytes per token.
const uint8_t* pack_activations(ThreadPool& pool, const KernelSet& ks, detail::ActFormat fmt, const float* x,
                                int64_t k, int64_t n_tokens, MatmulScratch& scratch, size_t* stride) {
  if (fmt == detail::ActFormat::kF32) {
    *stride = static_cast<size_t>(k) * 4;
    return reinterpret_cast<const uint8_t*>(x);
  }
  *stride = detail::act_stride(fmt, k);
  const size_t need = *stride * static_cast<size_t>(n_tokens) + 64;
  if (scratch.bytes.size() < need) scratch.bytes.resize(need);
  auto base = reinterpret_cast<uintptr_t>(scratch.bytes.data());
  auto* packed = reinterpret_cast<uint8_t*>((base + 63) & ~uintptr_t{63});
  const size_t st = *stride;
  auto pack = [&, pack_token = ks.pack_token](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) pack_token(fmt, x + t * k, k, packed + t * st);
  };
  if (n_tokens < 4 || pool.size() == 1) {
    pack(0, n_tokens);
  } else {
    pool.run([&](int ith, int nth) {
      int64_t t0, t1;
      ThreadPool::chunk(n_tokens, ith, nth, 1, &t0, &t1);
      pack(t0, t1);
    });
  }
  return packed;
}

// Rows [r0, r1) of one weight for every token: one tile call per decode row range, or L2-sized row
// blocks that all tokens stream over. Weights in kQ8_0Chunks take the whole range in one call too: their
// kernel reads the rows in place with a group of prefetch ahead, so blocks would only make it repack
// the tokens again per block and lose the prefetch at each block's start.
void run_rows(const detail::GemmArgs& args, detail::TileFn tile, int64_t r0, int64_t r1, int64_t n_tokens,
              bool whole_range) {
  if (r1 <= r0) return;
  if (n_tokens == 1 || whole_range) {
    tile(args, r0, r1, 0, n_tokens);
    return;
  }
  const int64_t rb = rows_per_block(args.w_stride);
  for (int64_t r = r0; r < r1; r += rb) tile(args, r, std::min(r + rb, r1), 0, n_tokens);
}

// The weights' rows for every token, in one region of the pool: x packed once (all the weights share
// its activation format and cols), the union of their rows split across the workers, each worker's
// range cut at the weights' borders. tiles[m] computes outs[m].
void run_group(ThreadPool& pool, const KernelSet& ks, std::span<const MatmulOut> outs, const detail::TileFn* tiles,
               const float* x, int64_t n_tokens, MatmulScratch& scratch) {
  const WeightView& w0 = *outs[0].w;
  size_t act_stride = 0;
  const uint8_t* act = pack_activations(pool, ks, detail::act_format(w0.type), x, w0.cols, n_tokens, scratch,
                                        &act_stride);
  const size_t n = outs.size();
  std::array<detail::GemmArgs, kMaxMatmulGroup> args;
  std::array<int64_t, kMaxMatmulGroup + 1> first{};  // first[m]: weight m's rows start here in the union
  for (size_t m = 0; m < n; ++m) {
    const WeightView& w = *outs[m].w;
    args[m].w = static_cast<const uint8_t*>(w.data);
    args[m].w_stride = w.row_stride();
    args[m].k = w.cols;
    args[m].act = act;
    args[m].act_stride = act_stride;
    args[m].y = outs[m].y;
    args[m].y_stride = w.rows;
    first[m + 1] = first[m] + w.rows;
  }
  pool.run([&](int ith, int nth) {
    int64_t r0, r1;
    ThreadPool::chunk(first[n], ith, nth, 4, &r0, &r1);
    for (size_t m = 0; m < n; ++m) {
      const int64_t lo = std::max(r0, first[m]), hi = std::min(r1, first[m + 1]);
      run_rows(args[m], tiles[m], lo - first[m], hi - first[m], n_tokens,
               outs[m].w->layout == WeightLayout::kQ8_0Chunks);
    }
  });
}

}  // namespace

void detail::matmul_with_tile(ThreadPool& pool, const WeightView& w, const float* x, int64_t n_tokens, float* y,
                              MatmulScratch& scratch, const KernelSet& ks, TileFn tile) {
  if (w.rows == 0 || n_tokens == 0) return;
  const MatmulOut one{&w, y};
  run_group(pool, ks, {&one, 1}, &tile, x, n_tokens, scratch);
}

void matmul_group(ThreadPool& pool, std::span<const MatmulOut> outs, const float* x, int64_t n_tokens,
                  MatmulScratch& scratch, KernelPath path) {
  if (outs.empty() || n_tokens == 0) return;
  const WeightView& w0 = *outs[0].w;
  const detail::ActFormat fmt = detail::act_format(w0.type);
  bool together = outs.size() <= kMaxMatmulGroup;
  for (const MatmulOut& o : outs) {
    together = together && o.w->cols == w0.cols && detail::act_format(o.w->type) == fmt && o.w->rows % 4 == 0;
  }
  if (!together) {  // e.g. a Q6_K V beside Q4_K Q and K, whose activations are packed differently
    for (const MatmulOut& o : outs) matmul(pool, *o.w, x, n_tokens, o.y, scratch, path);
    return;
  }
  const KernelSet& ks = kernels_for(path);
  std::array<detail::TileFn, kMaxMatmulGroup> tiles{};
  for (size_t m = 0; m < outs.size(); ++m) {
    tiles[m] = detail::tile_for(ks, *outs[m].w);
    MUSE_ASSERT(tiles[m] != nullptr && "matmul_group: weight type without kernels (validate at load)");
  }
  run_group(pool, ks, outs, tiles.data(), x, n_tokens, scratch);
}

void matmul_reference(const WeightView& w, const float* x, int64_t n_tokens, float* y) {
  std::vector<float> row(static_cast<size_t>(w.cols));
  for (int64_t r = 0; r < w.rows; ++r) {
    dequantize_weight_row(w, r, row.data());
    for (int64_t t = 0; t < n_tokens; ++t) {
      double sum = 0.0;
      const float* xt = x + t * w.cols;
      for (int64_t i = 0; i < w.cols; ++i) sum += static_cast<double>(row[i]) * xt[i];
      y[t * w.rows + r] = static_cast<float>(sum);
    }
  }
}

void dequantize_weight_row(const WeightView& w, int64_t row, float* out) {
  MUSE_ASSERT(row >= 0 && row < w.rows);
  const uint8_t* p = static_cast<const uint8_t*>(w.data) + row * w.row_stride();
  if (w.layout == WeightLayout::kQ8_0Chunks) {
    std::vector<uint8_t> file_row(w.row_stride());
    q8_0_row_from_chunks(p, w.cols / 32, file_row.data());
    dequantize_row(w.type, file_row.data(), out, w.cols);
    return;
  }
  dequantize_row(w.type, p, out, w.cols);
}

void f32_to_f16_row(const float* x, uint16_t* y, int64_t n) { best().f32_to_f16_row(x, y, n); }

namespace {
void check_attend(const AttendShape& s, int64_t n_pos) {
  MUSE_ASSERT(n_pos >= 1 && s.d >= 1 && s.d <= kMaxHeadDim && s.n_kv >= 1 && s.n_head % s.n_kv == 0);
}
}  // namespace

void attend(const float* q, const AttendShape& shape, const KvRows& rows, int64_t n_pos, float scale, float* scores,
            float* out, KernelPath path) {
  check_attend(shape, n_pos);
  kernels_for(path).attend(q, shape, rows, n_pos, scale, scores, out, nullptr);
}

void attend_part(const float* q, const AttendShape& shape, const KvRows& rows, int64_t n_pos, float scale,
                 float* scores, float* out, float* stats, KernelPath path) {
  check_attend(shape, n_pos);
  kernels_for(path).attend(q, shape, rows, n_pos, scale, scores, out, stats);
}

void attend_merge(const float* const* part_out, const float* const* part_stats, int64_t n_parts,
                  const AttendShape& shape, float* out) {
  const int64_t d = shape.d;
  for (int64_t h = 0; h < shape.n_head; ++h) {
    float m = -INFINITY;
    for (int64_t p = 0; p < n_parts; ++p) m = std::max(m, part_stats[p][2 * h]);
    float total = 0.0f;
    float* o = out + h * d;
    std::fill(o, o + d, 0.0f);
    for (int64_t p = 0; p < n_parts; ++p) {
      const float w = std::exp(part_stats[p][2 * h] - m);
      total += w * part_stats[p][2 * h + 1];
      const float* po = part_out[p] + h * d;
      for (int64_t e = 0; e < d; ++e) o[e] += w * po[e];
    }
    const float inv = 1.0f / total;
    for (int64_t e = 0; e < d; ++e) o[e] *= inv;
  }
}

void silu_mul(float* g, const float* u, int64_t n, KernelPath path) { kernels_for(path).silu_mul(g, u, n); }

}  // namespace muse::core
