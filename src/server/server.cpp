#include "server/server.h"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <deque>
#include <filesystem>
#include <optional>
#include <random>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "server/api.h"
#include "server/keys.h"
#include "tools/json_schema.h"

namespace muse::server {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string make_id(const char* prefix) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{}-{:016x}", prefix, rng());
}

int64_t unix_now() { return static_cast<int64_t>(std::time(nullptr)); }

// Text with invalid UTF-8 would make nlohmann throw when dumping; replace it.
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string sse(const json& j) { return "data: " + dump(j) + "\n\n"; }

// Events from a worker to the HTTP thread that streams them.
class Channel {
 public:
  void push(std::string event) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      items_.push_back(std::move(event));
    }
    cv_.notify_all();
  }
  void fail(const ApiError& e) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      error_ = e;
      closed_ = true;
    }
    cv_.notify_all();
  }
  void close() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      closed_ = true;
    }
    cv_.notify_all();
  }
  // Waits until something is there (an event, the end, an error) or the timeout passes.
  void wait(double seconds) {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait_for(lk, std::chrono::duration<double>(seconds), [&] { return !items_.empty() || closed_; });
  }
  // Takes the events; returns whether the stream is over (after these events).
  bool take(std::deque<std::string>& out, std::optional<ApiError>& error) {
    std::lock_guard<std::mutex> lk(mu_);
    out.swap(items_);
    items_.clear();
    error = error_;
    return closed_;
  }
  bool has_events_or_end() {
    std::lock_guard<std::mutex> lk(mu_);
    return !items_.empty() || closed_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> items_;
  bool closed_ = false;
  std::optional<ApiError> error_;
};

struct Auth {
  bool ok = true;
  std::string key;
};

}  // namespace

bool is_loopback_host(const std::string& host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.rfind("127.", 0) == 0;
}

struct Server::Impl {
  Engine& engine;
  ServerOptions opts;
  std::optional<KeyStore> keys;
  Metrics metrics;
  httplib::Server http;
  int port = -1;

  ApiLimits limits;  // what parse_chat needs to know about the model

  Impl(Engine& e, const ServerOptions& o) : engine(e), opts(o) {
    limits.max_agents = e.options().max_agents;
    limits.has_think_tags = e.has_think_tags();
    limits.tool_format = e.tool_format();
    limits.template_renders_tools = e.template_source().find("tools") != std::string::npos;
    limits.template_renders_tool_calls = e.template_source().find("tool_calls") != std::string::npos;
  }

  void send_error(httplib::Response& res, const ApiError& e) {
    res.status = e.status;
    if (e.retry_after > 0) res.set_header("Retry-After", std::to_string(static_cast<int64_t>(std::ceil(e.retry_after))));
    res.set_content(dump(error_json(e)), "application/json");
  }

  Auth authorize(const httplib::Request& req, httplib::Response& res) {
    Auth a;
    if (!keys) return a;
    const std::string h = req.get_header_value("Authorization");
    std::string key;
    if (h.size() > 7 && (h.compare(0, 7, "Bearer ") == 0 || h.compare(0, 7, "bearer ") == 0)) key = h.substr(7);
    while (!key.empty() && key.back() == ' ') key.pop_back();
    if (key.empty()) {
      send_error(res, ApiError(401, "authentication_error", "missing API key: send 'Authorization: Bearer KEY'", "", "invalid_api_key"));
      a.ok = false;
      return a;
    }
    const AdmitResult r = keys->admit(key);
    ApiError err(0, "", "");
    switch (r.what) {
      case Admission::kOk:
        a.key = key;
        return a;
      case Admission::kUnknownKey:
        err = ApiError(401, "authentication_error", "invalid API key", "", "invalid_api_key");
        break;
      case Admission::kRateLimited:
        err = ApiError(429, "rate_limit_error", fmt::format("rate limit of key '{}' reached", r.name), "", "rate_limit_exceeded");
        break;
      case Admission::kQuotaSpent:
        err = ApiError(429, "rate_limit_error", fmt::format("token quota of key '{}' is spent", r.name), "", "insufficient_quota");
        break;
    }
    err.retry_after = r.retry_after;
    send_error(res, err);
    a.ok = false;
    return a;
  }

