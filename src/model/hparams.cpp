#include "model/hparams.h"

#include "core/error.h"

namespace muse::model {

const char* arch_name(Arch arch) {
  switch (arch) {
    case Arch::kLlama: return "llama";
    case Arch::kQwen2: return "qwen2";
    case Arch::kQwen3: return "qwen3";
  }
  return "?";
}

namespace {

int64_t positive(const gguf::File& f, const std::string& key, int64_t value, int64_t limit = int64_t{1} << 24) {
  if (value <= 0 || value > limit) {
    fail(ErrorCode::kCorruption, "{}: metadata '{}' = {} is out of range (1..{})", f.path(), key, value, limit);
  }
  return value;
}

}  // namespace

HParams hparams_from_gguf(const gguf::File& f) {
  HParams hp;
  const std::string arch = f.get_string("general.architecture");
  if (arch == "llama") {
    hp.arch = Arch::kLlama;
    hp.rope_order = RopeOrder::kNormal;
  } else if (arch == "qwen2") {
    hp.arch = Arch::kQwen2;
    hp.rope_order = RopeOrder::kNeox;
  } else if (arch == "qwen3") {
    hp.arch = Arch::kQwen3;
    hp.rope_order = RopeOrder::kNeox;
  } else {
    fail(ErrorCode::kUnsupported, "{}: architecture '{}' is not supported (supported: llama, qwen2, qwen3)",
         f.path(), arch);
  }
  auto key = [&](const char* suffix) { return arch + "." + suffix; };

  hp.n_embd = positive(f, key("embedding_length"), f.get_u32(key("embedding_length")));
  hp.n_layer = positive(f, key("block_count"), f.get_u32(key("block_count")), 4096);
  hp.n_ff = positive(f, key("feed_forward_length"), f.get_u32(key("feed_forward_length")));
  hp.n_head = positive(f, key("attention.head_count"), f.get_u32(key("attention.head_count")), 4096);
  hp.n_head_kv = positive(f, key("attention.head_count_kv"),
                          f.get_u32_or(key("attention.head_count_kv"), static_cast<uint32_t>(hp.n_head)), 4096);
  hp.n_ctx_train = positive(f, key("context_length"), f.get_u32_or(key("context_length"), 2048), int64_t{1} << 30);
  hp.norm_eps = f.get_f32_or(key("attention.layer_norm_rms_epsilon"), 1e-5f);
  if (!(hp.norm_eps > 0.0f && hp.norm_eps < 1.0f)) {
    fail(ErrorCode::kCorruption, "{}: metadata '{}' = {} is out of range (0, 1)", f.path(),
         key("attention.layer_norm_rms_epsilon"), hp.norm_eps);
  }
  if (hp.n_head % hp.n_head_kv != 0) {
    fail(ErrorCode::kCorruption, "{}: {} = {} is not a multiple of {} = {}", f.path(), key("attention.head_count"),
         hp.n_head, key("attention.head_count_kv"), hp.n_head_kv);
  }
  if (f.has(key("attention.key_length"))) {
    hp.head_dim = positive(f, key("attention.key_length"), f.get_u32(key("attention.key_length")), 4096);
    const int64_t v_len = f.get_u32_or(key("attention.value_length"), static_cast<uint32_t>(hp.head_dim));
    if (v_len != hp.head_dim) {
      fail(ErrorCode::kUnsupported, "{}: {} = {} differs from key_length {} (not supported)", f.path(),
           key("attention.value_length"), v_len, hp.head_dim);
    }
  } else {
    if (hp.n_embd % hp.n_head != 0) {
      fail(ErrorCode::kCorruption, "{}: {} = {} is not a multiple of {} = {}", f.path(), key("embedding_length"),
           hp.n_embd, key("attention.head_count"), hp.n_head);
    }
    hp.head_dim = hp.n_embd / hp.n_head;
  }
  hp.n_rot = f.get_u32_or(key("rope.dimension_count"), static_cast<uint32_t>(hp.head_dim));
  if (hp.n_rot <= 0 || hp.n_rot > hp.head_dim || hp.n_rot % 2 != 0) {
    fail(ErrorCode::kCorruption, "{}: {} = {} must be even and within 1..head_dim ({})", f.path(),
         key("rope.dimension_count"), hp.n_rot, hp.head_dim);
  }
  hp.rope_theta = f.get_f32_or(key("rope.freq_base"), 10000.0f);
  if (!(hp.rope_theta > 1.0f)) {
    fail(ErrorCode::kCorruption, "{}: {} = {} must be > 1", f.path(), key("rope.freq_base"), hp.rope_theta);
  }

  // Context extension. Newer files write rope.scaling.type/factor; older ones only rope.scale_linear.
  const std::string scaling = f.get_string_or(key("rope.scaling.type"), "");
  float factor = f.get_f32_or(key("rope.scaling.factor"), 0.0f);
  if (scaling.empty() && f.has(key("rope.scale_linear"))) {
    factor = f.get_f32(key("rope.scale_linear"));
    hp.rope_scaling = factor != 1.0f ? RopeScaling::kLinear : RopeScaling::kNone;
  } else if (scaling.empty() || scaling == "none") {
    hp.rope_scaling = RopeScaling::kNone;
  } else if (scaling == "linear") {
    hp.rope_scaling = RopeScaling::kLinear;
  } else if (scaling == "yarn") {
    hp.rope_scaling = RopeScaling::kYarn;
  } else {
    fail(ErrorCode::kUnsupported, "{}: {} = '{}' is not supported (none, linear, yarn)", f.path(),
         key("rope.scaling.type"), scaling);
  }
  if (hp.rope_scaling != RopeScaling::kNone) {
    if (!(factor >= 1.0f && factor <= 1024.0f)) {
      fail(ErrorCode::kCorruption, "{}: rope scaling factor {} is out of range [1, 1024]", f.path(), factor);
    }
    hp.rope_factor = factor;
    hp.rope_n_ctx_orig = f.get_u32_or(key("rope.scaling.original_context_length"),
                                      static_cast<uint32_t>(hp.n_ctx_train));
    hp.yarn_attn_factor = f.get_f32_or(key("rope.scaling.attn_factor"), 1.0f);
    hp.yarn_beta_fast = f.get_f32_or(key("rope.scaling.yarn_beta_fast"), 32.0f);
    hp.yarn_beta_slow = f.get_f32_or(key("rope.scaling.yarn_beta_slow"), 1.0f);
  }

  // The vocabulary size comes from the token list when present (the embedding tensor is checked
  // against it when the weights load).
  if (f.has(key("vocab_size"))) {
    hp.n_vocab = positive(f, key("vocab_size"), f.get_u32(key("vocab_size")));
  } else if (const auto* tok = f.find_tensor("token_embd.weight"); tok && tok->shape.size() == 2) {
    hp.n_vocab = tok->shape[1];
  }
  if (hp.n_vocab <= 0) {
    fail(ErrorCode::kCorruption, "{}: cannot determine the vocabulary size (no {} and no token_embd.weight)",
         f.path(), key("vocab_size"));
  }
  return hp;
}

}  // namespace muse::model
