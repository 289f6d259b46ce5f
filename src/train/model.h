// The trainable Llama model: hyper-parameters, one contiguous f32 parameter buffer with named views,
// a gradient buffer of the same layout, and the forward/backward pass over a batch.
//
// Usage:
//   train::ModelConfig cfg;                         // muse-nano defaults; cfg.validate() throws on nonsense
//   train::Model model(cfg);                        // parameters zeroed
//   model.init_weights(seed);
//   train::Workspace ws(cfg, /*max_batch=*/8, /*max_seq=*/256);
//   float loss = train::forward(pool, model, ws, batch);   // stores activations in ws
//   model.zero_grad();
//   train::backward(pool, model, ws);               // adds d(mean loss)/d(params) into model.grads()
//
// Architecture (llama, as llama.cpp runs arch=llama): x = token_embd[tokens]; per layer
//   x = x + attn_output(attention(rope(attn_q(n1)), rope(attn_k(n1)), attn_v(n1))), n1 = rmsnorm(x)*attn_norm
//   x = x + ffn_down(silu(ffn_gate(n2)) * ffn_up(n2)),                             n2 = rmsnorm(x)*ffn_norm
// logits = (rmsnorm(x)*output_norm) @ token_embd^T (tied classifier: there is no output.weight).
//
// Ownership: Model owns its two buffers; views (WeightViews) borrow them and live as long as the Model.
// Workspace owns the activations of one batch and is reused across steps. Thread-safety: none; a
// forward/backward uses the caller's pool for its parallel parts. Errors: bad hyper-parameters and
// out-of-range token ids throw muse::Error(kInvalidArgument) naming the field or position.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/thread_pool.h"

namespace muse::train {

struct ModelConfig {
  int64_t dim = 256;           // C: model width
  int64_t n_layers = 6;        // L
  int64_t n_heads = 8;         // NH: query heads; head size HS = dim / n_heads
  int64_t n_kv_heads = 4;      // NKV: key/value heads (GQA); divides n_heads
  int64_t ffn_dim = 768;       // F: SwiGLU hidden width
  int64_t vocab = 128;         // V
  int64_t max_seq = 256;       // longest sequence the model is trained for (llama.context_length)
  float rope_theta = 10000.0f; // RoPE base
  float norm_eps = 1e-5f;      // RMSNorm epsilon

  int64_t head_dim() const { return dim / n_heads; }
  int64_t q_dim() const { return n_heads * head_dim(); }      // QD
  int64_t kv_dim() const { return n_kv_heads * head_dim(); }  // KD
  // V*C + L*(2C + 2*QD*C + 2*KD*C + 3*F*C) + C, without allocating anything.
  int64_t n_params() const;
  // Throws muse::Error(kInvalidArgument) naming the first bad field.
  void validate() const;
  bool operator==(const ModelConfig&) const = default;
};

// Where one named tensor lives in the parameter buffer. Matrices are row-major (rows = out features,
// cols = in features), so in ggml order the shape is [ne0 = cols, ne1 = rows]; vectors have rows = 1.
struct TensorSpec {
  std::string name;  // GGUF name: "token_embd.weight", "blk.3.attn_q.weight", "output_norm.weight"
  int64_t offset = 0;
  int64_t rows = 0;
  int64_t cols = 0;
  bool is_norm = false;  // RMSNorm gains: no weight decay
  int64_t n_elements() const { return rows * cols; }
};

template <typename F>
struct LayerViews {
  F* attn_norm;    // (C)
  F* attn_q;       // (QD, C)
  F* attn_k;       // (KD, C)
  F* attn_v;       // (KD, C)
  F* attn_output;  // (C, QD)
  F* ffn_norm;     // (C)
  F* ffn_gate;     // (F, C)
  F* ffn_up;       // (F, C)
  F* ffn_down;     // (C, F)
};

template <typename F>
struct WeightViews {
  F* token_embd;  // (V, C), also the classifier
  std::vector<LayerViews<F>> layers;
  F* output_norm;  // (C)
};

class Model {
 public:
  // Validates config; parameters and gradients start at zero.
  explicit Model(const ModelConfig& config);

  const ModelConfig& config() const { return config_; }
  int64_t n_params() const { return static_cast<int64_t>(params_.size()); }
  // In buffer order: token_embd, then blk.0 {attn_norm, attn_q, attn_k, attn_v, attn_output, ffn_norm,
  // ffn_gate, ffn_up, ffn_down}, blk.1 ..., output_norm (the order of a llama GGUF).
  const std::vector<TensorSpec>& tensors() const { return tensors_; }

  std::span<float> params() { return params_; }
  std::span<const float> params() const { return params_; }
  std::span<float> grads() { return grads_; }
  std::span<const float> grads() const { return grads_; }

  WeightViews<float> weights() { return views(params_.data()); }
  WeightViews<const float> weights() const { return views(params_.data()); }
  WeightViews<float> grad_views() { return views(grads_.data()); }

  // Matrices ~ N(0, 0.02); the two projections that write into the residual stream (attn_output,
  // ffn_down) get 0.02 / sqrt(2 L) so the stream's variance does not grow with depth (GPT-2);
  // norm gains = 1. Deterministic in seed.
  void init_weights(uint64_t seed);
  void zero_grad();

