// Training checkpoints: everything needed to continue a run bit-identically (model config, parameters,
// AdamW moments and step count, the training step, the data RNG's state).
//
// Format, version 1, all little-endian, no padding:
//   offset  size   field
//   0       8      magic "MUSECKPT"
//   8       4      version u32 = 1
//   12      4      reserved u32 = 0
//   16      56     config: dim, n_layers, n_heads, n_kv_heads, ffn_dim, vocab, max_seq   (7 x i64)
//   72      8      rope_theta f32, norm_eps f32
//   80      8      step i64        training steps completed
//   88      8      adam_t i64      AdamW updates applied (bias correction)
//   96      8      rng_state u64   train::Rng state after the last completed step
//   104     8      n_params u64    must equal the parameter count the config implies
//   112     4n     params f32[n]   in train::Model buffer order (token_embd, blk.0..., output_norm)
//   ...     4n     adam_m f32[n]
//   ...     4n     adam_v f32[n]
//   end-8   8      checksum u64: FNV-1a-64 over 64-bit little-endian words of every byte before it
//                  (h = (h ^ word) * 0x100000001b3 from 0xcbf29ce484222325; the byte count is a
//                  multiple of 8 by construction)
//
// Errors: parse_checkpoint/load_checkpoint throw muse::Error(kCorruption) for a bad magic, a size that
// disagrees with the header (truncation), a checksum mismatch or an invalid config, each naming the
// path and the offset; kUnsupported for another version; kNotFound/kIOError from the file system.
// save_checkpoint is atomic (train/file_io.h). Thread-compatible.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "train/model.h"

namespace muse::train {

inline constexpr char kCheckpointMagic[8] = {'M', 'U', 'S', 'E', 'C', 'K', 'P', 'T'};
inline constexpr uint32_t kCheckpointVersion = 1;

struct Checkpoint {
  ModelConfig config;
  int64_t step = 0;
  int64_t adam_t = 0;
  uint64_t rng_state = 0;
  std::vector<float> params, adam_m, adam_v;  // n_params each
};

std::vector<uint8_t> serialize_checkpoint(const Checkpoint& ckpt);
// `name` is used in error messages (the path, or "<memory>").
Checkpoint parse_checkpoint(std::span<const uint8_t> bytes, const std::string& name = "<memory>");

void save_checkpoint(const std::string& path, const Checkpoint& ckpt);
Checkpoint load_checkpoint(const std::string& path);

}  // namespace muse::train
