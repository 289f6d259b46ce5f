// Tokenizer::from_gguf: reads the tokenizer.* metadata keys (names as llama.cpp writes them) into a
// VocabData; all checking happens in from_vocab.
#include <variant>

#include "core/error.h"
#include "gguf/gguf.h"
#include "text/tokenizer.h"

namespace muse::text {
namespace {

std::optional<int64_t> optional_id(const gguf::File& file, std::string_view key) {
  const gguf::Value* v = file.find(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_integer()) {
    fail(ErrorCode::kCorruption, "{}: metadata key '{}' should be an integer token id, found {}", file.path(), key,
         gguf::value_type_name(v->type));
  }
  if (const auto* u = std::get_if<uint64_t>(&v->data)) {
    // Converters write "no such token" as -1 stored in a u32 (llama2.c's, for one): keep it as -1.
    if (*u == 0xFFFFFFFFull || *u == ~0ull) return -1;
    // A u64 beyond int64 cannot be an id; report it as an impossible one rather than wrap it.
    return *u > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(*u);
  }
  return std::get<int64_t>(v->data);
}

std::optional<bool> optional_bool(const gguf::File& file, std::string_view key) {
  if (!file.has(key)) return std::nullopt;
  return file.get_bool(key);
}

}  // namespace

std::unique_ptr<Tokenizer> Tokenizer::from_gguf(const gguf::File& file) {
  VocabData v;
  v.source = file.path();
  if (!file.has("tokenizer.ggml.model")) {
    fail(ErrorCode::kNotFound, "{}: no tokenizer.ggml.model key: the file has no tokenizer", file.path());
  }
  v.model = file.get_string("tokenizer.ggml.model");
  if (file.has("tokenizer.ggml.pre")) v.pre = file.get_string("tokenizer.ggml.pre");
  v.name = file.get_string_or("general.name", "");
  if (!file.has("tokenizer.ggml.tokens")) {
    fail(ErrorCode::kNotFound, "{}: no tokenizer.ggml.tokens key: the file has no vocabulary", file.path());
  }
  v.tokens = file.get_string_array("tokenizer.ggml.tokens");
  if (file.has("tokenizer.ggml.scores")) v.scores = file.get_f32_array("tokenizer.ggml.scores");
  if (file.has("tokenizer.ggml.token_type")) v.types = file.get_i32_array("tokenizer.ggml.token_type");
  if (file.has("tokenizer.ggml.merges")) v.merges = file.get_string_array("tokenizer.ggml.merges");

  v.bos = optional_id(file, "tokenizer.ggml.bos_token_id");
  v.eos = optional_id(file, "tokenizer.ggml.eos_token_id");
  v.eot = optional_id(file, "tokenizer.ggml.eot_token_id");
  v.eom = optional_id(file, "tokenizer.ggml.eom_token_id");
  v.unk = optional_id(file, "tokenizer.ggml.unknown_token_id");
  v.sep = optional_id(file, "tokenizer.ggml.seperator_token_id");  // sic: llama.cpp's spelling
  v.pad = optional_id(file, "tokenizer.ggml.padding_token_id");
  v.cls = optional_id(file, "tokenizer.ggml.cls_token_id");
  v.mask = optional_id(file, "tokenizer.ggml.mask_token_id");
  v.fim_pre = optional_id(file, "tokenizer.ggml.fim_pre_token_id");
  if (!v.fim_pre) v.fim_pre = optional_id(file, "tokenizer.ggml.prefix_token_id");  // older name
  v.fim_suf = optional_id(file, "tokenizer.ggml.fim_suf_token_id");
  if (!v.fim_suf) v.fim_suf = optional_id(file, "tokenizer.ggml.suffix_token_id");
  v.fim_mid = optional_id(file, "tokenizer.ggml.fim_mid_token_id");
  if (!v.fim_mid) v.fim_mid = optional_id(file, "tokenizer.ggml.middle_token_id");
  v.fim_pad = optional_id(file, "tokenizer.ggml.fim_pad_token_id");
  v.fim_rep = optional_id(file, "tokenizer.ggml.fim_rep_token_id");
  v.fim_sep = optional_id(file, "tokenizer.ggml.fim_sep_token_id");

  v.add_bos = optional_bool(file, "tokenizer.ggml.add_bos_token");
  v.add_eos = optional_bool(file, "tokenizer.ggml.add_eos_token");
  v.add_space_prefix = optional_bool(file, "tokenizer.ggml.add_space_prefix");
  return from_vocab(std::move(v));
}

}  // namespace muse::text
