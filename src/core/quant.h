// Block-quantized weight formats, bit-exact with ggml/GGUF, and their reference (scalar) conversions.
//
// Each format stores a row of n elements (n a multiple of the block size) as n/block_size blocks:
//   Q8_0  (32 elems, 34 B): f16 d | i8 q[32]                      x = d * q
//   Q4_0  (32 elems, 18 B): f16 d | u8 qs[16]                     x = d * (nibble - 8);
//                           element j<16 is the low nibble of qs[j], element j+16 its high nibble
//   Q4_K (256 elems, 144 B): f16 d | f16 dmin | u8 scales[12] | u8 qs[128]
//                           8 sub-blocks of 32, each with a 6-bit scale and 6-bit min packed in
//                           `scales`; x = d*sc*nibble - dmin*m
//   Q5_K (256 elems, 176 B): f16 d | f16 dmin | u8 scales[12] | u8 qh[32] | u8 qs[128]; 5th bit in qh
//   Q6_K (256 elems, 210 B): u8 ql[128] | u8 qh[64] | i8 scales[16] | f16 d; x = d*sc*(q6 - 32)
//   Q8_K (256 elems, 292 B): f32 d | i8 q[256] | i16 bsums[16]   (activations only, for K-quant dots)
// F16 is IEEE binary16, BF16 is the top half of an f32.
//
// All functions are pure and thread-safe. REQUIRES for every row function: n % block_size == 0 and
// buffers of row_bytes(type, n) bytes; violating it is a programmer error (assert).
#pragma once

#include <cstdint>

#include "core/dtype.h"

namespace muse::core {

float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);  // round to nearest even
float bf16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f);  // round to nearest even, NaN kept NaN

// x (n floats) -> dst (row_bytes(type, n) bytes). Supported: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K,
// Q6_K, Q8_K. The K-quant quantizers search scales to minimize squared error (not necessarily the
// same bytes as llama-quantize, but the same layout and comparable error).
void quantize_row(DType type, const float* x, void* dst, int64_t n);
// src -> y (n floats). Supported: the same types.
void dequantize_row(DType type, const void* src, float* y, int64_t n);

}  // namespace muse::core
