// Built-in chat templates (Jinja sources) for models whose GGUF carries no tokenizer.chat_template,
// and the rule that picks one from the model's metadata. Declared in chat_template.h.
#include <algorithm>
#include <array>

#include "text/chat_template.h"

namespace muse::text {

namespace {

// Message content may be a string or a list of {"type": "text", "text": ...} parts.
#define MUSE_TEXT_MACRO                                                                                  \
  "{%- macro text(c) %}{% if c is string %}{{ c }}{% elif c is iterable and c is not mapping %}"        \
  "{% for p in c %}{% if p is mapping and p.type == 'text' %}{{ p.text }}{% endif %}{% endfor %}"        \
  "{% elif c is not none %}{{ c }}{% endif %}{% endmacro %}\n"

// The system turn, when first, goes to `system`; the rest of the conversation to `turns`.
#define MUSE_SPLIT_SYSTEM                                                                               \
  "{%- if messages and messages[0].role == 'system' %}{% set system = text(messages[0].content) %}"     \
  "{% set turns = messages[1:] %}{% else %}{% set system = '' %}{% set turns = messages %}{% endif %}\n"

constexpr std::string_view kChatml = MUSE_TEXT_MACRO
    "{%- for message in messages %}\n"
    "{{- '<|im_start|>' + message.role + '\\n' + text(message.content) + '<|im_end|>\\n' }}\n"
    "{%- endfor %}\n"
    "{%- if add_generation_prompt %}\n"
    "{{- '<|im_start|>assistant\\n' }}\n"
    "{%- endif %}\n";

constexpr std::string_view kLlama3 = MUSE_TEXT_MACRO
    "{{- bos_token }}\n"
    "{%- for message in messages %}\n"
    "{{- '<|start_header_id|>' + message.role + '<|end_header_id|>\\n\\n' + text(message.content)|trim + "
    "'<|eot_id|>' }}\n"
    "{%- endfor %}\n"
    "{%- if add_generation_prompt %}\n"
    "{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}\n"
    "{%- endif %}\n";

constexpr std::string_view kLlama2 = MUSE_TEXT_MACRO MUSE_SPLIT_SYSTEM
    "{%- for message in turns %}\n"
    "  {%- if message.role == 'user' %}\n"
    "    {%- set body = text(message.content)|trim %}\n"
    "    {%- if loop.first and system %}{% set body = '<<SYS>>\\n' + system|trim + '\\n<</SYS>>\\n\\n' + body %}"
    "{% endif %}\n"
    "    {{- bos_token + '[INST] ' + body + ' [/INST]' }}\n"
    "  {%- elif message.role == 'assistant' %}\n"
    "    {{- ' ' + text(message.content)|trim + ' ' + eos_token }}\n"
    "  {%- endif %}\n"
    "{%- endfor %}\n";

constexpr std::string_view kMistral = MUSE_TEXT_MACRO MUSE_SPLIT_SYSTEM
    "{{- bos_token }}\n"
    "{%- for message in turns %}\n"
    "  {%- if message.role == 'user' %}\n"
    "    {%- set body = text(message.content) %}\n"
    "    {%- if loop.first and system %}{% set body = system + '\\n\\n' + body %}{% endif %}\n"
    "    {{- '[INST] ' + body + ' [/INST]' }}\n"
    "  {%- elif message.role == 'assistant' %}\n"
    "    {{- ' ' + text(message.content) + eos_token }}\n"
    "  {%- endif %}\n"
    "{%- endfor %}\n";

constexpr std::string_view kZephyr = MUSE_TEXT_MACRO
    "{%- for message in messages %}\n"
    "{{- '<|' + message.role + '|>\\n' + text(message.content) + eos_token + '\\n' }}\n"
    "{%- endfor %}\n"
    "{%- if add_generation_prompt %}\n"
    "{{- '<|assistant|>\\n' }}\n"
    "{%- endif %}\n";

constexpr std::string_view kPhi3 = MUSE_TEXT_MACRO
    "{%- for message in messages %}\n"
    "{{- '<|' + message.role + '|>\\n' + text(message.content) + '<|end|>\\n' }}\n"
    "{%- endfor %}\n"
    "{%- if add_generation_prompt %}\n"
    "{{- '<|assistant|>\\n' }}\n"
    "{%- else %}\n"
    "{{- eos_token }}\n"
    "{%- endif %}\n";

constexpr std::string_view kGemma = MUSE_TEXT_MACRO MUSE_SPLIT_SYSTEM
    "{{- bos_token }}\n"
    "{%- for message in turns %}\n"
    "  {%- set role = 'model' if message.role == 'assistant' else message.role %}\n"
    "  {%- set prefix = system + '\\n\\n' if loop.first and system else '' %}\n"
    "  {{- '<start_of_turn>' + role + '\\n' + prefix + text(message.content)|trim + '<end_of_turn>\\n' }}\n"
    "{%- endfor %}\n"
    "{%- if add_generation_prompt %}\n"
    "{{- '<start_of_turn>model\\n' }}\n"
    "{%- endif %}\n";

#undef MUSE_TEXT_MACRO
#undef MUSE_SPLIT_SYSTEM

struct Builtin {
  std::string_view name;
  std::string_view source;
};

constexpr std::array<Builtin, 7> kBuiltins = {{
    {"chatml", kChatml},
    {"llama3", kLlama3},
    {"llama2", kLlama2},
    {"mistral", kMistral},
    {"zephyr", kZephyr},
    {"phi3", kPhi3},
    {"gemma", kGemma},
}};

}  // namespace

std::vector<std::string_view> builtin_template_names() {
  std::vector<std::string_view> names;
  for (const auto& b : kBuiltins) names.push_back(b.name);
  return names;
}

std::string_view builtin_template_source(std::string_view name) {
  for (const auto& b : kBuiltins) {
    if (b.name == name) return b.source;
  }
  return {};
}

std::string builtin_template_for(std::string_view arch, std::span<const std::string> tokens) {
  auto has = [&](std::string_view t) { return std::find(tokens.begin(), tokens.end(), t) != tokens.end(); };
  if (has("<|im_start|>")) return "chatml";
  if (has("<|start_header_id|>") && has("<|eot_id|>")) return "llama3";
  if (has("<start_of_turn>")) return "gemma";
  if (has("<|user|>") && has("<|assistant|>")) return has("<|end|>") ? "phi3" : "zephyr";
  if (has("[INST]")) return "mistral";
  if (arch == "llama") return "llama2";
  if (arch == "mistral") return "mistral";
  if (arch.substr(0, 5) == "gemma") return "gemma";
  if (arch == "phi3") return "phi3";
  return "chatml";
}

}  // namespace muse::text
