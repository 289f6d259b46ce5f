// Building a Tokenizer: validation of the vocabulary, the lookup tables (token index, merge table,
// special-token trie, byte tokens, decoded pieces) and the per-model defaults of llama.cpp.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "text/tokenizer.h"
#include "text/tokenizer_impl.h"
#include "text/tokenizer_unicode.h"

namespace muse::text {

using detail::append_utf8;
using detail::Utf8Step;
using detail::kSpmSpace;
using detail::utf8_step;

// ---------------------------------------------------------------------------------------------------------
// Special-token trie

void detail::SpecialMatcher::add(std::string_view text, int32_t id) {
  MUSE_ASSERT(!text.empty());
  auto new_node = [&] {
    nodes_.emplace_back();
    return static_cast<int32_t>(nodes_.size() - 1);
  };
  int32_t& first = root_[static_cast<unsigned char>(text[0])];
  if (first < 0) first = new_node();
  int32_t node = first;
  for (size_t i = 1; i < text.size(); ++i) {
    const auto b = static_cast<unsigned char>(text[i]);
    int32_t child = -1;
    for (const auto& [byte, c] : nodes_[node].next) {
      if (byte == b) child = c;
    }
    if (child < 0) {
      child = new_node();
      nodes_[node].next.emplace_back(b, child);
    }
    node = child;
  }
  nodes_[node].token = id;
}

void detail::TokenIndex::build(const std::vector<std::string>& tokens) {
  size_t cap = 2;
  while (cap < tokens.size() * 2) cap *= 2;  // load factor <= 1/2
  slots_.assign(cap, Slot{});
  mask_ = cap - 1;
  for (size_t id = 0; id < tokens.size(); ++id) {
    if (tokens[id].empty()) continue;
    const uint64_t h = hash_bytes(tokens[id]);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.id < 0 || (s.hash == h && tokens[s.id] == tokens[id])) {
        s = {h, static_cast<int32_t>(id)};
        break;
      }
    }
  }
}

void detail::MergeTable::reserve(size_t n) {
  size_t cap = 2;
  while (cap < n * 2) cap *= 2;
  slots_.assign(cap, Slot{});
  mask_ = cap - 1;
}

bool detail::MergeTable::insert(uint64_t key, Merge m) {
  MUSE_ASSERT(key != kEmpty);
  for (size_t i = slot_of(key);; i = (i + 1) & mask_) {
    Slot& s = slots_[i];
    if (s.key == key) return false;
    if (s.key == kEmpty) {
      s = {key, m};
      return true;
    }
  }
}

int32_t Tokenizer::Impl::byte_fallback(unsigned char byte) const {
  if (byte_token[byte] >= 0) return byte_token[byte];
  if (unk >= 0) return unk;
  fail(ErrorCode::kInvalidArgument, "{}: the text holds byte 0x{:02X}, which this vocabulary has no token for "
       "(no byte token and no unknown token)", source, byte);
}

// ---------------------------------------------------------------------------------------------------------
// Construction

