#include "train/nano_data.h"

#include <algorithm>

#include "core/error.h"

namespace muse::train {

namespace {

// splitmix64: decorrelates (seed, index) pairs into independent 64-bit draws.
uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace

void NanoDataConfig::validate() const {
  if (families.empty()) fail(ErrorCode::kInvalidArgument, "data.families: needs at least one family");
  if (levels.empty()) fail(ErrorCode::kInvalidArgument, "data.difficulties: needs at least one level");
  if (!(no_thinking_fraction >= 0.0 && no_thinking_fraction <= 1.0)) {
    fail(ErrorCode::kInvalidArgument, "data.no_thinking_fraction: must be in [0, 1] (got {})", no_thinking_fraction);
  }
  if (examples < 1) fail(ErrorCode::kInvalidArgument, "data.examples: must be at least 1 (got {})", examples);
  if (max_tokens < 2) fail(ErrorCode::kInvalidArgument, "data max_tokens: must be at least 2 (got {})", max_tokens);
  try {
    trace_style.validate();
  } catch (const Error& e) {
    fail(ErrorCode::kInvalidArgument, "data.{}", e.what());
  }
}

std::string nano_completion(const Problem& p, bool thinking) {
  if (!thinking) return p.short_answer + "<|im_end|>";
  std::string trace = p.trace;
  while (!trace.empty() && trace.back() == '\n') trace.pop_back();
  return trace + "\n</think>\n\n" + p.short_answer + "<|im_end|>";
}

Example make_nano_example(const Problem& p, bool thinking, int32_t bos, const PromptRenderer& render,
                          const TextEncoder& encode) {
  const std::string prompt = render(p.question, thinking);
  const std::vector<int32_t> head = encode(prompt);
  const std::vector<int32_t> all = encode(prompt + nano_completion(p, thinking));
  if (all.size() <= head.size() || !std::equal(head.begin(), head.end(), all.begin())) {
    fail(ErrorCode::kInvalidArgument,
         "SFT example ({} seed {}): the prompt's tokens are not a prefix of the whole conversation's",
         family_name(p.family), p.seed);
  }
  Example ex;
  ex.tokens.reserve(all.size() + 1);
  ex.tokens.push_back(bos);
  ex.tokens.insert(ex.tokens.end(), all.begin(), all.end());
  ex.loss_mask.assign(ex.tokens.size(), 0);
  std::fill(ex.loss_mask.begin() + static_cast<std::ptrdiff_t>(1 + head.size()), ex.loss_mask.end(), uint8_t{1});
  return ex;
}

std::vector<Example> build_nano_data(const NanoDataConfig& config, int32_t bos, const PromptRenderer& render,
                                     const TextEncoder& encode, NanoDataStats* stats) {
  config.validate();
  NanoDataStats s;
  std::vector<Example> out;
  out.reserve(static_cast<size_t>(config.examples));
  const uint64_t nf = config.families.size(), nl = config.levels.size();
  for (int64_t i = 0; i < config.examples; ++i) {
    const uint64_t u = static_cast<uint64_t>(i);
    const Family family = config.families[u % nf];
    const Level level = config.levels[(u / nf) % nl];
    const uint64_t r = mix(mix(config.seed) ^ u);
    // Train split only: seeds in [0, 2^40). The low 40 bits of a 64-bit hash.
    const uint64_t problem_seed = r & (kSplitSeedSpan - 1);
    const bool thinking = static_cast<double>(mix(r) >> 11) * 0x1.0p-53 >= config.no_thinking_fraction;
    Problem p = generate(family, difficulty_preset(level), problem_seed);
    if (thinking) p.trace = restyle_trace(p.trace, config.trace_style, mix(r ^ 0x7ACE57u));
    Example ex = make_nano_example(p, thinking, bos, render, encode);
    if (static_cast<int64_t>(ex.tokens.size()) > config.max_tokens) {
      ++s.dropped_too_long;
      continue;
    }
    ++s.kept;
    ++(thinking ? s.thinking : s.instant);
    s.tokens += static_cast<int64_t>(ex.tokens.size());
    for (uint8_t m : ex.loss_mask) s.masked_tokens += m;
    s.longest = std::max<int64_t>(s.longest, static_cast<int64_t>(ex.tokens.size()));
    out.push_back(std::move(ex));
  }
  if (out.empty()) {
    fail(ErrorCode::kInvalidArgument, "data: every example is longer than train.seq_len + 1 = {} tokens",
         config.max_tokens);
  }
  if (stats) *stats = s;
  return out;
}

}  // namespace muse::train
