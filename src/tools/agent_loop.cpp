#include "tools/agent_loop.h"

#include <optional>
#include <regex>

#include "core/error.h"
#include "reason/answer.h"
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

// The calls of one model turn (in the content, and with execute_calls_in_reasoning in the reasoning),
// the visible text, and the assistant text to keep in the history. execute() numbers the calls.
AgentLoop::Turn AgentLoop::parse_turn(const std::string& content, const std::string& reasoning,
                                      std::vector<std::string>& notes) const {
  Turn t;
  for (const ParseEvent& ev : parse_tool_calls(opt_.format, content)) {
    if (ev.kind == ParseEvent::kToolCall) {
      t.calls.push_back(ev.call);
    } else if (ev.kind == ParseEvent::kContent) {
      t.visible += ev.text;
    } else if (ev.kind == ParseEvent::kError) {
      notes.push_back(ev.text);
    }
  }
  t.assistant_text = content;
  if (opt_.execute_calls_in_reasoning && !reasoning.empty()) {
    ParserOptions po;
    po.starts_in_reasoning = true;
    for (const ParseEvent& ev : parse_tool_calls(opt_.format, reasoning, po)) {
      if (ev.kind != ParseEvent::kToolCall) continue;
      t.calls.push_back(ev.call);
      t.assistant_text += (t.assistant_text.empty() ? "" : "\n") + format_tool_call(opt_.format, ev.call);
    }
  }
  return t;
}

// Runs a turn's calls, numbered "call_<n>" in the order of the whole run: the assistant turn and each
// result go into history and the transcript (with "agent" when agent >= 0).
void AgentLoop::execute(Turn turn, std::vector<reason::ChatMessage>& history, AgentLoopResult& out,
                        const AgentCallbacks& cb, int agent) const {
  int next_id = out.tool_calls;
  for (ToolCall& c : turn.calls) c.id = "call_" + std::to_string(next_id++);
  json tc = json::array();
  for (const ToolCall& c : turn.calls) {
    tc.push_back({{"id", c.id}, {"type", "function"}, {"function", {{"name", c.name}, {"arguments", c.arguments.dump()}}}});
  }
  json msg = {{"role", "assistant"}, {"content", turn.visible}, {"tool_calls", tc}};
  if (agent >= 0) msg["agent"] = agent;
  out.transcript.push_back(std::move(msg));
  history.push_back({"assistant", turn.assistant_text});
  for (const ToolCall& c : turn.calls) {
    if (cb.on_tool_call) cb.on_tool_call(c);
    ToolResult res = reg_.call(c);
    ++out.tool_calls;
    if (cb.on_tool_result) cb.on_tool_result(res);
    history.push_back({"tool", res.content});
    json result = {{"role", "tool"}, {"tool_call_id", c.id}, {"name", c.name}, {"content", res.content}};
    if (agent >= 0) result["agent"] = agent;
    out.transcript.push_back(std::move(result));
  }
}

reason::Result AgentLoop::run_turn(const std::vector<reason::ChatMessage>& history, const reason::Request& base,
                                   const std::function<void(const reason::Delta&)>& on_delta, AgentLoopResult& out) {
  reason::Request req = turn_request(history, base);
  req.on_delta = on_delta;
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
  return r;
}

