#include "text/tokenizer_pretokenize.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <fmt/ranges.h>

#include <array>
#include <cstdio>
#include <string>
#include <string_view>

#include "core/error.h"
#include "text/tokenizer_unicode.h"

namespace muse::text::detail {
namespace {

// The regex sequences, as written in the models' tokenizer.json (Split pre-tokenizers, or ByteLevel's
// use_regex pattern). Where llama.cpp rewrote a pattern for std::regex (no (?i:), no \p{Lu}, no possessive
// quantifiers) we keep the original, since PCRE2 supports it and the original is the reference.

// GPT-2 ByteLevel: case-sensitive contractions, optional leading space on letter/number/symbol runs.
constexpr const char* kGpt2 =
    R"re('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)re";
// Llama 3 (tiktoken cl100k): case-insensitive contractions, numbers in groups of up to 3 digits.
constexpr const char* kLlama3 =
    R"re((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";
// Qwen2: as Llama 3 but every digit on its own.
constexpr const char* kQwen2 =
    R"re((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";
// Tekken (Mistral Nemo): splits camelCase runs (upper* lower+ | upper+ lower*).
constexpr const char* kTekken =
    R"re([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";
// GPT-4o / Llama 4 (o200k): Tekken's case runs plus an optional contraction suffix, digits by 3.
constexpr const char* kGpt4o =
    R"re([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";
// Ling / Bailing MoE: possessive variant of the Qwen2 pattern.
constexpr const char* kBailing =
    R"re('(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+)re";
// Seed-Coder: single digits, symbol runs never swallow newlines.
constexpr const char* kSeedCoder =
    R"re((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+)re";

// DeepSeek LLM (v1/v2): newlines, then runs of cased letters (Lu/Ll/Lt: the explicit range list of the
// original tokenizer.json), ASCII and full-width punctuation, trailing spaces, CJK runs, numbers.
// The letter class is written with \x{...} escapes on purpose: several of its range ends (U+1F7D,
// U+1FD3, U+1FDB, U+2126, U+212A) have singleton canonical decompositions, so any tool that
// NFC-normalizes this file would silently turn e.g. "\x{212A}-\x{212D}" into "K-\x{212D}".
constexpr std::array kDeepseekLlm = {
    "[\r\n]",
    R"re(\s?[A-Za-z\x{B5}\x{C0}-\x{D6}\x{D8}-\x{F6}\x{F8}-\x{1BA}\x{1BC}-\x{1BF}\x{1C4}-\x{293}\x{295}-\x{2AF}\x{370}-\x{373}\x{376}\x{377}\x{37B}-\x{37D}\x{37F}\x{386}\x{388}-\x{38A}\x{38C}\x{38E}-\x{3A1}\x{3A3}-\x{3F5}\x{3F7}-\x{481}\x{48A}-\x{52F}\x{531}-\x{556}\x{10A0}-\x{10C5}\x{13A0}-\x{13F5}\x{13F8}-\x{13FD}\x{1C90}-\x{1CBA}\x{1CBD}-\x{1CBF}\x{1D00}-\x{1D2B}\x{1D6B}-\x{1D77}\x{1D79}-\x{1D9A}\x{1E00}-\x{1F15}\x{1F18}-\x{1F1D}\x{1F20}-\x{1F45}\x{1F48}-\x{1F4D}\x{1F50}-\x{1F57}\x{1F59}\x{1F5B}\x{1F5D}\x{1F5F}-\x{1F7D}\x{1F80}-\x{1FB4}\x{1FB6}-\x{1FBC}\x{1FBE}\x{1FC2}-\x{1FC4}\x{1FC6}-\x{1FCC}\x{1FD0}-\x{1FD3}\x{1FD6}-\x{1FDB}\x{1FE0}-\x{1FEC}\x{1FF2}-\x{1FF4}\x{1FF6}-\x{1FFC}\x{2102}\x{2107}\x{210A}-\x{2113}\x{2115}\x{2119}-\x{211D}\x{2124}\x{2126}\x{2128}\x{212A}-\x{212D}\x{212F}-\x{2134}\x{2139}\x{213C}-\x{213F}\x{2145}-\x{2149}\x{214E}\x{2183}\x{2184}\x{2C00}-\x{2C7B}\x{2C7E}-\x{2CE4}\x{2CEB}-\x{2CEE}\x{2CF2}\x{2CF3}\x{A640}-\x{A66D}\x{A680}-\x{A69B}\x{A722}-\x{A76F}\x{A771}-\x{A787}\x{A78B}-\x{A78E}\x{AB70}-\x{ABBF}\x{FB00}-\x{FB06}\x{FB13}-\x{FB17}\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A}\x{10400}-\x{1044F}\x{104B0}-\x{104D3}\x{104D8}-\x{104FB}\x{10C80}-\x{10CB2}\x{10CC0}-\x{10CF2}\x{118A0}-\x{118DF}\x{1E900}-\x{1E943}]+)re",
    R"re(\s?[!-/:-~！-／：-～‘-‟　-。]+)re",
    R"re(\s+$)re",
    R"re([一-龥ࠀ-一가-퟿]+)re",
    R"re(\p{N}+)re",
};
constexpr std::array kDeepseekCoder = {
    "[\r\n]", R"re(\s?\p{L}+)re", R"re(\s?\p{P}+)re", R"re([一-龥ࠀ-一가-퟿]+)re", R"re(\p{N})re",
};
// DeepSeek V3 / R1: digits by 3, CJK + kana runs, then a punctuation-aware GPT-style pattern.
constexpr std::array kDeepseek3 = {
    R"re(\p{N}{1,3})re",
    R"re([一-龥぀-ゟ゠-ヿ]+)re",
    R"re([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re",
};
constexpr std::array kFalcon = {
    R"re([\p{P}\$\+<=>\^~\|`]+)re",
    R"re('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))re",
    R"re([0-9][0-9][0-9])re",
};
// StarCoder, Refact, Command-R, SmolLM, ...: every digit isolated, then GPT-2.
constexpr std::array kStarcoder = {R"re(\p{N})re", kGpt2};
// BLOOM, Poro, GPT-3 Finnish: runs of anything but whitespace and a few punctuation marks.
constexpr const char* kBloom = R"re( ?[^(\s|.,!?…。，、।۔،)]+)re";
constexpr std::array kViking = {kBloom, R"re(\p{N})re"};
constexpr std::array kChameleon = {
    R"re(<sentinel:[0-9]+>)re",
    R"re((IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z)re",
    R"re(([\t\n]|    |  ))re",
    R"re(\p{N})re",
    R"re([\p{P}!-/:-@\[-`{-~])re",
    R"re('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))re",
};
// llama.cpp's fallback for BPE vocabs without a known pre-tokenizer.
constexpr std::array kDefault = {
    R"re([\p{P}\$\+<=>\^~\|]+)re",
    R"re('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))re",
    R"re(\p{N}+)re",
    R"re([0-9][0-9][0-9])re",
};

struct Family {
  std::vector<const char*> names;  // tokenizer.ggml.pre values
  std::vector<const char*> regexes;
  bool ignore_merges = false;
  bool add_bos = false;
};

template <size_t N>
std::vector<const char*> seq(const std::array<const char*, N>& a) {
  return std::vector<const char*>(a.begin(), a.end());
}

// Name -> regex sequence. The name lists follow llama.cpp's convert_hf_to_gguf_update.py / llama-vocab.
std::vector<Family> families() {
  return {
      {{"default"}, seq(kDefault)},
      {{"gpt-2", "phi-2", "mpt", "olmo", "jais", "jina-es", "jina-de", "jina-v1-en", "jina-v2-es", "jina-v2-de",
        "jina-v2-code", "roberta-bpe", "gigachat", "trillion", "granite-docling", "exaone4", "a.x-4.0", "mellum"},
       {kGpt2}},
      {{"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2"},
       {kLlama3}, /*ignore_merges=*/true, /*add_bos=*/true},
      {{"dbrx", "smaug-bpe", "chatglm-bpe", "glm4"}, {kLlama3}},
      {{"qwen2", "deepseek-r1-qwen", "stablelm2", "megrez", "kormo", "hunyuan", "grok-2"}, {kQwen2}},
      {{"deepseek-llm"}, seq(kDeepseekLlm)},
      {{"deepseek-coder"}, seq(kDeepseekCoder)},
      {{"deepseek-v3", "hunyuan-dense"}, seq(kDeepseek3)},
      {{"falcon"}, seq(kFalcon)},
      {{"starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b"}, seq(kStarcoder)},
      {{"poro-chat", "bloom", "gpt3-finnish"}, {kBloom}},
      {{"viking"}, seq(kViking)},
      {{"tekken"}, {kTekken}, /*ignore_merges=*/true, /*add_bos=*/true},
      {{"chameleon"}, seq(kChameleon), false, /*add_bos=*/true},
      {{"gpt-4o", "llama4", "minimax-m2"}, {kGpt4o}},
      {{"bailingmoe", "bailingmoe2", "llada-moe"}, {kBailing}},
      {{"seed-coder"}, {kSeedCoder}},
  };
}

// PCRE2's \s (with PCRE2_UCP) still matches U+180E, which left White_Space in Unicode 6.3; the
// reference engines (Oniguruma for Hugging Face) follow White_Space. So \s and \S are spelled out
// as that property: 9-D, 20, 85, A0, 1680, 2000-200A, 2028, 2029, 202F, 205F, 3000.
constexpr std::string_view kWhiteSpace =
    R"re(\t-\r \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000})re";

std::string expand_whitespace(std::string_view pattern) {
  std::string out;
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char e = pattern[++i];
      if (e == 's') {
        out += in_class ? std::string(kWhiteSpace) : "[" + std::string(kWhiteSpace) + "]";
      } else if (e == 'S') {
        MUSE_ASSERT(!in_class);  // no pattern here negates inside a class; [^...\S] would need care
        out += "[^" + std::string(kWhiteSpace) + "]";
      } else {
        out += c;
        out += e;
      }
      continue;
    }
    if (c == '[' && !in_class) {
      in_class = true;
    } else if (c == ']' && in_class) {
      in_class = false;
    }
    out += c;
  }
  return out;
}

}  // namespace

