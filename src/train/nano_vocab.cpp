#include "train/nano_vocab.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "train/tasks.h"

namespace muse::train {

namespace {

constexpr const char* kSpace = "\xE2\x96\x81";  // U+2581, SPM's visible space

// Word forms of the task text with their counts: "▁word" after a space, "word" elsewhere.
std::map<std::string, int64_t> count_words() {
  std::map<std::string, int64_t> counts;
  auto scan = [&](const std::string& s) {
    size_t i = 0;
    while (i < s.size()) {
      if (!std::isalpha(static_cast<unsigned char>(s[i]))) {
        ++i;
        continue;
      }
      size_t j = i;
      while (j < s.size() && std::isalpha(static_cast<unsigned char>(s[j]))) ++j;
      if (j - i >= 2) {
        const bool spaced = i > 0 && s[i - 1] == ' ';
        counts[(spaced ? std::string(kSpace) : std::string()) + s.substr(i, j - i)]++;
      } else if (i > 0 && s[i - 1] == ' ') {
        counts[std::string(kSpace) + s.substr(i, 1)]++;  // "▁a", "▁I": one merge saves a token too
      }
      i = j;
    }
  };
  // A fixed sample: 150 train problems per family at easy and standard (the levels training uses).
  for (Level level : {Level::kEasy, Level::kStandard}) {
    const Difficulty d = difficulty_preset(level);
    for (Family f : kAllFamilies) {
      for (uint64_t seed = 0; seed < 150; ++seed) {
        const Problem p = generate(f, d, seed);
        scan(p.question);
        scan(p.trace);
        scan(p.short_answer);
      }
    }
  }
  return counts;
}

}  // namespace

std::unique_ptr<text::Tokenizer> nano_tokenizer(const NanoVocab& nv) {
  text::VocabData vd;
  vd.source = "muse-nano vocabulary";
  vd.model = "llama";
  vd.tokens = nv.tokens;
  vd.scores = nv.scores;
  vd.types = nv.types;
  vd.unk = nv.unk;
  vd.bos = nv.bos;
  vd.eos = nv.eos;
  vd.eot = nv.im_end;
  vd.add_bos = true;
  vd.add_eos = false;
  vd.add_space_prefix = false;
  return text::Tokenizer::from_vocab(std::move(vd));
}

NanoVocab build_nano_vocab(int max_words) {
  NanoVocab v;
  auto add = [&](std::string text, float score, int32_t type) {
    v.tokens.push_back(std::move(text));
    v.scores.push_back(score);
    v.types.push_back(type);
  };
  add("<unk>", 0.0f, 2);
  add("<s>", 0.0f, 3);
  add("</s>", 0.0f, 3);
  add("<|im_start|>", 0.0f, 3);
  add("<|im_end|>", 0.0f, 3);
  add("<think>", 0.0f, 4);
  add("</think>", 0.0f, 4);
  for (int b = 0; b < 256; ++b) add(fmt::format("<0x{:02X}>", b), 0.0f, 6);
  add(kSpace, 0.0f, 1);
  for (int c = 0x21; c <= 0x7E; ++c) add(std::string(1, static_cast<char>(c)), 0.0f, 1);

  // Rank word forms by the tokens they save: count * (characters - 1); ties by text (deterministic).
  const std::map<std::string, int64_t> counts = count_words();
  std::vector<std::pair<int64_t, std::string>> ranked;
  for (const auto& [w, n] : counts) {
    const bool spaced = w.rfind(kSpace, 0) == 0;
    const int64_t chars = static_cast<int64_t>(w.size()) - (spaced ? 2 : 0);  // '▁' is 3 bytes, 1 char
    ranked.emplace_back(n * (chars - 1), w);
  }
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  if (static_cast<int>(ranked.size()) > max_words) ranked.resize(static_cast<size_t>(max_words));

  std::set<std::string> have(v.tokens.begin(), v.tokens.end());
  float score = -1.0f;
  // A space before an operator ("8 + 8 = 16"): the traces' most frequent two-character sequences.
  for (const char* op : {"=", "+", "-", "*", "("}) {
    add(std::string(kSpace) + op, score, 1);
    have.insert(v.tokens.back());
    score -= 1.0f;
    ++v.n_pieces;
  }
  // A word with its whole prefix chain, each piece new to the vocabulary scored below the last one.
  auto add_word = [&](const std::string& w) {
    const bool spaced = w.rfind(kSpace, 0) == 0;
    const size_t first = spaced ? 4 : 2;  // shortest prefix that is a multi-character piece
    for (size_t len = first; len <= w.size(); ++len) {
      std::string piece = w.substr(0, len);
      if (have.insert(piece).second) {
        add(std::move(piece), score, 1);
        score -= 1.0f;
        ++v.n_pieces;
      }
    }
  };
  for (const auto& [saving, w] : ranked) add_word(w);
  // Tool use (docs/tools.md, muse-nano's format): the call markers as user-defined tokens like the
  // think tags, and the words of the tool line and of a calculator call, appended after everything
  // above so that the ids of the task vocabulary stay as they were.
  for (const char* marker : {kNanoToolCallOpen, kNanoToolCallClose}) {
    if (have.insert(marker).second) add(marker, 0.0f, 4);
  }
  for (const char* w : {"Tools", "calculator", "\xE2\x96\x81" "calculator", "expression", "arguments", "name",
                        "\xE2\x96\x81" "multiplication", "\xE2\x96\x81" "large", "\xE2\x96\x81" "says", "\xE2\x96\x81" "use"}) {
    add_word(w);
  }
  return v;
}

const std::string& nano_chat_template() {
  static const std::string kTemplate =
      "{%- if tools is defined and tools -%}\n"
      "{{- '<|im_start|>system\\nTools:' -}}\n"
      "{%- for tool in tools -%}\n"
      "{%- set fn = tool['function'] if tool['function'] is defined else tool -%}\n"
      "{{- ' ' + fn['name'] + '(' -}}\n"
      "{%- if fn['parameters'] is defined and fn['parameters']['properties'] is defined -%}\n"
      "{{- fn['parameters']['properties'] | list | join(', ') -}}\n"
      "{%- endif -%}\n"
      "{{- ')' -}}\n"
      "{%- endfor -%}\n"
      "{{- '<|im_end|>\\n' -}}\n"
      "{%- endif -%}\n"
      "{%- for message in messages -%}\n"
      "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' -}}\n"
      "{%- endfor -%}\n"
      "{%- if add_generation_prompt -%}\n"
      "{{- '<|im_start|>assistant\\n' -}}\n"
      "{%- if enable_thinking is defined and not enable_thinking -%}\n"
      "{{- '<think>\\n\\n</think>\\n\\n' -}}\n"
      "{%- else -%}\n"
      "{{- '<think>\\n' -}}\n"
      "{%- endif -%}\n"
      "{%- endif -%}\n";
  return kTemplate;
}

void add_nano_tokenizer_to_gguf(const NanoVocab& v, gguf::Writer& w) {
  w.set("general.name", gguf::Value::string("muse-nano"));
  w.set("tokenizer.ggml.model", gguf::Value::string("llama"));
  w.set("tokenizer.ggml.tokens", gguf::Value::string_array(v.tokens));
  w.set("tokenizer.ggml.scores", gguf::Value::f32_array(v.scores));
  w.set("tokenizer.ggml.token_type", gguf::Value::i32_array(v.types));
  w.set("tokenizer.ggml.unknown_token_id", gguf::Value::u32(static_cast<uint32_t>(v.unk)));
  w.set("tokenizer.ggml.bos_token_id", gguf::Value::u32(static_cast<uint32_t>(v.bos)));
  w.set("tokenizer.ggml.eos_token_id", gguf::Value::u32(static_cast<uint32_t>(v.eos)));
  w.set("tokenizer.ggml.eot_token_id", gguf::Value::u32(static_cast<uint32_t>(v.im_end)));
  w.set("tokenizer.ggml.add_bos_token", gguf::Value::boolean(true));
  w.set("tokenizer.ggml.add_eos_token", gguf::Value::boolean(false));
  // No dummy prefix: chat text starts with <|im_start|>, and a space invented after every special
  // token would make training text and the engine's prompts disagree.
  w.set("tokenizer.ggml.add_space_prefix", gguf::Value::boolean(false));
  w.set("tokenizer.chat_template", gguf::Value::string(nano_chat_template()));
}

}  // namespace muse::train