AgentLoopResult AgentLoop::run(std::vector<reason::ChatMessage>& history, const reason::Request& base,
                               const AgentCallbacks& cb) {
  AgentLoopResult out;
  for (int step = 0; step < opt_.max_steps; ++step) {
    const reason::Result r = run_turn(history, base, cb.on_delta, out);
    out.reasoning = r.reasoning;
    if (base.mode == reason::Mode::kContemplating && step == 0 && opt_.max_steps > 1) {
      std::vector<std::string> notes;
      std::vector<Turn> first;
      bool any = false;
      for (const reason::AgentTrace& a : r.agents) {
        first.push_back(parse_turn(a.content, a.reasoning, notes));
        any = any || !first.back().calls.empty();
      }
      if (any) {
        out.notes.insert(out.notes.end(), notes.begin(), notes.end());
        contemplate_with_tools(r, std::move(first), history, base, cb, out);
        return out;
      }
    }
    const Turn turn = parse_turn(r.content, r.reasoning, out.notes);
    if (turn.calls.empty() || step + 1 == opt_.max_steps) {
      if (!turn.calls.empty()) {
        out.step_limit_hit = true;
        out.notes.push_back(fmt::format("step limit ({}) reached with {} tool call(s) not run", opt_.max_steps, turn.calls.size()));
      }
      out.content = turn.visible;
      history.push_back({"assistant", r.content});
      out.transcript.push_back({{"role", "assistant"}, {"content", turn.visible}});
      return out;
    }
    execute(turn, history, out, cb, -1);
  }
  return out;  // not reached: the last step returns above
}

void AgentLoop::contemplate_with_tools(const reason::Result& first, std::vector<Turn> turns,
                                       std::vector<reason::ChatMessage>& history, const reason::Request& base,
                                       const AgentCallbacks& cb, AgentLoopResult& out) {
  std::regex pattern;
  if (!base.answer_pattern.empty()) pattern = reason::compile_answer_pattern(base.answer_pattern);
  const std::regex* pat = base.answer_pattern.empty() ? nullptr : &pattern;
  const size_t n = first.agents.size();
  std::vector<std::vector<reason::ChatMessage>> histories(n, history);
  std::vector<std::string> finals(n), reasonings(n);
  std::vector<reason::Candidate> candidates;
  for (size_t i = 0; i < n; ++i) {
    const reason::AgentTrace& a = first.agents[i];
    const int agent = static_cast<int>(i);
    // Each agent continues on its own, in Thinking mode with its own seed and temperature.
    reason::Request solo = base;
    solo.mode = reason::Mode::kThinking;
    solo.samples = 1;
    solo.sampling.seed = a.seed;
    solo.sampling.temperature = a.temperature;
    const auto on_delta = [&](const reason::Delta& d) {
      if (cb.on_delta) cb.on_delta({agent, d.kind, d.text});
    };
    Turn& turn = turns[i];
    std::string reasoning = a.reasoning;
    for (int step = 1; !turn.calls.empty(); ++step) {
      if (step == opt_.max_steps) {
        out.step_limit_hit = true;
        out.notes.push_back(fmt::format("agent {}: step limit ({}) reached with {} tool call(s) not run", agent,
                                        opt_.max_steps, turn.calls.size()));
        break;
      }
      execute(turn, histories[i], out, cb, agent);
      const reason::Result r = run_turn(histories[i], solo, on_delta, out);
      reasoning = r.reasoning;
      turn = parse_turn(r.content, r.reasoning, out.notes);
    }
    finals[i] = turn.visible;
    reasonings[i] = reasoning;
    histories[i].push_back({"assistant", turn.assistant_text});
    const std::optional<reason::ExtractedAnswer> ans = reason::extract_answer(turn.visible, pat);
    candidates.push_back({agent, ans ? ans->normalized : "", a.confidence, ""});
  }
  if (base.aggregate == reason::Aggregate::kSynthesize) {
    out.notes.push_back("contemplating with tools: the agents' answers are combined by vote (no synthesis pass)");
  }
  const reason::Aggregation agg =
      base.aggregate == reason::Aggregate::kWeighted ? reason::weighted_vote(candidates) : reason::vote(candidates);
  const size_t w = agg.winner >= 0 ? static_cast<size_t>(agg.winner) : 0;
  out.content = finals[w];
  out.reasoning = reasonings[w];
  out.agent_answers.reserve(n);
  for (const reason::Candidate& c : candidates) out.agent_answers.push_back(c.answer);
  out.transcript.push_back({{"role", "assistant"}, {"content", finals[w]}, {"agent", static_cast<int>(w)}});
  // The conversation goes on from the winner's turns.
  history = std::move(histories[w]);
}

}  // namespace muse::tools