struct PreTokenizer::Regex {
  pcre2_code* code = nullptr;
  ~Regex() { pcre2_code_free(code); }
};

struct SplitScratch::State {
  pcre2_match_data* match = nullptr;
  pcre2_match_context* context = nullptr;
  pcre2_jit_stack* jit_stack = nullptr;
  std::vector<Span> next;  // the pieces being built by one regex pass
  ~State() {
    pcre2_match_data_free(match);
    pcre2_match_context_free(context);
    pcre2_jit_stack_free(jit_stack);
  }
};

SplitScratch::SplitScratch() = default;
SplitScratch::~SplitScratch() = default;

SplitScratch::State& SplitScratch::state() {
  if (!state_) {
    state_ = std::make_unique<State>();
    // 16 capture pairs cover every pattern above (Chameleon's has the most groups, 4).
    state_->match = pcre2_match_data_create(16, nullptr);
    state_->context = pcre2_match_context_create(nullptr);
    // Repeated groups (Chameleon's image tokens) need JIT stack per iteration; 32 KiB grows to 8 MiB.
    state_->jit_stack = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, nullptr);
    if (!state_->match || !state_->context || !state_->jit_stack) {
      fail(ErrorCode::kOutOfRange, "pre-tokenizer: out of memory for the regex match state");
    }
    pcre2_jit_stack_assign(state_->context, nullptr, state_->jit_stack);
  }
  return *state_;
}

