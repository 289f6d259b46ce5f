// muse-nano pipeline: the tokenizer on task text, the chat template's two thinking modes, the SFT
// example masks, the config parser, and `muse train sft` end to end (export, then `muse run` loads it).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "gguf/gguf.h"
#include "muse_cli.h"
#include "text/chat_template.h"
#include "text/tokenizer.h"
#include "train/grpo_config.h"
#include "train/nano_config.h"
#include "train/nano_data.h"
#include "train/nano_vocab.h"
#include "train/tasks.h"

namespace muse::train {
namespace {

class NanoTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    vocab_ = new NanoVocab(build_nano_vocab());
    tok_ = nano_tokenizer(*vocab_).release();
    tmpl_ = new text::ChatTemplate(text::ChatTemplate::parse(nano_chat_template(), "nano"));
  }
  static void TearDownTestSuite() {
    delete tmpl_;
    delete tok_;
    delete vocab_;
  }
  static std::string render(const std::string& q, bool thinking, bool pass_flag = true) {
    nlohmann::ordered_json vars = {
        {"messages", nlohmann::ordered_json::array({{{"role", "user"}, {"content", q}}})},
        {"add_generation_prompt", true}};
    if (pass_flag) vars["enable_thinking"] = thinking;
    return tmpl_->render(vars);
  }
  static std::vector<int32_t> encode(const std::string& s) { return tok_->encode(s, false, true); }

  static NanoVocab* vocab_;
  static text::Tokenizer* tok_;
  static text::ChatTemplate* tmpl_;
};
NanoVocab* NanoTest::vocab_ = nullptr;
text::Tokenizer* NanoTest::tok_ = nullptr;
text::ChatTemplate* NanoTest::tmpl_ = nullptr;

TEST_F(NanoTest, VocabularyLayout) {
  EXPECT_EQ(tok_->n_vocab(), static_cast<int32_t>(vocab_->tokens.size()));
  EXPECT_GE(vocab_->n_pieces, 200);  // "a few hundred" multi-character pieces
  EXPECT_EQ(tok_->bos(), 1);
  EXPECT_EQ(tok_->eos(), 2);
  EXPECT_TRUE(tok_->is_eog(vocab_->im_end));
  EXPECT_FALSE(tok_->is_eog(vocab_->think_close));
  for (char c = '0'; c <= '9'; ++c) EXPECT_EQ(tok_->encode(std::string(1, c), false, false).size(), 1u) << c;
  // No piece contains a digit: numbers are always spelled digit by digit.
  for (size_t i = 0; i < vocab_->tokens.size(); ++i) {
    if (vocab_->types[i] != 1 || vocab_->tokens[i].size() < 2) continue;
    EXPECT_EQ(vocab_->tokens[i].find_first_of("0123456789"), std::string::npos) << vocab_->tokens[i];
  }
}

TEST_F(NanoTest, EveryPieceEncodesAsOneToken) {
  // The scores must let SPM's merges reach each piece (a piece SPM never produces wastes an embedding).
  for (size_t i = 0; i < vocab_->tokens.size(); ++i) {
    if (vocab_->types[i] != 1) continue;
    std::string text = vocab_->tokens[i];
    if (text.rfind("\xE2\x96\x81", 0) == 0) text = " " + text.substr(3);
    const auto ids = tok_->encode(text, false, false);
    ASSERT_EQ(ids.size(), 1u) << "piece '" << vocab_->tokens[i] << "'";
    EXPECT_EQ(ids[0], static_cast<int32_t>(i));
  }
}

