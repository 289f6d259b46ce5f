// text::Tokenizer: turns text into the token ids a model was trained on, and ids back into bytes.
//
// Three vocabulary kinds, named by the GGUF key tokenizer.ggml.model, behave as llama.cpp and the Hugging
// Face reference tokenizers do:
//   "llama"  SentencePiece-style (SPM): score-ordered merges over UTF-8 characters, ' ' written as U+2581,
//            a "dummy prefix" space in front of the text, unknown characters as <0xNN> byte tokens.
//   "gpt2"   byte-level BPE: a regex pre-tokenizer picked by tokenizer.ggml.pre, the GPT-2 byte-to-unicode
//            alphabet, then merges by rank (tokenizer.ggml.merges).
//   "bert"   WordPiece: lower-case, accent-stripped, split on whitespace and punctuation, greedy
//            longest-match pieces, [UNK] for words that cannot be pieced (not lossless).
//
// Special tokens: control tokens (<|im_start|>, </s>, ...) are recognised in the text only when the caller
// passes parse_special = true; otherwise their text is tokenized like any other text. User-defined tokens
// (GGUF token type 4, Hugging Face "added tokens" that are not special, e.g. deepseek-coder's "ü") are
// always recognised, as the reference tokenizers do; the ids would differ from training otherwise.
// Overlapping candidates are resolved leftmost-first, then longest.
//
// Ownership and threads: a Tokenizer owns copies of everything it needs (the gguf::File may be closed after
// from_gguf). It is immutable after construction, so one Tokenizer may be used from many threads at once.
// A StreamDecoder borrows its Tokenizer and is single-threaded.
//
// Errors: building from a bad or unsupported vocabulary throws muse::Error naming the file and key. An
// unknown tokenizer.ggml.pre is an error (kUnsupported) rather than a silent fallback, because a wrong
// pre-tokenizer gives plausible but wrong ids; an absent one selects the "default" splits and records a
// line in warnings(). encode() throws kInvalidArgument only if the text holds a byte the vocabulary cannot
// represent at all (no byte token, no unknown token). Ids out of range throw kInvalidArgument.
//
// Lossless: decode(encode(s)) == s for SPM and BPE vocabularies when parse_special is false, with three
// exceptions the formats themselves impose: a literal U+2581 in SPM text reads as a space; bytes that a
// vocabulary spells only with an added token (deepseek-coder: C0 C1 F5..FF, never in valid UTF-8) come
// back as that token's text (reported in warnings()); added tokens that strip whitespace (Phi-3's </s>).
//
// Known departures from llama.cpp (each one towards the Hugging Face reference, or towards losslessness):
//   - invalid UTF-8 input is tokenized byte for byte (lossless) instead of being replaced by U+FFFD;
//   - decode() does not apply "clean_up_tokenization_spaces" (it would break decode(encode(s)) == s);
//   - special-token splitting is leftmost-longest (as Hugging Face), not "longest token first";
//   - SPM merges only form normal and user-defined tokens, never control/byte/unknown/unused ones (so
//     "</s>" typed as text cannot become the EOS id by merging), as SentencePiece itself;
//   - a BPE vocabulary without bos/eos keys has no BOS/EOS (llama.cpp assumes id 11).
// Not implemented: the "t5" (Unigram) and "rwkv" models (kUnsupported); Hugging Face's NFC normalizer of
// some BPE models (Qwen2): like llama.cpp, text is not normalized, which keeps encoding lossless.
// Unicode categories come from PCRE2 10.42 and utf8proc 2.8 (Unicode 14 and 15).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace muse::gguf {
class File;
}

namespace muse::text {

enum class TokenizerKind { kSpm, kBpe, kWordPiece };

// GGUF token types (tokenizer.ggml.token_type), numbered as llama.cpp numbers them.
enum class TokenType : int32_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

// Everything a Tokenizer is built from. from_gguf() fills it from the tokenizer.* keys; tests build it by
// hand. Absent optional fields take the defaults llama.cpp uses for the model kind.
struct VocabData {
  std::string source = "<vocab>";  // file name for error messages
  std::string model;               // tokenizer.ggml.model: "llama", "gpt2" or "bert"
  std::optional<std::string> pre;  // tokenizer.ggml.pre (BPE pre-tokenizer name)
  std::string name;                // general.name (a few per-model quirks key on it, as in llama.cpp)
  std::vector<std::string> tokens;
  std::vector<float> scores;        // empty: all 0
  std::vector<int32_t> types;       // empty: all kNormal
  std::vector<std::string> merges;  // BPE: "left right", in rank order
  // Special ids as stored (int64 so that a bad value can be reported rather than wrapped). -1 means the
  // vocabulary has no such token; other values outside [0, n) are ignored with a warning.
  std::optional<int64_t> bos, eos, eot, eom, unk, sep, pad, cls, mask;
  std::optional<int64_t> fim_pre, fim_suf, fim_mid, fim_pad, fim_rep, fim_sep;
  std::optional<bool> add_bos, add_eos, add_space_prefix;
};

class Tokenizer {
 public:
  // Reads tokenizer.ggml.* (and general.name) from `file`. Throws muse::Error on a missing token list,
  // mismatched array lengths, an unknown model or pre-tokenizer, or ids out of range.
  static std::unique_ptr<Tokenizer> from_gguf(const gguf::File& file);
  // The same from data in memory; throws as above, naming vocab.source.
  static std::unique_ptr<Tokenizer> from_vocab(VocabData vocab);

