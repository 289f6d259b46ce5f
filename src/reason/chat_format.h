// ChatFormat: how one model wants a conversation written, and where its thinking block is.
//
// The template is the model's tokenizer.chat_template, or the built-in format text::builtin_template_for
// picks when the GGUF has none. Think tags are found from the vocabulary, not hard-coded per model: the
// first pair of single tokens among the known spellings (<think>/</think>, <thinking>/</thinking>,
// <|begin_of_thought|>/<|end_of_thought|>, <seed:think>/</seed:think>, ◁think▷/◁/think▷,
// <|START_THINKING|>/<|END_THINKING|>), or any vocabulary token "<...think...>" whose closing form
// "</...think...>" is also a token; a pair the template mentions wins over one it does not. A model
// with no pair has no thinking phase (every mode answers directly).
//
// render() writes the prompt for a mode:
//   instant   enable_thinking=false; if the template still leaves a thinking block open (always-thinking
//             models such as DeepSeek-R1 distills), the block is closed right away ("\n</think>\n\n");
//   thinking  enable_thinking=true; if the template does not open the block itself (Qwen3 leaves it to
//             the model), "<think>\n" is appended so the model certainly reasons first.
// A zero thinking budget renders like thinking and then closes the block at once.
//
// Borrows the Tokenizer (it must outlive the ChatFormat). Immutable after construction; render() is
// const and thread-safe. Errors: template errors throw
// text::TemplateError (a muse::Error); bad messages throw kInvalidArgument naming the index.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "text/chat_template.h"
#include "text/tokenizer.h"

namespace muse::gguf {
class File;
}

namespace muse::reason {

struct ThinkTags {
  int32_t open = -1, close = -1;
  std::string open_text, close_text;
  bool available() const { return open >= 0 && close >= 0; }
};

// Finds the think tags of a vocabulary (see above); `template_source` breaks ties.
ThinkTags find_think_tags(const text::Tokenizer& tok, std::string_view template_source);

struct ChatMessage {
  std::string role;  // "system", "user", "assistant", "tool"
  std::string content;
  // assistant: the calls it made, OpenAI-shaped with decoded arguments, as Hugging Face templates expect:
  // [{"id", "type": "function", "function": {"name", "arguments": {...}}}]; null when none.
  nlohmann::json tool_calls = nullptr;
  std::string tool_call_id = {};  // tool: the call this message answers
  std::string name = {};          // tool: the function's name (optional)
};

enum class PromptMode { kInstant, kThinking, kThinkingClosed };

struct RenderedPrompt {
  std::string text;
  std::vector<int32_t> tokens;
  bool thinking = false;  // generation starts inside an open thinking block
};

class ChatFormat {
 public:
  // The model's template (or the built-in fallback) and think tags. `template_override` (a Jinja
  // source) replaces the model's when non-empty.
  ChatFormat(const gguf::File& file, const text::Tokenizer& tok, std::string template_override = "");
  // From parts (tests): an explicit template and the tokenizer's tags.
  ChatFormat(text::ChatTemplate tmpl, const text::Tokenizer& tok);

  // `tools` (an array of OpenAI {"type": "function", "function": {...}} objects; null or empty: none)
  // becomes the template's `tools` variable.
  RenderedPrompt render(const std::vector<ChatMessage>& messages, PromptMode mode,
                        const nlohmann::json& tools = nullptr) const;

  const ThinkTags& tags() const { return tags_; }
  const std::string& template_name() const { return tmpl_.name(); }
  const std::string& template_source() const { return tmpl_.source(); }
  bool builtin_template() const { return builtin_; }
  const text::Tokenizer& tokenizer() const { return tok_; }

 private:
  text::ChatTemplate tmpl_;
  const text::Tokenizer& tok_;
  ThinkTags tags_;
  std::string bos_text_, eos_text_;
  bool builtin_ = false;
};

// Messages from JSON: an array of {"role": str, "content": str}. Throws kInvalidArgument naming the
// index and field of a bad element.
std::vector<ChatMessage> messages_from_json(const nlohmann::json& j);

}  // namespace muse::reason
