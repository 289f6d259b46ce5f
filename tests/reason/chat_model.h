// Test models for the reason module: a small random llama with a real SPM-style vocabulary that has
// chat and think tokens (<s>, </s>, <|im_start|>, <|im_end|>, <think>, </think>, byte tokens and the
// printable ASCII characters) and Qwen3's chat template, so every mode runs end to end; and the real
// stories260K model, which has no think tokens.
#pragma once

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "model/model.h"
#include "model/synthetic.h"
#include "text/tokenizer.h"

namespace muse::reason::test_models {

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string qwen3_template() {
  return read_text(std::string(MUSE_SHARED_DATA) + "/templates/Qwen-Qwen3-0.6B.jinja");
}

struct ChatModel {
  std::unique_ptr<model::Model> model;
  std::unique_ptr<text::Tokenizer> tok;
};

// The GGUF bytes of the think model (see think_model). with_think = false drops <think>/</think> from
// the vocabulary (their ids become plain pieces). Matrices are Q8_0 unless `weight_type` says otherwise.
inline std::vector<uint8_t> think_model_gguf(bool with_think = true, uint64_t seed = 3,
                                             std::string tmpl = qwen3_template(),
                                             core::DType weight_type = core::DType::kQ8_0) {
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"};
  std::vector<int32_t> types = {2, 3, 3, 3, 3};
  tokens.push_back(with_think ? "<think>" : "thinkA");
  tokens.push_back(with_think ? "</think>" : "thinkB");
  types.push_back(with_think ? 4 : 1);
  types.push_back(with_think ? 4 : 1);
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    tokens.push_back(buf);
    types.push_back(6);
  }
  tokens.push_back("\xE2\x96\x81");  // U+2581, the SPM space
  types.push_back(1);
  for (char c = '!'; c <= '~'; ++c) {
    tokens.push_back(std::string(1, c));
    types.push_back(1);
  }
  for (const char* w : {"\xE2\x96\x81" "the", "\xE2\x96\x81" "answer", "\xE2\x96\x81" "is", "er", "in"}) {
    tokens.push_back(w);
    types.push_back(1);
  }
  std::vector<float> scores(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) scores[i] = -static_cast<float>(i) * 0.01f + (tokens[i].size() > 1 ? 1.0f : 0.0f);

  model::SyntheticSpec spec;
  spec.n_vocab = static_cast<int64_t>(tokens.size());
  spec.n_embd = 64;
  spec.n_ff = 128;
  spec.n_layer = 2;
  spec.n_ctx = 1024;
  spec.weight_type = weight_type;
  spec.seed = seed;
  gguf::Writer w;
  model::build_synthetic(spec, w);
  w.set("tokenizer.ggml.model", gguf::Value::string("llama"));
  w.set("tokenizer.ggml.tokens", gguf::Value::string_array(tokens));
  w.set("tokenizer.ggml.scores", gguf::Value::f32_array(scores));
  w.set("tokenizer.ggml.token_type", gguf::Value::i32_array(types));
  w.set("tokenizer.ggml.bos_token_id", gguf::Value::u32(1));
  w.set("tokenizer.ggml.eos_token_id", gguf::Value::u32(4));
  w.set("tokenizer.ggml.unknown_token_id", gguf::Value::u32(0));
  w.set("tokenizer.ggml.add_bos_token", gguf::Value::boolean(false));
  w.set("tokenizer.chat_template", gguf::Value::string(std::move(tmpl)));
  return w.to_bytes();
}

inline ChatModel think_model(bool with_think = true, uint64_t seed = 3, std::string tmpl = qwen3_template(),
                             core::DType weight_type = core::DType::kQ8_0) {
  ChatModel m;
  m.model = model::Model::from_file(
      gguf::File::from_bytes(think_model_gguf(with_think, seed, std::move(tmpl), weight_type), "think-model.gguf"));
  m.tok = text::Tokenizer::from_gguf(m.model->file());
  return m;
}

inline ChatModel stories() {
  ChatModel m;
  m.model = model::Model::load(std::string(MUSE_SHARED_DATA) + "/models/stories260K.gguf");
  m.tok = text::Tokenizer::from_gguf(m.model->file());
  return m;
}

}  // namespace muse::reason::test_models
