// The trainer and the inference engine agree: a model exported by train/ and loaded by model/ (the
// code that runs llama.cpp's GGUF files, checked against reference generations of stories260K) gives
// the same next-token distribution as the trainer's own forward pass. This is what pins down that the
// trainer's RoPE pairing, GQA head mapping, norms, SwiGLU and tied classifier mean what GGUF
// arch=llama means, so a muse-nano trained here runs correctly in the engine (and in llama.cpp).
#include <gtest/gtest.h>

#include <cmath>

#include "core/thread_pool.h"
#include "gguf/gguf.h"
#include "model/model.h"
#include "model/reference.h"
#include "train/export.h"
#include "train/model.h"
#include "train/rng.h"

namespace muse::train {
namespace {

TEST(ExportEngineTest, EngineReferenceRunnerMatchesTrainerForward) {
  ModelConfig c;
  c.dim = 32;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.ffn_dim = 48;
  c.vocab = 19;
  c.max_seq = 16;
  Model model(c);
  // Weights well above init scale, so that attention is far from uniform and a wrong RoPE pairing,
  // head mapping or position would change the distribution visibly.
  Rng rng(21);
  for (const TensorSpec& t : model.tensors()) {
    for (int64_t i = 0; i < t.n_elements(); i++) {
      model.params()[t.offset + i] = static_cast<float>(t.is_norm ? 1.0 + 0.3 * rng.normal() : 0.35 * rng.normal());
    }
  }
  const int64_t T = 12;
  Batch batch;
  batch.B = 1;
  batch.T = T;
  for (int64_t t = 0; t < T; t++) {
    batch.inputs.push_back(static_cast<int32_t>(rng.below(c.vocab)));
    batch.targets.push_back(0);
    batch.mask.push_back(0);
  }
  core::ThreadPool pool(2);
  Workspace ws(c, 1, T);
  forward(pool, model, ws, batch);

  gguf::Writer writer;
  add_model_to_gguf(model, writer);
  auto loaded = model::Model::from_file(gguf::File::from_bytes(writer.to_bytes(), "exported"));
  model::ReferenceRunner runner(*loaded);
  double max_diff = 0.0, max_change = 0.0;
  for (int64_t t = 0; t < T; t++) {
    const std::vector<float>& logits = runner.step(batch.inputs[t]);
    ASSERT_EQ(static_cast<int64_t>(logits.size()), c.vocab);
    double maxv = logits[0], z = 0.0;
    for (float l : logits) maxv = std::max<double>(maxv, l);
    for (float l : logits) z += std::exp(l - maxv);
    for (int64_t j = 0; j < c.vocab; j++) {
      const double p_engine = std::exp(logits[j] - maxv) / z;
      const double p_train = ws.probs()[t * c.vocab + j];
      max_diff = std::max(max_diff, std::fabs(p_engine - p_train));
      if (t > 0) max_change = std::max(max_change, std::fabs(p_train - ws.probs()[(t - 1) * c.vocab + j]));
    }
  }
  // Both are float forward passes of the same math (the engine's reference accumulates in double):
  // probabilities agree to ~1e-6; a convention mismatch moves them by ~max_change.
  EXPECT_LT(max_diff, 1e-4) << "trainer and engine disagree";
  EXPECT_GT(max_change, 0.05) << "the distributions barely depend on the input: the test would not see a mismatch";
}

}  // namespace
}  // namespace muse::train
