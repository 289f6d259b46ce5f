// The muse-nano tokenizer and chat template: an SPM-style ("llama") vocabulary built for the task
// language of train::Tasks, and a ChatML template with a thinking switch, both stored in the GGUF so
// the engine's text::Tokenizer and text::ChatTemplate load them like any model's.
//
// Vocabulary, in id order:
//   0 <unk> (unknown), 1 <s> (BOS, control), 2 </s> (EOS, control),
//   3 <|im_start|>, 4 <|im_end|> (control; <|im_end|> is also tokenizer.ggml.eot_token_id: end of a turn),
//   5 <think>, 6 </think> (user-defined: matched in plain text even without parse_special, so the
//     rendered chat text and a model's own output always hold them as single ids),
//   7..262 <0x00>..<0xFF> byte fallback (newline is <0x0A>),
//   263.. '▁' (U+2581, the SPM space) and the 94 printable ASCII characters '!'..'~' (digits stay single
//     characters: arithmetic is learned per digit),
//   then the multi-character pieces: "▁=", "▁+", "▁-", "▁*", "▁(" (a space before an operator), and the most frequent words of the task text, in two forms
//     "▁word" (after a space) and "word" (at a line start or after punctuation), each with its whole
//     prefix chain (▁w, ▁wo, ▁wor, ▁word), so that SPM's pairwise merging can always reach the word.
//   Scores: characters 0, pieces -rank (more frequent words merge first). SPM merges the adjacent pair
//   whose concatenation is a vocabulary piece with the highest score, so a chosen word always ends up
//   as one token (nano_tokenizer_test checks it on every chosen word).
//   Last, for tool use: <tool_call> and </tool_call> (user-defined, like the think tags) and the
//     prefix chains of the words of the tools line and of a calculator call ("calculator",
//     "expression", ...), after the task words so that the task vocabulary's ids do not move.
// The word list is computed from a fixed sample of train-split problems, so the vocabulary is a pure
// function of the task generators (and is frozen into each exported GGUF).
//
// Thread-safety: pure functions. Errors: none beyond std::bad_alloc (inputs are compile-time fixed).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "text/tokenizer.h"

namespace muse::train {

struct NanoVocab {
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<int32_t> types;  // GGUF token types: 1 normal, 2 unknown, 3 control, 4 user-defined, 6 byte
  int32_t unk = 0, bos = 1, eos = 2, im_start = 3, im_end = 4, think_open = 5, think_close = 6;
  int32_t n_pieces = 0;  // multi-character pieces (including prefix-chain pieces)
};

// max_words: how many word forms (before prefix chains) are taken, most frequent first.
NanoVocab build_nano_vocab(int max_words = 240);

// The engine's tokenizer over this vocabulary, configured as the exported GGUF says (SPM, BOS added,
// no dummy prefix, <|im_end|> ends a turn): what training and the CLI encode with.
std::unique_ptr<text::Tokenizer> nano_tokenizer(const NanoVocab& nv);

// The Jinja chat template (ChatML; enable_thinking, default true, opens "<think>\n" after the
// generation prompt; enable_thinking=false writes "<think>\n\n</think>\n\n" so the model answers at once).
// With `tools`, a first system turn lists them compactly, "Tools: calculator(expression)" (name and
// parameter names: the model learned what its tools do in training), and the model calls one as
//   <tool_call>\n{"arguments":{"expression":"12 * 34"},"name":"calculator"}\n</tool_call>
// (tools::format_tool_call's Hermes form); results come back as role "tool" turns. The template does
// not render assistant tool_calls: the server writes earlier calls into the content in that form.
inline constexpr const char* kNanoToolCallOpen = "<tool_call>";
inline constexpr const char* kNanoToolCallClose = "</tool_call>";
const std::string& nano_chat_template();

// Sets tokenizer.ggml.{model,tokens,scores,token_type,bos/eos/eot/unknown ids,add_bos_token,
// add_eos_token,add_space_prefix} and tokenizer.chat_template on `w`.
void add_nano_tokenizer_to_gguf(const NanoVocab& vocab, gguf::Writer& w);

}  // namespace muse::train
