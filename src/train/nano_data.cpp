#include "train/nano_data.h"

#include <algorithm>

#include "core/error.h"
#include "train/tasks_check.h"

namespace muse::train {

namespace {

// splitmix64: decorrelates (seed, index) pairs into independent 64-bit draws.
uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

double unit(uint64_t x) { return static_cast<double>(x >> 11) * 0x1.0p-53; }  // uniform in [0, 1)

}  // namespace

void NanoDataConfig::validate() const {
  if (families.empty()) fail(ErrorCode::kInvalidArgument, "data.families: needs at least one family");
  if (levels.empty()) fail(ErrorCode::kInvalidArgument, "data.difficulties: needs at least one level");
  if (!family_weights.empty() && family_weights.size() != families.size()) {
    fail(ErrorCode::kInvalidArgument, "data.family_weights: {} weights for {} families", family_weights.size(),
         families.size());
  }
  for (size_t i = 0; i < family_weights.size(); ++i) {
    if (family_weights[i] < 1 || family_weights[i] > 100) {
      fail(ErrorCode::kInvalidArgument, "data.family_weights: {}: must be in [1, 100] (got {})",
           family_name(families[i]), family_weights[i]);
    }
  }
  if (!(tool_fraction >= 0.0 && tool_fraction <= 1.0)) {
    fail(ErrorCode::kInvalidArgument, "data.tool_fraction: must be in [0, 1] (got {})", tool_fraction);
  }
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

namespace {

// [bos] + encode(prompt + completion), the loss on the completion's tokens.
Example example_from(const Problem& p, const std::string& prompt, const std::string& completion, int32_t bos,
                     const TextEncoder& encode) {
  const std::vector<int32_t> head = encode(prompt);
  const std::vector<int32_t> all = encode(prompt + completion);
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

}  // namespace

Example make_nano_example(const Problem& p, bool thinking, int32_t bos, const PromptRenderer& render,
                          const TextEncoder& encode) {
  return example_from(p, render(p.question, thinking), nano_completion(p, thinking), bos, encode);
}

bool make_nano_tool_examples(const Problem& p, bool thinking, int32_t bos, const NanoToolHooks& hooks,
                             const TextEncoder& encode, std::vector<Example>& out) {
  const std::vector<std::string> nums = extract_numbers(p.question);
  if (nums.size() != 2) return false;
  const std::string expression = nums[0] + " * " + nums[1];
  const std::string call = hooks.call_text(expression);
  const std::string think_end = "\n</think>\n\n";
  Turns turns = {{"user", p.question}};
  const std::string first = (thinking ? "This is a large multiplication, so I use the calculator." + think_end : "") +
                            call + "<|im_end|>";
  Example a = example_from(p, hooks.render(turns, thinking), first, bos, encode);
  turns.push_back({"assistant", call});
  turns.push_back({"tool", p.answer});
  const std::string second =
      (thinking ? "The calculator says " + expression + " = " + p.answer + "." + think_end : "") + p.short_answer +
      "<|im_end|>";
  Example b = example_from(p, hooks.render(turns, thinking), second, bos, encode);
  out.push_back(std::move(a));
  out.push_back(std::move(b));
  return true;
}

std::vector<Example> build_nano_data(const NanoDataConfig& config, int32_t bos, const PromptRenderer& render,
                                     const TextEncoder& encode, NanoDataStats* stats, const NanoToolHooks* tools) {
  config.validate();
  if (config.tool_fraction > 0.0 && (tools == nullptr || !tools->render || !tools->call_text)) {
    fail(ErrorCode::kInvalidArgument, "data.tool_fraction: tool examples need the chat side's tool hooks");
  }
  NanoDataStats s;
  std::vector<Example> out;
  out.reserve(static_cast<size_t>(config.examples));
  // One cycle of the family mix: each family as many times as its weight, in order.
  std::vector<Family> cycle;
  for (size_t f = 0; f < config.families.size(); ++f) {
    const int w = config.family_weights.empty() ? 1 : config.family_weights[f];
    cycle.insert(cycle.end(), static_cast<size_t>(w), config.families[f]);
  }
  const uint64_t nf = cycle.size(), nl = config.levels.size();
  for (int64_t i = 0; i < config.examples; ++i) {
    const uint64_t u = static_cast<uint64_t>(i);
    const Family family = cycle[u % nf];
    const Level level = config.levels[(u / nf) % nl];
    const uint64_t r = mix(mix(config.seed) ^ u);
    // Train split only: seeds in [0, 2^40). The low 40 bits of a 64-bit hash.
    const uint64_t problem_seed = r & (kSplitSeedSpan - 1);
    const bool thinking = unit(mix(r)) >= config.no_thinking_fraction;
    const uint64_t tr = mix(r ^ 0x70015u);
    const bool offer_tools = config.tool_fraction > 0.0 && unit(tr) < config.tool_fraction;
    std::vector<Example> made;
    if (offer_tools && (mix(tr) & 1u) != 0) {
      // A multiplication answered with the calculator, at standard or hard size.
      const Level mul_level = (mix(tr) & 2u) != 0 ? Level::kHard : Level::kStandard;
      const Problem p = generate(Family::kMul, difficulty_preset(mul_level), problem_seed);
      if (!make_nano_tool_examples(p, thinking, bos, *tools, encode, made)) continue;
      ++s.tool_calls;
    } else {
      Problem p = generate(family, difficulty_preset(level), problem_seed);
      if (thinking) p.trace = restyle_trace(p.trace, config.trace_style, mix(r ^ 0x7ACE57u));
      if (offer_tools) {
        made.push_back(example_from(p, tools->render({{"user", p.question}}, thinking), nano_completion(p, thinking),
                                    bos, encode));
        ++s.tools_unused;
      } else {
        made.push_back(make_nano_example(p, thinking, bos, render, encode));
      }
    }
    for (Example& ex : made) {
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
  }
  if (out.empty()) {
    fail(ErrorCode::kInvalidArgument, "data: every example is longer than train.seq_len + 1 = {} tokens",
         config.max_tokens);
  }
  if (stats) *stats = s;
  return out;
}

}  // namespace muse::train
