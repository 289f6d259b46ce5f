// Export of a trained train::Model as a GGUF file that llama.cpp (and OpenMuse's model/) load as a
// standard arch=llama model: F32 tensors, standard key and tensor names.
//
// Keys written: general.architecture = "llama", general.file_type = 0 (all F32), llama.context_length,
// llama.embedding_length, llama.block_count, llama.feed_forward_length, llama.attention.head_count,
// llama.attention.head_count_kv, llama.rope.freq_base, llama.attention.layer_norm_rms_epsilon,
// llama.rope.dimension_count (= head size: all of it rotates), llama.vocab_size. Tensors: token_embd,
// blk.N.{attn_norm, attn_q, attn_k, attn_v, attn_output, ffn_norm, ffn_gate, ffn_up, ffn_down},
// output_norm (".weight" each), shape in ggml order [ne0 = in features, ne1 = out features], which is
// our row-major (out, in) buffer as is. Embeddings are tied: no output.weight (llama.cpp then uses
// token_embd for the classifier).
//
// RoPE and the Q/K permutation: llama.cpp's convert_hf_to_gguf.py permutes the rows of attn_q/attn_k
// of HF llama checkpoints, because HF rotates the half-split pairs (x[i], x[i + HS/2]) (NeoX style)
// while GGUF arch=llama means rotating ADJACENT pairs (x[2i], x[2i+1]) (ggml rope mode 0). Our trainer
// rotates adjacent pairs natively (train/layers.h rope_forward), so its q/k rows are already in GGUF
// order and are exported WITHOUT any permutation; permuting them would scramble the heads.
//
// The tokenizer is not the model's business: extra_metadata(writer) runs after the keys above are set,
// so the caller adds tokenizer.ggml.* (and may override general.name etc.).
// Errors: kIOError from the atomic write (the old file at path stays intact); whatever the callback
// throws propagates. Thread-compatible; the model is only read.
#pragma once

#include <functional>
#include <string>

#include "gguf/gguf.h"
#include "train/model.h"

namespace muse::train {

using MetadataCallback = std::function<void(gguf::Writer&)>;

// Adds the llama keys and the model's tensors (borrowed: model must outlive the writer's output).
void add_model_to_gguf(const Model& model, gguf::Writer& writer);

// add_model_to_gguf, then extra_metadata (if set), then an atomic write to path.
void export_gguf(const Model& model, const std::string& path, const MetadataCallback& extra_metadata = {});

}  // namespace muse::train