PreTokenizer::PreTokenizer(std::string_view name, std::string_view source) {
  const Family* found = nullptr;
  const std::vector<Family> all = families();
  for (const Family& f : all) {
    for (const char* n : f.names) {
      if (name == n) found = &f;
    }
  }
  if (!found) {
    fail(ErrorCode::kUnsupported,
         "{}: tokenizer.ggml.pre = '{}' is not a pre-tokenizer OpenMuse knows (known: {}); a guessed one "
         "would give wrong token ids",
         source, name, fmt::join(known_names(), ", "));
  }
  ignore_merges_ = found->ignore_merges;
  default_add_bos_ = found->add_bos;
  for (const char* original : found->regexes) {
    const std::string pattern = expand_whitespace(original);
    auto regex = std::make_unique<Regex>();
    int err = 0;
    PCRE2_SIZE err_offset = 0;
    regex->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &err, &err_offset, nullptr);
    if (regex->code == nullptr) {
      // The patterns are constants of this file: failing to compile one is a bug here, not bad input.
      PCRE2_UCHAR message[160];
      pcre2_get_error_message(err, message, sizeof(message));
      std::fprintf(stderr, "muse: pre-tokenizer '%s': regex does not compile at offset %zu: %s\n",
                   std::string(name).c_str(), static_cast<size_t>(err_offset), reinterpret_cast<const char*>(message));
      MUSE_ASSERT(regex->code != nullptr);
    }
    pcre2_jit_compile(regex->code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter if JIT is absent
    regexes_.push_back(std::move(regex));
  }
}

PreTokenizer::~PreTokenizer() = default;

std::vector<std::string> PreTokenizer::known_names() {
  std::vector<std::string> names;
  for (const Family& f : families()) {
    for (const char* n : f.names) names.emplace_back(n);
  }
  return names;
}

void PreTokenizer::split(std::string_view text, std::vector<Span>& out, SplitScratch& scratch) const {
  SplitScratch::State& st = scratch.state();
  const size_t first = out.size();
  if (text.empty()) return;
  out.push_back({0, static_cast<uint32_t>(text.size())});
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  for (const auto& regex : regexes_) {
    st.next.clear();
    for (size_t p = first; p < out.size(); ++p) {
      const Span piece = out[p];
      const unsigned char* subject = bytes + piece.begin;
      size_t pos = 0, last = 0;
      while (pos < piece.len) {
        const int rc = pcre2_match(regex->code, subject, piece.len, pos, 0, st.match, st.context);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
          PCRE2_UCHAR message[160];
          pcre2_get_error_message(rc, message, sizeof(message));
          fail(ErrorCode::kOutOfRange, "pre-tokenizer regex failed at byte {} of the text: {}", piece.begin + pos,
               reinterpret_cast<const char*>(message));
        }
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(st.match);
        const size_t s = ov[0], e = ov[1];
        if (e == s) {  // an empty match splits nothing; retry one character further on
          pos = s + utf8_char_len(subject + s, piece.len - s);
          continue;
        }
        if (s > last) st.next.push_back({static_cast<uint32_t>(piece.begin + last), static_cast<uint32_t>(s - last)});
        st.next.push_back({static_cast<uint32_t>(piece.begin + s), static_cast<uint32_t>(e - s)});
        last = pos = e;
      }
      if (last < piece.len) {
        st.next.push_back({static_cast<uint32_t>(piece.begin + last), static_cast<uint32_t>(piece.len - last)});
      }
    }
    out.resize(first);
    out.insert(out.end(), st.next.begin(), st.next.end());
  }
}

}  // namespace muse::text::detail
