// AgentLoop: model -> tool calls -> results -> model, until the model answers without calling a tool
// or the step limit is reached. Runs on a reason::Reasoner, so it works in every mode: instant and
// thinking parse the calls from the answer (calls written inside the thinking block are found too, and
// are executed like the others). In contemplating mode the agents use tools independently before
// aggregation: the first turn runs all agents together (one prefill, batched steps); when any agent's
// answer calls a tool, each such agent continues on its own (Thinking mode, its own seed and
// temperature, one agent at a time) through calls and results until it answers, and the agents' final
// answers are combined by vote (weighted: confidence-weighted; synthesize falls back to vote). The
// history then goes on from the winning agent's turns.
//
// The conversation reaches the model through reason::ChatMessage (role + content), so tools are
// described in a system message written by tool_system_prompt() in the model family's call format,
// an assistant turn that called tools keeps the text the model wrote (the call markup included), and
// each result is a "tool" message (or, when the template rejects that role, a "user" message wrapped
// in <tool_response>...</tool_response>).
//
// Borrows the reasoner and registry. Single-threaded. Errors: the Reasoner's (bad request, template
// errors) propagate; tool failures never do (they become results the model reads).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "reason/reasoner.h"
#include "tools/registry.h"
#include "tools/tool_calls.h"

namespace muse::tools {

// The system-message text that lists the tools and says how to call them in `format`.
std::string tool_system_prompt(const ToolRegistry& reg, ToolFormat format);

struct AgentLoopOptions {
  int max_steps = 6;            // model turns at most (each may call several tools)
  ToolFormat format = ToolFormat::kHermes;
  bool execute_calls_in_reasoning = true;  // run calls found inside <think> too
  // The chat template renders tools itself (its source mentions `tools`: Qwen, Llama 3.1, Mistral): the
  // tools go to its `tools` variable, as the server does. Else tool_system_prompt describes them in
  // the system message.
  bool template_renders_tools = false;
};

struct AgentLoopResult {
  std::string content;          // the final answer (call markup removed)
  std::string reasoning;        // the last turn's reasoning
  int steps = 0;                // model turns taken
  int tool_calls = 0;
  bool step_limit_hit = false;
  reason::Usage usage;          // summed over the turns
  nlohmann::json transcript = nlohmann::json::array();  // OpenAI-style messages of this run
  std::vector<std::string> notes;
  // Contemplating with tools: each agent's final normalized answer (empty: none), in agent order.
  std::vector<std::string> agent_answers;
};

struct AgentCallbacks {
  std::function<void(const reason::Delta&)> on_delta;      // raw streamed text of each turn
  std::function<void(const ToolCall&)> on_tool_call;       // before a call runs
  std::function<void(const ToolResult&)> on_tool_result;   // after it ran
};

class AgentLoop {
 public:
  AgentLoop(reason::Reasoner& reasoner, const ToolRegistry& reg, AgentLoopOptions options = {});

  // history: the conversation so far (system/user/assistant/tool messages), the last one usually the
  // user's. base: mode, budgets, sampling (its messages and on_delta are replaced). Appends the
  // turns of this run (assistant calls, tool results, the final answer) to history.
  AgentLoopResult run(std::vector<reason::ChatMessage>& history, const reason::Request& base,
                      const AgentCallbacks& callbacks = {});

  // The request of one model turn: base with the messages of `history` and the tools, either as the
  // template's `tools` variable or as a system message (see AgentLoopOptions::template_renders_tools).
  reason::Request turn_request(const std::vector<reason::ChatMessage>& history, const reason::Request& base) const;

 private:
  struct Turn {
    std::vector<ToolCall> calls;
    std::string visible;         // content without the call markup
    std::string assistant_text;  // what the history keeps of the turn
  };
  Turn parse_turn(const std::string& content, const std::string& reasoning, std::vector<std::string>& notes) const;
  void execute(Turn turn, std::vector<reason::ChatMessage>& history, AgentLoopResult& out, const AgentCallbacks& cb,
               int agent) const;
  reason::Result run_turn(const std::vector<reason::ChatMessage>& history, const reason::Request& base,
                          const std::function<void(const reason::Delta&)>& on_delta, AgentLoopResult& out);
  // turns: the first turn of each agent, parsed.
  void contemplate_with_tools(const reason::Result& first, std::vector<Turn> turns,
                              std::vector<reason::ChatMessage>& history, const reason::Request& base,
                              const AgentCallbacks& cb, AgentLoopResult& out);

  reason::Reasoner& reasoner_;
  const ToolRegistry& reg_;
  AgentLoopOptions opt_;
  bool tool_role_ok_ = true;  // the template accepted role "tool" (else results go as "user")
};

}  // namespace muse::tools
