#include "reason/chat_format.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

#include "core/error.h"
#include "gguf/gguf.h"

namespace muse::reason {
namespace {

constexpr std::array<std::pair<std::string_view, std::string_view>, 6> kKnownTags = {{
    {"<think>", "</think>"},
    {"<thinking>", "</thinking>"},
    {"<|begin_of_thought|>", "<|end_of_thought|>"},
    {"<seed:think>", "</seed:think>"},
    {"\xE2\x97\x81think\xE2\x96\xB7", "\xE2\x97\x81/think\xE2\x96\xB7"},  // ◁think▷ (Kimi)
    {"<|START_THINKING|>", "<|END_THINKING|>"},
}};

bool contains_think(std::string_view s) {
  for (size_t i = 0; i + 5 <= s.size(); ++i) {
    bool eq = true;
    for (size_t k = 0; k < 5 && eq; ++k) eq = std::tolower(static_cast<unsigned char>(s[i + k])) == "think"[k];
    if (eq) return true;
  }
  return false;
}

}  // namespace

ThinkTags find_think_tags(const text::Tokenizer& tok, std::string_view template_source) {
  std::vector<ThinkTags> found;
  auto consider = [&](std::string_view open, std::string_view close) {
    auto o = tok.find_token(open);
    auto c = tok.find_token(close);
    if (!o || !c || *o == *c) return;
    for (const ThinkTags& t : found) {
      if (t.open == *o) return;
    }
    found.push_back({*o, *c, std::string(open), std::string(close)});
  };
  for (const auto& [open, close] : kKnownTags) consider(open, close);
  for (int32_t id = 0; id < tok.n_vocab(); ++id) {
    const std::string_view text = tok.token_text(id);
    if (text.size() < 3 || text.size() > 40 || text[0] != '<' || text[1] == '/' || !contains_think(text)) continue;
    consider(text, "</" + std::string(text.substr(1)));
  }
  if (found.empty()) return {};
  // A pair the template writes is the one the model was trained with.
  for (const ThinkTags& t : found) {
    if (template_source.find(t.open_text) != std::string_view::npos) return t;
  }
  return found.front();
}

namespace {

text::ChatTemplate load_template(const gguf::File& file, std::string source) {
  std::string name = "--chat-template";
  if (source.empty()) {
    source = file.get_string_or("tokenizer.chat_template", "");
    name = file.path() + ": tokenizer.chat_template";
  }
  if (source.empty()) {
    const std::vector<std::string> tokens = file.has("tokenizer.ggml.tokens")
                                                ? file.get_string_array("tokenizer.ggml.tokens")
                                                : std::vector<std::string>{};
    const std::string builtin = text::builtin_template_for(file.get_string_or("general.architecture", ""), tokens);
    source = std::string(text::builtin_template_source(builtin));
    name = "builtin:" + builtin;
  }
  return text::ChatTemplate::parse(std::move(source), std::move(name));
}

}  // namespace

ChatFormat::ChatFormat(const gguf::File& file, const text::Tokenizer& tok, std::string template_override)
    : ChatFormat(load_template(file, std::move(template_override)), tok) {}

ChatFormat::ChatFormat(text::ChatTemplate tmpl, const text::Tokenizer& tok) : tmpl_(std::move(tmpl)), tok_(tok) {
  builtin_ = tmpl_.name().rfind("builtin:", 0) == 0;
  tags_ = find_think_tags(tok_, tmpl_.source());
  bos_text_ = tok_.bos() >= 0 ? std::string(tok_.token_text(tok_.bos())) : "";
  eos_text_ = tok_.eos() >= 0 ? std::string(tok_.token_text(tok_.eos())) : "";
}

RenderedPrompt ChatFormat::render(const std::vector<ChatMessage>& messages, PromptMode mode,
                                  const nlohmann::json& tools) const {
  nlohmann::ordered_json msgs = nlohmann::ordered_json::array();
  for (const ChatMessage& m : messages) {
    nlohmann::ordered_json msg = {{"role", m.role}, {"content", m.content}};
    if (m.tool_calls.is_array() && !m.tool_calls.empty()) msg["tool_calls"] = nlohmann::ordered_json(m.tool_calls);
    if (!m.tool_call_id.empty()) msg["tool_call_id"] = m.tool_call_id;
    if (!m.name.empty()) msg["name"] = m.name;
    msgs.push_back(std::move(msg));
  }
  nlohmann::ordered_json vars = {{"messages", std::move(msgs)},
                                 {"add_generation_prompt", true},
                                 {"bos_token", bos_text_},
                                 {"eos_token", eos_text_},
                                 {"enable_thinking", mode != PromptMode::kInstant}};
  if (tools.is_array() && !tools.empty()) vars["tools"] = nlohmann::ordered_json(tools);
  RenderedPrompt out;
  out.text = tmpl_.render(vars);
  if (tags_.available()) {
    const size_t open_at = out.text.rfind(tags_.open_text);
    const bool open = open_at != std::string::npos && out.text.find(tags_.close_text, open_at) == std::string::npos;
    if (mode == PromptMode::kInstant) {
      if (open) out.text += "\n" + tags_.close_text + "\n\n";
    } else {
      if (!open) out.text += tags_.open_text + "\n";
      out.thinking = true;
      if (mode == PromptMode::kThinkingClosed) {
        out.text += "\n" + tags_.close_text + "\n\n";
        out.thinking = false;
      }
    }
  }
  out.tokens = tok_.encode(out.text, /*add_special=*/false, /*parse_special=*/true);
  if (tok_.add_bos() && tok_.bos() >= 0 && (out.tokens.empty() || out.tokens.front() != tok_.bos())) {
    out.tokens.insert(out.tokens.begin(), tok_.bos());
  }
  return out;
}

std::vector<ChatMessage> messages_from_json(const nlohmann::json& j) {
  if (!j.is_array()) fail(ErrorCode::kInvalidArgument, "messages: expected a JSON array of {{role, content}} objects");
  std::vector<ChatMessage> out;
  for (size_t i = 0; i < j.size(); ++i) {
    const auto& m = j[i];
    if (!m.is_object()) fail(ErrorCode::kInvalidArgument, "messages[{}]: expected an object", i);
    for (const char* key : {"role", "content"}) {
      if (!m.contains(key) || !m[key].is_string()) {
        fail(ErrorCode::kInvalidArgument, "messages[{}].{}: expected a string", i, key);
      }
    }
    out.push_back({m["role"].get<std::string>(), m["content"].get<std::string>()});
  }
  return out;
}

}  // namespace muse::reason
