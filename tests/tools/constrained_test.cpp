// Token-level constrained decoding: the trie-walk mask equals a brute-force check of every token (real
// SPM and BPE vocabularies, whose tokens span several JSON symbols or hold single UTF-8 bytes), and a
// real model (stories260K) sampling at temperature 1 under the mask always writes schema-valid JSON.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/scheduler.h"
#include "gguf/gguf.h"
#include "model/model.h"
#include "model/runner.h"
#include "reason/chat_model.h"
#include "text/tokenizer.h"
#include "tools/json_schema.h"
#include "tools/token_mask.h"

namespace muse::tools {
namespace {

using json = nlohmann::json;

std::unique_ptr<text::Tokenizer> vocab(const std::string& name) {
  auto file = gguf::File::open(std::string(MUSE_SHARED_DATA) + "/tokenizer/ggml-vocab-" + name + ".gguf");
  return text::Tokenizer::from_gguf(*file);
}

// Allowed iff the whole piece advances a copy of the matcher (or an end token while accepting).
std::vector<uint8_t> brute_force(const GrammarMatcher& m, const TokenTrie& trie) {
  std::vector<uint8_t> out(static_cast<size_t>(trie.n_vocab()), 0);
  for (int32_t id = 0; id < trie.n_vocab(); ++id) {
    if (trie.is_eog(id)) {
      out[static_cast<size_t>(id)] = m.accepting();
      continue;
    }
    const std::string& p = trie.piece(id);
    if (p.empty()) continue;
    GrammarMatcher copy = m;
    out[static_cast<size_t>(id)] = copy.advance(std::string_view(p));
  }
  return out;
}

TEST(TokenMask, TrieWalkEqualsBruteForceOnRealVocabularies) {
  const json schema = json::parse(R"({"type":"object","properties":{
      "name":{"type":"string"},"n":{"type":"integer"},"x":{"type":"number"},
      "tags":{"type":"array","items":{"enum":["red","blue"]}}},"required":["name"]})");
  CompiledSchema cs = compile_json_schema(schema);
  const std::string doc = "{\"n\": -12, \"name\": \"caf\xc3\xa9 \\\"\xe2\x82\xac\\u00e9\", \"tags\": [\"red\", \"blue\"], \"x\": 1.5e-3}";
  for (const char* name : {"llama-spm", "gpt-2"}) {
    auto tok = vocab(name);
    auto trie = TokenTrie::from_tokenizer(*tok);
    GrammarMatcher m(cs.grammar);
    std::vector<uint8_t> fast;
    // Check the state after every 2nd prefix of the document (every 7th for the big BPE vocabulary:
    // the brute force costs ~20 ms per state there, and the test also runs under ASan).
    const size_t stride = std::string(name) == "gpt-2" ? 7 : 2;
    for (size_t i = 0; i <= doc.size(); ++i) {
      if (i % stride == 0 || i == doc.size()) {
        trie->mask(m, fast);
        ASSERT_EQ(fast, brute_force(m, *trie)) << name << " after " << doc.substr(0, i);
      }
      if (i < doc.size()) {
        ASSERT_TRUE(m.advance(static_cast<uint8_t>(doc[i]))) << doc.substr(0, i + 1);
      }
    }
    EXPECT_TRUE(m.accepting());
    // At the end only end-of-generation tokens remain.
    size_t n_allowed = 0;
    for (size_t id = 0; id < fast.size(); ++id) {
      if (fast[id]) {
        ++n_allowed;
        EXPECT_TRUE(trie->is_eog(static_cast<int32_t>(id))) << name << " " << id;
      }
    }
    EXPECT_GE(n_allowed, 1u) << name;
  }
}

TEST(TokenMask, ConstraintRejectsAndAcceptsTokens) {
  auto tok = vocab("llama-spm");
  auto trie = TokenTrie::from_tokenizer(*tok);
  CompiledSchema cs = compile_json_schema(json::parse(R"({"enum":["yes","no"]})"));
  GrammarConstraint c(cs.grammar, *trie);
  std::vector<int32_t> ids = tok->encode("\"no\"", false, false);
  std::vector<int32_t> banned = c.banned();
  EXPECT_GT(banned.size(), static_cast<size_t>(tok->n_vocab()) - 100);  // almost everything is banned
  for (int32_t id : ids) ASSERT_TRUE(c.accept(id)) << tok->token_to_piece(id);
  EXPECT_TRUE(c.finished());
  EXPECT_EQ(c.text().substr(c.text().find('"')), "\"no\"");
  GrammarConstraint d(cs.grammar, *trie);
  EXPECT_FALSE(d.accept(tok->encode("maybe", false, false)[0]));
  EXPECT_FALSE(d.accept(-1));
}

