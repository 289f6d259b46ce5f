// The layers of a Llama block for training, each forward next to its backward (llm.c style).
//
// Shapes (letters used in every comment of train/):
//   B batch, T time (sequence length), C model dim, NH query heads, NKV key/value heads, HS head size,
//   QD = NH*HS, KD = NKV*HS, F ffn dim, V vocab, OC a matmul's output features. Row-major everywhere.
//
// Gradient convention, stated once: every *_backward ADDS (+=) into all of its gradient outputs, both
// parameter gradients and input (activation) gradients. Parameter gradients therefore accumulate over
// micro-batches, and an activation that feeds several consumers (the residual stream, the normed input
// of q/k/v or gate/up) simply receives the sum. Callers zero gradient buffers before a backward pass.
// A backward takes the same arguments as its forward in the same order, with each output replaced by
// its gradient and the gradient inputs (dout) first.
//
// Memory: every pointer is borrowed for the call. Threads: functions taking a pool split their work
// over it with a split that depends only on shapes and the worker count, and never race (attention
// groups query heads by their shared KV head so dk/dv have one writer), so results are bit-identical
// run to run. Never throw: shapes were validated by ModelConfig::validate.
#pragma once

#include <cstdint>

#include "core/thread_pool.h"

namespace muse::train {

// out[b,t,:] = wte[tokens[b,t],:]
// out (B,T,C), tokens (B,T) in [0,V), wte (V,C)
void embedding_forward(float* out, const int32_t* tokens, const float* wte, int64_t BT, int64_t C);
void embedding_backward(float* dwte, const float* dout, const int32_t* tokens, int64_t BT, int64_t C);

// RMSNorm: rstd = 1/sqrt(mean(x^2) + eps); out = x * rstd * weight
// out (B,T,C), rstd (B,T) saved for backward, inp (B,T,C), weight (C)
void rmsnorm_forward(core::ThreadPool& pool, float* out, float* rstd, const float* inp, const float* weight,
                     int64_t BT, int64_t C, float eps);
void rmsnorm_backward(core::ThreadPool& pool, float* dinp, float* dweight, const float* dout, const float* rstd,
                      const float* inp, const float* weight, int64_t BT, int64_t C);

// Linear layer without bias: out = inp @ weight^T
// out (B,T,OC), inp (B,T,C), weight (OC,C)
void matmul_forward(core::ThreadPool& pool, float* out, const float* inp, const float* weight, int64_t BT,
                    int64_t C, int64_t OC);
void matmul_backward(core::ThreadPool& pool, float* dinp, float* dweight, const float* dout, const float* inp,
                     const float* weight, int64_t BT, int64_t C, int64_t OC);

// Precomputed RoPE angles for positions [0, T) and pair index i in [0, HS/2):
//   freq_i = theta^(-2i/HS), angle = pos * freq_i; table (T, HS/2) of cos and of sin.
void rope_table(float* cos_table, float* sin_table, int64_t T, int64_t HS, float theta);

// RoPE, llama.cpp's "normal" mode (what GGUF arch=llama means): the rotated pairs are ADJACENT
// elements (x[2i], x[2i+1]) of each head, position = t (every sequence starts at 0):
//   out[2i] = x[2i] cos - x[2i+1] sin ; out[2i+1] = x[2i] sin + x[2i+1] cos
// Why this pairing: it is the one the GGUF file format implies for arch=llama (ggml rope mode 0, used
// by llama.cpp and by OpenMuse's model/), so the weights we train mean the same thing when the engine
// runs them, and export needs no Q/K row permutation. It is not the NeoX/HF half-split pairing
// (x[i], x[i+HS/2]); see export.h. tests/train/export_engine_test.cpp checks the agreement.
// out, inp (B,T,NHx*HS) with NHx = NH or NKV; out may equal inp.
void rope_forward(float* out, const float* inp, const float* cos_table, const float* sin_table, int64_t B,
                  int64_t T, int64_t n_head, int64_t HS);
void rope_backward(float* dinp, const float* dout, const float* cos_table, const float* sin_table, int64_t B,
                   int64_t T, int64_t n_head, int64_t HS);

// Causal attention is computed in blocks of query rows: rows [r0, r1) only see keys [0, r1), so the
// products stop at column r1 instead of T. With T = 256 this skips 3/8 of the square; a finer block
// would skip more but shrinks the GEMMs below where they run efficiently.
inline constexpr int64_t kAttentionRowBlock = 64;

// Causal grouped-query attention; query head h reads KV head h / (NH/NKV) (llama.cpp's broadcast).
//   att = softmax(q k^T / sqrt(HS)) over keys s <= t (0 above the diagonal); out = att v
// out (B,T,QD), att (B,NH,T,T) probabilities saved for backward, q (B,T,QD) and k (B,T,KD) after RoPE,
// v (B,T,KD). backward also takes scratch datt (B,NH,T,T), overwritten (only its causal part is
// meaningful afterwards).
void attention_forward(core::ThreadPool& pool, float* out, float* att, const float* q, const float* k,
                       const float* v, int64_t B, int64_t T, int64_t NH, int64_t NKV, int64_t HS);
void attention_backward(core::ThreadPool& pool, float* dq, float* dk, float* dv, float* datt, const float* dout,
                        const float* att, const float* q, const float* k, const float* v, int64_t B, int64_t T,
                        int64_t NH, int64_t NKV, int64_t HS);

// SwiGLU: out = silu(gate) * up, silu(g) = g * sigmoid(g)
// out, gate, up (B,T,F)
void swiglu_forward(core::ThreadPool& pool, float* out, const float* gate, const float* up, int64_t N);
void swiglu_backward(core::ThreadPool& pool, float* dgate, float* dup, const float* dout, const float* gate,
                     const float* up, int64_t N);

// out = inp1 + inp2 (the residual stream); all (N) elements
void residual_forward(float* out, const float* inp1, const float* inp2, int64_t N);
void residual_backward(float* dinp1, float* dinp2, const float* dout, int64_t N);

// Softmax cross-entropy with a loss mask, fused: probs = softmax(logits); loss[b,t] = -log probs[target]
// where mask[b,t] != 0, else 0. The mean is over unmasked positions: mean = sum(loss) / n_unmasked.
// probs (B,T,V) may equal logits (B,T,V); losses (B,T); targets (B,T) in [0,V); mask (B,T).
// Returns the mean (0 when nothing is unmasked).
float crossentropy_forward(float* probs, float* losses, const float* logits, const int32_t* targets,
                           const uint8_t* mask, int64_t BT, int64_t V);
// dlogits += (probs - onehot(target)) * mask / n_unmasked: the gradient of the masked mean.
void crossentropy_backward(float* dlogits, const float* probs, const int32_t* targets, const uint8_t* mask,
                           int64_t BT, int64_t V);
// The gradient of an arbitrary weighted sum J = sum_i dloss[i] * loss[i] of the per-position losses
// (loss[i] = -log probs[i, target[i]]), used by policy-gradient objectives whose per-token weights
// are computed outside (GRPO): dlogits[i,j] += dloss[i] * (probs[i,j] - [j == target[i]]).
// Positions with dloss[i] == 0 are skipped (padding, prompt tokens).
void crossentropy_backward_weighted(float* dlogits, const float* probs, const int32_t* targets, const float* dloss,
                                    int64_t BT, int64_t V);

}  // namespace muse::train
