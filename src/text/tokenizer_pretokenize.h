// Regex pre-tokenizers of byte-level BPE vocabularies (internal to src/text).
//
// tokenizer.ggml.pre names a sequence of regexes. Each regex in turn splits every piece left by the
// previous one into its matches and the gaps between them, keeping both (Hugging Face's Split with
// behaviour "Isolated"); BPE merges then never cross a piece boundary. The patterns are the ones in the
// models' tokenizer.json files (via llama.cpp's table), compiled once with PCRE2 (PCRE2_UTF | PCRE2_UCP,
// JIT when available) so \p{L}, \p{N} ... follow the Unicode tables (\s is spelled out as White_Space,
// see the .cpp); PCRE2 10.42 has Unicode 14, so characters assigned later count as unassigned (Cn).
// PCRE2_MATCH_INVALID_UTF lets invalid UTF-8 through: such bytes never match and end up in gap pieces,
// so nothing is lost.
//
// A PreTokenizer is immutable after construction and may be shared across threads; each thread passes
// its own SplitScratch. Construction throws muse::Error(kUnsupported) for an unknown name.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace muse::text::detail {

struct Span {
  uint32_t begin;
  uint32_t len;
};

// Per-thread match state (PCRE2 match data and JIT stack), created on first use.
class SplitScratch {
 public:
  SplitScratch();
  ~SplitScratch();
  SplitScratch(const SplitScratch&) = delete;
  SplitScratch& operator=(const SplitScratch&) = delete;

  struct State;
  State& state();

 private:
  std::unique_ptr<State> state_;
};

class PreTokenizer {
 public:
  // `name` is tokenizer.ggml.pre; "default" is llama.cpp's fallback set. `source` names the file in
  // error messages.
  PreTokenizer(std::string_view name, std::string_view source);
  ~PreTokenizer();
  PreTokenizer(const PreTokenizer&) = delete;
  PreTokenizer& operator=(const PreTokenizer&) = delete;

  // True for the families whose reference BPE looks the whole piece up first (llama3, tekken):
  // "ignore_merges" in Hugging Face's BPE model.
  bool ignore_merges() const { return ignore_merges_; }
  // Whether these models add BOS when tokenizer.ggml.add_bos_token is absent.
  bool default_add_bos() const { return default_add_bos_; }

  // Appends the pieces of `text` to `out` in order; together they cover `text` exactly.
  // Throws muse::Error(kOutOfRange) only if PCRE2 gives up (resource limits), naming the byte offset.
  void split(std::string_view text, std::vector<Span>& out, SplitScratch& scratch) const;

  // Every name the constructor accepts, for error messages and tests.
  static std::vector<std::string> known_names();

 private:
  struct Regex;
  std::vector<std::unique_ptr<Regex>> regexes_;
  bool ignore_merges_ = false;
  bool default_add_bos_ = false;
};

}  // namespace muse::text::detail
