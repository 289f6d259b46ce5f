// The optimized forward pass (Runner: batched prefill, KV cache, SIMD kernels, threads) against the
// plain ReferenceRunner, on synthetic models of every architecture and weight type, and on the real
// stories260K model against recorded reference token ids.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>

#include "core/error.h"
#include "engine/generate.h"
#include "gguf/gguf_test_util.h"
#include "model/model.h"
#include "model/reference.h"
#include "model/runner.h"
#include "model/synthetic.h"

namespace muse::model {
namespace {

using core::DType;

std::unique_ptr<Model> synthetic_model(const SyntheticSpec& spec) {
  return Model::from_file(gguf::File::from_bytes(build_synthetic_gguf(spec), "synthetic"));
}

struct Case {
  Arch arch;
  DType type;
};

std::string case_name(const testing::TestParamInfo<Case>& info) {
  return std::string(arch_name(info.param.arch)) + "_" + std::string(core::dtype_name(info.param.type));
}

// Tolerance on logits, relative to the largest reference logit magnitude. The reference runs in f32
// activations with double accumulation; the fast path differs by (a) the F16 KV cache (~1e-3 relative
// per element) and (b) for quantized weights, activations quantized to 8 bits on the fly: Q8_0/Q4_0
// use one scale per 32 activations, K-quants one per 256 (Q8_K), so the rounding step is amax/127 over
// a larger block and the error is larger. Measured worst cases over these models: ~0.3% for float
// weights, ~2.5% for Q8_0/Q4_0, ~4% for K-quants. A wrong rope order, bias or norm moves logits by
// O(100%), far outside these bounds.
double tolerance(DType type) {
  switch (type) {
    case DType::kF32:
    case DType::kF16:
    case DType::kBF16: return 0.01;
    case DType::kQ8_0:
    case DType::kQ4_0: return 0.03;
    default: return 0.06;
  }
}

class ForwardVsReference : public testing::TestWithParam<Case> {};

TEST_P(ForwardVsReference, LogitsAndGreedyTokensMatch) {
  SyntheticSpec spec;
  spec.arch = GetParam().arch;
  spec.weight_type = GetParam().type;
  spec.n_embd = 256;  // a multiple of the 256-element K-quant blocks
  spec.n_ff = 512;
  spec.n_head = 4;
  spec.n_head_kv = 2;
  spec.n_vocab = 384;
  spec.n_layer = 2;
  spec.seed = 7;
  spec.tied_output = spec.arch == Arch::kQwen3;  // cover both output layouts
  auto model = synthetic_model(spec);
  const HParams& hp = model->hparams();

  core::ThreadPool pool(3);  // an odd thread count exercises uneven row splits
  Runner runner(*model, pool);
  KvCache cache(hp, 64, 1);
  ReferenceRunner ref(*model);

  // Prefill 7 prompt tokens in one batch (logits for all of them), then decode 6 tokens greedily.
  std::vector<int32_t> prompt = {1, 17, 250, 3, 99, 383, 42};
  std::vector<BatchToken> batch;
  for (size_t i = 0; i < prompt.size(); ++i) batch.push_back({prompt[i], static_cast<int32_t>(i), 0, true});
  std::span<const float> fast = runner.forward(batch, cache);
  const double tol = tolerance(spec.weight_type);

  auto compare = [&](const float* got, const std::vector<float>& want, const std::string& where) {
    double max_ref = 0.0, max_diff = 0.0;
    int64_t worst = 0;
    for (int64_t i = 0; i < hp.n_vocab; ++i) {
      max_ref = std::max(max_ref, std::abs(static_cast<double>(want[i])));
      const double d = std::abs(static_cast<double>(got[i]) - want[i]);
      if (d > max_diff) max_diff = d, worst = i;
    }
    EXPECT_LE(max_diff, tol * max_ref) << where << ": max |diff| " << max_diff << " at token " << worst
                                       << " (fast " << got[worst] << ", ref " << want[worst] << "), max |ref| "
                                       << max_ref;
    // Greedy choice must agree unless the reference's top two are closer than the tolerance.
    std::vector<float> sorted = want;
    std::partial_sort(sorted.begin(), sorted.begin() + 2, sorted.end(), std::greater<>());
    const int64_t arg_fast = std::max_element(got, got + hp.n_vocab) - got;
    const int64_t arg_ref = std::max_element(want.begin(), want.end()) - want.begin();
    if (sorted[0] - sorted[1] > 2 * tol * max_ref) {
      EXPECT_EQ(arg_fast, arg_ref) << where;
    }
    return arg_ref;
  };

  for (size_t i = 0; i < prompt.size(); ++i) {
    const std::vector<float>& want = ref.step(prompt[i]);
    compare(&fast[i * hp.n_vocab], want, "prefill position " + std::to_string(i));
  }
  std::vector<float> last(fast.end() - hp.n_vocab, fast.end());
  int32_t next = static_cast<int32_t>(std::max_element(last.begin(), last.end()) - last.begin());
  for (int step = 0; step < 6; ++step) {
    const int32_t pos = static_cast<int32_t>(prompt.size()) + step;
    const BatchToken bt{next, pos, 0, true};
    std::span<const float> got = runner.forward({&bt, 1}, cache);
    const std::vector<float>& want = ref.step(next);
    next = static_cast<int32_t>(compare(got.data(), want, "decode position " + std::to_string(pos)));
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllArchsAndTypes, ForwardVsReference,
    testing::ValuesIn([] {
      std::vector<Case> cases;
      for (Arch a : {Arch::kLlama, Arch::kQwen2, Arch::kQwen3}) {
        for (DType t : {DType::kF32, DType::kF16, DType::kBF16, DType::kQ8_0, DType::kQ4_0, DType::kQ4_K,
                        DType::kQ5_K, DType::kQ6_K}) {
          cases.push_back({a, t});
        }
      }
      return cases;
    }()),
    case_name);

// A small random Q8_0 llama for the Runner tests.
std::unique_ptr<Model> small_q8_0_model() {
  SyntheticSpec spec;
  spec.weight_type = DType::kQ8_0;
  spec.n_embd = 128;
  spec.n_ff = 256;
  spec.n_vocab = 200;
  return synthetic_model(spec);
}

// Several sequences in one batch give the same logits as running each sequence alone.
TEST(Runner, MultiSequenceBatchMatchesSeparateRuns) {
  auto model = small_q8_0_model();
  const int64_t V = model->hparams().n_vocab;
  core::ThreadPool pool(2);
  Runner runner(*model, pool);

  const std::vector<std::vector<int32_t>> seqs = {{5, 6, 7, 8}, {9, 10}, {11, 12, 13}};
  std::vector<std::vector<float>> alone;
  for (const auto& s : seqs) {
    KvCache cache(model->hparams(), 16, 1, KvType::kF32);
    std::vector<BatchToken> b;
    for (size_t i = 0; i < s.size(); ++i) b.push_back({s[i], static_cast<int32_t>(i), 0, i + 1 == s.size()});
    auto l = runner.forward(b, cache);
    alone.emplace_back(l.begin(), l.end());
  }
  KvCache cache(model->hparams(), 16, 3, KvType::kF32);
  std::vector<BatchToken> b;
  for (size_t q = 0; q < seqs.size(); ++q) {
    for (size_t i = 0; i < seqs[q].size(); ++i) {
      b.push_back({seqs[q][i], static_cast<int32_t>(i), static_cast<int32_t>(q), i + 1 == seqs[q].size()});
    }
  }
  auto together = runner.forward(b, cache);
  ASSERT_EQ(together.size(), seqs.size() * V);
  for (size_t q = 0; q < seqs.size(); ++q) {
    for (int64_t i = 0; i < V; ++i) {
      // Same kernels, same activations: only the batching differs, so results agree to float rounding.
      ASSERT_NEAR(together[q * V + i], alone[q][i], 1e-4f) << "sequence " << q << " token " << i;
    }
  }
}

// A profile counts only the calls of its batch size, and timing the phases changes no result.
TEST(Runner, ProfileTimesOnlyItsBatchSizeAndChangesNothing) {
  auto model = small_q8_0_model();
  core::ThreadPool pool(2);
  Runner plain(*model, pool), timed(*model, pool);
  PhaseProfile profile;  // batch_size 1: the single-token steps below, not the 3-token prompt
  timed.set_profile(&profile);
  KvCache c1(model->hparams(), 16, 1, KvType::kF16), c2(model->hparams(), 16, 1, KvType::kF16);
  std::vector<BatchToken> prompt = {{5, 0, 0, false}, {6, 1, 0, false}, {7, 2, 0, true}};
  auto a = plain.forward(prompt, c1);
  auto b = timed.forward(prompt, c2);
  ASSERT_EQ(std::vector<float>(a.begin(), a.end()), std::vector<float>(b.begin(), b.end()));
  EXPECT_EQ(profile.calls, 0);
  for (int32_t pos = 3; pos < 6; ++pos) {
    const BatchToken t{8, pos, 0, true};
    a = plain.forward({&t, 1}, c1);
    b = timed.forward({&t, 1}, c2);
    ASSERT_EQ(std::vector<float>(a.begin(), a.end()), std::vector<float>(b.begin(), b.end()));
  }
  EXPECT_EQ(profile.calls, 3);
  for (int i = 0; i < static_cast<int>(Phase::kCount); ++i) {
    EXPECT_GT(profile.seconds[i], 0.0) << phase_name(static_cast<Phase>(i));
  }
  timed.set_profile(nullptr);
  const BatchToken t{9, 6, 0, true};
  timed.forward({&t, 1}, c2);
  EXPECT_EQ(profile.calls, 3);
}

std::vector<int32_t> parse_ids(const std::string& line) {
  std::vector<int32_t> ids;
  std::istringstream in(line);
  int32_t id;
  while (in >> id) ids.push_back(id);
  return ids;
}

// Reads the prompt ids and the 128 generated ids from the shared reference file.
void read_reference(std::vector<int32_t>* prompt, std::vector<int32_t>* generated) {
  std::ifstream in(std::string(MUSE_SHARED_DATA) + "/reference/stories260K-greedy.md");
  ASSERT_TRUE(in) << "missing shared reference data";
  std::string line;
  while (std::getline(in, line)) {
    auto ticks = [&](const std::string& s) { return s.substr(s.find('`') + 1, s.rfind('`') - s.find('`') - 1); };
    if (line.rfind("Prompt ids:", 0) == 0) *prompt = parse_ids(ticks(line));
    if (line.rfind("Generated ids", 0) == 0) {
      while (std::getline(in, line) && line.find('`') == std::string::npos) {
      }
      *generated = parse_ids(ticks(line));
    }
  }
}

class Stories260K : public testing::TestWithParam<std::string> {};

// The real model, greedy, must reproduce the recorded continuation token for token. The F32 and F16
// files are exact conversions; the Q8_0/Q4_0 variants are lossy, so for them only the first tokens
// are required to match (quantization noise may flip a near-tie later).
TEST_P(Stories260K, GreedyMatchesReference) {
  std::vector<int32_t> prompt, expected;
  read_reference(&prompt, &expected);
  ASSERT_EQ(prompt.size(), 5u);
  ASSERT_EQ(expected.size(), 128u);
  auto model = Model::load(std::string(MUSE_SHARED_DATA) + "/models/" + GetParam());
  core::ThreadPool pool(2);
  Runner runner(*model, pool);
  KvCache cache(model->hparams(), 512, 1);
  engine::GenerateParams params;
  params.n_predict = 128;
  params.sampler = engine::SamplerParams::greedy();
  std::vector<int32_t> got;
  engine::generate(runner, cache, prompt, params, [&](int32_t t, float) {
    got.push_back(t);
    return true;
  });
  const bool exact = GetParam() == "stories260K.gguf" || GetParam() == "stories260K-F16.gguf";
  const size_t must_match = exact ? expected.size() : 16;
  ASSERT_GE(got.size(), must_match);
  for (size_t i = 0; i < must_match; ++i) ASSERT_EQ(got[i], expected[i]) << "first difference at generated token " << i;
}

INSTANTIATE_TEST_SUITE_P(AllFiles, Stories260K,
                         testing::Values("stories260K.gguf", "stories260K-F16.gguf", "stories260K-Q8_0-mixed.gguf",
                                         "stories260K-Q4_0-mixed.gguf"),
                         [](const auto& info) {
                           std::string n = info.param.substr(0, info.param.find('.'));
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

TEST(Stories260K, ReferenceRunnerAgreesOnFirstTokens) {
  std::vector<int32_t> prompt, expected;
  read_reference(&prompt, &expected);
  ASSERT_EQ(expected.size(), 128u);
  auto model = Model::load(std::string(MUSE_SHARED_DATA) + "/models/stories260K.gguf");
  ReferenceRunner ref(*model);
  std::vector<float> logits;
  for (int32_t t : prompt) logits = ref.step(t);
  for (int i = 0; i < 16; ++i) {
    const int32_t next = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    ASSERT_EQ(next, expected[i]) << "generated token " << i;
    logits = ref.step(next);
  }
}

// Model::load (kRead) and from_file rewrite Q8_0 matrices of whole 512-column chunks into the layout the
// AVX-512 kernels read (core::repack_weight); a memory-mapped model keeps the file's layout. Both give
// the same logits: bit-identical on the scalar path, and on the fast path for a 7-token prefill (the
// same chunk micro-kernel either way); a decode step (row-streaming kernel on the file layout) agrees
// to float rounding.
TEST(ModelLoad, Q8_0MatricesRepackedWhereItPays) {
  SyntheticSpec spec;
  spec.weight_type = DType::kQ8_0;
  spec.n_embd = 512;
  spec.n_ff = 1024;
  spec.n_head = 8;
  spec.n_head_kv = 4;
  spec.n_vocab = 300;
  spec.n_layer = 2;
  const std::vector<uint8_t> bytes = build_synthetic_gguf(spec);
  const std::string path = testing::TempDir() + "/q8_0_repack.gguf";
  gguf::testing::write_bytes(path, bytes);
  auto packed = Model::from_file(gguf::File::from_bytes(bytes, "synthetic"));
  gguf::OpenOptions mmap_options;
  mmap_options.mode = gguf::LoadMode::kMmap;
  auto mapped = Model::load(path, mmap_options);
  const bool pays = core::kernel_path_available(core::KernelPath::kAvx512);
  const auto want = pays ? core::WeightLayout::kQ8_0Chunks : core::WeightLayout::kFile;
  for (const LayerWeights& l : packed->weights().layers) {
    for (const core::WeightView* v : {&l.attn_q, &l.attn_k, &l.attn_v, &l.attn_output, &l.ffn_gate, &l.ffn_up,
                                      &l.ffn_down}) {
      EXPECT_EQ(v->layout, want);
    }
  }
  EXPECT_EQ(packed->weights().output.layout, want);
  EXPECT_EQ(packed->weights().token_embd.layout, core::WeightLayout::kFile);  // embedding lookups read it
  EXPECT_EQ(mapped->weights().layers[0].attn_q.layout, core::WeightLayout::kFile);

  const std::vector<int32_t> prompt = {1, 17, 250, 3, 99, 283, 42};
  const int64_t V = spec.n_vocab;
  core::ThreadPool pool(2);
  for (core::KernelPath path_ : {core::KernelPath::kScalar, core::KernelPath::kAuto}) {
    SCOPED_TRACE(path_ == core::KernelPath::kScalar ? "scalar" : "auto");
    Runner rp(*packed, pool, path_), rm(*mapped, pool, path_);
    KvCache cp(packed->hparams(), 16, 1), cm(mapped->hparams(), 16, 1);
    std::vector<BatchToken> batch;
    for (size_t i = 0; i < prompt.size(); ++i) batch.push_back({prompt[i], static_cast<int32_t>(i), 0, true});
    const auto a = rp.forward(batch, cp);
    const std::vector<float> pa(a.begin(), a.end());
    const auto b = rm.forward(batch, cm);
    ASSERT_EQ(pa, std::vector<float>(b.begin(), b.end()));
    const BatchToken bt{5, static_cast<int32_t>(prompt.size()), 0, true};
    const auto da = rp.forward({&bt, 1}, cp);
    const std::vector<float> ya(da.begin(), da.end());
    const auto db = rm.forward({&bt, 1}, cm);
    float max_ref = 0;
    for (float v : db) max_ref = std::max(max_ref, std::abs(v));
    for (int64_t i = 0; i < V; ++i) {
      if (path_ == core::KernelPath::kScalar) {
        ASSERT_EQ(ya[i], db[i]) << "decode logit " << i;
      } else {
        ASSERT_NEAR(ya[i], db[i], 1e-4 * max_ref) << "decode logit " << i;
      }
    }
  }
}

// ---- bad models -------------------------------------------------------------------------------------

std::vector<uint8_t> rebuild_without(const SyntheticSpec& spec, const std::string& drop, std::vector<int64_t> reshape = {}) {
  auto src = gguf::File::from_bytes(build_synthetic_gguf(spec));
  gguf::Writer w;
  for (const auto& [k, v] : src->metadata()) w.set(k, v);
  for (const auto& t : src->tensors()) {
    if (t.name == drop) {
      if (reshape.empty()) continue;
      std::vector<uint8_t> bytes(core::row_bytes(t.type, reshape[0]) * (reshape.size() > 1 ? reshape[1] : 1));
      w.add_tensor(t.name, t.type, reshape, bytes);
      continue;
    }
    w.add_tensor(t.name, t.type, t.shape, {t.data, t.n_bytes});
  }
  return w.to_bytes();
}

std::string load_error(std::vector<uint8_t> bytes) {
  try {
    Model::from_file(gguf::File::from_bytes(std::move(bytes), "bad.gguf"));
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ModelLoad, MissingTensorIsNamed) {
  SyntheticSpec spec;
  const std::string err = load_error(rebuild_without(spec, "blk.1.ffn_up.weight"));
  EXPECT_NE(err.find("blk.1.ffn_up.weight"), std::string::npos) << err;
  EXPECT_NE(err.find("missing"), std::string::npos) << err;
}

TEST(ModelLoad, WrongShapeIsNamed) {
  SyntheticSpec spec;
  const std::string err = load_error(rebuild_without(spec, "blk.0.attn_k.weight", {64, 48}));
  EXPECT_NE(err.find("blk.0.attn_k.weight"), std::string::npos) << err;
  EXPECT_NE(err.find("[64, 48]"), std::string::npos) << err;
}

TEST(ModelLoad, UnknownArchitectureIsRejected) {
  SyntheticSpec spec;
  auto src = gguf::File::from_bytes(build_synthetic_gguf(spec));
  gguf::Writer w;
  for (const auto& [k, v] : src->metadata()) w.set(k, v);
  w.set("general.architecture", gguf::Value::string("mamba"));
  const std::string err = load_error(w.to_bytes());
  EXPECT_NE(err.find("mamba"), std::string::npos) << err;
}

TEST(ModelLoad, HeadCountNotDividingIsRejected) {
  SyntheticSpec spec;
  auto src = gguf::File::from_bytes(build_synthetic_gguf(spec));
  gguf::Writer w;
  for (const auto& [k, v] : src->metadata()) w.set(k, v);
  w.set("llama.attention.head_count_kv", gguf::Value::u32(3));
  const std::string err = load_error(w.to_bytes());
  EXPECT_NE(err.find("head_count_kv"), std::string::npos) << err;
}

TEST(Generate, PromptLongerThanContextIsAnError) {
  SyntheticSpec spec;
  auto model = synthetic_model(spec);
  core::ThreadPool pool(1);
  Runner runner(*model, pool);
  KvCache cache(model->hparams(), 8, 1);
  std::vector<int32_t> prompt(6, 1);
  engine::GenerateParams params;
  params.n_predict = 4;
  try {
    engine::generate(runner, cache, prompt, params, [](int32_t, float) { return true; });
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kOutOfRange);
    EXPECT_NE(std::string(e.what()).find("context"), std::string::npos);
  }
}

}  // namespace
}  // namespace muse::model
