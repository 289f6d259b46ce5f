#include "train/grpo_nano.h"

#include "core/error.h"
#include "train/tasks_check.h"

namespace muse::train {

namespace {

uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

Problem problem_at(const GrpoDataConfig& c, uint64_t index, Split split, uint64_t salt) {
  if (c.families.empty() || c.levels.empty()) {
    fail(ErrorCode::kInvalidArgument, "data: needs at least one family and one difficulty");
  }
  const uint64_t nf = c.families.size(), nl = c.levels.size();
  const Family family = c.families[index % nf];
  const Level level = c.levels[(index / nf) % nl];
  // A different salt than nano_data's SFT draw, so that GRPO sees mostly problems SFT did not.
  const uint64_t r = mix(mix(c.seed ^ salt) ^ index);
  return generate(family, difficulty_preset(level), split_seed_base(split) + (r & (kSplitSeedSpan - 1)));
}

}  // namespace

Problem grpo_train_problem(const GrpoDataConfig& config, uint64_t index) {
  return problem_at(config, index, Split::kTrain, 0x6772706f5f747261ull);
}

Problem grpo_val_problem(const GrpoDataConfig& config, uint64_t index) {
  return problem_at(config, index, Split::kVal, 0x6772706f5f76616cull);
}

std::string grpo_question(const Problem& p, int64_t target_tokens) {
  if (target_tokens <= 0) return p.question;
  return fmt::format("{} Think for {} tokens.", p.question, target_tokens);
}

GrpoTasks make_nano_grpo_tasks(const GrpoDataConfig& config, const NanoVocab& vocab, const PromptRenderer& render,
                               const TextEncoder& encode, const TextDecoder& decode) {
  auto make = [render, encode, decode, bos = vocab.bos](const Problem& p, int64_t target) {
    GrpoPrompt g;
    g.tokens.push_back(bos);
    const std::vector<int32_t> body = encode(render(grpo_question(p, target), /*thinking=*/true));
    g.tokens.insert(g.tokens.end(), body.begin(), body.end());
    g.check = [decode, answer = p.answer, checker = p.checker](std::span<const int32_t> completion) {
      return check_answer(decode(completion), answer, checker);
    };
    return g;
  };
  GrpoTasks t;
  t.train = [config, make](uint64_t index, int64_t target) { return make(grpo_train_problem(config, index), target); };
  for (int64_t i = 0; i < config.validation; i++) {
    t.validation.push_back(make(grpo_val_problem(config, static_cast<uint64_t>(i)), 0));
  }
  t.eog = {vocab.im_end, vocab.eos};
  t.think_end = vocab.think_close;
  return t;
}

}  // namespace muse::train