TEST_F(NanoTest, RoundTripsTaskTextLosslessly) {
  int64_t trace_tokens = 0, trace_chars = 0, n = 0;
  for (Level level : {Level::kEasy, Level::kStandard, Level::kHard}) {
    for (Family f : kAllFamilies) {
      for (uint64_t seed = 1000; seed < 1030; ++seed) {
        const Problem p = generate(f, difficulty_preset(level), seed);
        for (const std::string* s : {&p.question, &p.trace, &p.short_answer}) {
          const auto ids = tok_->encode(*s, false, false);
          ASSERT_EQ(tok_->decode(ids), *s) << family_name(f) << " seed " << seed;
          // Byte fallback only for the newline (<0x0A>, as in llama's vocabularies): every other
          // character of the task text is in the vocabulary.
          for (int32_t id : ids) {
            if (tok_->token_type(id) == text::TokenType::kByte) {
              ASSERT_EQ(tok_->token_to_piece(id), "\n") << *s;
            }
          }
        }
        trace_tokens += static_cast<int64_t>(tok_->encode(p.trace, false, false).size());
        trace_chars += static_cast<int64_t>(p.trace.size());
        ++n;
      }
    }
  }
  const double per_trace = static_cast<double>(trace_tokens) / static_cast<double>(n);
  std::printf("[ nano     ] %.1f tokens per trace, %.2f characters per token (%lld traces)\n", per_trace,
              static_cast<double>(trace_chars) / static_cast<double>(trace_tokens), static_cast<long long>(n));
  // Pieces must pay off: a character vocabulary gives 1 token per character (the text is ASCII).
  // Digits, operators and punctuation stay single tokens, so about half the characters cannot merge.
  EXPECT_GT(static_cast<double>(trace_chars) / static_cast<double>(trace_tokens), 1.8);
}

TEST_F(NanoTest, ChatAndThinkTokensAreSingleIds) {
  EXPECT_EQ(tok_->encode("<think>", false, false), std::vector<int32_t>{vocab_->think_open});
  EXPECT_EQ(tok_->encode("</think>", false, false), std::vector<int32_t>{vocab_->think_close});
  const std::string text = render("What is 2 + 3?", true) + "x\n</think>\n\nThe answer is 5.<|im_end|>";
  const auto ids = encode(text);
  auto count = [&](int32_t id) { return std::count(ids.begin(), ids.end(), id); };
  EXPECT_EQ(count(vocab_->im_start), 2);
  EXPECT_EQ(count(vocab_->im_end), 2);
  EXPECT_EQ(count(vocab_->think_open), 1);
  EXPECT_EQ(count(vocab_->think_close), 1);
  EXPECT_EQ(ids.front(), vocab_->im_start);
  EXPECT_EQ(ids.back(), vocab_->im_end);
  EXPECT_EQ(tok_->decode(ids), text);
}

TEST_F(NanoTest, TemplateRendersBothThinkingModes) {
  const std::string head = "<|im_start|>user\nWhat is 2 + 3?<|im_end|>\n<|im_start|>assistant\n";
  EXPECT_EQ(render("What is 2 + 3?", true), head + "<think>\n");
  EXPECT_EQ(render("What is 2 + 3?", false, /*pass_flag=*/false), head + "<think>\n");  // default: thinking
  EXPECT_EQ(render("What is 2 + 3?", false), head + "<think>\n\n</think>\n\n");
  // A finished conversation (no generation prompt) ends with the last turn.
  nlohmann::ordered_json vars = {{"messages", {{{"role", "user"}, {"content", "hi"}}, {{"role", "assistant"}, {"content", "yo"}}}},
                                 {"add_generation_prompt", false}};
  EXPECT_EQ(tmpl_->render(vars), "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nyo<|im_end|>\n");
}

