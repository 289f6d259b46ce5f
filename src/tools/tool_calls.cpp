#include "tools/tool_calls.h"

#include <algorithm>

namespace muse::tools {
namespace {

using json = nlohmann::json;

constexpr std::string_view kHermesOpen = "<tool_call>";
constexpr std::string_view kHermesClose = "</tool_call>";
constexpr std::string_view kMistralOpen = "[TOOL_CALLS]";
constexpr std::string_view kMistralArgs = "[ARGS]";
constexpr std::string_view kPythonTag = "<|python_tag|>";

bool blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Length of the longest suffix of `text` that is a proper prefix of `marker`.
size_t partial_suffix(std::string_view text, std::string_view marker) {
  for (size_t n = std::min(text.size(), marker.size() - 1); n > 0; --n) {
    if (text.substr(text.size() - n) == marker.substr(0, n)) return n;
  }
  return 0;
}

}  // namespace

const char* tool_format_name(ToolFormat f) {
  switch (f) {
    case ToolFormat::kHermes: return "hermes";
    case ToolFormat::kLlama3: return "llama3";
    case ToolFormat::kMistral: return "mistral";
  }
  return "?";
}

ToolFormat detect_tool_format(std::string_view src) {
  if (src.find(kMistralOpen) != std::string_view::npos) return ToolFormat::kMistral;
  if (src.find(kHermesOpen) != std::string_view::npos) return ToolFormat::kHermes;
  if (src.find(kPythonTag) != std::string_view::npos || src.find("<|start_header_id|>") != std::string_view::npos) {
    return ToolFormat::kLlama3;
  }
  return ToolFormat::kHermes;
}

ToolCallParser::ToolCallParser(ToolFormat format, ParserOptions options)
    : format_(format), opt_(std::move(options)), in_think_(opt_.starts_in_reasoning) {}

void ToolCallParser::emit_text(std::string_view text, std::vector<ParseEvent>& out) {
  if (text.empty()) return;
  const ParseEvent::Kind kind = in_think_ ? ParseEvent::kReasoning : ParseEvent::kContent;
  if (!out.empty() && out.back().kind == kind) {
    out.back().text += text;
  } else {
    out.push_back({kind, std::string(text), {}});
  }
}

void ToolCallParser::add_call(const json& obj, std::vector<ParseEvent>& out) {
  ParseEvent ev;
  ev.kind = ParseEvent::kToolCall;
  ev.call.id = "call_" + std::to_string(next_id_++);
  ev.call.name = obj.at("name").get<std::string>();
  ev.call.in_reasoning = in_think_;
  const json* args = nullptr;
  if (obj.contains("arguments")) args = &obj["arguments"];
  if (args == nullptr && obj.contains("parameters")) args = &obj["parameters"];
  if (args != nullptr) {
    if (args->is_string()) {
      json parsed = json::parse(args->get<std::string>(), nullptr, false);
      ev.call.arguments = parsed.is_discarded() ? *args : parsed;
    } else {
      ev.call.arguments = *args;
    }
  }
  out.push_back(std::move(ev));
}

void ToolCallParser::add_error(const std::string& why, std::string_view raw, std::vector<ParseEvent>& out) {
  out.push_back({ParseEvent::kError, why, {}});
  emit_text(raw, out);
}

// Parses a call body ({...} or, for mistral, [{...}, ...]). False when it is not a call.
bool ToolCallParser::try_finish_call(std::string_view body, std::string_view raw, std::vector<ParseEvent>& out) {
  json j = json::parse(body, nullptr, false);
  auto is_call = [](const json& o) { return o.is_object() && o.contains("name") && o["name"].is_string(); };
  if (j.is_discarded()) {
    add_error("tool call: the JSON does not parse", raw, out);
    return false;
  }
  if (j.is_array()) {
    if (j.empty() || !std::all_of(j.begin(), j.end(), is_call)) {
      add_error("tool call: expected a list of {\"name\", \"arguments\"} objects", raw, out);
      return false;
    }
    for (const json& o : j) add_call(o, out);
    return true;
  }
  if (!is_call(j)) {
    add_error("tool call: expected an object with a string \"name\"", raw, out);
    return false;
  }
  add_call(j, out);
  return true;
}

bool ToolCallParser::scan_json(size_t from) {
  if (scan_pos_ < from) scan_pos_ = from;
  for (; scan_pos_ < buf_.size(); ++scan_pos_) {
    const char c = buf_[scan_pos_];
    if (in_string_) {
      if (escaped_) {
        escaped_ = false;
      } else if (c == '\\') {
        escaped_ = true;
      } else if (c == '"') {
        in_string_ = false;
      }
      continue;
    }
    if (c == '"') {
      in_string_ = true;
    } else if (c == '{' || c == '[') {
      ++depth_;
      started_ = true;
    } else if (c == '}' || c == ']') {
      if (--depth_ <= 0 && started_) {
        ++scan_pos_;
        return true;
      }
    }
  }
  return false;
}

void ToolCallParser::push(std::string_view delta, std::vector<ParseEvent>& out) {
  buf_.append(delta);
  for (;;) {
    if (state_ == State::kHermesCall) {
      const size_t p = buf_.find(kHermesClose);
      if (p == std::string::npos) return;
      const std::string raw = std::string(kHermesOpen) + buf_.substr(0, p + kHermesClose.size());
      try_finish_call(buf_.substr(0, p), raw, out);
      buf_.erase(0, p + kHermesClose.size());
      state_ = State::kText;
      continue;
    }
    if (state_ == State::kJson) {
      if (!scan_json(0)) return;
      const std::string body = buf_.substr(0, scan_pos_);
      if (format_ == ToolFormat::kLlama3) {
        json j = json::parse(body, nullptr, false);
        if (!j.is_discarded() && j.is_object() && j.contains("name") && j["name"].is_string() &&
            (j.contains("parameters") || j.contains("arguments"))) {
          add_call(j, out);
          content_started_ = false;  // another call may follow (after ';' or a newline)
        } else {
          emit_text(body, out);  // a JSON answer, not a call
          content_started_ = true;
        }
      } else if (!mistral_name_.empty()) {
        json j = json::parse(body, nullptr, false);
        if (j.is_discarded()) {
          add_error("tool call: the arguments do not parse", std::string(kMistralOpen) + mistral_name_ +
                                                                   std::string(kMistralArgs) + body, out);
        } else {
          add_call(json{{"name", mistral_name_}, {"arguments", j}}, out);
        }
        mistral_name_.clear();
      } else {
        try_finish_call(body, std::string(kMistralOpen) + body, out);
      }
      buf_.erase(0, scan_pos_);
      state_ = State::kText;
      continue;
    }
    if (state_ == State::kMistralName) {
      size_t i = 0;
      while (i < buf_.size() && blank(buf_[i])) ++i;
      if (i == buf_.size()) return;
      if (buf_[i] == '[' || buf_[i] == '{') {
        buf_.erase(0, i);
        state_ = State::kJson;
        scan_pos_ = 0, depth_ = 0, in_string_ = escaped_ = started_ = false;
        continue;
      }
      const size_t p = buf_.find(kMistralArgs);
      if (p == std::string::npos) return;
      mistral_name_ = buf_.substr(i, p - i);
      buf_.erase(0, p + kMistralArgs.size());
      if (mistral_name_.empty()) mistral_name_ = "?";
      state_ = State::kJson;
      scan_pos_ = 0, depth_ = 0, in_string_ = escaped_ = started_ = false;
      continue;
    }

    // kText: llama3 calls are JSON objects at the start of the content.
    if (format_ == ToolFormat::kLlama3 && !in_think_ && !content_started_) {
      size_t i = 0;
      while (i < buf_.size() && (blank(buf_[i]) || (next_id_ > 0 && buf_[i] == ';'))) ++i;
      if (i == buf_.size()) return;  // only blanks so far: wait
      if (buf_[i] == '{') {
        buf_.erase(0, i);
        state_ = State::kJson;
        scan_pos_ = 0, depth_ = 0, in_string_ = escaped_ = started_ = false;
        continue;
      }
      if (buf_.compare(i, kPythonTag.size(), kPythonTag) == 0) {
        buf_.erase(0, i + kPythonTag.size());
        continue;
      }
      if (kPythonTag.substr(0, std::min(kPythonTag.size(), buf_.size() - i)) == std::string_view(buf_).substr(i)) {
        return;  // could still be <|python_tag|>
      }
      content_started_ = true;
    }
    // The earliest marker in the buffer.
    struct Marker {
      std::string_view text;
      int what;  // 0 think open, 1 think close, 2 call open
    };
    std::vector<Marker> markers;
    if (in_think_) {
      markers.push_back({opt_.think_close, 1});
    } else {
      markers.push_back({opt_.think_open, 0});
    }
    if (format_ == ToolFormat::kHermes) markers.push_back({kHermesOpen, 2});
    if (format_ == ToolFormat::kMistral) markers.push_back({kMistralOpen, 2});
    if (format_ == ToolFormat::kLlama3) markers.push_back({kPythonTag, 2});
    size_t best = std::string::npos;
    const Marker* found = nullptr;
    for (const Marker& m : markers) {
      if (m.text.empty()) continue;
      const size_t p = buf_.find(m.text);
      if (p < best) best = p, found = &m;
    }
    if (found == nullptr) {
      size_t hold = 0;
      for (const Marker& m : markers) {
        if (!m.text.empty()) hold = std::max(hold, partial_suffix(buf_, m.text));
      }
      emit_text(std::string_view(buf_).substr(0, buf_.size() - hold), out);
      buf_.erase(0, buf_.size() - hold);
      return;
    }
    emit_text(std::string_view(buf_).substr(0, best), out);
    buf_.erase(0, best + found->text.size());
    switch (found->what) {
      case 0:
        in_think_ = true;
        break;
      case 1:
        in_think_ = false;
        content_started_ = false;
        break;
      default:
        if (format_ == ToolFormat::kHermes) {
          state_ = State::kHermesCall;
        } else if (format_ == ToolFormat::kMistral) {
          state_ = State::kMistralName;
        } else {
          // <|python_tag|> inside text: a JSON call should follow.
          content_started_ = false;
        }
        break;
    }
  }
}

void ToolCallParser::finish(std::vector<ParseEvent>& out) {
  switch (state_) {
    case State::kText:
      emit_text(buf_, out);
      break;
    case State::kHermesCall: {
      const std::string raw = std::string(kHermesOpen) + buf_;
      json j = json::parse(buf_, nullptr, false);
      if (!j.is_discarded()) {
        try_finish_call(buf_, raw, out);  // complete JSON, missing only the closing tag
      } else {
        add_error("tool call: <tool_call> was not closed", raw, out);
      }
      break;
    }
    case State::kJson:
      if (format_ == ToolFormat::kLlama3) {
        emit_text(buf_, out);
      } else {
        add_error("tool call: unterminated [TOOL_CALLS] JSON",
                  std::string(kMistralOpen) + (mistral_name_.empty() ? "" : mistral_name_ + std::string(kMistralArgs)) + buf_,
                  out);
      }
      break;
    case State::kMistralName:
    case State::kMistralArgs:
      add_error("tool call: unterminated [TOOL_CALLS]", std::string(kMistralOpen) + buf_, out);
      break;
  }
  buf_.clear();
  state_ = State::kText;
  mistral_name_.clear();
}

std::vector<ParseEvent> parse_tool_calls(ToolFormat format, std::string_view text, ParserOptions options) {
  ToolCallParser p(format, std::move(options));
  std::vector<ParseEvent> out;
  p.push(text, out);
  p.finish(out);
  return out;
}

std::string format_tool_call(ToolFormat format, const ToolCall& call) {
  switch (format) {
    case ToolFormat::kHermes:
      return std::string(kHermesOpen) + "\n" + json{{"name", call.name}, {"arguments", call.arguments}}.dump() + "\n" +
             std::string(kHermesClose);
    case ToolFormat::kLlama3:
      return json{{"name", call.name}, {"parameters", call.arguments}}.dump();
    case ToolFormat::kMistral:
      return std::string(kMistralOpen) + json::array({json{{"name", call.name}, {"arguments", call.arguments}}}).dump();
  }
  return "";
}

}  // namespace muse::tools
