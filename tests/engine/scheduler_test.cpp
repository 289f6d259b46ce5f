// The continuous-batching Scheduler against the trivially correct model: engine::generate run on each
// sequence alone (its own contiguous cache, one sequence per forward pass). Random operations (add,
// fork at any point, cancel, steps) are applied to the scheduler; every sequence must produce exactly
// the tokens generate() produces for its prefix and sampler, and the page counts must show forks
// sharing their prefix.
#include "engine/scheduler.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "core/error.h"
#include "engine/generate.h"
#include "model/synthetic.h"

namespace muse::engine {
namespace {

std::unique_ptr<model::Model> small_model(core::DType type = core::DType::kQ8_0) {
  model::SyntheticSpec spec;
  spec.weight_type = type;
  spec.n_embd = 64;
  spec.n_ff = 128;
  spec.n_vocab = 96;
  spec.n_layer = 2;
  spec.seed = 11;
  return model::Model::from_file(gguf::File::from_bytes(model::build_synthetic_gguf(spec), "synthetic"));
}

constexpr int32_t kEog = 7;  // a token of the random model that ends sequences (tests the kEog path)

SeqConfig config(std::vector<int32_t> prompt, int64_t max_new, bool park = false) {
  SeqConfig c;
  c.prompt = std::move(prompt);
  c.max_new_tokens = max_new;
  c.park = park;
  return c;
}

SchedulerOptions options(int64_t n_ctx, int64_t max_seqs, int64_t page_size = 16, int64_t n_pages = 0) {
  SchedulerOptions o;
  o.n_ctx = n_ctx;
  o.max_seqs = max_seqs;
  o.kv.page_size = page_size;
  o.kv.n_pages = n_pages;
  return o;
}

// What generate() gives for this prefix and sampler: the oracle.
std::vector<int32_t> reference(model::Runner& runner, std::span<const int32_t> prefix, const SamplerParams& sp,
                               int64_t max_new, int64_t n_ctx, bool stop_at_eog = true) {
  model::KvCache cache(runner.model().hparams(), n_ctx, 1);
  GenerateParams gp;
  gp.n_predict = max_new;
  gp.n_batch = 5;  // a chunking different from the scheduler's
  gp.sampler = sp;
  gp.stop_at_eog = stop_at_eog;
  gp.is_eog = [](int32_t t) { return t == kEog; };
  std::vector<int32_t> out;
  generate(runner, cache, prefix, gp, [&](int32_t t, float) {
    out.push_back(t);
    return true;
  });
  return out;
}

SamplerParams sampler_for(std::mt19937& rng) {
  SamplerParams sp = SamplerParams::greedy();
  if (rng() % 2) {  // half the sequences sample, with their own seed
    sp.temperature = 0.9f;
    sp.top_k = 20;
    sp.seed = rng();
  }
  return sp;
}

class SchedulerRandomOps : public testing::TestWithParam<int> {};

TEST_P(SchedulerRandomOps, EverySequenceMatchesGenerateAlone) {
  auto model = small_model();
  core::ThreadPool pool(1);  // many tiny forward passes: threads would only add wake-up latency
  model::Runner runner(*model, pool);
  std::mt19937 rng(static_cast<uint32_t>(GetParam()));
  const int64_t n_ctx = 96;
  SchedulerOptions opts;
  opts.n_ctx = n_ctx;
  opts.max_seqs = 6;
  opts.max_batch = 1 + rng() % 24;  // small batches split prompts into several chunks
  opts.kv.page_size = 8;
  Scheduler sched(runner, opts);

  struct Expect {
    SamplerParams sp;
    int64_t max_new;
  };
  std::map<SeqId, Expect> seqs;
  auto random_prompt = [&](int n) {
    std::vector<int32_t> p(n);
    for (auto& t : p) t = static_cast<int32_t>(rng() % 96);
    return p;
  };
  int cancelled = 0, forks = 0;
  for (int op = 0; op < 60; ++op) {
    const int r = static_cast<int>(rng() % 10);
    if (r < 2 && sched.free_slots() > 0) {
      SeqConfig c;
      c.prompt = random_prompt(1 + static_cast<int>(rng() % 30));
      c.sampler = sampler_for(rng);
      c.max_new_tokens = rng() % 25;
      c.is_eog = [](int32_t t) { return t == kEog; };
      c.park = rng() % 3 == 0;
      const Expect e{c.sampler, c.max_new_tokens};
      seqs[sched.add(std::move(c))] = e;
    } else if (r < 4 && sched.free_slots() > 0 && !seqs.empty()) {
      // Fork any sequence that still holds its cache, at any point of its tokens.
      std::vector<SeqId> holders;
      for (auto& [id, e] : seqs) {
        if (sched.info(id).state != SeqState::kFinished) holders.push_back(id);
      }
      if (holders.empty()) continue;
      const SeqId parent = holders[rng() % holders.size()];
      const int64_t n_parent = static_cast<int64_t>(sched.info(parent).tokens.size());
      SeqConfig c;
      const int64_t n_shared = rng() % 2 ? -1 : static_cast<int64_t>(rng() % (n_parent + 1));
      if (rng() % 2 || n_shared == 0) c.prompt = random_prompt(1 + static_cast<int>(rng() % 6));
      if ((n_shared < 0 ? n_parent : n_shared) + static_cast<int64_t>(c.prompt.size()) > n_ctx - 30) continue;
      c.sampler = sampler_for(rng);
      c.max_new_tokens = rng() % 25;
      c.is_eog = [](int32_t t) { return t == kEog; };
      const Expect e{c.sampler, c.max_new_tokens};
      seqs[sched.fork(parent, n_shared, std::move(c))] = e;
      ++forks;
    } else if (r < 5 && !seqs.empty()) {
      auto it = seqs.begin();
      std::advance(it, rng() % seqs.size());
      if (sched.running(it->first)) ++cancelled;
      sched.cancel(it->first);
    } else {
      sched.step();
    }
  }
  while (sched.has_work()) sched.step();

  for (auto& [id, e] : seqs) {
    const SeqInfo& in = sched.info(id);
    std::vector<int32_t> prefix(in.tokens.begin(), in.tokens.begin() + in.n_prefix);
    const std::vector<int32_t> got(in.generated().begin(), in.generated().end());
    const std::vector<int32_t> want = reference(runner, prefix, e.sp, e.max_new, n_ctx);
    EXPECT_EQ(in.usage.shared_tokens + in.usage.prompt_tokens, in.n_prefix);
    EXPECT_EQ(in.usage.sampled_tokens, static_cast<int64_t>(got.size()));
    if (in.finish == FinishReason::kCancelled) {
      ASSERT_LE(got.size(), want.size()) << "sequence " << id;
      EXPECT_TRUE(std::equal(got.begin(), got.end(), want.begin())) << "sequence " << id << " (cancelled)";
    } else {
      EXPECT_EQ(got, want) << "sequence " << id << " finish " << finish_reason_name(in.finish) << " parent "
                           << in.parent;
    }
  }
  // Everything finished: only parked sequences still hold pages.
  int64_t parked_pages = 0;
  for (auto& [id, e] : seqs) {
    if (sched.info(id).state == SeqState::kParked) sched.release(id);
  }
  parked_pages = sched.cache().pages_in_use();
  EXPECT_EQ(parked_pages, 0);
  EXPECT_EQ(sched.free_slots(), opts.max_seqs);
  RecordProperty("forks", forks);
  RecordProperty("cancelled", cancelled);
}

INSTANTIATE_TEST_SUITE_P(Seeds, SchedulerRandomOps, testing::Range(1, 9));

// N forks of one parked prompt: one prefill, the prompt's pages stored once, N distinct samples.
TEST(Scheduler, ForksOfAParkedPromptShareItsPagesAndItsPrefill) {
  auto model = small_model();
  core::ThreadPool pool(2);
  model::Runner runner(*model, pool);
  SchedulerOptions opts;
  opts.n_ctx = 128;
  opts.max_seqs = 9;
  opts.kv.page_size = 16;
  Scheduler sched(runner, opts);

  std::vector<int32_t> prompt(40);
  for (int i = 0; i < 40; ++i) prompt[i] = (i * 13 + 5) % 96;
  const SeqId p = sched.add(config(prompt, 0, true));
  while (sched.has_work()) sched.step();
  ASSERT_EQ(sched.info(p).state, SeqState::kParked);
  EXPECT_EQ(sched.stats().prefill_calls, 1);
  EXPECT_EQ(sched.stats().prompt_tokens_fed, 40);
  const int64_t prompt_pages = sched.cache().pages_in_use();
  EXPECT_EQ(prompt_pages, 3);

  std::vector<SeqId> kids;
  for (int i = 0; i < 8; ++i) {
    SeqConfig c;
    c.sampler.temperature = 1.0f;
    c.sampler.top_k = 0;
    c.sampler.seed = 100 + i;
    c.max_new_tokens = 20;
    c.park = true;  // keep the pages after finishing, to count them
    kids.push_back(sched.fork(p, -1, std::move(c)));
  }
  while (sched.has_work()) sched.step();
  EXPECT_EQ(sched.stats().prompt_tokens_fed, 40) << "forks must not recompute the prompt";
  EXPECT_EQ(sched.stats().prefill_calls, 1);
  // 20 generated tokens at positions 40..59 (the last one is sampled, never fed): each child holds a
  // private copy of page 2 (positions 32..47) and a new page 3 (48..63).
  EXPECT_EQ(sched.cache().pages_in_use(), prompt_pages + 8 * 2);
  std::set<std::vector<int32_t>> distinct;
  for (SeqId k : kids) {
    const SeqInfo& in = sched.info(k);
    EXPECT_EQ(in.usage.shared_tokens, 40);
    EXPECT_EQ(in.usage.prompt_tokens, 0);
    EXPECT_EQ(in.usage.sampled_tokens, 20);
    distinct.insert(std::vector<int32_t>(in.generated().begin(), in.generated().end()));
  }
  EXPECT_EQ(distinct.size(), 8u) << "different seeds must give different continuations";
}

// Memory for the shared prompt does not grow with the number of forks.
TEST(Scheduler, PromptPagesDoNotGrowWithForks) {
  auto model = small_model();
  core::ThreadPool pool(1);
  model::Runner runner(*model, pool);
  auto pages_with = [&](int n) {
    Scheduler sched(runner, options(256, 9));
    std::vector<int32_t> prompt(100, 3);
    const SeqId p = sched.add(config(prompt, 0, true));
    while (sched.has_work()) sched.step();
    std::vector<SeqId> kids;
    for (int i = 0; i < n; ++i) kids.push_back(sched.fork(p, -1, config({}, 2, /*park=*/true)));
    while (sched.has_work()) sched.step();  // each child feeds its first token at position 100
    return sched.cache().pages_in_use();
  };
  const int64_t one = pages_with(1), eight = pages_with(8);
  // ceil(100/16) = 7 prompt pages, once; each child copies only the partial page it writes into.
  EXPECT_EQ(one, 7 + 1);
  EXPECT_EQ(eight, 7 + 8);
}

TEST(Scheduler, HookForcesTokensBansAndStops) {
  auto model = small_model();
  core::ThreadPool pool(1);
  model::Runner runner(*model, pool);
  Scheduler sched(runner, options(64, 2));
  std::vector<int32_t> seen;
  SeqConfig c;
  c.prompt = {1, 2, 3};
  c.sampler = SamplerParams::greedy();
  c.max_new_tokens = 30;
  c.on_token = [&](const TokenEvent& ev) {
    seen.push_back(ev.token);
    Directive d;
    if (seen.size() == 2) d.force = {50, 51, 52};
    if (seen.size() == 3) d.ban = std::vector<int32_t>{};
    if (seen.size() == 5) d.stop = true;
    return d;
  };
  // Ban what greedy would pick first, then lift the ban after the third sample.
  const std::vector<int32_t> free_run = reference(runner, c.prompt, c.sampler, 1, 64, false);
  ASSERT_EQ(free_run.size(), 1u);
  c.ban = {free_run[0]};
  const SeqId id = sched.add(std::move(c));
  while (sched.has_work()) sched.step();
  const SeqInfo& in = sched.info(id);
  EXPECT_EQ(in.finish, FinishReason::kStop);
  EXPECT_EQ(in.usage.sampled_tokens, 5);
  EXPECT_EQ(in.usage.forced_tokens, 3);
  ASSERT_EQ(in.generated().size(), 8u);
  EXPECT_NE(in.generated()[0], free_run[0]);
  EXPECT_EQ(in.generated()[2], 50);
  EXPECT_EQ(in.generated()[4], 52);
  // The forced tokens were fed: the next sample equals generate() on the prefix with them.
  std::vector<int32_t> prefix = {1, 2, 3, in.generated()[0], in.generated()[1], 50, 51, 52};
  EXPECT_EQ(reference(runner, prefix, SamplerParams::greedy(), 1, 64, false), std::vector<int32_t>{in.generated()[5]});
}

TEST(Scheduler, OutOfPagesFinishesTheNewestSequence) {
  auto model = small_model();
  core::ThreadPool pool(1);
  model::Runner runner(*model, pool);
  // 4 pages of 8 tokens: two sequences of 12-token prompts fit, but not both growing to 24 tokens.
  Scheduler sched(runner, options(32, 2, 8, 4));
  const SeqId a = sched.add(config(std::vector<int32_t>(12, 4), 12));
  const SeqId b = sched.add(config(std::vector<int32_t>(12, 5), 12));
  while (sched.has_work()) sched.step();
  EXPECT_EQ(sched.info(a).finish, FinishReason::kLength);
  EXPECT_EQ(sched.info(b).finish, FinishReason::kNoMemory);
  EXPECT_EQ(sched.cache().pages_in_use(), 0);
}

TEST(Scheduler, BadInputIsRejected) {
  auto model = small_model();
  core::ThreadPool pool(1);
  model::Runner runner(*model, pool);
  Scheduler sched(runner, options(16, 1));
  EXPECT_THROW(sched.add(config({}, 1)), Error);
  EXPECT_THROW(sched.add(config({1, 96}, 1)), Error);
  EXPECT_THROW(sched.add(config(std::vector<int32_t>(17, 1), 1)), Error);
  const SeqId a = sched.add(config({1, 2}, 1));
  EXPECT_THROW(sched.add(config({1}, 1)), Error) << "no free slot";
  EXPECT_THROW(sched.fork(a + 100, -1, config({}, 1)), Error);
  while (sched.has_work()) sched.step();
  EXPECT_THROW(sched.fork(a, -1, config({}, 1)), Error) << "a finished, unparked sequence has no cache to fork";
}

}  // namespace
}  // namespace muse::engine