TEST_F(NanoTest, ExampleMaskCoversExactlyTheAssistantTokens) {
  const PromptRenderer r = [](const std::string& q, bool t) { return render(q, t); };
  const TextEncoder e = [](const std::string& s) { return encode(s); };
  for (bool thinking : {true, false}) {
    for (Family f : kAllFamilies) {
      const Problem p = generate(f, difficulty_preset(Level::kStandard), 77);
      const Example ex = make_nano_example(p, thinking, vocab_->bos, r, e);
      ASSERT_EQ(ex.tokens.size(), ex.loss_mask.size());
      EXPECT_EQ(ex.tokens.front(), vocab_->bos);
      std::vector<int32_t> prompt, answer;
      size_t first_masked = ex.tokens.size();
      for (size_t i = 0; i < ex.tokens.size(); ++i) {
        if (ex.loss_mask[i]) {
          first_masked = std::min(first_masked, i);
          answer.push_back(ex.tokens[i]);
        } else {
          ASSERT_EQ(first_masked, ex.tokens.size()) << "an unmasked token after the assistant's start";
          if (i > 0) prompt.push_back(ex.tokens[i]);
        }
      }
      EXPECT_EQ(tok_->decode(prompt), render(p.question, thinking));
      EXPECT_EQ(tok_->decode(answer), nano_completion(p, thinking));
      EXPECT_EQ(answer.back(), vocab_->im_end);
      const auto close = std::count(answer.begin(), answer.end(), vocab_->think_close);
      EXPECT_EQ(close, thinking ? 1 : 0);
      if (thinking) {
        EXPECT_EQ(answer.size(), encode(nano_completion(p, true)).size());
      }
    }
  }
}

TEST_F(NanoTest, DataIsDeterministicAndMixesModes) {
  const PromptRenderer r = [](const std::string& q, bool t) { return render(q, t); };
  const TextEncoder e = [](const std::string& s) { return encode(s); };
  NanoDataConfig c;
  c.examples = 60;
  c.max_tokens = 1024;
  NanoDataStats s1;
  const auto a = build_nano_data(c, vocab_->bos, r, e, &s1);
  const auto b = build_nano_data(c, vocab_->bos, r, e);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].tokens, b[i].tokens);
  EXPECT_EQ(s1.kept, 60);
  EXPECT_GT(s1.instant, 6);   // 30% of 60 = 18 expected; binomial sd ~3.5
  EXPECT_GT(s1.thinking, 30);
  c.seed = 2;
  const auto other = build_nano_data(c, vocab_->bos, r, e);
  EXPECT_NE(other[0].tokens, a[0].tokens);
}

// data.family_weights: weights of 1 give the unweighted data token for token; {word: 3} makes three
// of every four add/word examples word problems, in a fixed cycle.
TEST_F(NanoTest, FamilyWeightsSetTheMix) {
  const PromptRenderer r = [](const std::string& q, bool t) { return render(q, t); };
  const TextEncoder e = [](const std::string& s) { return encode(s); };
  NanoDataConfig c;
  c.families = {Family::kAdd, Family::kWord};
  c.examples = 40;
  c.max_tokens = 1024;
  const auto plain = build_nano_data(c, vocab_->bos, r, e);
  c.family_weights = {1, 1};
  const auto ones = build_nano_data(c, vocab_->bos, r, e);
  ASSERT_EQ(plain.size(), ones.size());
  for (size_t i = 0; i < plain.size(); ++i) EXPECT_EQ(plain[i].tokens, ones[i].tokens) << i;
  c.family_weights = {1, 3};
  const auto weighted = build_nano_data(c, vocab_->bos, r, e);
  ASSERT_EQ(weighted.size(), 40u);
  int words = 0;
  for (size_t i = 0; i < weighted.size(); ++i) {
    const bool word = tok_->decode(weighted[i].tokens).find("How many") != std::string::npos;
    EXPECT_EQ(word, i % 4 != 0) << i;
    words += word ? 1 : 0;
  }
  EXPECT_EQ(words, 30);
  c.family_weights = {1};
  EXPECT_THROW(build_nano_data(c, vocab_->bos, r, e), Error);
  c.family_weights = {0, 2};
  EXPECT_THROW(build_nano_data(c, vocab_->bos, r, e), Error);
}