 private:
  template <typename F>
  WeightViews<F> views(F* base) const;

  ModelConfig config_;
  std::vector<TensorSpec> tensors_;
  std::vector<float> params_;
  std::vector<float> grads_;
};

// One batch: B rows of T positions. inputs[b,t] predicts targets[b,t] (= the next token) and the loss
// counts only where mask[b,t] != 0 (assistant tokens); padding has mask 0.
struct Batch {
  int64_t B = 0;
  int64_t T = 0;
  std::vector<int32_t> inputs;   // (B,T)
  std::vector<int32_t> targets;  // (B,T)
  std::vector<uint8_t> mask;     // (B,T)
};

// Activations of one forward pass (kept for backward) plus one layer's worth of gradient scratch.
// Sized for batches up to max_batch x max_seq; smaller batches use a prefix.
class Workspace {
 public:
  Workspace(const ModelConfig& config, int64_t max_batch, int64_t max_seq);
  int64_t max_batch() const { return max_batch_; }
  int64_t max_seq() const { return max_seq_; }

  // After forward: next-token probabilities (B,T,V) and per-position losses (B,T) of the last batch.
  std::span<const float> probs() const;
  std::span<const float> losses() const;

 private:
  friend float forward(core::ThreadPool&, const Model&, Workspace&, const Batch&);
  friend void backward(core::ThreadPool&, Model&, Workspace&);
  friend void backward(core::ThreadPool&, Model&, Workspace&, std::span<const float>);
  friend void backward_from_dlogits(core::ThreadPool&, Model&, Workspace&);

  ModelConfig config_;
  int64_t max_batch_, max_seq_;
  int64_t B_ = 0, T_ = 0;  // shape of the batch in the buffers
  Batch batch_;            // copy of the last forward's batch (backward needs tokens and mask)
  std::vector<float> rope_cos_, rope_sin_;  // (max_seq, HS/2)
  std::vector<float> acts_;                 // everything below lives in here
  // Per layer (index l), strided by the max sizes:
  float* encoded_;   // (B,T,C) embeddings = input of layer 0
  float* ln1_;       // (L,B,T,C)
  float* ln1_rstd_;  // (L,B,T)
  float* q_;         // (L,B,T,QD) after RoPE
  float* k_;         // (L,B,T,KD) after RoPE
  float* v_;         // (L,B,T,KD)
  float* att_;       // (L,B,NH,T,T) softmax probabilities
  float* atty_;      // (L,B,T,QD) attention output
  float* res2_;      // (L,B,T,C) after the attention residual
  float* ln2_;       // (L,B,T,C)
  float* ln2_rstd_;  // (L,B,T)
  float* gate_;      // (L,B,T,F)
  float* up_;        // (L,B,T,F)
  float* hidden_;    // (L,B,T,F) silu(gate) * up
  float* res3_;      // (L,B,T,C) after the ffn residual = input of layer l+1
  float* lnf_;       // (B,T,C)
  float* lnf_rstd_;  // (B,T)
  float* probs_;     // (B,T,V) logits, then softmax in place
  float* losses_;    // (B,T)
  float* tmp_;       // (B,T,C) forward scratch: a branch's output before the residual add
  // Gradient scratch, one layer's worth (reused for every layer):
  float* dres_;      // (B,T,C) gradient of the residual stream
  float* dln_;       // (B,T,C)
  float* dq_;        // (B,T,QD)
  float* dk_;        // (B,T,KD)
  float* dv_;        // (B,T,KD)
  float* datty_;     // (B,T,QD) d(attention output), then reused for dq before RoPE
  float* dk_pre_;    // (B,T,KD)
  float* datt_;      // (B,NH,T,T)
  float* dgate_;     // (B,T,F)
  float* dup_;       // (B,T,F)
  float* dhidden_;   // (B,T,F)
  float* dlogits_;   // (B,T,V)
};

// Runs the model on batch, stores activations in ws, returns the mean masked loss (0 when the mask is
// all zero). REQUIRES: batch.B <= ws.max_batch(), batch.T <= min(ws.max_seq(), config.max_seq) and
// vector sizes B*T. Throws kInvalidArgument for a token id outside [0, V) (naming its position).
float forward(core::ThreadPool& pool, const Model& model, Workspace& ws, const Batch& batch);

// Adds d(mean loss)/d(params) of ws's last forward into model.grads() (+=: zero them first for a
// fresh step). REQUIRES: forward(model, ws) ran since the parameters last changed.
void backward(core::ThreadPool& pool, Model& model, Workspace& ws);

// Adds d(J)/d(params) for J = sum_{b,t} dloss[b,t] * losses[b,t] of ws's last forward, where
// losses[b,t] = -log p(target[b,t]) (computed by forward only where mask[b,t] != 0, so dloss must be
// 0 elsewhere). Policy-gradient losses (GRPO) pick dloss per token. dloss is (B,T) of the last batch.
// REQUIRES: as backward; dloss.size() == B*T.
void backward(core::ThreadPool& pool, Model& model, Workspace& ws, std::span<const float> dloss);

}  // namespace muse::train
