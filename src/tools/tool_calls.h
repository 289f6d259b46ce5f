// Tool-call parsing: an incremental parser that splits a model's streamed text into content,
// reasoning and tool calls, for the tool-call formats of the supported model families.
//
//   hermes   <tool_call>\n{"name": "f", "arguments": {...}}\n</tool_call>   (Hermes, Qwen 2.5/3, and
//            muse-nano, whose ChatML format uses the same markers; docs/tools.md)
//   llama3   {"name": "f", "parameters": {...}} as the whole reply, optionally after <|python_tag|>;
//            several calls may be separated by ';' or newlines
//   mistral  [TOOL_CALLS][{"name": "f", "arguments": {...}}, ...]  and the v11 form
//            [TOOL_CALLS]f[ARGS]{...}
// The parser also follows <think>...</think>: text inside is reasoning, and a tool call written inside
// the block is still extracted (ToolCall::in_reasoning says so) rather than lost or shown as text.
//
// push() takes deltas split anywhere (inside a marker, inside a UTF-8 sequence, inside the JSON) and
// emits events as soon as they are certain: text that might be the start of a marker is held back
// until the next push or finish(). A call whose JSON does not parse (or lacks a name) becomes a
// kError event followed by its raw text as content, so nothing the model wrote is lost.
//
// One parser per stream; not thread-safe. Never throws.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace muse::tools {

enum class ToolFormat { kHermes, kLlama3, kMistral };
const char* tool_format_name(ToolFormat f);
// From the chat template source: [TOOL_CALLS] -> mistral; <tool_call> -> hermes; <|python_tag|> or
// <|start_header_id|> -> llama3; otherwise hermes (the format OpenMuse teaches its own models).
ToolFormat detect_tool_format(std::string_view template_source);

struct ToolCall {
  std::string id;              // "call_0", "call_1", ... in the order the calls were written
  std::string name;
  nlohmann::json arguments = nlohmann::json::object();  // an object (a string of JSON is decoded)
  bool in_reasoning = false;   // written inside the think block
};

struct ParseEvent {
  enum Kind { kContent, kReasoning, kToolCall, kError };
  Kind kind = kContent;
  std::string text;  // kContent/kReasoning: the text; kError: what was wrong
  ToolCall call;     // kToolCall
};

struct ParserOptions {
  bool starts_in_reasoning = false;  // the prompt left a think block open
  std::string think_open = "<think>", think_close = "</think>";
};

class ToolCallParser {
 public:
  explicit ToolCallParser(ToolFormat format, ParserOptions options = {});

  void push(std::string_view delta, std::vector<ParseEvent>& out);
  // End of stream: flushes held-back text; an unterminated call is parsed if its JSON is complete,
  // else reported as kError + content.
  void finish(std::vector<ParseEvent>& out);

  int calls_seen() const { return next_id_; }

 private:
  enum class State { kText, kHermesCall, kJson, kMistralName, kMistralArgs };
  void emit_text(std::string_view text, std::vector<ParseEvent>& out);
  bool try_finish_call(std::string_view body, std::string_view raw, std::vector<ParseEvent>& out);
  void add_call(const nlohmann::json& obj, std::vector<ParseEvent>& out);
  void add_error(const std::string& why, std::string_view raw, std::vector<ParseEvent>& out);
  bool scan_json(size_t from);  // balanced JSON value complete in buf_[from..)?

  ToolFormat format_;
  ParserOptions opt_;
  State state_ = State::kText;
  bool in_think_ = false;
  bool content_started_ = false;  // llama3: a non-blank content byte was already emitted
  std::string buf_;               // unconsumed input
  std::string mistral_name_;
  int next_id_ = 0;
  // JSON scanner state over buf_ (kJson / kMistralArgs): bytes already scanned, depth, in-string.
  size_t scan_pos_ = 0;
  int depth_ = 0;
  bool in_string_ = false, escaped_ = false, started_ = false;
};

// Whole-text convenience: parse a complete reply.
std::vector<ParseEvent> parse_tool_calls(ToolFormat format, std::string_view text, ParserOptions options = {});

// How a call is written in `format` (what a model of that family would write), for round-trip tests
// and for assistant messages of templates that do not render tool_calls themselves.
std::string format_tool_call(ToolFormat format, const ToolCall& call);

}  // namespace muse::tools
