// Loading a model to train further (`muse train grpo --init`): from a training checkpoint (train/
// checkpoint.h, the weights only) or from an F32 arch=llama GGUF of the shape export.h writes (tied
// embeddings, no output.weight). The inverse of export_gguf: export then import gives the same floats.
//
// Errors: kUnsupported for another architecture, a non-F32 tensor or an untied output matrix;
// kCorruption for a tensor whose shape disagrees with the hyper-parameters; kNotFound for a missing
// tensor or key; whatever checkpoint/gguf loading throws. Thread-safety: pure.
#pragma once

#include <memory>
#include <string>

#include "gguf/gguf.h"
#include "train/model.h"

namespace muse::train {

std::unique_ptr<Model> model_from_gguf(const gguf::File& file);

// A path whose first 8 bytes are the checkpoint magic is read as a checkpoint, anything else as GGUF.
std::unique_ptr<Model> load_model_for_training(const std::string& path);

}  // namespace muse::train
