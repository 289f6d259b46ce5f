#include "tools/agent_loop.h"

#include "core/error.h"
#include "text/chat_template.h"

namespace muse::tools {

using json = nlohmann::json;

std::string tool_system_prompt(const ToolRegistry& reg, ToolFormat format) {
  std::string list;
  for (const json& t : reg.openai_tools()) list += t.dump() + "\n";
  switch (format) {
    case ToolFormat::kLlama3:
      return "You have access to the following functions. To call a function, respond with only a JSON object of "
             "the form {\"name\": function name, \"parameters\": dictionary of argument name and its value}. "
             "Do not use variables.\n\n" +
             list;
    case ToolFormat::kMistral:
      return "You have access to the following functions:\n" + list +
             "\nTo call functions, reply with [TOOL_CALLS] followed by a JSON list of calls: "
             "[TOOL_CALLS][{\"name\": <function-name>, \"arguments\": <args-json-object>}]";
    case ToolFormat::kHermes:
      break;
  }
  return "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
         "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n" +
         list +
         "</tools>\n\nFor each function call, return a json object with function name and arguments within "
         "<tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": "
         "<args-json-object>}\n</tool_call>";
}

AgentLoop::AgentLoop(reason::Reasoner& reasoner, const ToolRegistry& reg, AgentLoopOptions options)
    : reasoner_(reasoner), reg_(reg), opt_(options) {
  if (opt_.max_steps < 1) fail(ErrorCode::kInvalidArgument, "agent loop: max_steps must be at least 1, got {}", opt_.max_steps);
}

namespace {

void add_usage(reason::Usage& a, const reason::Usage& b) {
  a.prompt_tokens += b.prompt_tokens;
  a.cached_prompt_tokens += b.cached_prompt_tokens;
  a.thinking_tokens += b.thinking_tokens;
  a.forced_tokens += b.forced_tokens;
  a.answer_tokens += b.answer_tokens;
}

reason::ChatMessage as_user_result(const reason::ChatMessage& m) {
  return {"user", "<tool_response>\n" + m.content + "\n</tool_response>"};
}

}  // namespace

reason::Request AgentLoop::turn_request(const std::vector<reason::ChatMessage>& history,
                                       const reason::Request& base) const {
  reason::Request req = base;
  req.messages.clear();
  req.tools = nullptr;
  const bool in_template = opt_.template_renders_tools && !reg_.empty();
  if (in_template) req.tools = reg_.openai_tools();
  // Otherwise the tool description is merged into the (first) system message.
  const std::string tools_text = reg_.empty() || in_template ? "" : tool_system_prompt(reg_, opt_.format);
  if (!tools_text.empty()) {
    if (!history.empty() && history[0].role == "system") {
      req.messages.push_back({"system", history[0].content + "\n\n" + tools_text});
    } else {
      req.messages.push_back({"system", tools_text});
    }
  }
  for (size_t i = 0; i < history.size(); ++i) {
    if (i == 0 && history[i].role == "system" && !tools_text.empty()) continue;
    req.messages.push_back(history[i].role == "tool" && !tool_role_ok_ ? as_user_result(history[i]) : history[i]);
  }
  return req;
}

AgentLoopResult AgentLoop::run(std::vector<reason::ChatMessage>& history, const reason::Request& base,
                               const AgentCallbacks& cb) {
  AgentLoopResult out;
  for (int step = 0; step < opt_.max_steps; ++step) {
    reason::Request req = turn_request(history, base);
    req.on_delta = cb.on_delta;
    reason::Result r;
    try {
      r = reasoner_.run(req);
    } catch (const text::TemplateError&) {
      bool had_tool = false;
      for (reason::ChatMessage& m : req.messages) {
        if (m.role == "tool") m = as_user_result(m), had_tool = true;
      }
      if (!had_tool || !tool_role_ok_) throw;
      tool_role_ok_ = false;
      out.notes.push_back("the chat template rejected role 'tool'; results are sent as user messages");
      r = reasoner_.run(req);
    }
    ++out.steps;
    add_usage(out.usage, r.total);
    out.reasoning = r.reasoning;

    // Calls in the answer, and (optionally) calls written inside the thinking block.
    std::vector<ToolCall> calls;
    std::string visible;
    int next_id = out.tool_calls;
    for (const ParseEvent& ev : parse_tool_calls(opt_.format, r.content)) {
      if (ev.kind == ParseEvent::kToolCall) {
        calls.push_back(ev.call);
      } else if (ev.kind == ParseEvent::kContent) {
        visible += ev.text;
      } else if (ev.kind == ParseEvent::kError) {
        out.notes.push_back(ev.text);
      }
    }
    std::string assistant_text = r.content;
    if (opt_.execute_calls_in_reasoning && !r.reasoning.empty()) {
      ParserOptions po;
      po.starts_in_reasoning = true;
      for (const ParseEvent& ev : parse_tool_calls(opt_.format, r.reasoning, po)) {
        if (ev.kind != ParseEvent::kToolCall) continue;
        calls.push_back(ev.call);
        assistant_text += (assistant_text.empty() ? "" : "\n") + format_tool_call(opt_.format, ev.call);
      }
    }
    for (ToolCall& c : calls) c.id = "call_" + std::to_string(next_id++);

    json turn = {{"role", "assistant"}, {"content", visible}};
    if (calls.empty() || step + 1 == opt_.max_steps) {
      if (!calls.empty()) {
        out.step_limit_hit = true;
        out.notes.push_back(fmt::format("step limit ({}) reached with {} tool call(s) not run", opt_.max_steps, calls.size()));
      }
      out.content = visible;
      history.push_back({"assistant", r.content});
      out.transcript.push_back(turn);
      return out;
    }
    json tc = json::array();
    for (const ToolCall& c : calls) {
      tc.push_back({{"id", c.id}, {"type", "function"}, {"function", {{"name", c.name}, {"arguments", c.arguments.dump()}}}});
    }
    turn["tool_calls"] = tc;
    out.transcript.push_back(turn);
    history.push_back({"assistant", assistant_text});
    for (const ToolCall& c : calls) {
      if (cb.on_tool_call) cb.on_tool_call(c);
      ToolResult res = reg_.call(c);
      ++out.tool_calls;
      if (cb.on_tool_result) cb.on_tool_result(res);
      history.push_back({"tool", res.content});
      out.transcript.push_back({{"role", "tool"}, {"tool_call_id", c.id}, {"name", c.name}, {"content", res.content}});
    }
  }
  return out;  // not reached: the last step returns above
}

}  // namespace muse::tools