namespace {

// "<0xNN>" -> NN, or -1.
int parse_byte_token(std::string_view text) {
  if (text.size() != 6 || text.substr(0, 3) != "<0x" || text[5] != '>') return -1;
  auto hex = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  const int hi = hex(text[3]), lo = hex(text[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

std::string replace_all(std::string_view s, std::string_view from, std::string_view to) {
  std::string out;
  for (size_t pos = 0;;) {
    const size_t hit = s.find(from, pos);
    out.append(s.substr(pos, hit == std::string_view::npos ? std::string_view::npos : hit - pos));
    if (hit == std::string_view::npos) return out;
    out.append(to);
    pos = hit + from.size();
  }
}

std::string byte_level_decode(std::string_view text) {
  const auto& tables = detail::byte_level_tables();
  std::string out;
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  for (size_t i = 0; i < text.size();) {
    const Utf8Step s = utf8_step(p + i, text.size() - i);
    if (s.kind != Utf8Step::kValid) {  // not a byte-level character: keep the bytes as they are
      out += text[i++];
      continue;
    }
    if (s.cp < tables.cp_to_byte.size() && tables.cp_to_byte[s.cp] >= 0) {
      out += static_cast<char>(tables.cp_to_byte[s.cp]);
    } else {
      out.append(text.substr(i, s.len));  // a character outside the alphabet stands for itself
    }
    i += s.len;
  }
  return out;
}

// Text of tokens that end a turn or the text, in the order used to pick the EOT token when the file
// does not name one (llama.cpp's list).
constexpr std::string_view kEotTexts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
    "<EOT>", "_<EOT>", "<｜end▁of▁sentence｜>", "<end_of_utterance>",
};
constexpr std::string_view kEogTexts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>",
    "<EOT>", "_<EOT>", "<|end_of_text|>", "<end_of_utterance>",
};

std::string lower_ascii(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;

std::unique_ptr<Tokenizer> Tokenizer::from_vocab(VocabData v) {
  auto t = std::make_unique<Impl>();
  t->source = v.source;
  const std::string& src = v.source;

  if (v.model == "llama") {
    t->kind = TokenizerKind::kSpm;
  } else if (v.model == "gpt2") {
    t->kind = TokenizerKind::kBpe;
  } else if (v.model == "bert") {
    t->kind = TokenizerKind::kWordPiece;
  } else if (v.model.empty()) {
    fail(ErrorCode::kNotFound, "{}: tokenizer.ggml.model is missing", src);
  } else {
    fail(ErrorCode::kUnsupported, "{}: tokenizer.ggml.model = '{}' is not supported (supported: llama, gpt2, bert)",
         src, v.model);
  }

  const size_t n = v.tokens.size();
  if (n == 0) fail(ErrorCode::kNotFound, "{}: tokenizer.ggml.tokens is missing or empty", src);
  if (n >= static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    fail(ErrorCode::kCorruption, "{}: tokenizer.ggml.tokens has {} entries, more than an int32 id can name", src, n);
  }
  if (!v.scores.empty() && v.scores.size() != n) {
    fail(ErrorCode::kCorruption, "{}: tokenizer.ggml.scores has {} entries but tokenizer.ggml.tokens has {}", src,
         v.scores.size(), n);
  }
  if (!v.types.empty() && v.types.size() != n) {
    fail(ErrorCode::kCorruption, "{}: tokenizer.ggml.token_type has {} entries but tokenizer.ggml.tokens has {}",
         src, v.types.size(), n);
  }
  t->tokens = std::move(v.tokens);
  t->scores = v.scores.empty() ? std::vector<float>(n, 0.0f) : std::move(v.scores);
  t->types.resize(n, TokenType::kNormal);
  for (size_t i = 0; i < n; ++i) {
    if (std::isnan(t->scores[i])) fail(ErrorCode::kCorruption, "{}: tokenizer.ggml.scores[{}] is NaN", src, i);
    if (!v.types.empty()) {
      if (v.types[i] < 0 || v.types[i] > 6) {
        fail(ErrorCode::kCorruption, "{}: tokenizer.ggml.token_type[{}] = {} is not a token type (0..6)", src, i,
             v.types[i]);
      }
      t->types[i] = static_cast<TokenType>(v.types[i]);
    }
  }
  t->index.build(t->tokens);

  // Special ids: the file's value if it names a token, else the llama.cpp default for the model kind.
  auto resolve = [&](const std::optional<int64_t>& value, const char* key, int32_t def) -> int32_t {
    if (def >= static_cast<int64_t>(n)) def = -1;
    if (!value) return def;
    if (*value == -1) return -1;  // the file says explicitly that there is no such token
    if (*value < 0 || *value >= static_cast<int64_t>(n)) {
      t->warnings.push_back(fmt::format("tokenizer.ggml.{} = {} is not a token id (vocabulary of {}); using {}",
                                        key, *value, n, def));
      return def;
    }
    return static_cast<int32_t>(*value);
  };
  const bool spm = t->kind == TokenizerKind::kSpm, wpm = t->kind == TokenizerKind::kWordPiece;
  t->bos = resolve(v.bos, "bos_token_id", spm ? 1 : -1);
  if (wpm) t->bos = resolve(v.cls, "cls_token_id", t->bos >= 0 ? t->bos : 101);
  t->eos = resolve(v.eos, "eos_token_id", spm ? 2 : -1);
  t->eot = resolve(v.eot, "eot_token_id", -1);
  t->eom = resolve(v.eom, "eom_token_id", -1);
  t->unk = resolve(v.unk, "unknown_token_id", spm ? 0 : wpm ? 100 : -1);
  t->sep = resolve(v.sep, "seperator_token_id", wpm ? 102 : -1);
  t->pad = resolve(v.pad, "padding_token_id", wpm ? 0 : -1);
  resolve(v.mask, "mask_token_id", -1);
  resolve(v.fim_pre, "fim_pre_token_id", -1);
  resolve(v.fim_suf, "fim_suf_token_id", -1);
  resolve(v.fim_mid, "fim_mid_token_id", -1);
  const int32_t fim_pad = resolve(v.fim_pad, "fim_pad_token_id", -1);
  const int32_t fim_rep = resolve(v.fim_rep, "fim_rep_token_id", -1);
  const int32_t fim_sep = resolve(v.fim_sep, "fim_sep_token_id", -1);

  // Pre-tokenizer and flag defaults per kind (llama.cpp's), then the file's flags.
  if (t->kind == TokenizerKind::kBpe) {
    if (!v.pre) t->warnings.push_back("tokenizer.ggml.pre is missing; using the 'default' pre-tokenizer");
    t->pre_name = v.pre.value_or("default");
    t->pretokenizer = std::make_unique<detail::PreTokenizer>(t->pre_name, src);
    t->ignore_merges = t->pretokenizer->ignore_merges();
    t->add_bos = t->pretokenizer->default_add_bos();
  } else {
    t->add_bos = true;
    t->add_space_prefix = spm;
    t->add_sep = wpm;
  }
  if (v.add_bos) t->add_bos = *v.add_bos;
  if (v.add_eos) t->add_eos = *v.add_eos;
  if (v.add_space_prefix) t->add_space_prefix = *v.add_space_prefix && spm;
  t->strip_first_space = t->add_space_prefix || wpm;

  // End of turn / generation, found by text when the file does not say (as llama.cpp). A token that ends
  // generation is a control token even if the file says otherwise: it must never come from user text.
  auto find = [&](std::string_view text) { return t->find_id(text); };
  std::vector<int32_t> by_text;  // tokens recognised by their text rather than named by a key
  if (t->eot < 0) {
    for (std::string_view text : kEotTexts) {
      if ((t->eot = find(text)) >= 0) break;
    }
    by_text.push_back(t->eot);
  }
  if (t->eom < 0) by_text.push_back(t->eom = find("<|eom_id|>"));
  for (std::string_view text : kEogTexts) by_text.push_back(find(text));
  if (fim_rep < 0) by_text.push_back(find("<|fim_repo|>"));
  if (fim_sep < 0) by_text.push_back(find("<|file_sep|>"));
  if (fim_pad < 0) by_text.push_back(find("<|fim_pad|>"));
  t->flags.assign(n, 0);
  for (int32_t id : {t->eos, t->eot, t->eom, fim_pad, fim_rep, fim_sep}) {
    if (id >= 0) t->flags[id] |= detail::kFlagEog;
  }
  for (int32_t id : by_text) {
    if (id < 0) continue;
    t->flags[id] |= detail::kFlagEog;
    if (t->types[id] != TokenType::kControl) t->types[id] = TokenType::kControl;
  }

  // Per-model whitespace stripping around special tokens (llama.cpp's table; GGUF does not store it).
  const std::string name = lower_ascii(v.name);
  if (t->pre_name.find("jina-v2") != std::string::npos) {
    if (int32_t id = find("<mask>"); id >= 0) t->flags[id] |= detail::kFlagLstrip;
  } else if (name.find("phi-3") != std::string::npos || name.find("phi3") != std::string::npos) {
    for (size_t i = 0; i < n; ++i) {
      const TokenType type = t->types[i];
      if (type == TokenType::kControl || type == TokenType::kUserDefined || type == TokenType::kUnknown) {
        t->flags[i] |= detail::kFlagRstrip;
      }
    }
    if (int32_t id = find("</s>"); id >= 0) t->flags[id] |= detail::kFlagRstrip;
    for (std::string_view text : {"<unk>", "<s>", "<|endoftext|>"}) {
      if (int32_t id = find(text); id >= 0) t->flags[id] &= static_cast<uint8_t>(~detail::kFlagRstrip);
    }
  }

  // Special-token texts to look for in the raw text, and the bytes each token decodes to.
  t->pieces.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const std::string& text = t->tokens[i];
    const TokenType type = t->types[i];
    switch (type) {
      case TokenType::kControl:
      case TokenType::kUnknown:
      case TokenType::kUserDefined:
        if (!text.empty()) t->special.add(text, t->find_id(text));
        t->pieces[i] = text;
        break;
      case TokenType::kUnused:
        break;  // unused slots stand for nothing
      case TokenType::kByte:
        if (int b = parse_byte_token(text); b >= 0) {
          t->pieces[i] = std::string(1, static_cast<char>(b));
        } else {
          t->pieces[i] = text;
        }
        break;
      case TokenType::kNormal:
      case TokenType::kUndefined:
        t->pieces[i] = t->kind == TokenizerKind::kBpe ? byte_level_decode(text) : replace_all(text, kSpmSpace, " ");
        t->flags[i] |= detail::kFlagMergeable;
        break;
    }
    if (type == TokenType::kUserDefined) t->flags[i] |= detail::kFlagMergeable;
  }

  t->byte_token.fill(-1);
  switch (t->kind) {
    case TokenizerKind::kSpm:
      for (size_t i = 0; i < n; ++i) {
        if (!(t->flags[i] & detail::kFlagMergeable)) continue;
        const std::string& text = t->tokens[i];
        const auto* p = reinterpret_cast<const unsigned char*>(text.data());
        uint32_t prev = ~0u;  // code point of the previous character; invalid bytes as 0x110000 + byte
        for (size_t k = 0; k < text.size();) {
          const Utf8Step st = utf8_step(p + k, text.size() - k);
          const uint32_t cp = st.kind == Utf8Step::kValid ? st.cp : 0x110000 + p[k];
          if (cp == 0x2581 && prev != ~0u) t->spm_joins_space.push_back(prev);
          prev = cp;
          k += st.kind == Utf8Step::kValid ? st.len : 1;
        }
      }
      std::sort(t->spm_joins_space.begin(), t->spm_joins_space.end());
      t->spm_joins_space.erase(std::unique(t->spm_joins_space.begin(), t->spm_joins_space.end()),
                               t->spm_joins_space.end());
      for (int b = 0; b < 256; ++b) {
        int32_t id = find(fmt::format("<0x{:02X}>", b));
        if (id < 0) id = find(std::string(1, static_cast<char>(b)));  // llama.cpp's second choice
        t->byte_token[b] = id;
      }
      break;
    case TokenizerKind::kBpe: {
      const auto& tables = detail::byte_level_tables();
      std::string not_normal;
      for (int b = 0; b < 256; ++b) {
        std::string ch;
        append_utf8(ch, tables.byte_to_cp[b]);
        t->byte_token[b] = find(ch);
        if (t->byte_token[b] >= 0 && t->types[t->byte_token[b]] != TokenType::kNormal) {
          not_normal += fmt::format(" {:02X}", b);
        }
      }
      // deepseek-coder lacks normal tokens for the bytes that never occur in valid UTF-8 (C0 C1 F5..FF)
      // and carries them as added tokens ("õ" ...), which decode to their text, not to the byte.
      if (!not_normal.empty()) {
        t->warnings.push_back(fmt::format("bytes{} are spelled by user-defined tokens, so invalid UTF-8 holding "
                                          "them does not decode back to the same bytes", not_normal));
      }
      if (v.merges.empty()) {
        fail(ErrorCode::kNotFound, "{}: tokenizer.ggml.merges is missing; a gpt2 (BPE) vocabulary needs it", src);
      }
      size_t dropped = 0;
      t->merges.reserve(v.merges.size());
      for (size_t r = 0; r < v.merges.size(); ++r) {
        const std::string& m = v.merges[r];
        // Split at the first space after the first byte: the left side may itself be a space.
        const size_t space = m.size() > 1 ? m.find(' ', 1) : std::string::npos;
        if (space == std::string::npos) {
          fail(ErrorCode::kCorruption, "{}: tokenizer.ggml.merges[{}] = '{}' is not 'left right'", src, r, m);
        }
        const std::string_view left(m.data(), space), right(m.data() + space + 1, m.size() - space - 1);
        const int32_t l = find(left), rt = find(right);
        const int32_t result = find(std::string(left) + std::string(right));
        if (l < 0 || rt < 0 || result < 0) {
          ++dropped;
          continue;
        }
        t->merges.insert(detail::merge_key(l, rt), detail::Merge{static_cast<int32_t>(r), result});
      }
      if (dropped > 0) {
        t->warnings.push_back(fmt::format("{} of {} merges name pieces that are not tokens and were ignored", dropped,
                                          v.merges.size()));
      }
      break;
    }
    case TokenizerKind::kWordPiece:
      if (t->unk < 0) fail(ErrorCode::kNotFound, "{}: a bert (WordPiece) vocabulary needs an unknown token", src);
      for (const std::string& tok : t->tokens) t->max_token_len = std::max(t->max_token_len, tok.size());
      break;
  }
  int missing = 0;
  for (int b = 0; b < 256; ++b) missing += t->byte_token[b] < 0;
  if (missing > 0 && t->kind != TokenizerKind::kWordPiece) {
    t->warnings.push_back(fmt::format("{} of 256 bytes have no byte token; text holding them encodes as {}", missing,
                                      t->unk >= 0 ? "the unknown token" : "an error"));
  }
  return std::unique_ptr<Tokenizer>(new Tokenizer(std::move(t)));
}

}  // namespace muse::text