// The per-state cache of banned lists gives exactly the fresh mask at every step (a long string makes
// the same state repeat, so most steps are cache hits).
TEST(TokenMask, CachedBannedListsEqualFreshMasks) {
  auto tok = vocab("llama-spm");
  auto trie = TokenTrie::from_tokenizer(*tok);
  CompiledSchema cs = compile_json_schema(json::parse(R"({"type":"object","properties":{"s":{"type":"string"},"n":{"type":"integer"}},"required":["n","s"]})"));
  GrammarConstraint c(cs.grammar, *trie);
  const std::vector<int32_t> ids = tok->encode("{\"n\": 7, \"s\": \"a long long long string of words, words and words\"}", false, false);
  std::vector<uint8_t> fresh;
  for (int32_t id : ids) {
    std::vector<int32_t> banned = c.banned();
    trie->mask(c.matcher(), fresh);
    std::vector<int32_t> expect;
    for (size_t t = 0; t < fresh.size(); ++t) {
      if (!fresh[t]) expect.push_back(static_cast<int32_t>(t));
    }
    ASSERT_EQ(banned, expect) << "before token " << tok->token_to_piece(id);
    ASSERT_TRUE(c.accept(id)) << tok->token_to_piece(id);
  }
  EXPECT_TRUE(c.finished());
}

// User-defined tokens (Qwen's <tool_call> and <think> are) are text a grammar may choose whole; control
// tokens never are.
TEST(TokenMask, UserDefinedTokensAreTextControlTokensAreNot) {
  const reason::test_models::ChatModel m = reason::test_models::think_model();
  auto trie = TokenTrie::from_tokenizer(*m.tok);
  const int32_t think = *m.tok->find_token("<think>");  // user-defined in the think model
  const int32_t start = *m.tok->find_token("<|im_start|>");  // control
  ASSERT_EQ(m.tok->token_type(think), text::TokenType::kUserDefined);
  ASSERT_EQ(m.tok->token_type(start), text::TokenType::kControl);
  EXPECT_EQ(trie->piece(think), "<think>");
  std::vector<uint8_t> allowed;
  for (const char* marker : {"<think>", "<|im_start|>"}) {
    const CompiledSchema cs = compile_wrapped_json({{marker, json{{"type", "null"}}, ""}});
    GrammarMatcher gm(cs.grammar);
    trie->mask(gm, allowed);
    EXPECT_EQ(allowed[static_cast<size_t>(think)], marker == std::string("<think>")) << marker;
    EXPECT_FALSE(allowed[static_cast<size_t>(start)]) << marker;
    EXPECT_TRUE(allowed[static_cast<size_t>(*m.tok->find_token("<"))]) << marker;  // spelled out still works
  }
}

TEST(ConstrainedGeneration, StoriesModelAlwaysWritesSchemaValidJson) {
  auto model = model::Model::load(std::string(MUSE_SHARED_DATA) + "/models/stories260K.gguf");
  auto tok = text::Tokenizer::from_gguf(model->file());
  auto trie = TokenTrie::from_tokenizer(*tok);
  core::ThreadPool pool(1);
  model::Runner runner(*model, pool);
  engine::SchedulerOptions so;
  so.n_ctx = 512;
  so.max_seqs = 4;
  engine::Scheduler sched(runner, so);
  const std::vector<const char*> schemas = {
      R"({"type":"object","properties":{"name":{"type":"string","maxLength":12},"age":{"enum":[1,2,3]},
          "ok":{"type":"boolean"},"tags":{"type":"array","items":{"type":"string","maxLength":5},"maxItems":3}},
          "required":["age","name","ok"]})",
      R"({"anyOf":[{"type":"null"},{"type":"array","items":{"enum":["cat","dog"]},"minItems":1,"maxItems":4}]})",
      R"({"type":"object","properties":{"p":{"type":"object","properties":{"x":{"type":"boolean"},"y":{"const":"z\n"}},
          "required":["x","y"]},"q":{"type":["string","null"],"maxLength":8}},"required":["p"]})",
  };
  const std::vector<int32_t> prompt = tok->encode("Once upon a time, Lily", true, false);
  int runs = 0;
  for (const char* s : schemas) {
    const json schema = json::parse(s);
    CompiledSchema cs = compile_json_schema(schema);
    ASSERT_TRUE(cs.notes.empty()) << cs.notes[0];
    for (uint64_t seed = 1; seed <= 4; ++seed) {
      GrammarConstraint c(cs.grammar, *trie);
      engine::SeqConfig cfg;
      cfg.prompt = prompt;
      cfg.sampler.temperature = 1.0f;
      cfg.sampler.top_k = 0;
      cfg.sampler.top_p = 1.0f;
      cfg.sampler.min_p = 0.0f;
      cfg.sampler.seed = seed;
      cfg.max_new_tokens = 300;  // more than the longest document these schemas allow
      cfg.is_eog = [&](int32_t id) { return tok->is_eog(id); };
      attach_constraint(cfg, c);
      engine::SeqId id = sched.add(std::move(cfg));
      while (sched.running(id)) sched.step();
      const engine::SeqInfo& info = sched.info(id);
      EXPECT_TRUE(info.finish == engine::FinishReason::kStop || info.finish == engine::FinishReason::kEog)
          << engine::finish_reason_name(info.finish);
      json doc = json::parse(c.text(), nullptr, false);
      ASSERT_FALSE(doc.is_discarded()) << s << "\n" << c.text();
      EXPECT_EQ(validate_json(schema, doc), "") << c.text();
      // What the model generated is exactly the constrained text.
      EXPECT_EQ(tok->decode(info.generated()).find(c.text().substr(c.text().find_first_not_of(" \t\n\r"))) !=
                    std::string::npos,
                true);
      sched.forget(id);
      ++runs;
    }
  }
  EXPECT_EQ(runs, 12);
}

}  // namespace
}  // namespace muse::tools
