// libFuzzer target: parse and render arbitrary template text with a fixed conversation.
// Any input may fail with muse::text::TemplateError; nothing else may happen (no crash, no other
// exception, no hang: the render limits below keep every input to milliseconds).
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "text/chat_template.h"

namespace {

const nlohmann::ordered_json& variables() {
  static const nlohmann::ordered_json vars = nlohmann::ordered_json::parse(R"({
    "messages": [
      {"role": "system", "content": "You are helpful."},
      {"role": "user", "content": "What is 2+2? <think>x</think>"},
      {"role": "assistant", "content": null, "tool_calls": [{"id": "call00001", "type": "function",
        "function": {"name": "calc", "arguments": {"expr": "2+2", "n": [1, 2.5, true, null]}}}]},
      {"role": "tool", "tool_call_id": "call00001", "name": "calc", "content": "4"},
      {"role": "user", "content": [{"type": "text", "text": "thanks ✓"}]}
    ],
    "tools": [{"type": "function", "function": {"name": "calc", "description": "Evaluate",
      "parameters": {"type": "object", "properties": {"expr": {"type": "string"}}, "required": ["expr"]}}}],
    "add_generation_prompt": true, "bos_token": "<s>", "eos_token": "</s>", "enable_thinking": false
  })");
  return vars;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;  // long inputs only slow the search down; the limits are tested elsewhere
  const std::string source(reinterpret_cast<const char*>(data), size);
  muse::text::RenderOptions options;
  options.clock = muse::text::fixed_clock(2026, 4, 8);
  options.max_output_bytes = 1 << 20;
  options.max_steps = 200000;
  options.max_call_depth = 30;
  try {
    const auto tmpl = muse::text::ChatTemplate::parse(source, "fuzz");
    (void)tmpl.render(variables(), options);
  } catch (const muse::text::TemplateError&) {
  }
  return 0;
}
