// bench_grammar: the cost of computing the constrained-decoding token mask (tools/token_mask.h) for
// real vocabularies, per generated token, along a JSON document that a tool-call schema accepts.
//
//   bench_grammar [--runs R]
//
// For each vocabulary in ${MUSE_SHARED_DATA}/tokenizer (SPM llama 32k, BPE gpt-2 50k), the document is
// tokenized with that vocabulary and the mask is computed before each of its tokens (what a decoder
// does once per step), with the trie walk and with the brute-force reference (every token's bytes run
// through a copy of the matcher). Printed: microseconds per mask (best of R runs), trie nodes visited
// per mask, and the ratio brute-force / trie in the same run (both masks are compared for equality);
// then the per-token cost of GrammarConstraint::banned() (trie walk + per-state cache) along the same
// document.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.h"
#include "gguf/gguf.h"
#include "text/tokenizer.h"
#include "tools/json_schema.h"
#include "tools/token_mask.h"

namespace {

using Clock = std::chrono::steady_clock;
using muse::tools::GrammarMatcher;
using muse::tools::TokenTrie;

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

}  // namespace

int main(int argc, char** argv) {
  int runs = 3;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--runs") == 0 && i + 1 < argc) runs = std::max(1, std::atoi(argv[++i]));
  }
  const nlohmann::json schema = nlohmann::json::parse(R"({"type":"object","properties":{
      "name":{"enum":["get_weather","search","calculator"]},
      "arguments":{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"},
        "units":{"enum":["metric","imperial"]},"query":{"type":"string"}},"additionalProperties":false}},
      "required":["arguments","name"]})");
  const std::string doc =
      R"({"arguments": {"city": "Saint-\u00c9tienne, France \"old town\"", "days": 14, "units": "metric"}, "name": "get_weather"})";
  muse::tools::CompiledSchema cs = muse::tools::compile_json_schema(schema);
  fmt::print("schema: {} rules; document: {} bytes\n", cs.grammar.n_rules(), doc.size());
  fmt::print("{:<12} {:>7} {:>7} {:>12} {:>14} {:>14} {:>8} {:>16}\n", "vocab", "n_vocab", "tokens", "trie nodes",
             "trie us/mask", "brute us/mask", "ratio", "cached us/token");
  for (const char* name : {"llama-spm", "gpt-2"}) {
    const std::string path = std::string(MUSE_SHARED_DATA) + "/tokenizer/ggml-vocab-" + name + ".gguf";
    auto file = muse::gguf::File::open(path);
    auto tok = muse::text::Tokenizer::from_gguf(*file);
    auto trie = TokenTrie::from_tokenizer(*tok);
    const std::vector<int32_t> ids = tok->encode(doc, false, false);
    double best_trie = 1e30, best_brute = 1e30, best_cached = 1e30;
    bool equal = true;
    for (int r = 0; r < runs; ++r) {
      GrammarMatcher m(cs.grammar);
      std::vector<uint8_t> mask;
      double t_trie = 0, t_brute = 0;
      for (int32_t id : ids) {
        auto t0 = Clock::now();
        trie->mask(m, mask);
        auto t1 = Clock::now();
        std::vector<uint8_t> ref = brute_force(m, *trie);
        auto t2 = Clock::now();
        t_trie += std::chrono::duration<double>(t1 - t0).count();
        t_brute += std::chrono::duration<double>(t2 - t1).count();
        equal = equal && ref == mask && mask[static_cast<size_t>(id)];
        std::string piece = tok->token_to_piece(id);
        if (!m.advance(std::string_view(piece))) {
          fmt::print(stderr, "{}: the grammar rejects token {} ('{}')\n", name, id, piece);
          return 1;
        }
      }
      // The per-sequence path: GrammarConstraint::banned() with its per-state cache.
      muse::tools::GrammarConstraint c(cs.grammar, *trie);
      auto t3 = Clock::now();
      for (int32_t id : ids) {
        c.banned();
        if (!c.accept(id)) return 1;
      }
      best_cached = std::min(best_cached, std::chrono::duration<double>(Clock::now() - t3).count() / static_cast<double>(ids.size()));
      best_trie = std::min(best_trie, t_trie / static_cast<double>(ids.size()));
      best_brute = std::min(best_brute, t_brute / static_cast<double>(ids.size()));
    }
    fmt::print("{:<12} {:>7} {:>7} {:>12} {:>14.1f} {:>14.1f} {:>7.1f}x {:>16.1f}{}\n", name, tok->n_vocab(), ids.size(),
               trie->n_nodes(), best_trie * 1e6, best_brute * 1e6, best_brute / best_trie, best_cached * 1e6,
               equal ? "" : "  MASKS DIFFER");
  }
  return 0;
}