  std::optional<json> parse_body(const httplib::Request& req, httplib::Response& res) {
    json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded()) {
      send_error(res, ApiError(400, "invalid_request_error", "the request body is not valid JSON"));
      return std::nullopt;
    }
    return body;
  }

  // Submits work; on failure answers 429 (queue full) or 503 (shutting down).
  std::shared_ptr<Task> submit(std::function<void(Slot&)> work, httplib::Response& res) {
    try {
      return engine.submit(std::move(work));
    } catch (const Error& e) {
      ApiError a = engine.stopping() ? ApiError(503, "server_error", e.what(), "", "shutting_down")
                                     : ApiError(429, "rate_limit_error", e.what(), "", "queue_full");
      a.retry_after = engine.stopping() ? 5 : 1;
      send_error(res, a);
      return nullptr;
    }
  }

  void account(const Auth& auth, const reason::Usage& u) {
    metrics.tokens(u.prompt_tokens, u.generated(), u.thinking_tokens + u.forced_tokens);
    if (keys && !auth.key.empty()) keys->charge(auth.key, u.prompt_tokens + u.generated());
  }

  // A non-streaming reply to `task`: body() once it is done. Until `started` says the generation's first
  // forward pass ran, a failure (a prompt over the context, a bad template) is still a plain HTTP error
  // with its status. After that the reply is sent chunked: a space (JSON allows whitespace before the
  // value) every 0.1 s until the body is ready, so that a client that hangs up is noticed by a failed
  // write and its generation cancelled, as with streaming; a later error comes as {"error": ...}.
  void reply_when_done(httplib::Response& res, std::shared_ptr<Task> task, std::function<bool()> started,
                       std::function<std::string()> body) {
    auto finish = [this, task, body](httplib::Response* plain) {
      if (auto err = task->error()) {
        try {
          std::rethrow_exception(err);
        } catch (const std::exception& e) {
          const ApiError ae = api_error_from(e);
          if (plain) send_error(*plain, ae);
          return dump(error_json(ae));
        }
      }
      return body();
    };
    while (!task->done() && !started()) task->wait_for(0.02);
    if (task->done()) {
      const std::string text = finish(&res);
      if (res.status < 400) res.set_content(text, "application/json");
      return;
    }
    res.set_chunked_content_provider(
        "application/json",
        [task, finish](size_t, httplib::DataSink& sink) {
          if (!task->wait_for(0.1)) return sink.write(" ", 1);
          const std::string text = finish(nullptr);
          if (!sink.write(text.data(), text.size())) return false;
          sink.done();
          return true;
        },
        cancel_on_hang_up(task));
  }

  // The end callback of a chunked reply: a reply cut short (the client hung up) cancels its task.
  std::function<void(bool)> cancel_on_hang_up(std::shared_ptr<Task> task) {
    return [task, m = &metrics](bool success) {
      if (!success && !task->done()) {
        task->cancel = true;
        m->cancelled();
      }
    };
  }

  // Streams a channel's events; the releaser cancels the task when the client went away.
  void stream(httplib::Response& res, std::shared_ptr<Channel> ch, std::shared_ptr<Task> task) {
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    res.set_chunked_content_provider(
        "text/event-stream; charset=utf-8",
        [ch](size_t, httplib::DataSink& sink) {
          ch->wait(1.0);
          std::deque<std::string> events;
          std::optional<ApiError> error;
          const bool over = ch->take(events, error);
          if (events.empty() && !over) {
            static const char ping[] = ": ping\n\n";  // keep-alive; a failed write means the client left
            return sink.write(ping, sizeof ping - 1);
          }
          for (const std::string& e : events) {
            if (!sink.write(e.data(), e.size())) return false;
          }
          if (over) {
            if (error) {
              const std::string e = sse(error_json(*error));
              if (!sink.write(e.data(), e.size())) return false;
            }
            static const char done[] = "data: [DONE]\n\n";
            if (!sink.write(done, sizeof done - 1)) return false;
            sink.done();
          }
          return true;
        },
        cancel_on_hang_up(task));
  }

  // ---------------------------------------------------------------------------------- chat

  struct ChatState {
    ChatCall call;
    std::string id = make_id("chatcmpl");
    int64_t created = unix_now();
    std::vector<reason::Result> results;
    std::vector<ReplyCalls> replies;  // per result, when the call parses tool calls (non-streaming)
    std::vector<int> streamed_calls;  // per result, tool calls sent as deltas (streaming)
    Clock::time_point t0 = Clock::now();
    bool first_token = false;
    std::atomic<bool> generating{false};  // a forward pass of the answer ran: the request was accepted
  };

  json chunk_base(const ChatState& st) const {
    return {{"id", st.id}, {"object", "chat.completion.chunk"}, {"created", st.created}, {"model", st.call.model}};
  }

  json chunk(const ChatState& st, int index, json delta, const json& finish = nullptr) const {
    json c = chunk_base(st);
    c["choices"] = json::array({{{"index", index}, {"delta", std::move(delta)}, {"finish_reason", finish}}});
    return c;
  }

  // Runs the n choices of a chat call on a worker. With a channel, streams them. Instant and thinking
  // sample their n choices together, as the agents of one batched run (one prefill, one forward pass per
  // step for all of them); contemplating runs its choices one after another, each with its own agents.
  void run_chat(Slot& slot, ChatState& st, Channel* ch) {
    const bool contemplating = st.call.request.mode == reason::Mode::kContemplating;
    const int per_run = contemplating ? 1 : st.call.n;
    const int runs = contemplating ? st.call.n : 1;
    for (int run = 0; run < runs; ++run) {
      reason::Request r = st.call.request;
      r.sampling.seed += static_cast<uint64_t>(run);
      r.samples = per_run;
      r.should_cancel = [&slot, &st] {
        st.generating = true;
        return slot.cancelled();
      };
      if (st.call.grammar) {
        const tools::TokenTrie* trie = &slot.token_trie();
        r.answer_constraint = [g = st.call.grammar, trie] { return tools::make_answer_constraint(g, *trie); };
      }
      // What each choice of this run has streamed so far. With tools, a choice's answer goes through a
      // call parser; calls go out as tool_calls deltas.
      struct Choice {
        int index = 0;  // the OpenAI choice index
        std::optional<tools::ToolCallParser> parser;
        int n_calls = 0;
        std::vector<std::string> call_notes;
        // The role chunk goes out with the first event, so that a request failing before it (a prompt
        // over the context) is still answered with a plain HTTP error.
        bool role_sent = false;
      };
      std::vector<Choice> choices(static_cast<size_t>(per_run));
      for (int k = 0; k < per_run; ++k) {
        Choice& c = choices[static_cast<size_t>(k)];
        c.index = contemplating ? run : k;
        if (ch && st.call.parse_calls) c.parser.emplace(st.call.tool_format);
      }
      auto send_role = [&](Choice& c) {
        if (c.role_sent) return;
        c.role_sent = true;
        ch->push(sse(chunk(st, c.index, {{"role", "assistant"}, {"content", ""}})));
      };
      auto send_call = [&](Choice& c, const tools::ToolCall& call) {
        send_role(c);
        ch->push(sse(chunk(st, c.index, {{"tool_calls", json::array({tool_call_json(call, c.n_calls++)})}})));
      };
      // The answer's text (not an agent's draft) as deltas: content, or tool calls when parsing them.
      auto send_answer = [&](Choice& c, std::string_view text, bool at_end) {
        if (!c.parser) {
          if (!text.empty()) ch->push(sse(chunk(st, c.index, {{"content", std::string(text)}})));
          return;
        }
        std::vector<tools::ParseEvent> events;
        c.parser->push(text, events);
        if (at_end) c.parser->finish(events);
        for (tools::ParseEvent& ev : events) {
          if (ev.kind == tools::ParseEvent::kToolCall) {
            if (!st.call.parallel_tool_calls && c.n_calls > 0) {
              c.call_notes.push_back(dropped_call_note(ev.call.name));
              continue;
            }
            ev.call.id = new_call_id();
            send_call(c, ev.call);
          } else if (ev.kind == tools::ParseEvent::kError) {
            c.call_notes.push_back("a tool call was not understood: " + ev.text);
          } else if (!ev.text.empty()) {
            send_role(c);
            ch->push(sse(chunk(st, c.index, {{"content", ev.text}})));
          }
        }
      };
      Clock::time_point last_progress{};
      if (ch) {
        r.on_delta = [&](const reason::Delta& d) {
          if (d.text.empty()) return;
          // Contemplating: every delta belongs to this run's one choice; otherwise agent k is choice k.
          Choice& c = choices[contemplating ? 0 : static_cast<size_t>(d.agent)];
          send_role(c);
          if (!st.first_token) {
            st.first_token = true;
            metrics.first_token(since(st.t0));
          }
          json delta;
          const std::string text(d.text);
          if (d.kind == reason::DeltaKind::kContent && (!contemplating || d.agent < 0)) {
            send_answer(c, d.text, false);
            return;
          }
          if (!contemplating) {
            delta["reasoning_content"] = text;
          } else if (d.agent >= 0) {
            delta[d.kind == reason::DeltaKind::kReasoning ? "reasoning_content" : "agent_content"] = text;
            delta["agent"] = d.agent;
          } else {
            delta["reasoning_content"] = text;
            delta["agent"] = -1;
          }
          ch->push(sse(chunk(st, c.index, std::move(delta))));
        };
        if (contemplating) {
          r.on_progress = [&](std::span<const reason::AgentProgress> agents) {
            const auto now = Clock::now();
            bool all_done = true;
            for (const auto& a : agents) all_done = all_done && a.phase == reason::Phase::kDone;
            if (!all_done && now - last_progress < std::chrono::milliseconds(200)) return;
            last_progress = now;
            send_role(choices[0]);
            ch->push(sse(chunk(st, choices[0].index, {{"agent_progress", progress_json(agents)}})));
          };
        }
      }
      reason::Result whole = slot.reasoner().run(r);
      std::vector<reason::Result> results;
      if (contemplating) {
        results.push_back(std::move(whole));
      } else {
        results = split_samples(std::move(whole));
      }
      for (size_t k = 0; k < results.size(); ++k) {
        Choice& c = choices[k];
        reason::Result& res = results[k];
        bool calls_made = false;
        if (ch) {
          if (c.parser) send_answer(c, "", true);
          calls_made = c.n_calls > 0;
        } else if (st.call.parse_calls) {
          st.replies.push_back(split_tool_calls(st.call.tool_format, res.content, st.call.parallel_tool_calls));
          c.call_notes = st.replies.back().notes;
          calls_made = !st.replies.back().calls.empty();
        }
        if (st.call.parse_calls && !calls_made && !res.reasoning.empty()) {
          ReplyCalls drafted = calls_in_reasoning(st.call.tool_format, res.reasoning, st.call.parallel_tool_calls);
          c.call_notes.insert(c.call_notes.end(), drafted.notes.begin(), drafted.notes.end());
          if (!drafted.calls.empty()) {
            c.call_notes.push_back(fmt::format("{} tool call(s) taken from the reasoning: the answer had none",
                                               drafted.calls.size()));
            calls_made = true;
            if (ch) {
              for (const tools::ToolCall& call : drafted.calls) send_call(c, call);
            } else {
              st.replies.back().calls = std::move(drafted.calls);
            }
          }
        }
        res.notes.insert(res.notes.end(), c.call_notes.begin(), c.call_notes.end());
        if (!calls_made) check_json_answer(st.call, res);
        if (ch) {
          send_role(c);
          if (contemplating) {
            ch->push(sse(chunk(st, c.index, {{"aggregation", aggregation_json(res, st.call.request.aggregate)}})));
          }
          json last = chunk(st, c.index, json::object(), calls_made ? std::string("tool_calls") : finish_reason(res));
          // Log-probabilities come whole with the last chunk of a choice (the content deltas are text
          // pieces, not tokens); a client that appends each chunk's logprobs.content gets the full list.
          if (st.call.request.logprobs >= 0) {
            last["choices"][0]["logprobs"] = logprobs_json(res.logprobs, engine.tokenizer());
          }
          last["openmuse"] = openmuse_json(res, false);
          ch->push(sse(last));
        }
        st.results.push_back(std::move(res));
      }
      if (slot.cancelled()) break;
    }
    if (ch && st.call.include_usage) {
      json u = chunk_base(st);
      u["choices"] = json::array();
      u["usage"] = usage_json(total_usage(st.results));
      ch->push(sse(u));
    }
  }

  // response_format: a note when the answer is not what was asked for (the grammar enforces the shape,
  // but a length limit can cut it, and some schema keywords are only checked here).
  static void check_json_answer(const ChatCall& call, reason::Result& res) {
    if (call.json_object && !is_json_object(res.content)) {
      res.notes.push_back("response_format json_object: the answer is not a valid JSON object");
    }
    if (call.json_schema.is_null()) return;
    const json doc = json::parse(res.content, nullptr, /*allow_exceptions=*/false);
    const std::string why = doc.is_discarded() ? "not valid JSON" : tools::validate_json(call.json_schema, doc);
    if (!why.empty()) res.notes.push_back("response_format json_schema: the answer does not match the schema: " + why);
  }

  static reason::Usage total_usage(const std::vector<reason::Result>& results) {
    reason::Usage t;
    for (const reason::Result& r : results) {
      t.prompt_tokens += r.total.prompt_tokens;
      t.cached_prompt_tokens += r.total.cached_prompt_tokens;
      t.thinking_tokens += r.total.thinking_tokens;
      t.forced_tokens += r.total.forced_tokens;
      t.answer_tokens += r.total.answer_tokens;
    }
    return t;
  }

  json chat_response(const ChatState& st) const {
    json choices = json::array();
    for (size_t i = 0; i < st.results.size(); ++i) {
      const reason::Result& r = st.results[i];
      json msg = {{"role", "assistant"}, {"content", r.content}};
      std::string finish = finish_reason(r);
      if (i < st.replies.size() && !st.replies[i].calls.empty()) {
        const ReplyCalls& rc = st.replies[i];
        const size_t a = rc.content.find_first_not_of(" \t\r\n");
        msg["content"] = a == std::string::npos ? json(nullptr) : json(rc.content.substr(a, rc.content.find_last_not_of(" \t\r\n") + 1 - a));
        msg["tool_calls"] = json::array();
        for (const tools::ToolCall& c : rc.calls) msg["tool_calls"].push_back(tool_call_json(c));
        finish = "tool_calls";
      }
      if (!r.reasoning.empty()) msg["reasoning_content"] = r.reasoning;
      const json logprobs = st.call.request.logprobs >= 0 ? logprobs_json(r.logprobs, engine.tokenizer()) : json(nullptr);
      choices.push_back({{"index", i}, {"message", std::move(msg)}, {"finish_reason", finish}, {"logprobs", logprobs}});
    }
    json out = {{"id", st.id}, {"object", "chat.completion"}, {"created", st.created}, {"model", st.call.model},
                {"choices", std::move(choices)}, {"usage", usage_json(total_usage(st.results))}};
    if (!st.results.empty()) {
      json om = openmuse_json(st.results.front(), true);
      if (st.results.front().mode == reason::Mode::kContemplating) {
        om["aggregation"] = aggregation_json(st.results.front(), st.call.request.aggregate);
      }
      out["openmuse"] = std::move(om);
    }
    return out;
  }

  void handle_chat(const httplib::Request& req, httplib::Response& res) {
    const Auth auth = authorize(req, res);
    if (!auth.ok) return;
    auto body = parse_body(req, res);
    if (!body) return;
    auto st = std::make_shared<ChatState>();
    try {
      st->call = parse_chat(*body, limits);
    } catch (const std::exception& e) {
      send_error(res, api_error_from(e));
      return;
    }
    if (!st->call.stream) {
      auto task = submit([this, st](Slot& slot) { run_chat(slot, *st, nullptr); }, res);
      if (!task) return;
      reply_when_done(res, task, [st] { return st->generating.load(); }, [this, st, auth] {
        account(auth, total_usage(st->results));
        return dump(chat_response(*st));
      });
      return;
    }
    auto ch = std::make_shared<Channel>();
    auto task = submit(
        [this, st, ch, auth](Slot& slot) {
          try {
            run_chat(slot, *st, ch.get());
            account(auth, total_usage(st->results));
            ch->close();
          } catch (const std::exception& e) {
            account(auth, total_usage(st->results));
            ch->fail(api_error_from(e));
          }
        },
        res);
    if (!task) return;
    // Until the first event, a failure (a prompt over the context, a bad template) is still a plain
    // HTTP error with its status.
    while (!ch->has_events_or_end()) ch->wait(1.0);
    if (peek_early_error(*ch, res)) return;
    stream(res, ch, task);
  }

  // When the stream failed before any event, answers the error as a plain HTTP error.
  bool peek_early_error(Channel& ch, httplib::Response& res) {
    std::deque<std::string> events;
    std::optional<ApiError> error;
    const bool over = ch.take(events, error);
    if (over && error && events.empty()) {
      send_error(res, *error);
      return true;
    }
    // Put them back in order.
    for (std::string& e : events) ch.push(std::move(e));
    if (over) {
      if (error) {
        ch.fail(*error);
      } else {
        ch.close();
      }
    }
    return false;
  }

  // ---------------------------------------------------------------------------------- completions

  void handle_completion(const httplib::Request& req, httplib::Response& res) {
    const Auth auth = authorize(req, res);
    if (!auth.ok) return;
    auto body = parse_body(req, res);
    if (!body) return;
    auto call = std::make_shared<CompletionCall>();
    try {
      *call = parse_completion(*body);
    } catch (const std::exception& e) {
      send_error(res, api_error_from(e));
      return;
    }
    const std::string id = make_id("cmpl");
    const int64_t created = unix_now();
    auto result = std::make_shared<CompletionResult>();
    auto base = [id, created, call] {
      return json{{"id", id}, {"object", "text_completion"}, {"created", created}, {"model", call->model}};
    };
    auto usage = [](const CompletionResult& r) {
      return json{{"prompt_tokens", r.prompt_tokens}, {"completion_tokens", r.completion_tokens},
                  {"total_tokens", r.prompt_tokens + r.completion_tokens}};
    };
    auto charge = [this, auth](const CompletionResult& r) {
      metrics.tokens(r.prompt_tokens, r.completion_tokens, 0);
      if (keys && !auth.key.empty()) keys->charge(auth.key, r.prompt_tokens + r.completion_tokens);
    };
    std::shared_ptr<Channel> ch = call->stream ? std::make_shared<Channel>() : nullptr;
    auto t0 = Clock::now();
    auto started = std::make_shared<std::atomic<bool>>(false);
    auto task = submit(
        [this, call, result, ch, base, usage, charge, t0, started](Slot& slot) {
          CompletionRequest r = call->request;
          r.should_cancel = [&slot, started] {
            *started = true;
            return slot.cancelled();
          };
          bool first = true;
          if (ch) {
            r.on_text = [&](std::string_view text) {
              if (first) {
                first = false;
                metrics.first_token(since(t0));
              }
              json c = base();
              c["choices"] = json::array({{{"index", 0}, {"text", std::string(text)}, {"finish_reason", nullptr}}});
              ch->push(sse(c));
            };
          }
          try {
            *result = slot.complete(r);
          } catch (const std::exception& e) {
            if (!ch) throw;
            ch->fail(api_error_from(e));
            return;
          }
          charge(*result);
          if (ch) {
            json c = base();
            c["choices"] = json::array({{{"index", 0}, {"text", ""}, {"finish_reason", result->finish}}});
            ch->push(sse(c));
            if (call->include_usage) {
              json u = base();
              u["choices"] = json::array();
              u["usage"] = usage(*result);
              ch->push(sse(u));
            }
            ch->close();
          }
        },
        res);
    if (!task) return;
    if (!ch) {
      reply_when_done(res, task, [started] { return started->load(); }, [base, result, usage] {
        json out = base();
        out["choices"] = json::array({{{"index", 0}, {"text", result->text}, {"finish_reason", result->finish}, {"logprobs", nullptr}}});
        out["usage"] = usage(*result);
        return dump(out);
      });
      return;
    }
    while (!ch->has_events_or_end()) ch->wait(1.0);
    if (peek_early_error(*ch, res)) return;
    stream(res, ch, task);
  }

  // ---------------------------------------------------------------------------------- routes

  void routes() {
    auto timed = [this](const char* endpoint, auto handler) {
      return [this, endpoint, handler](const httplib::Request& req, httplib::Response& res) {
        const auto t0 = Clock::now();
        try {
          handler(req, res);
        } catch (const std::exception& e) {
          send_error(res, api_error_from(e));
        }
        // httplib fills in 200 after the handler when it left the status unset (-1).
        metrics.request(endpoint, res.status < 0 ? 200 : res.status, since(t0));
      };
    };
    http.Post("/v1/chat/completions", timed("chat_completions", [this](const auto& q, auto& s) { handle_chat(q, s); }));
    http.Post("/v1/completions", timed("completions", [this](const auto& q, auto& s) { handle_completion(q, s); }));
    http.Get("/v1/models", timed("models", [this](const httplib::Request& q, httplib::Response& s) {
      if (!authorize(q, s).ok) return;
      json m = {{"id", opts.model_name}, {"object", "model"}, {"created", unix_now()}, {"owned_by", "openmuse"},
                {"context_length", engine.options().n_ctx}};
      s.set_content(dump(json{{"object", "list"}, {"data", json::array({m})}}), "application/json");
    }));
    http.Get("/health", timed("health", [this](const httplib::Request&, httplib::Response& s) {
      if (engine.stopping()) {
        s.status = 503;
        s.set_content(R"({"status":"shutting_down"})", "application/json");
      } else {
        s.set_content(R"({"status":"ok"})", "application/json");
      }
    }));
    http.Get("/metrics", timed("metrics", [this](const httplib::Request&, httplib::Response& s) {
      s.set_content(metrics.render(engine.stats()), "text/plain; version=0.0.4");
    }));
    auto not_allowed = [this](const httplib::Request& q, httplib::Response& s) {
      send_error(s, ApiError(405, "invalid_request_error", fmt::format("{} is not allowed on {}", q.method, q.path)));
    };
    for (const char* p : {"/v1/chat/completions", "/v1/completions"}) {
      http.Get(p, not_allowed);
      http.Put(p, not_allowed);
      http.Delete(p, not_allowed);
    }
    http.Post("/v1/models", not_allowed);

    const bool have_web = !opts.web_root.empty() && std::filesystem::is_regular_file(std::filesystem::path(opts.web_root) / "index.html");
    if (have_web) {
      http.set_mount_point("/", opts.web_root);
    } else {
      const std::string root = opts.web_root;
      http.Get("/", [root](const httplib::Request&, httplib::Response& s) {
        s.set_content(fmt::format("<!doctype html><html><head><meta charset=\"utf-8\"><title>OpenMuse</title></head><body>"
                                  "<h1>OpenMuse</h1><p>The web page is not built (no index.html in <code>{}</code>). "
                                  "Build it with <code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>, or pass "
                                  "<code>--web-root DIR</code>.</p><p>The API is at <code>/v1/chat/completions</code> "
                                  "(see docs/server.md).</p></body></html>",
                                  root.empty() ? std::string("web/dist") : root),
                      "text/html; charset=utf-8");
      });
    }

    http.set_error_handler([this](const httplib::Request& q, httplib::Response& s) {
      if (!s.body.empty()) return;
      if (s.status == 413) {
        send_error(s, ApiError(413, "invalid_request_error", fmt::format("the request body is over {} bytes", opts.max_body)));
      } else if (s.status == 404) {
        send_error(s, ApiError(404, "not_found_error", fmt::format("no such endpoint: {} {}", q.method, q.path)));
      } else if (s.status >= 400) {
        send_error(s, ApiError(s.status, s.status >= 500 ? "server_error" : "invalid_request_error", fmt::format("HTTP {}", s.status)));
      }
    });
    http.set_exception_handler([this](const httplib::Request&, httplib::Response& s, std::exception_ptr ep) {
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        send_error(s, api_error_from(e));
      } catch (...) {
        send_error(s, ApiError(500, "server_error", "unknown error"));
      }
    });
    http.set_payload_max_length(opts.max_body);
    const int threads = opts.http_threads > 0 ? opts.http_threads : engine.options().parallel + engine.options().queue + 8;
    http.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  }
};

