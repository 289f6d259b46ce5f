#include "model/synthetic.h"

#include <cmath>
#include <cstring>
#include <string>

#include "core/error.h"
#include "core/quant.h"

namespace muse::model {
namespace {

// splitmix64: tiny, fast, and identical on every platform (std distributions are not).
struct Rng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  float uniform(float a) {  // in [-a, a)
    return (static_cast<float>(next() >> 40) / static_cast<float>(1ull << 24) * 2.0f - 1.0f) * a;
  }
};

std::vector<uint8_t> random_matrix(Rng& rng, core::DType type, int64_t rows, int64_t cols, float scale) {
  const size_t stride = core::row_bytes(type, cols);
  std::vector<uint8_t> out(stride * rows);
  std::vector<float> row(cols);
  for (int64_t r = 0; r < rows; ++r) {
    for (auto& v : row) v = rng.uniform(scale);
    core::quantize_row(type, row.data(), &out[stride * r], cols);
  }
  return out;
}

std::vector<uint8_t> f32_bytes(const std::vector<float>& v) {
  std::vector<uint8_t> out(v.size() * 4);
  std::memcpy(out.data(), v.data(), out.size());
  return out;
}

}  // namespace

SyntheticSpec SyntheticSpec::tinyllama(core::DType type) {
  SyntheticSpec s;
  s.arch = Arch::kLlama;
  s.n_vocab = 32000;
  s.n_embd = 2048;
  s.n_layer = 22;
  s.n_head = 32;
  s.n_head_kv = 4;
  s.n_ff = 5632;
  s.n_ctx = 2048;
  s.weight_type = type;
  return s;
}

void build_synthetic(const SyntheticSpec& spec, gguf::Writer& w) {
  const int64_t block = core::dtype_info(spec.weight_type).block_size;
  const int64_t head_dim = spec.head_dim > 0 ? spec.head_dim : spec.n_embd / spec.n_head;
  const int64_t q_dim = spec.n_head * head_dim, kv_dim = spec.n_head_kv * head_dim;
  for (int64_t k : {spec.n_embd, spec.n_ff, q_dim}) {
    if (k % block != 0) {
      fail(ErrorCode::kInvalidArgument, "synthetic model: width {} is not a multiple of the {} block size {}", k,
           core::dtype_name(spec.weight_type), block);
    }
  }
  const std::string arch = arch_name(spec.arch);
  auto key = [&](const char* s) { return arch + "." + s; };
  w.set("general.architecture", gguf::Value::string(arch));
  w.set("general.name", gguf::Value::string("synthetic-" + arch));
  w.set(key("context_length"), gguf::Value::u32(static_cast<uint32_t>(spec.n_ctx)));
  w.set(key("embedding_length"), gguf::Value::u32(static_cast<uint32_t>(spec.n_embd)));
  w.set(key("block_count"), gguf::Value::u32(static_cast<uint32_t>(spec.n_layer)));
  w.set(key("feed_forward_length"), gguf::Value::u32(static_cast<uint32_t>(spec.n_ff)));
  w.set(key("attention.head_count"), gguf::Value::u32(static_cast<uint32_t>(spec.n_head)));
  w.set(key("attention.head_count_kv"), gguf::Value::u32(static_cast<uint32_t>(spec.n_head_kv)));
  if (spec.head_dim > 0) {
    w.set(key("attention.key_length"), gguf::Value::u32(static_cast<uint32_t>(head_dim)));
    w.set(key("attention.value_length"), gguf::Value::u32(static_cast<uint32_t>(head_dim)));
  }
  w.set(key("attention.layer_norm_rms_epsilon"), gguf::Value::f32(1e-5f));
  w.set(key("rope.freq_base"), gguf::Value::f32(spec.rope_theta));
  w.set(key("rope.dimension_count"), gguf::Value::u32(static_cast<uint32_t>(head_dim)));
  w.set(key("vocab_size"), gguf::Value::u32(static_cast<uint32_t>(spec.n_vocab)));

  Rng rng{spec.seed};
  auto matrix = [&](const std::string& name, int64_t rows, int64_t cols, float scale) {
    w.add_tensor(name, spec.weight_type, {cols, rows}, random_matrix(rng, spec.weight_type, rows, cols, scale));
  };
  auto vec = [&](const std::string& name, int64_t n, float center, float spread) {
    std::vector<float> v(n);
    for (auto& x : v) x = center + rng.uniform(spread);
    w.add_tensor(name, core::DType::kF32, {n}, f32_bytes(v));
  };
  // Uniform(-a, a) has variance a^2/3; a = sqrt(3/k) keeps each output's variance near that of the input.
  auto scale_for = [](int64_t k) { return std::sqrt(3.0f / static_cast<float>(k)); };

  matrix("token_embd.weight", spec.n_vocab, spec.n_embd, 1.0f);
  vec("output_norm.weight", spec.n_embd, 1.0f, 0.1f);
  if (!spec.tied_output) matrix("output.weight", spec.n_vocab, spec.n_embd, scale_for(spec.n_embd) * 4.0f);
  for (int64_t il = 0; il < spec.n_layer; ++il) {
    auto name = [il](const char* s) { return "blk." + std::to_string(il) + "." + s; };
    vec(name("attn_norm.weight"), spec.n_embd, 1.0f, 0.1f);
    matrix(name("attn_q.weight"), q_dim, spec.n_embd, scale_for(spec.n_embd) * 2.0f);
    matrix(name("attn_k.weight"), kv_dim, spec.n_embd, scale_for(spec.n_embd) * 2.0f);
    matrix(name("attn_v.weight"), kv_dim, spec.n_embd, scale_for(spec.n_embd));
    if (spec.arch == Arch::kQwen2) {
      vec(name("attn_q.bias"), q_dim, 0.0f, 0.5f);
      vec(name("attn_k.bias"), kv_dim, 0.0f, 0.5f);
      vec(name("attn_v.bias"), kv_dim, 0.0f, 0.5f);
    }
    if (spec.arch == Arch::kQwen3) {
      vec(name("attn_q_norm.weight"), head_dim, 1.0f, 0.2f);
      vec(name("attn_k_norm.weight"), head_dim, 1.0f, 0.2f);
    }
    matrix(name("attn_output.weight"), spec.n_embd, q_dim, scale_for(q_dim) * 0.5f);
    vec(name("ffn_norm.weight"), spec.n_embd, 1.0f, 0.1f);
    matrix(name("ffn_gate.weight"), spec.n_ff, spec.n_embd, scale_for(spec.n_embd) * 2.0f);
    matrix(name("ffn_up.weight"), spec.n_ff, spec.n_embd, scale_for(spec.n_embd));
    matrix(name("ffn_down.weight"), spec.n_embd, spec.n_ff, scale_for(spec.n_ff) * 0.5f);
  }
}

std::vector<uint8_t> build_synthetic_gguf(const SyntheticSpec& spec) {
  gguf::Writer w;
  build_synthetic(spec, w);
  return w.to_bytes();
}

}  // namespace muse::model
