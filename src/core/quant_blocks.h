// Byte-exact C++ views of the ggml block formats (see quant.h for the element formulas), shared by
// the quantizers and the matmul kernels of core/. Internal to core: other modules use quant.h.
//
// The structs are packed byte arrays (alignment 1 or 2) so that a row of blocks can be overlaid on a
// file's bytes at any offset; fields wider than a byte are read with memcpy (load_u16) where the
// address may be unaligned. Pure data: thread-safe, no errors.
#pragma once

#include <cstdint>
#include <cstring>

namespace muse::core {

inline uint16_t load_u16(const void* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

struct BlockQ8_0 {
  uint16_t d;  // f16 scale
  int8_t qs[32];
};
static_assert(sizeof(BlockQ8_0) == 34);

struct BlockQ4_0 {
  uint16_t d;       // f16 scale
  uint8_t qs[16];   // element j: low nibble of qs[j]; element j+16: high nibble
};
static_assert(sizeof(BlockQ4_0) == 18);

struct BlockQ4_K {
  uint16_t d;          // f16 scale of the 6-bit sub-block scales
  uint16_t dmin;       // f16 scale of the 6-bit sub-block mins
  uint8_t scales[12];  // 8 x (6-bit scale, 6-bit min), packed (scale_min_k4)
  uint8_t qs[128];     // chunk c (32 B): low nibbles = sub-block 2c, high nibbles = sub-block 2c+1
};
static_assert(sizeof(BlockQ4_K) == 144);

struct BlockQ5_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];
  uint8_t qh[32];   // bit s of qh[t] = bit 4 of element t of sub-block s
  uint8_t qs[128];  // low 4 bits, as Q4_K
};
static_assert(sizeof(BlockQ5_K) == 176);

struct BlockQ6_K {
  uint8_t ql[128];    // low 4 bits (layout in quant.cpp)
  uint8_t qh[64];     // high 2 bits
  int8_t scales[16];  // one per 16 elements
  uint16_t d;         // f16 super-block scale
};
static_assert(sizeof(BlockQ6_K) == 210);

struct BlockQ8_K {
  float d;
  int8_t qs[256];
  int16_t bsums[16];  // sum of each 16 consecutive qs
};
static_assert(sizeof(BlockQ8_K) == 292);

// Unpacks the 6-bit (scale, min) of sub-block j (0..7) from Q4_K/Q5_K `scales`.
inline void scale_min_k4(int j, const uint8_t* s, uint8_t* sc, uint8_t* m) {
  if (j < 4) {
    *sc = s[j] & 63;
    *m = s[j + 4] & 63;
  } else {
    *sc = static_cast<uint8_t>((s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4));
    *m = static_cast<uint8_t>((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
  }
}

}  // namespace muse::core
