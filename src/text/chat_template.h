// Chat templates: turn a conversation into the prompt text a model was trained on, by rendering the
// model's Jinja `tokenizer.chat_template` exactly as Hugging Face transformers does
// (jinja2 ImmutableSandboxedEnvironment with trim_blocks, lstrip_blocks and loopcontrols; default
// Undefined; transformers' tojson, raise_exception and strftime_now).
//
//   auto tmpl = text::ChatTemplate::parse(gguf->get_string("tokenizer.chat_template"), "model.gguf");
//   nlohmann::ordered_json vars = {{"messages", messages}, {"add_generation_prompt", true},
//                                  {"bos_token", "<s>"}, {"eos_token", "</s>"}};
//   std::string prompt = tmpl.render(vars);
//
// Ownership: a ChatTemplate owns its parsed form (shared, immutable), so copies are cheap.
// Thread-safety: render() is const and may run on many threads at once.
// Errors: parse() and render() throw TemplateError (a muse::Error) whose message reads
// "template NAME line L col C: ..."; raise_exception(msg) in a template surfaces msg verbatim in
// TemplateError::detail(). Hostile templates hit the limits in RenderOptions (output size, steps,
// recursion depth) and fail with ErrorCode::kOutOfRange instead of hanging or exhausting memory.
#pragma once

#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace muse::text {

namespace jinja {
struct Program;
}

class TemplateError : public muse::Error {
 public:
  enum class Kind {
    kSyntax,  // the template does not parse
    kRender,  // rendering failed (TypeError, UndefinedError... as jinja2 would raise)
    kRaised,  // the template called raise_exception(msg)
    kLimit,   // an OpenMuse safety limit was hit
  };

  TemplateError(ErrorCode code, Kind kind, std::string template_name, uint32_t line, uint32_t col,
                std::string python_class, std::string detail);

  Kind kind() const { return kind_; }
  const std::string& template_name() const { return template_name_; }
  uint32_t line() const { return line_; }  // 1-based; 0 when unknown
  uint32_t col() const { return col_; }
  // The Python exception class jinja2 would raise ("TypeError", "UndefinedError", ...).
  const std::string& python_class() const { return python_class_; }
  // The message without the location prefix; for kRaised exactly the template's own text.
  const std::string& detail() const { return detail_; }

 private:
  Kind kind_;
  std::string template_name_;
  uint32_t line_;
  uint32_t col_;
  std::string python_class_;
  std::string detail_;
};

struct RenderOptions {
  // The local time strftime_now() formats. Empty = the machine's current local time (what
  // transformers does); tests pin it with fixed_clock().
  std::function<std::tm()> clock;
  // Largest rendered prompt, and largest string or list built while rendering. Prompts are at
  // most a few MB even for huge contexts; a larger output means a runaway template.
  size_t max_output_bytes = 16u << 20;
  // Evaluation steps before giving up: ~1-2 s of work; real chat templates need a few thousand.
  uint64_t max_steps = 10'000'000;
  // Nested macro calls (recursive macros such as Hermes' json_to_python_type need a few).
  int max_call_depth = 100;
};

// A clock that always reads year-month-day hour:minute:second (local, naive), with the weekday and
// day-of-year filled in so every strftime directive works.
std::function<std::tm()> fixed_clock(int year, int month, int day, int hour = 0, int minute = 0, int second = 0);

class ChatTemplate {
 public:
  // Parses `source`; `name` (a file or model name) is used in error messages.
  // Throws TemplateError(kSyntax) naming the line and column of the problem.
  static ChatTemplate parse(std::string source, std::string name);

  // Renders with `variables` (a JSON object: messages, add_generation_prompt, bos_token, tools...).
  // Object key order is preserved, which tojson output depends on.
  std::string render(const nlohmann::ordered_json& variables, const RenderOptions& options = {}) const;

  const std::string& name() const { return name_; }
  const std::string& source() const { return source_; }

 private:
  ChatTemplate() = default;
  std::string name_;
  std::string source_;
  std::shared_ptr<const jinja::Program> program_;
};

// Built-in templates for models whose GGUF has no tokenizer.chat_template. Each is a Jinja source
// written for OpenMuse that reproduces the family's published prompt format.
//   chatml   <|im_start|>role\n...<|im_end|>\n            (Qwen, Yi, Hermes, most fine-tunes)
//   llama3   <|start_header_id|>role<|end_header_id|>\n\n...<|eot_id|>
//   llama2   <s>[INST] <<SYS>>\n...\n<</SYS>>\n\n... [/INST] ... </s>
//   mistral  <s>[INST] ... [/INST] ...</s>               (system text joined to the first user turn)
//   zephyr   <|role|>\n...</s>\n
//   phi3     <|role|>\n...<|end|>\n
//   gemma    <start_of_turn>user|model\n...<end_of_turn>\n (system text joined to the first user turn)
std::vector<std::string_view> builtin_template_names();
// The source of a built-in template, or an empty view when `name` is not one of them.
std::string_view builtin_template_source(std::string_view name);

// Picks the built-in template for a model from its architecture (general.architecture) and its
// vocabulary (tokenizer.ggml.tokens). The rule, first match wins:
//   1. the vocabulary has the format's own special tokens: <|im_start|> -> chatml;
//      <|start_header_id|> and <|eot_id|> -> llama3; <start_of_turn> -> gemma;
//      <|user|>/<|assistant|> with <|end|> -> phi3, without -> zephyr; [INST] -> mistral;
//   2. otherwise the architecture: llama -> llama2; mistral -> mistral; gemma* -> gemma;
//      phi3 -> phi3; anything else -> chatml.
std::string builtin_template_for(std::string_view arch, std::span<const std::string> tokens);

}  // namespace muse::text
