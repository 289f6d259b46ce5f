// muse chat: an interactive multi-turn chat in the terminal, in one of the three reasoning modes.
//
// Reads one user message per line from stdin (a terminal or a pipe, so scripts and tests can drive
// it); /exit or end of input (Ctrl-D) ends it, /reset forgets the conversation, /mode NAME switches
// mode, /help lists the commands. Replies stream to stdout: the thinking first (dimmed on a terminal,
// between <think> and </think> otherwise), then the answer. In contemplating mode a live line on stderr
// shows each agent's phase and token counts, then the final answer is printed. --stats prints the
// token accounting and times of every reply to stderr.
//
// With --tools (calculator, read_file, list_dir; the file tools read only inside --sandbox DIR) and/or
// --mcp "command args" (an MCP server over stdio, repeatable), each reply runs tools::AgentLoop: the
// model's tool calls are executed, shown on stderr as "[tool] name {args} -> result", and fed back
// until it answers (at most --max-steps model turns).
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>

#include "cli/commands.h"
#include "cli/reason_options.h"
#include "core/error.h"
#include "tools/agent_loop.h"
#include "tools/mcp_client.h"

namespace muse::cli {
namespace {

struct ChatOptions {
  ModelOptions model;
  ReasonFlags reason;
  std::string system;
  bool stats = false;
  bool color = true;
  std::vector<std::string> tools;  // built-in tool names
  std::string sandbox;             // root folder of read_file / list_dir
  std::vector<std::string> mcp;    // MCP server commands
  int max_steps = 6;
};

constexpr const char* kFaint = "\x1b[2m";
constexpr const char* kReset = "\x1b[0m";

void print_stats(const reason::Result& res) {
  const reason::Usage& u = res.total;
  std::fprintf(stderr, "[%s] prompt %lld tok (%lld cached) | thinking %lld | forced %lld | answer %lld | "
               "prefill %.2f s | decode %.2f s (%.1f tok/s) | aggregate %.2f s | wall %.2f s\n",
               reason::mode_name(res.mode), static_cast<long long>(u.prompt_tokens),
               static_cast<long long>(u.cached_prompt_tokens), static_cast<long long>(u.thinking_tokens),
               static_cast<long long>(u.forced_tokens), static_cast<long long>(u.answer_tokens),
               res.timing.prefill_seconds, res.timing.decode_seconds,
               res.timing.decode_seconds > 0 ? static_cast<double>(u.generated()) / res.timing.decode_seconds : 0.0,
               res.timing.aggregate_seconds, res.timing.wall_seconds);
  if (res.mode == reason::Mode::kContemplating) {
    for (const reason::AgentTrace& a : res.agents) {
      std::fprintf(stderr, "  agent %d: temp %.2f | thinking %lld | answer %lld | confidence %.2f | %s | answer '%s'%s\n",
                   a.index, a.temperature, static_cast<long long>(a.usage.thinking_tokens),
                   static_cast<long long>(a.usage.answer_tokens), a.confidence, a.finish.c_str(), a.answer.c_str(),
                   a.index == res.winner ? "  <- chosen" : "");
    }
    if (res.early_stop_threshold) std::fprintf(stderr, "  early-stop threshold %.3f\n", *res.early_stop_threshold);
  }
  for (const std::string& n : res.notes) std::fprintf(stderr, "note: %s\n", n.c_str());
}

// The live per-agent line: "agents  0:T 120  1:A 14  2:done  3:stopped".
void draw_progress(std::span<const reason::AgentProgress> agents) {
  std::string line = "\r\x1b[2Kagents ";
  for (const reason::AgentProgress& a : agents) {
    line += " " + std::to_string(a.agent) + ":";
    if (a.stopped_early) {
      line += "stopped";
    } else if (a.phase == reason::Phase::kThinking) {
      line += "T" + std::to_string(a.thinking_tokens);
    } else if (a.phase == reason::Phase::kAnswer) {
      line += "A" + std::to_string(a.answer_tokens);
    } else {
      line += "done";
    }
  }
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
}

void chat(const ChatOptions& o) {
  const bool tty_in = isatty(STDIN_FILENO) != 0;
  const bool tty_out = isatty(STDOUT_FILENO) != 0;
  const bool tty_err = isatty(STDERR_FILENO) != 0;
  const bool dim = tty_out && o.color;
  reason::Mode mode = reason::parse_mode(o.reason.mode);

  LoadedModel m = load_for_reasoning(o.model);
  const int max_agents = o.reason.agents;
  reason::Reasoner reasoner(*m.model, *m.tok, *m.pool, o.reason.reasoner(o.model, m.model->hparams(), max_agents));
  const uint64_t seed = o.reason.resolved_seed();
  if (!reasoner.format().tags().available() && mode != reason::Mode::kInstant) {
    std::fprintf(stderr, "note: %s has no thinking tokens; every mode answers directly\n", o.model.path.c_str());
  }
  if (tty_in) {
    std::fprintf(stderr, "muse chat: %s, %s mode (/help for commands, Ctrl-D to quit)\n", o.model.path.c_str(),
                 reason::mode_name(mode));
  }

  // Tools: built-ins, then every MCP server's tools; the call format follows the chat template.
  std::unique_ptr<tools::Sandbox> sandbox;
  if (!o.sandbox.empty()) sandbox = std::make_unique<tools::Sandbox>(o.sandbox);
  std::vector<std::unique_ptr<tools::McpClient>> mcp;
  tools::ToolRegistry registry;
  tools::add_builtin_tools(registry, o.tools, sandbox.get());
  for (const std::string& cmd : o.mcp) {
    mcp.push_back(std::make_unique<tools::McpClient>(cmd));
    for (const std::string& note : tools::add_mcp_tools(registry, *mcp.back())) std::fprintf(stderr, "note: %s\n", note.c_str());
  }
  const tools::AgentLoopOptions loop_opts = agent_loop_options(reasoner, m, o.max_steps);
  std::unique_ptr<tools::AgentLoop> agent;
  if (!registry.empty()) {
    agent = std::make_unique<tools::AgentLoop>(reasoner, registry, loop_opts);
    std::string names;
    for (const tools::ToolSpec& t : registry.specs()) names += " " + t.name;
    std::fprintf(stderr, "tools (%s format):%s\n", tools::tool_format_name(loop_opts.format), names.c_str());
  }

  std::vector<reason::ChatMessage> history;
  if (!o.system.empty()) history.push_back({"system", o.system});
  std::string line;
  uint64_t turn = 0;
  for (;;) {
    if (tty_in) {
      std::fputs("> ", stdout);
      std::fflush(stdout);
    }
    if (!std::getline(std::cin, line)) break;
    if (line.empty()) continue;
    if (line == "/exit" || line == "/quit") break;
    if (line == "/help") {
      std::printf("/exit  quit (also Ctrl-D)\n/reset  forget the conversation\n/mode instant|thinking|"
                  "contemplating  switch mode\n");
      continue;
    }
    if (line == "/reset") {
      history.resize(o.system.empty() ? 0 : 1);
      std::printf("(conversation cleared)\n");
      continue;
    }
    if (line.rfind("/mode ", 0) == 0) {
      try {
        mode = reason::parse_mode(line.substr(6));
        std::printf("(mode: %s)\n", reason::mode_name(mode));
      } catch (const Error& e) {
        std::printf("(%s)\n", e.what());
      }
      continue;
    }

    history.push_back({"user", line});
    reason::Request req = o.reason.request(mode, seed + 0x9E37ull * turn++);
    req.messages = history;
    const bool live = mode != reason::Mode::kContemplating;
    bool in_reasoning = false, any_content = false;
    req.on_delta = [&](const reason::Delta& d) {
      if (d.agent != (live ? 0 : -1)) return;
      if (d.kind == reason::DeltaKind::kReasoning) {
        if (!in_reasoning) std::fputs(dim ? kFaint : "<think>\n", stdout);
        in_reasoning = true;
      } else {
        if (in_reasoning) std::fputs(dim ? kReset : "\n</think>\n", stdout);
        if (in_reasoning && dim) std::fputs("\n\n", stdout);
        in_reasoning = false;
        any_content = true;
      }
      std::fwrite(d.text.data(), 1, d.text.size(), stdout);
      std::fflush(stdout);
    };
    if (mode == reason::Mode::kContemplating && tty_err) req.on_progress = draw_progress;
    reason::Result res;
    try {
      if (agent) {
        // The agent loop appends its turns (calls, results, answer) to the history itself. Content
        // deltas go through a parser so that call markup is not printed as text.
        std::vector<reason::ChatMessage> turn = history;
        tools::ToolCallParser shown(loop_opts.format);
        std::vector<tools::ParseEvent> evs;
        auto print = req.on_delta;
        tools::AgentCallbacks cb;
        cb.on_delta = [&](const reason::Delta& d) {
          if (d.kind == reason::DeltaKind::kReasoning) return print(d);
          evs.clear();
          shown.push(d.text, evs);
          for (const tools::ParseEvent& ev : evs) {
            if (ev.kind == tools::ParseEvent::kContent) print(reason::Delta{d.agent, d.kind, ev.text});
          }
        };
        cb.on_tool_call = [&](const tools::ToolCall& c) {
          std::fprintf(stderr, "\n[tool] %s %s", c.name.c_str(), c.arguments.dump().c_str());
        };
        cb.on_tool_result = [&](const tools::ToolResult& r) {
          std::string shown_result = r.content.size() > 200 ? r.content.substr(0, 200) + "..." : r.content;
          std::fprintf(stderr, " -> %s\n", shown_result.c_str());
        };
        tools::AgentLoopResult ar = agent->run(turn, req, cb);
        history = std::move(turn);
        res.mode = mode;
        res.content = ar.content;
        res.total = ar.usage;
        res.notes = ar.notes;
        if (o.stats) std::fprintf(stderr, "[tools] %d model turn(s), %d tool call(s)%s\n", ar.steps, ar.tool_calls,
                                  ar.step_limit_hit ? ", step limit reached" : "");
        if (in_reasoning) std::fputs(dim ? kReset : "\n</think>\n", stdout);
        if (!any_content && !res.content.empty()) std::fputs(res.content.c_str(), stdout);
        std::fputs("\n", stdout);
        std::fflush(stdout);
        if (o.stats) print_stats(res);
        continue;
      }
      res = reasoner.run(req);
    } catch (const Error& e) {
      history.pop_back();
      std::fprintf(stderr, "%serror: %s\n", tty_err && mode == reason::Mode::kContemplating ? "\r\x1b[2K" : "",
                   e.what());
      continue;
    }
    if (mode == reason::Mode::kContemplating && tty_err) std::fputs("\r\x1b[2K", stderr);
    if (in_reasoning) std::fputs(dim ? kReset : "\n</think>\n", stdout);
    if (!any_content && !res.content.empty()) std::fputs(res.content.c_str(), stdout);
    std::fputs("\n", stdout);
    std::fflush(stdout);
    if (o.stats) print_stats(res);
    history.push_back({"assistant", res.content});
  }
  if (tty_in) std::fputs("\n", stdout);
}

}  // namespace

void add_chat_command(CLI::App& app) {
  auto o = std::make_shared<ChatOptions>();
  auto* cmd = app.add_subcommand(
      "chat", "Interactive multi-turn chat in the instant, thinking or contemplating mode (one message per line "
              "on stdin; /exit, /reset, /mode, Ctrl-D)");
  o->model.add_to(cmd);
  o->reason.add_to(cmd);
  cmd->add_option("--system", o->system, "System message at the start of the conversation");
  cmd->add_flag("--stats", o->stats, "Print token accounting (prompt, thinking, answer, per agent) and times to stderr");
  cmd->add_flag("!--no-color", o->color, "Do not dim the thinking on a terminal");
  cmd->add_option("--tools", o->tools, "Built-in tools the model may call: calculator, read_file, list_dir")
      ->delimiter(',');
  cmd->add_option("--sandbox", o->sandbox, "Folder read_file and list_dir are confined to");
  cmd->add_option("--mcp", o->mcp, "An MCP server to start over stdio, as one command line (repeatable)");
  cmd->add_option("--max-steps", o->max_steps, "Model turns per reply at most when tools are on")->check(CLI::Range(1, 64));
  cmd->callback([o] {
    reason::parse_mode(o->reason.mode);  // reject a bad --mode before loading the model
    chat(*o);
  });
}

}  // namespace muse::cli