// The calculator as the template offers it, and a stand-in for tools::format_tool_call's text.
NanoToolHooks test_tool_hooks(const text::ChatTemplate& tmpl) {
  return {[&tmpl](const Turns& turns, bool thinking) {
            nlohmann::ordered_json msgs = nlohmann::ordered_json::array();
            for (const auto& [role, content] : turns) msgs.push_back({{"role", role}, {"content", content}});
            nlohmann::ordered_json vars = {
                {"messages", msgs},
                {"tools", {{{"type", "function"},
                            {"function", {{"name", "calculator"},
                                          {"parameters", {{"type", "object"},
                                                          {"properties", {{"expression", {{"type", "string"}}}}}}}}}}}},
                {"add_generation_prompt", true},
                {"enable_thinking", thinking}};
            return tmpl.render(vars);
          },
          [](const std::string& expression) {
            return "<tool_call>\n{\"arguments\":{\"expression\":\"" + expression + "\"},\"name\":\"calculator\"}\n</tool_call>";
          }};
}

// The decoded text under the loss mask, and before it (BOS excluded).
std::pair<std::string, std::string> split_example(const text::Tokenizer& tok, const Example& ex) {
  std::vector<int32_t> prompt, answer;
  for (size_t i = 1; i < ex.tokens.size(); ++i) (ex.loss_mask[i] ? answer : prompt).push_back(ex.tokens[i]);
  return {tok.decode(prompt), tok.decode(answer)};
}

TEST_F(NanoTest, TemplateListsOfferedToolsInOneSystemLine) {
  const NanoToolHooks hooks = test_tool_hooks(*tmpl_);
  EXPECT_EQ(hooks.render({{"user", "What is 2 + 3?"}}, true),
            "<|im_start|>system\nTools: calculator(expression)<|im_end|>\n" + render("What is 2 + 3?", true));
  EXPECT_EQ(render("What is 2 + 3?", true).find("Tools"), std::string::npos);  // no tools, no line
  // The call markers are single ids, like the think tags.
  EXPECT_EQ(tok_->encode(kNanoToolCallOpen, false, false).size(), 1u);
  EXPECT_EQ(tok_->encode(kNanoToolCallClose, false, false).size(), 1u);
  EXPECT_EQ(tok_->encode("calculator", false, false).size(), 1u);
}

TEST_F(NanoTest, MultiplicationWithToolsCallsTheCalculatorThenAnswersFromItsResult) {
  const NanoToolHooks hooks = test_tool_hooks(*tmpl_);
  const TextEncoder e = [](const std::string& s) { return encode(s); };
  const Problem p = generate(Family::kMul, difficulty_preset(Level::kHard), 12345);
  std::vector<std::string> nums;
  for (size_t i = 0; i < p.question.size();) {
    const size_t j = p.question.find_first_not_of("0123456789", i);
    const size_t end = j == std::string::npos ? p.question.size() : j;
    if (end > i) nums.push_back(p.question.substr(i, end - i));
    i = end == i ? i + 1 : end;
  }
  ASSERT_EQ(nums.size(), 2u) << p.question;
  const std::string expr = nums[0] + " * " + nums[1];
  for (bool thinking : {true, false}) {
    std::vector<Example> out;
    ASSERT_TRUE(make_nano_tool_examples(p, thinking, vocab_->bos, hooks, e, out));
    ASSERT_EQ(out.size(), 2u);
    const auto [prompt1, reply1] = split_example(*tok_, out[0]);
    EXPECT_EQ(prompt1, hooks.render({{"user", p.question}}, thinking));
    EXPECT_EQ(reply1.substr(reply1.size() - hooks.call_text(expr).size() - 10), hooks.call_text(expr) + "<|im_end|>");
    EXPECT_EQ(reply1.find(p.answer), std::string::npos) << "the call turn must not know the product yet";
    const auto [prompt2, reply2] = split_example(*tok_, out[1]);
    EXPECT_EQ(prompt2, hooks.render({{"user", p.question}, {"assistant", hooks.call_text(expr)}, {"tool", p.answer}},
                                    thinking));
    EXPECT_EQ(reply2.substr(reply2.size() - p.short_answer.size() - 10), p.short_answer + "<|im_end|>");
    EXPECT_EQ(reply2.find("</think>") != std::string::npos, thinking) << reply2;
  }
  // A question without exactly two numbers has no calculator conversation.
  Problem three = p;
  three.question = "What is 2 * 3 * 4?";
  std::vector<Example> none;
  EXPECT_FALSE(make_nano_tool_examples(three, true, vocab_->bos, hooks, e, none));
  EXPECT_TRUE(none.empty());
}

