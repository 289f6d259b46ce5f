// fuzz_tokenizer: random bytes through text::Tokenizer.
//
// The real vocabularies of ${MUSE_SHARED_DATA}/tokenizer are loaded once. The first input byte picks the
// vocabulary and the flags (add_special, parse_special); the rest is the text. Besides "no crash, no hang"
// it checks what the tokenizer promises for any input: ids in range, decode(encode(x)) == x for the
// lossless vocabularies when nothing special is parsed (bytes the vocabulary cannot spell aside), and a
// StreamDecoder that emits only valid UTF-8 adding up to the sanitized decode.
// Selector values past the real vocabularies build a small vocabulary from the input itself, to fuzz
// from_vocab: then bad vocabularies must fail with muse::Error, never crash.
//
//   cmake -S . -B build/fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++-16 -DMUSE_SANITIZE=address,undefined \
//         -DMUSE_BUILD_FUZZ=ON -DMUSE_BUILD_TESTS=OFF -DMUSE_BUILD_BENCH=OFF && ninja -C build/fuzz fuzz_tokenizer
//   build/fuzz/fuzz/fuzz_tokenizer -max_total_time=60 -max_len=4096
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "gguf/gguf.h"
#include "text/tokenizer.h"

namespace {

using muse::text::Tokenizer;

struct Vocab {
  std::unique_ptr<Tokenizer> tok;
  bool lossless;
};

std::vector<Vocab> load_all() {
  std::vector<Vocab> out;
  for (const char* name : {"llama-spm", "phi-3", "gpt-2", "deepseek-coder", "bert-bge"}) {
    const std::string path = std::string(MUSE_SHARED_DATA) + "/tokenizer/ggml-vocab-" + name + ".gguf";
    auto file = muse::gguf::File::open(path);
    out.push_back({Tokenizer::from_gguf(*file), std::string_view(name) != "bert-bge"});
  }
  return out;
}

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_tokenizer: property violated: %s\n", what);
    std::abort();
  }
}

// Whether every byte of `text` decodes back from its byte-level/byte token (see the property test).
bool representable(const Tokenizer& t, std::string_view text) {
  for (unsigned char b : text) {
    if (b < 0x80) continue;
    const auto ids = t.encode(std::string(1, static_cast<char>(b)), false, false);
    if (ids.empty() || t.token_type(ids.back()) == muse::text::TokenType::kUserDefined) return false;
  }
  return true;
}

void exercise(const Tokenizer& t, std::string_view text, bool add_special, bool parse_special, bool lossless) {
  std::vector<int32_t> ids;
  try {
    ids = t.encode(text, add_special, parse_special);
  } catch (const muse::Error&) {
    return;  // a byte the vocabulary cannot spell at all: a clean refusal is allowed
  }
  for (int32_t id : ids) check(id >= 0 && id < t.n_vocab(), "id out of range");
  const std::string back = t.decode(ids);
  // Added tokens may strip the whitespace next to them (Phi-3's "</s>"), as the reference does.
  bool any_special = false;
  for (int32_t id : ids) any_special |= t.is_special(id);
  // SPM writes spaces as U+2581, so a literal U+2581 in the text comes back as a space (as in SentencePiece).
  const bool spm_space = t.kind() == muse::text::TokenizerKind::kSpm && text.find("\xE2\x96\x81") != text.npos;
  if (lossless && !add_special && !parse_special && !any_special && !spm_space && representable(t, text)) {
    check(back == text, "decode(encode(x)) != x");
  }
  muse::text::StreamDecoder stream(t, {.skip_special = false, .text_start = true});
  std::string joined;
  for (int32_t id : ids) {
    const std::string part = stream.push(id);
    check(muse::text::sanitize_utf8(part) == part, "stream emitted invalid UTF-8");
    joined += part;
  }
  joined += stream.flush();
  check(joined == muse::text::sanitize_utf8(back), "stream != decode");
  (void)t.decode(ids, /*skip_special=*/true);
}

// A vocabulary made from the input: pieces separated by '\n' (the first line is the model kind), then
// a '\0' and the text. Merges are every pair of consecutive pieces.
void fuzz_custom_vocab(std::string_view data, uint8_t selector) {
  const size_t nul = data.find('\0');
  const std::string_view spec = data.substr(0, nul);
  const std::string_view text = nul == std::string_view::npos ? std::string_view() : data.substr(nul + 1);
  muse::text::VocabData v;
  v.source = "<fuzz>";
  static const char* kinds[] = {"llama", "gpt2", "bert", "t5"};
  v.model = kinds[selector % 4];
  v.pre = (selector & 4) ? "llama-bpe" : "gpt-2";
  size_t start = 0;
  while (start <= spec.size()) {
    const size_t end = std::min(spec.find('\n', start), spec.size());
    v.tokens.emplace_back(spec.substr(start, end - start));
    v.types.push_back(static_cast<int32_t>(v.tokens.back().size() % 7));
    start = end + 1;
  }
  for (size_t i = 1; i < v.tokens.size(); ++i) v.merges.push_back(v.tokens[i - 1] + " " + v.tokens[i]);
  v.scores.assign(v.tokens.size(), 0.0f);
  for (size_t i = 0; i < v.scores.size(); ++i) v.scores[i] = static_cast<float>(i % 7) - 3.0f;
  if (selector & 8) v.unk = static_cast<int64_t>(selector) - 20;  // sometimes out of range
  if (selector & 64) v.types.back() = 9;  // not a token type: must be refused
  std::unique_ptr<Tokenizer> tok;
  try {
    tok = Tokenizer::from_vocab(std::move(v));
  } catch (const muse::Error&) {
    return;
  }
  exercise(*tok, text, selector & 16, selector & 32, false);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<Vocab> vocabs = load_all();
  if (size == 0) return 0;
  const uint8_t selector = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const size_t which = selector % 8;
  if (which < vocabs.size()) {
    const Vocab& v = vocabs[which];
    exercise(*v.tok, text, selector & 8, selector & 16, v.lossless);
  } else {
    fuzz_custom_vocab(text, selector >> 3);
  }
  return 0;
}
