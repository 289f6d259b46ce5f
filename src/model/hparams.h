// Hyper-parameters of a transformer, read from GGUF metadata (`<arch>.*` keys).
//
// Supported architectures: llama (Llama 2/3.x, TinyLlama, SmolLM, llama2.c conversions), qwen2 (QKV
// bias), qwen3 (per-head RMSNorm on Q and K). hparams_from_gguf validates every value (positive
// sizes, heads dividing the width, GQA ratio) and throws muse::Error naming the key on bad or
// unsupported metadata. Plain value type: copy freely.
#pragma once

#include <cstdint>
#include <string>

#include "gguf/gguf.h"

namespace muse::model {

enum class Arch { kLlama, kQwen2, kQwen3 };
const char* arch_name(Arch arch);

// How RoPE pairs the dimensions of a head: kNormal rotates (2i, 2i+1) (llama), kNeox rotates
// (i, i + n_rot/2) (qwen2, qwen3: the Hugging Face "rotate_half" layout).
enum class RopeOrder { kNormal, kNeox };
enum class RopeScaling { kNone, kLinear, kYarn };

struct HParams {
  Arch arch = Arch::kLlama;
  int64_t n_vocab = 0;
  int64_t n_embd = 0;     // model width (C)
  int64_t n_layer = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;  // GQA: n_head % n_head_kv == 0
  int64_t head_dim = 0;   // usually n_embd / n_head (qwen3 may differ)
  int64_t n_ff = 0;       // SwiGLU hidden width
  int64_t n_ctx_train = 0;
  float norm_eps = 1e-5f;

  RopeOrder rope_order = RopeOrder::kNormal;
  int64_t n_rot = 0;  // rotated dims per head (<= head_dim)
  float rope_theta = 10000.0f;
  RopeScaling rope_scaling = RopeScaling::kNone;
  float rope_factor = 1.0f;          // context extension factor (linear / yarn)
  int64_t rope_n_ctx_orig = 0;       // yarn: original training context
  float yarn_beta_fast = 32.0f;
  float yarn_beta_slow = 1.0f;
  float yarn_attn_factor = 1.0f;

  int64_t q_dim() const { return n_head * head_dim; }
  int64_t kv_dim() const { return n_head_kv * head_dim; }
};

HParams hparams_from_gguf(const gguf::File& file);

}  // namespace muse::model