TEST_F(NanoTest, ToolFractionMixesCallingAndNonCallingConversations) {
  const PromptRenderer r = [](const std::string& q, bool t) { return render(q, t); };
  const TextEncoder e = [](const std::string& s) { return encode(s); };
  const NanoToolHooks hooks = test_tool_hooks(*tmpl_);
  NanoDataConfig c;
  c.examples = 80;
  c.max_tokens = 1024;
  c.tool_fraction = 0.5;
  NanoDataStats s;
  const auto data = build_nano_data(c, vocab_->bos, r, e, &s, &hooks);
  EXPECT_GT(s.tool_calls, 5);     // ~20 expected (half of the half)
  EXPECT_GT(s.tools_unused, 5);
  EXPECT_EQ(s.kept, 80 + s.tool_calls);  // a calling conversation is two examples
  int64_t with_line = 0, with_call = 0;
  for (const Example& ex : data) {
    const auto [prompt, reply] = split_example(*tok_, ex);
    with_line += prompt.find("Tools: calculator") != std::string::npos;
    with_call += reply.find(kNanoToolCallOpen) != std::string::npos;
  }
  EXPECT_EQ(with_line, 2 * s.tool_calls + s.tools_unused);
  EXPECT_EQ(with_call, s.tool_calls);
  // Tool examples need the hooks; the fraction is a probability.
  EXPECT_THROW(build_nano_data(c, vocab_->bos, r, e), Error);
  c.tool_fraction = 1.5;
  try {
    build_nano_data(c, vocab_->bos, r, e, nullptr, &hooks);
    ADD_FAILURE() << "tool_fraction 1.5 accepted";
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("data.tool_fraction"), std::string::npos) << err.what();
  }
}

TEST_F(NanoTest, ShorterTraceStylesCostFewerTokens) {
  // What the length penalty can find by leaving out redundancy alone: the shortest restyled trace
  // (optional lines dropped, written methods compacted, steps still worked out) against the reference.
  const TraceStyle compact{0.0, 0.0, 1.0}, tersest{1.0, 0.0, 1.0};
  int64_t full = 0, shortest = 0;
  for (Family f : kAllFamilies) {
    int64_t n_full = 0, n_compact = 0, n_tersest = 0;
    for (uint64_t i = 0; i < 50; ++i) {
      const Problem p = generate(f, difficulty_preset(Level::kStandard), 90000 + i);
      n_full += static_cast<int64_t>(encode(p.trace).size());
      n_compact += static_cast<int64_t>(encode(restyle_trace(p.trace, compact, i)).size());
      n_tersest += static_cast<int64_t>(encode(restyle_trace(p.trace, tersest, i)).size());
    }
    std::printf("[ nano     ] %-5s %6.1f tokens per trace; compact columns %3.0f%%, also without optional lines %3.0f%%\n",
                family_name(f), static_cast<double>(n_full) / 50.0,
                100.0 * static_cast<double>(n_compact) / static_cast<double>(n_full),
                100.0 * static_cast<double>(n_tersest) / static_cast<double>(n_full));
    EXPECT_LE(n_tersest, n_compact) << family_name(f);
    full += n_full;
    shortest += n_tersest;
  }
  std::printf("[ nano     ] all   shortest restyled trace %.0f%% of the reference's tokens\n",
              100.0 * static_cast<double>(shortest) / static_cast<double>(full));
  EXPECT_LT(shortest, full * 3 / 4);
}

