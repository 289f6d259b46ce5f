#include "model/model.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"
#include "core/quant.h"

namespace muse::model {
namespace {

std::string shape_str(const std::vector<int64_t>& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

class Loader {
 public:
  Loader(const gguf::File& f, const HParams& hp) : f_(f), hp_(hp) {}

  const gguf::TensorInfo* find(const std::string& name) const { return f_.find_tensor(name); }

  const gguf::TensorInfo& require(const std::string& name, std::vector<int64_t> shape) const {
    const gguf::TensorInfo* t = f_.find_tensor(name);
    if (t == nullptr) {
      fail(ErrorCode::kCorruption, "{}: tensor '{}' is missing (required by architecture {})", f_.path(), name,
           arch_name(hp_.arch));
    }
    if (t->shape != shape) {
      fail(ErrorCode::kCorruption, "{}: tensor '{}' has shape {}, expected {} for {} (n_embd={}, n_head={}, "
           "n_head_kv={}, head_dim={}, n_ff={}, n_vocab={})", f_.path(), name, shape_str(t->shape), shape_str(shape),
           arch_name(hp_.arch), hp_.n_embd, hp_.n_head, hp_.n_head_kv, hp_.head_dim, hp_.n_ff, hp_.n_vocab);
    }
    return *t;
  }

  // A 2-D weight used in matmuls: ggml shape [cols, rows].
  core::WeightView matrix(const std::string& name, int64_t rows, int64_t cols) const {
    const gguf::TensorInfo& t = require(name, {cols, rows});
    if (!core::dtype_info(t.type).weight_supported) {
      fail(ErrorCode::kUnsupported, "{}: tensor '{}' has type {}, which OpenMuse cannot compute with yet "
           "(supported: f32, f16, bf16, q8_0, q4_0, q4_K, q5_K, q6_K); re-quantize with `muse quantize`",
           f_.path(), name, core::dtype_name(t.type));
    }
    return core::WeightView{t.type, rows, cols, t.data};
  }

  // A 1-D tensor (norm weight, bias) converted to f32.
  std::vector<float> vector(const std::string& name, int64_t n) const {
    const gguf::TensorInfo& t = require(name, {n});
    if (!core::dtype_info(t.type).weight_supported) {
      fail(ErrorCode::kUnsupported, "{}: tensor '{}' has unsupported type {}", f_.path(), name,
           core::dtype_name(t.type));
    }
    std::vector<float> out(n);
    core::dequantize_row(t.type, t.data, out.data(), n);
    return out;
  }

 private:
  const gguf::File& f_;
  const HParams& hp_;
};

}  // namespace

std::unique_ptr<Model> Model::load(const std::string& path, const gguf::OpenOptions& options) {
  return from_file(gguf::File::open(path, options), options.mode == gguf::LoadMode::kRead);
}

std::unique_ptr<Model> Model::from_file(std::unique_ptr<gguf::File> file) { return from_file(std::move(file), true); }

std::unique_ptr<Model> Model::from_file(std::unique_ptr<gguf::File> file, bool writable) {
  std::unique_ptr<Model> m(new Model());
  m->file_ = std::move(file);
  m->hp_ = hparams_from_gguf(*m->file_);
  const HParams& hp = m->hp_;
  Loader ld(*m->file_, hp);
  Weights& w = m->w_;

  w.token_embd = ld.matrix("token_embd.weight", hp.n_vocab, hp.n_embd);
  w.output_norm = ld.vector("output_norm.weight", hp.n_embd);
  if (ld.find("output.weight") != nullptr) {
    w.output = ld.matrix("output.weight", hp.n_vocab, hp.n_embd);
  } else {
    w.output = w.token_embd;
    w.tied_output = true;
  }
  std::vector<float> freq_factors;
  if (ld.find("rope_freqs.weight") != nullptr) freq_factors = ld.vector("rope_freqs.weight", hp.n_rot / 2);

  w.layers.resize(hp.n_layer);
  for (int64_t il = 0; il < hp.n_layer; ++il) {
    LayerWeights& l = w.layers[il];
    auto name = [il](const char* suffix) { return fmt::format("blk.{}.{}", il, suffix); };
    l.attn_norm = ld.vector(name("attn_norm.weight"), hp.n_embd);
    l.attn_q = ld.matrix(name("attn_q.weight"), hp.q_dim(), hp.n_embd);
    l.attn_k = ld.matrix(name("attn_k.weight"), hp.kv_dim(), hp.n_embd);
    l.attn_v = ld.matrix(name("attn_v.weight"), hp.kv_dim(), hp.n_embd);
    l.attn_output = ld.matrix(name("attn_output.weight"), hp.n_embd, hp.q_dim());
    if (hp.arch == Arch::kQwen2) {
      l.attn_q_bias = ld.vector(name("attn_q.bias"), hp.q_dim());
      l.attn_k_bias = ld.vector(name("attn_k.bias"), hp.kv_dim());
      l.attn_v_bias = ld.vector(name("attn_v.bias"), hp.kv_dim());
    }
    if (hp.arch == Arch::kQwen3) {
      l.attn_q_norm = ld.vector(name("attn_q_norm.weight"), hp.head_dim);
      l.attn_k_norm = ld.vector(name("attn_k_norm.weight"), hp.head_dim);
    }
    l.ffn_norm = ld.vector(name("ffn_norm.weight"), hp.n_embd);
    l.ffn_gate = ld.matrix(name("ffn_gate.weight"), hp.n_ff, hp.n_embd);
    l.ffn_up = ld.matrix(name("ffn_up.weight"), hp.n_ff, hp.n_embd);
    l.ffn_down = ld.matrix(name("ffn_down.weight"), hp.n_embd, hp.n_ff);
  }
  m->rope_ = std::make_unique<RopeTable>(hp, std::move(freq_factors));

  // Matrices only the matmuls read (a tied output shares token_embd's bytes, which embedding lookups
  // read too, so it stays; dequantize_weight_row would cope, one row at a time, but gains nothing).
  // The Model owns the File, nothing else reads these bytes, and no reader exists yet.
  if (writable) {
    auto repack = [](core::WeightView& v) {
      if (core::repack_pays(v)) core::repack_weight(&v, const_cast<void*>(v.data));
    };
    if (!w.tied_output) repack(w.output);
    for (LayerWeights& l : w.layers) {
      for (core::WeightView* v : {&l.attn_q, &l.attn_k, &l.attn_v, &l.attn_output, &l.ffn_gate, &l.ffn_up,
                                  &l.ffn_down}) {
        repack(*v);
      }
    }
  }
  return m;
}

size_t Model::decode_weight_bytes() const {
  auto bytes = [](const core::WeightView& v) { return v.row_stride() * static_cast<size_t>(v.rows); };
  size_t total = w_.token_embd.row_stride() + bytes(w_.output);
  for (const auto& l : w_.layers) {
    total += bytes(l.attn_q) + bytes(l.attn_k) + bytes(l.attn_v) + bytes(l.attn_output) + bytes(l.ffn_gate) +
             bytes(l.ffn_up) + bytes(l.ffn_down);
  }
  return total;
}

}  // namespace muse::model
