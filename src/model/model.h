// Model: the immutable part of a loaded transformer: hyper-parameters, weights (views into the GGUF
// file's bytes) and the RoPE table. Shared read-only by every sequence, runner and thread.
//
// Usage:
//   auto model = model::Model::load("model.gguf", {.mode = gguf::LoadMode::kRead});
//   model::Runner runner(*model, pool);             // per-batch buffers (runner.h)
//
// Loading validates the architecture's tensor set: every tensor present, shapes matching the
// hyper-parameters, dtypes the kernels support. Errors throw muse::Error naming the file and tensor.
// Weight fields are named after their GGUF tensors (blk.N.attn_q.weight -> attn_q).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/matmul.h"
#include "gguf/gguf.h"
#include "model/hparams.h"
#include "model/rope.h"

namespace muse::model {

// Letters used in shape comments: C = n_embd, V = n_vocab, F = n_ff, Q = n_head*head_dim,
// K = n_head_kv*head_dim, D = head_dim. WeightView rows are output features: (rows, cols).
struct LayerWeights {
  std::vector<float> attn_norm;          // (C)
  core::WeightView attn_q;               // (Q, C)
  core::WeightView attn_k;               // (K, C)
  core::WeightView attn_v;               // (K, C)
  std::vector<float> attn_q_bias;        // (Q) qwen2 only, else empty
  std::vector<float> attn_k_bias;        // (K) qwen2 only
  std::vector<float> attn_v_bias;        // (K) qwen2 only
  std::vector<float> attn_q_norm;        // (D) qwen3 only
  std::vector<float> attn_k_norm;        // (D) qwen3 only
  core::WeightView attn_output;          // (C, Q)
  std::vector<float> ffn_norm;           // (C)
  core::WeightView ffn_gate;             // (F, C)
  core::WeightView ffn_up;               // (F, C)
  core::WeightView ffn_down;             // (C, F)
};

struct Weights {
  core::WeightView token_embd;           // (V, C)
  std::vector<float> output_norm;        // (C)
  core::WeightView output;               // (V, C); the same bytes as token_embd when tied
  bool tied_output = false;
  std::vector<LayerWeights> layers;      // (n_layer)
};

class Model {
 public:
  // With LoadMode::kRead (the default) the file's bytes are private heap memory, and the Q8_0 matrices
  // the kernels read faster in another layout are rewritten into it in place (core::repack_weight;
  // WeightView::layout says which); with kMmap the bytes are read-only and keep the file's layout.
  static std::unique_ptr<Model> load(const std::string& path, const gguf::OpenOptions& options = {});
  // Takes ownership of an opened file (e.g. File::from_bytes for synthetic models) and repacks as load()
  // does with kRead. REQUIRES: the file's bytes are writable (File::from_bytes, or opened with kRead).
  static std::unique_ptr<Model> from_file(std::unique_ptr<gguf::File> file);

  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const HParams& hparams() const { return hp_; }
  const Weights& weights() const { return w_; }
  const RopeTable& rope() const { return *rope_; }
  const gguf::File& file() const { return *file_; }

  // Bytes of weights one decode step reads: every layer matrix, the output matrix and one embedding row.
  size_t decode_weight_bytes() const;

 private:
  Model() = default;
  static std::unique_ptr<Model> from_file(std::unique_ptr<gguf::File> file, bool writable);
  std::unique_ptr<gguf::File> file_;
  HParams hp_;
  Weights w_;
  std::unique_ptr<RopeTable> rope_;
};

}  // namespace muse::model