TEST_F(NanoTest, CarefulTracesAreMoreThanTwiceTheTerseOnes) {
  // The SFT start for thought compression mixes careful traces (every step checked twice) with terse
  // ones (optional lines dropped; written methods compacted or not). What the issue's 40% bar needs:
  // the terse form at most 40% of the careful one, so that dropping the redundancy alone can reach it.
  const TraceStyle careful{0.0, 0.0, 0.0, 1.0}, terse{1.0, 0.0, 0.0}, tersest{1.0, 0.0, 1.0};
  int64_t all_careful = 0, all_terse = 0, all_tersest = 0, longest = 0;
  for (Family f : kAllFamilies) {
    int64_t n_careful = 0, n_terse = 0, n_tersest = 0;
    for (uint64_t i = 0; i < 50; ++i) {
      const Problem p = generate(f, difficulty_preset(Level::kStandard), 91000 + i);
      const int64_t c = static_cast<int64_t>(encode(restyle_trace(p.trace, careful, i)).size());
      n_careful += c;
      longest = std::max(longest, c);
      n_terse += static_cast<int64_t>(encode(restyle_trace(p.trace, terse, i)).size());
      n_tersest += static_cast<int64_t>(encode(restyle_trace(p.trace, tersest, i)).size());
    }
    std::printf("[ nano     ] %-5s careful %6.1f tokens per trace; terse %3.0f%% of it, terse and compact %3.0f%%\n",
                family_name(f), static_cast<double>(n_careful) / 50.0,
                100.0 * static_cast<double>(n_terse) / static_cast<double>(n_careful),
                100.0 * static_cast<double>(n_tersest) / static_cast<double>(n_careful));
    all_careful += n_careful;
    all_terse += n_terse;
    all_tersest += n_tersest;
  }
  std::printf("[ nano     ] all   terse %.0f%%, terse and compact %.0f%% of the careful traces' tokens; longest %lld\n",
              100.0 * static_cast<double>(all_terse) / static_cast<double>(all_careful),
              100.0 * static_cast<double>(all_tersest) / static_cast<double>(all_careful),
              static_cast<long long>(longest));
  EXPECT_LT(all_tersest * 10, all_careful * 4);
  // Stage 8's context is 1536 tokens (configs/muse-nano-sft-stage8.json) and the trainer drops (and counts)
  // conversations longer than that: the longest careful traces, 7-number sorts (about 1700 tokens), are
  // among those it would drop; every other kind fits.
  EXPECT_LT(longest, 1750);
}

