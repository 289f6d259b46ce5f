// Tokenizer: encoding (special-token split, then the per-kind encoder), decoding and streaming.
// Construction lives in tokenizer_vocab.cpp.
#include "text/tokenizer.h"

#include <cctype>
#include <limits>

#include "core/error.h"
#include "text/tokenizer_impl.h"
#include "text/tokenizer_unicode.h"

namespace muse::text {

using detail::Utf8Step;
using detail::kSpmSpace;
using detail::utf8_step;

// ---------------------------------------------------------------------------------------------------------
// Encoding

namespace {

struct Fragment {
  int32_t token;  // >= 0: a special token; -1: raw text [begin, begin + len)
  uint32_t begin, len;
};

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

// Cuts `text` into raw-text fragments and special tokens, leftmost-longest.
void partition(const Tokenizer::Impl& t, std::string_view text, bool parse_special, std::vector<Fragment>& out) {
  auto allowed = [&](int32_t id) { return parse_special || t.types[id] == TokenType::kUserDefined; };
  size_t raw_begin = 0, pos = 0;
  const size_t n = text.size();
  if (!t.special.empty()) {
    while (pos < n) {
      if (!t.special.may_start(static_cast<unsigned char>(text[pos]))) {
        ++pos;
        continue;
      }
      const auto [id, len] = t.special.longest(text.substr(pos), allowed);
      if (id < 0) {
        ++pos;
        continue;
      }
      size_t raw_end = pos;
      if (t.flags[id] & detail::kFlagLstrip) {
        while (raw_end > raw_begin && is_space(text[raw_end - 1])) --raw_end;
      }
      if (raw_end > raw_begin) out.push_back({-1, static_cast<uint32_t>(raw_begin), static_cast<uint32_t>(raw_end - raw_begin)});
      out.push_back({id, static_cast<uint32_t>(pos), static_cast<uint32_t>(len)});
      pos += len;
      if (t.flags[id] & detail::kFlagRstrip) {
        while (pos < n && is_space(text[pos])) ++pos;
      }
      raw_begin = pos;
    }
  }
  if (raw_begin < n) out.push_back({-1, static_cast<uint32_t>(raw_begin), static_cast<uint32_t>(n - raw_begin)});
}

}  // namespace

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
  const Impl& t = *impl_;
  if (text.size() >= static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    fail(ErrorCode::kOutOfRange, "text of {} bytes is too long to tokenize (limit 2 GiB)", text.size());
  }
  std::vector<Fragment> fragments;
  partition(t, text, parse_special, fragments);

  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  if (add_special && t.add_bos && t.bos >= 0) out.push_back(t.bos);
  switch (t.kind) {
    case TokenizerKind::kSpm: {
      // The dummy prefix goes in front of the text and after every special token, as llama.cpp does.
      bool after_special = true;
      std::string escaped;
      for (const Fragment& f : fragments) {
        if (f.token >= 0) {
          out.push_back(f.token);
          after_special = true;
          continue;
        }
        escaped.clear();
        if (t.add_space_prefix && after_special) escaped.append(kSpmSpace);
        for (char c : text.substr(f.begin, f.len)) {
          if (c == ' ') {
            escaped.append(kSpmSpace);
          } else {
            escaped += c;
          }
        }
        detail::PieceCache cache;  // its keys point into `escaped`: one per fragment
        detail::spm_encode(t, escaped, out, cache);
        after_special = false;
      }
      break;
    }
    case TokenizerKind::kBpe: {
      detail::BpeScratch scratch;
      for (const Fragment& f : fragments) {
        if (f.token >= 0) {
          out.push_back(f.token);
        } else {
          detail::bpe_encode(t, text.substr(f.begin, f.len), out, scratch);
        }
      }
      break;
    }
    case TokenizerKind::kWordPiece:
      for (const Fragment& f : fragments) {
        if (f.token >= 0) {
          out.push_back(f.token);
        } else {
          detail::wpm_encode(t, text.substr(f.begin, f.len), out);
        }
      }
      if (add_special && t.add_sep && t.sep >= 0) out.push_back(t.sep);
      break;
  }
  if (add_special && t.add_eos && t.eos >= 0) out.push_back(t.eos);
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Decoding and queries

namespace {

void check_id(const Tokenizer::Impl& t, int32_t id) {
  if (!t.valid(id)) {
    fail(ErrorCode::kInvalidArgument, "token id {} is out of range (vocabulary of {} tokens)", id, t.tokens.size());
  }
}

bool is_control_type(TokenType type) { return type == TokenType::kControl || type == TokenType::kUnknown; }

// Appends one token's piece; `first` marks the first piece of a text (see Impl::strip_first_space).
void append_piece(const Tokenizer::Impl& t, int32_t id, bool first, std::string& out) {
  std::string_view piece = t.pieces[id];
  if (first && t.strip_first_space && !piece.empty() && piece[0] == ' ') piece.remove_prefix(1);
  out.append(piece);
}

}  // namespace

std::string Tokenizer::token_to_piece(int32_t id) const {
  check_id(*impl_, id);
  return impl_->pieces[id];
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
  const Impl& t = *impl_;
  for (int32_t id : ids) check_id(t, id);
  std::string out;
  bool first = true;
  for (int32_t id : ids) {
    if (skip_special && is_control_type(t.types[id])) continue;
    append_piece(t, id, first, out);
    first = false;
  }
  return out;
}

int32_t Tokenizer::n_vocab() const { return static_cast<int32_t>(impl_->tokens.size()); }
TokenizerKind Tokenizer::kind() const { return impl_->kind; }
const std::string& Tokenizer::pre() const { return impl_->pre_name; }
int32_t Tokenizer::bos() const { return impl_->bos; }
int32_t Tokenizer::eos() const { return impl_->eos; }
int32_t Tokenizer::eot() const { return impl_->eot; }
int32_t Tokenizer::pad() const { return impl_->pad; }
int32_t Tokenizer::unk() const { return impl_->unk; }
int32_t Tokenizer::sep() const { return impl_->sep; }
bool Tokenizer::add_bos() const { return impl_->add_bos; }
bool Tokenizer::add_eos() const { return impl_->add_eos; }
bool Tokenizer::add_space_prefix() const { return impl_->add_space_prefix; }
const std::vector<std::string>& Tokenizer::warnings() const { return impl_->warnings; }

bool Tokenizer::is_eog(int32_t id) const { return impl_->valid(id) && (impl_->flags[id] & detail::kFlagEog); }

bool Tokenizer::is_special(int32_t id) const {
  if (!impl_->valid(id)) return false;
  const TokenType type = impl_->types[id];
  return type == TokenType::kControl || type == TokenType::kUserDefined;
}

bool Tokenizer::is_control(int32_t id) const { return impl_->valid(id) && is_control_type(impl_->types[id]); }

TokenType Tokenizer::token_type(int32_t id) const {
  check_id(*impl_, id);
  return impl_->types[id];
}

std::optional<int32_t> Tokenizer::find_token(std::string_view text) const {
  const int32_t id = impl_->find_id(text);
  if (id < 0) return std::nullopt;
  return id;
}

std::string_view Tokenizer::token_text(int32_t id) const {
  check_id(*impl_, id);
  return impl_->tokens[id];
}

// ---------------------------------------------------------------------------------------------------------
// UTF-8 safe streaming

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Moves the decidable prefix of `bytes` to `out`: complete sequences as they are, invalid subparts as
// U+FFFD. Returns how many bytes were consumed; the rest is an unfinished sequence (at most 3 bytes).
size_t drain_utf8(std::string_view bytes, std::string& out) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t i = 0;
  while (i < bytes.size()) {
    const Utf8Step s = utf8_step(p + i, bytes.size() - i);
    if (s.kind == Utf8Step::kIncomplete) break;
    if (s.kind == Utf8Step::kValid) {
      out.append(bytes.substr(i, s.len));
    } else {
      out.append(kReplacement);
    }
    i += s.len;
  }
  return i;
}

}  // namespace

std::string sanitize_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  if (drain_utf8(bytes, out) < bytes.size()) out.append(kReplacement);
  return out;
}

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer, StreamOptions options)
    : tok_(tokenizer), options_(options) {}

std::string StreamDecoder::push(int32_t id) {
  const Tokenizer::Impl& t = *tok_.impl_;
  check_id(t, id);
  if (options_.skip_special && is_control_type(t.types[id])) return {};
  append_piece(t, id, options_.text_start && first_, pending_);
  first_ = false;
  std::string out;
  pending_.erase(0, drain_utf8(pending_, out));
  return out;
}

std::string StreamDecoder::flush() {
  std::string out = sanitize_utf8(pending_);
  pending_.clear();
  first_ = true;
  return out;
}

}  // namespace muse::text