Server::Server(Engine& engine, const ServerOptions& options) : impl_(std::make_unique<Impl>(engine, options)) {
  if (!options.keys_file.empty()) {
    impl_->keys.emplace(KeyStore::load(options.keys_file));
  } else if (!is_loopback_host(options.host)) {
    fail(ErrorCode::kInvalidArgument,
         "refusing to listen on '{}' without API keys: pass --api-keys FILE (docs/server.md) or use 127.0.0.1",
         options.host);
  }
  impl_->routes();
}

Server::~Server() { stop(); }

int Server::bind() {
  Impl& s = *impl_;
  if (s.opts.port == 0) {
    s.port = s.http.bind_to_any_port(s.opts.host);
  } else {
    s.port = s.http.bind_to_port(s.opts.host, s.opts.port) ? s.opts.port : -1;
  }
  if (s.port < 0) fail(ErrorCode::kIOError, "cannot listen on {}:{}", s.opts.host, s.opts.port);
  return s.port;
}

void Server::listen() { impl_->http.listen_after_bind(); }

void Server::stop() {
  if (impl_->http.is_running()) impl_->http.stop();
}

bool Server::keys_enabled() const { return impl_->keys.has_value(); }
const Metrics& Server::metrics() const { return impl_->metrics; }

}  // namespace muse::server