TEST(NanoConfig, BadFieldsAreNamed) {
  auto err = [](const char* text) -> std::string {
    try {
      parse_nano_config(nlohmann::json::parse(text), "cfg.json");
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(err(R"({"model": {"dim": -4}})").find("model.dim"), std::string::npos);
  EXPECT_NE(err(R"({"train": {"stepz": 4}})").find("train.stepz: unknown field"), std::string::npos);
  EXPECT_NE(err(R"({"data": {"families": "add,cats"}})").find("data.families"), std::string::npos);
  EXPECT_NE(err(R"({"data": {"no_thinking_fraction": 1.5}})").find("no_thinking_fraction"), std::string::npos);
  EXPECT_NE(err(R"({"train": {"max_lr": "high"}})").find("train.max_lr"), std::string::npos);
  EXPECT_NE(err(R"([1, 2])").find("cfg.json"), std::string::npos);
  EXPECT_NE(err(R"({"threads": -1})").find("cfg.json: threads: expected an integer >= 0"), std::string::npos);
  EXPECT_NE(err(R"({"data": {"trace_style": {"drop_lines": 2}}})").find("data.trace_style.drop_lines"), std::string::npos);
  EXPECT_NE(err(R"({"data": {"tool_fraction": -0.1}})").find("data.tool_fraction"), std::string::npos);
  EXPECT_NE(err(R"({"data": {"family_weights": {"word": 0}}})").find("data.family_weights: \"word\""), std::string::npos);
  EXPECT_NE(err(R"({"data": {"family_weights": {"cats": 2}}})").find("data.family_weights"), std::string::npos);
  EXPECT_NE(err(R"({"data": {"families": "add", "family_weights": {"word": 2}}})").find("not one of data.families"),
            std::string::npos);
  EXPECT_NE(err(R"({"data": {"family_weights": [1, 2]}})").find("data.family_weights: expected an object"),
            std::string::npos);
  EXPECT_EQ(parse_nano_config(nlohmann::json::parse(R"({"data": {"family_weights": {"chain": 2, "word": 3}}})"), "w")
                .data.family_weights,
            (std::vector<int>{1, 1, 1, 2, 3, 1}));
  EXPECT_NE(err(R"({"data": {"trace_style": {"shorter": 1}}})").find("shorter: unknown field"), std::string::npos);
  const NanoRunConfig styled =
      parse_nano_config(nlohmann::json::parse(R"({"data": {"trace_style": {"drop_lines": 0.5, "one_shot_steps": 0.25}}})"), "s");
  EXPECT_EQ(styled.data.trace_style.drop_lines, 0.5);
  EXPECT_EQ(styled.data.trace_style.one_shot_steps, 0.25);
  const NanoRunConfig ok = parse_nano_config(nlohmann::json::parse(R"({"train": {"steps": 70, "seq_len": 100}})"), "x");
  EXPECT_EQ(ok.sft.steps, 70);
  EXPECT_EQ(ok.data.max_tokens, 101);
}

using muse::test::MuseRun;
using muse::test::run_muse;

// Every recipe in configs/ parses and validates (the scripts run them hours later; a typo must fail
// here, not at the start of a training run): muse-nano-grpo.json as a GRPO config, the others as SFT.
TEST(NanoCli, EveryShippedConfigParses) {
  const std::filesystem::path dir =
      std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "configs";
  int sft = 0, grpo = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".json") continue;
    SCOPED_TRACE(entry.path().string());
    if (entry.path().filename().string().find("grpo") != std::string::npos) {
      const GrpoRunConfig c = load_grpo_config(entry.path().string());
      EXPECT_GT(c.grpo.total_steps(), 0);
      ++grpo;
    } else {
      const NanoRunConfig c = load_nano_config(entry.path().string());
      EXPECT_GT(c.sft.steps, 0);
      ++sft;
    }
  }
  EXPECT_GE(sft, 7);
  EXPECT_GE(grpo, 1);
}