  ~Tokenizer();
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // add_special: add BOS (CLS for WordPiece) and EOS (SEP) as add_bos()/add_eos() say.
  // parse_special: also recognise control-token text (see the top of this file).
  std::vector<int32_t> encode(std::string_view text, bool add_special, bool parse_special) const;

  // The bytes one token stands for: SPM U+2581 -> ' ', <0xNN> -> that byte, BPE byte-decoded; control and
  // user-defined tokens give their text; unused tokens give "". May be a partial UTF-8 sequence.
  std::string token_to_piece(int32_t id) const;
  // The text of a whole sequence: the pieces concatenated, minus the one leading space of the first
  // piece that SPM's dummy prefix (or WordPiece's word-start marker) stands for. skip_special drops
  // control and unknown tokens. Bytes are returned as the
  // tokens give them (they may be invalid UTF-8 if the ids are); StreamDecoder returns only valid UTF-8.
  std::string decode(std::span<const int32_t> ids, bool skip_special = false) const;

  int32_t n_vocab() const;
  TokenizerKind kind() const;
  const std::string& pre() const;  // the pre-tokenizer name in use ("default" when absent), "" for SPM/WPM
  int32_t bos() const;  // -1 when the vocabulary has none (CLS for WordPiece)
  int32_t eos() const;  // -1 when absent
  int32_t eot() const;  // end of turn (<|eot_id|>, <|im_end|>, ...), from metadata or found by text; -1
  int32_t pad() const;  // -1 when absent
  int32_t unk() const;  // -1 when absent
  int32_t sep() const;  // -1 when absent (WordPiece: [SEP])
  bool add_bos() const;
  bool add_eos() const;
  bool add_space_prefix() const;  // SPM dummy prefix

  // End of generation: eos, eot, eom and tokens whose text marks an end (<|im_end|>, <|eot_id|>,
  // <|endoftext|>, <end_of_turn>, ...), plus FIM pad/rep/sep. False for ids out of range.
  bool is_eog(int32_t id) const;
  bool is_special(int32_t id) const;  // control or user-defined (false for ids out of range)
  bool is_control(int32_t id) const;  // control or unknown: what skip_special drops
  TokenType token_type(int32_t id) const;  // REQUIRES: 0 <= id < n_vocab() (throws otherwise)

  std::optional<int32_t> find_token(std::string_view text) const;  // exact vocab text -> id
  std::string_view token_text(int32_t id) const;  // raw vocab string; throws for ids out of range

  // Notes about the vocabulary that did not stop loading (e.g. "no tokenizer.ggml.pre, using default").
  const std::vector<std::string>& warnings() const;

  struct Impl;

 private:
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  friend class StreamDecoder;
};

// Decodes ids one at a time for streaming output. push() returns only complete, valid UTF-8: a multi-byte
// character split across byte tokens is held back until its last byte arrives; bytes that can never
// become valid are replaced by U+FFFD (one per maximal invalid subpart, as the Unicode standard
// recommends). flush() returns what is held (an unfinished sequence becomes U+FFFD) and resets.
// The concatenated output equals decode() with invalid bytes replaced the same way.
struct StreamOptions {
  bool skip_special = false;  // as in decode()
  // Treat the first token as the start of a text and drop the SPM dummy-prefix space, as decode() does.
  // Off by default: a stream of generated tokens continues a prompt, so its leading space is real.
  bool text_start = false;
};

class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer, StreamOptions options = {});
  std::string push(int32_t id);  // throws kInvalidArgument for an id out of range (state unchanged)
  std::string flush();

 private:
  const Tokenizer& tok_;
  StreamOptions options_;
  bool first_ = true;
  std::string pending_;  // an incomplete UTF-8 sequence (at most 3 bytes)
};

// Replaces every maximal invalid UTF-8 subpart of `bytes` with U+FFFD.
std::string sanitize_utf8(std::string_view bytes);

}  // namespace muse::text
