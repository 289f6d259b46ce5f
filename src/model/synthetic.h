// Synthetic models: random weights in a real GGUF layout, for tests and benchmarks.
//
// build_synthetic_gguf writes every tensor and key a real model of the architecture has (standard
// llama.cpp names), with weights drawn from a seeded generator and scaled so activations stay O(1),
// then quantized to the requested type. The result loads with Model::from_file / Model::load and in
// llama.cpp. Deterministic per seed. Throws muse::Error only for an impossible spec (e.g. a width that
// is not a multiple of the quantization block).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "gguf/gguf.h"
#include "model/hparams.h"

namespace muse::model {

struct SyntheticSpec {
  Arch arch = Arch::kLlama;
  int64_t n_vocab = 256;
  int64_t n_embd = 64;
  int64_t n_layer = 2;
  int64_t n_head = 4;
  int64_t n_head_kv = 2;
  int64_t head_dim = 0;  // 0: n_embd / n_head
  int64_t n_ff = 128;
  int64_t n_ctx = 512;
  float rope_theta = 10000.0f;
  bool tied_output = false;
  core::DType weight_type = core::DType::kF32;  // for 2-D matrices; norms and biases stay F32
  uint64_t seed = 1;

  // TinyLlama-1.1B's shape: dim 2048, 22 layers, 32 heads, 4 KV heads, FFN 5632, vocab 32000.
  static SyntheticSpec tinyllama(core::DType type);
};

// Fills `writer` with the model's metadata and tensors (tensor data owned by the writer).
void build_synthetic(const SyntheticSpec& spec, gguf::Writer& writer);
// Convenience: the GGUF bytes.
std::vector<uint8_t> build_synthetic_gguf(const SyntheticSpec& spec);

}  // namespace muse::model