TEST(NanoCli, TrainSftRunsEndToEndAndMuseRunLoadsTheModel) {
  const std::string dir = testing::TempDir() + "nano_cli_run";
  std::filesystem::remove_all(dir);
  // The repository's tiny config (tests/train/nano_test.cpp -> repository root).
  const std::string cfg =
      (std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "configs/muse-nano-tiny.json").string();
  const MuseRun t = run_muse({"train", "sft", "--config", cfg, "--out", dir});
  ASSERT_EQ(t.status, 0) << t.err;
  EXPECT_NE(t.err.find("3 steps"), std::string::npos) << t.err;
  const std::string model = dir + "/muse-nano-sft.gguf";
  ASSERT_TRUE(std::filesystem::exists(model));
  EXPECT_TRUE(std::filesystem::exists(dir + "/loss.csv"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/checkpoint.bin"));
  {
    const auto f = gguf::File::open(model);
    EXPECT_EQ(f->get_string("tokenizer.ggml.model"), "llama");
    EXPECT_EQ(f->get_string("tokenizer.chat_template"), nano_chat_template());
  }
  const MuseRun g = run_muse({"run", "-m", model, "-p", "What is 2 + 3?", "-n", "8", "--temp", "0", "-q"});
  ASSERT_EQ(g.status, 0) << g.err;
  EXPECT_GT(g.out.size(), std::string("What is 2 + 3?").size());  // the prompt plus generated text
  // Resuming from the run's own checkpoint at the same step count trains nothing more and re-exports.
  const MuseRun again = run_muse({"train", "sft", "--config", cfg, "--out", dir, "--resume", dir + "/checkpoint.bin"});
  EXPECT_EQ(again.status, 0) << again.err;
  std::filesystem::remove_all(dir);
}

// Ctrl-C during `muse train sft` finishes the step, saves the checkpoint and exits with a message
// that says how to resume; no half-trained model is exported.
TEST(NanoCli, InterruptSavesTheCheckpointAndSaysHowToResume) {
  const std::string tag = std::to_string(getpid());
  const std::string dir = testing::TempDir() + "nano_cli_interrupt_" + tag;
  const std::string cfg_path = testing::TempDir() + "nano_interrupt_" + tag + ".json";
  const std::string err_path = testing::TempDir() + "nano_interrupt_err_" + tag + ".txt";
  std::filesystem::remove_all(dir);
  {
    std::ofstream o(cfg_path);
    o << R"({"model": {"dim": 16, "n_layers": 1, "n_heads": 2, "n_kv_heads": 1, "ffn_dim": 32, "max_seq": 320},
             "data": {"families": "all", "difficulties": ["easy"], "examples": 16, "seed": 1},
             "train": {"steps": 1000000, "batch_size": 1, "seq_len": 319, "log_every": 1, "checkpoint_every": 0},
             "threads": 1})";
  }
  const std::string cmd =
      "exec " + std::string(MUSE_BINARY) + " train sft --config " + cfg_path + " --out " + dir + " 2>" + err_path;
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  const auto read_err = [&] {
    std::ifstream e(err_path);
    std::stringstream ss;
    ss << e.rdbuf();
    return ss.str();
  };
  // Wait until training steps are being reported (at most 60 s: the ASan build is slow).
  bool training = false;
  for (int i = 0; i < 600 && !training; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    training = read_err().find("step 2/") != std::string::npos;
  }
  EXPECT_TRUE(training) << read_err();
  kill(pid, SIGINT);
  int st = 0;
  ASSERT_EQ(waitpid(pid, &st, 0), pid);
  const std::string err = read_err();
  ASSERT_TRUE(WIFEXITED(st)) << "killed by a signal instead of a clean stop: " << err;
  EXPECT_EQ(WEXITSTATUS(st), 1) << err;
  EXPECT_NE(err.find("interrupted at step"), std::string::npos) << err;
  EXPECT_NE(err.find("--resume " + dir + "/checkpoint.bin"), std::string::npos) << err;
  EXPECT_TRUE(std::filesystem::exists(dir + "/checkpoint.bin"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/muse-nano-sft.gguf"));
  std::filesystem::remove_all(dir);
  std::filesystem::remove(cfg_path);
  std::filesystem::remove(err_path);
}

TEST(NanoCli, BadConfigFieldFailsWithItsName) {
  const std::string path = testing::TempDir() + "nano_bad.json";
  {
    std::ofstream o(path);
    o << R"({"model": {"dim": 0}, "train": {"steps": 1}})";
  }
  const MuseRun t = run_muse({"train", "sft", "--config", path, "--out", testing::TempDir() + "nano_bad_out"});
  EXPECT_NE(t.status, 0);
  EXPECT_NE(t.err.find("model.dim"), std::string::npos) << t.err;
  EXPECT_NE(t.err.find(path), std::string::npos) << t.err;
  const MuseRun missing = run_muse({"train", "sft", "--config", "/nonexistent/x.json", "--out", testing::TempDir() + "nano_bad_out"});
  EXPECT_NE(missing.status, 0);
  EXPECT_NE(missing.err.find("/nonexistent/x.json"), std::string::npos);
}

}  // namespace
}  // namespace muse::train
