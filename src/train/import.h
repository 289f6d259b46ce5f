// Loading a model to train further (`muse train grpo --init`): from a training checkpoint (train/
// checkpoint.h, the weights only) or from an F32 arch=llama GGUF of the shape export.h writes (tied
// embeddings, no output.weight). The inverse of export_gguf: export then import gives the same floats.
//
// Quantized tensors (Q8_0, Q4_0, K-quants, F16/BF16) are dequantized: training then continues from the
// values the engine computes with.
// Errors: kUnsupported for another architecture or an untied output matrix;
// kCorruption for a tensor whose shape disagrees with the hyper-parameters; kNotFound for a missing
// tensor or key; whatever checkpoint/gguf loading throws. Thread-safety: pure.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "gguf/gguf.h"
#include "train/model.h"

namespace muse::train {

std::unique_ptr<Model> model_from_gguf(const gguf::File& file);

// A path whose first 8 bytes are the checkpoint magic is read as a checkpoint, anything else as GGUF.
std::unique_ptr<Model> load_model_for_training(const std::string& path);

// Warm start (`muse train sft --init`): copies `from` into `to`, whose vocabulary and context length may
// differ, and which may be deeper or have a wider FFN (the same dim and heads). Each embedding row of `to`
// takes the row of the token with the same text in `from` (so a retrained vocabulary keeps what the old
// model knew of every token they share); a token `from` lacks keeps `to`'s initialisation.
// Growth keeps the function: old layer i becomes layer i * to_layers / from_layers, and every new layer and
// new FFN unit keeps its fresh input weights but gets zero output weights (attn_output, ffn_down), so the
// grown model computes what `from` computed until training moves them.
// Returns the number of embedding rows copied. Throws kInvalidArgument when dim or heads differ, layers or
// ffn would shrink, or the token lists do not match the vocabularies.
int64_t warm_start(const Model& from, std::span<const std::string> from_tokens, Model& to,
                   std::span<const std::string> to_tokens);

}  // namespace muse::train
