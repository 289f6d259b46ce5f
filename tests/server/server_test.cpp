// `muse serve` over real HTTP on loopback: a random llama with think tokens and Qwen3's template (so
// the three modes run and reasoning can be told apart from the answer) and the real stories260K model
// (no chat template, no think tokens).
#include "server/server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <future>
#include <map>
#include <set>

#include "core/error.h"
#include "fixture.h"
#include "server/keys.h"

namespace muse::server {
namespace {

using nlohmann::json;
using testing::Running;
using testing::sse_events;
namespace models = reason::test_models;

json chat(const std::string& mode, int64_t max_tokens = 24, const std::string& q = "What is 2 + 3?") {
  return json{{"messages", json::array({{{"role", "user"}, {"content", q}}})},
              {"mode", mode},
              {"max_tokens", max_tokens},
              {"temperature", 0},
              {"seed", 1}};
}

// The chunks of a streamed body, checked for the envelope every chunk must have; [DONE] must be last.
std::vector<json> chunks(const std::string& body) {
  const std::vector<std::string> ev = sse_events(body);
  EXPECT_FALSE(ev.empty());
  if (ev.empty()) return {};
  EXPECT_EQ(ev.back(), "[DONE]");
  std::vector<json> out;
  for (size_t i = 0; i + 1 < ev.size(); ++i) {
    json j = json::parse(ev[i], nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << ev[i];
    if (j.is_discarded()) continue;
    if (!j.contains("error")) {
      EXPECT_EQ(j["object"], "chat.completion.chunk");
      EXPECT_TRUE(j["choices"].is_array());
    }
    out.push_back(std::move(j));
  }
  return out;
}

double metric(const std::string& text, const std::string& name) {
  const size_t p = text.find("\n" + name + " ");
  if (p == std::string::npos) return -1;
  return std::stod(text.substr(p + name.size() + 2));
}

TEST(Server, HealthModelsMetricsAndErrors) {
  Running s(models::think_model());
  auto c = s.client();
  auto h = c.Get("/health");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(json::parse(h->body)["status"], "ok");
  auto m = c.Get("/v1/models");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 200);
  EXPECT_EQ(json::parse(m->body)["data"][0]["object"], "model");
  auto nf = c.Get("/v1/nothing");
  ASSERT_TRUE(nf);
  EXPECT_EQ(nf->status, 404);
  EXPECT_EQ(json::parse(nf->body)["error"]["type"], "not_found_error");
  auto wrong = c.Get("/v1/chat/completions");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 405);
  auto root = c.Get("/");  // no web/dist given: the how-to page
  ASSERT_TRUE(root);
  EXPECT_EQ(root->status, 200);
  EXPECT_NE(root->body.find("npm run build"), std::string::npos);
  auto met = c.Get("/metrics");
  ASSERT_TRUE(met);
  EXPECT_NE(met->body.find("# TYPE muse_requests_total counter"), std::string::npos);
  EXPECT_NE(met->body.find("muse_requests_total{endpoint=\"health\",status=\"200\"}"), std::string::npos);
  EXPECT_NE(met->body.find("muse_requests_total{endpoint=\"models\",status=\"200\"} 1"), std::string::npos);
  EXPECT_GT(metric(met->body, "muse_kv_pages_total"), 0);
}

TEST(Server, ServesStaticFilesFromTheWebRoot) {
  const std::string dir = testing::temp_path("web");
  std::filesystem::create_directories(dir);
  testing::write_file(dir + "/index.html", "<html>OpenMuse page</html>");
  ServerOptions so;
  so.web_root = dir;
  Running s(models::think_model(), {}, so);
  auto r = s.client().Get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "<html>OpenMuse page</html>");
  std::filesystem::remove_all(dir);
}

TEST(Server, ThinkingSeparatesReasoningFromContent) {
  Running s(models::think_model());
  json req = chat("thinking", 40);
  req["think_budget"] = 12;
  auto r = s.post("/v1/chat/completions", req);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json j = json::parse(r->body);
  EXPECT_EQ(j["object"], "chat.completion");
  const json& msg = j["choices"][0]["message"];
  EXPECT_EQ(msg["role"], "assistant");
  ASSERT_TRUE(msg.contains("reasoning_content"));
  const std::string content = msg["content"], reasoning = msg["reasoning_content"];
  EXPECT_FALSE(reasoning.empty());
  EXPECT_EQ(content.find("<think>"), std::string::npos);
  EXPECT_EQ(content.find("</think>"), std::string::npos);
  const json& u = j["usage"];
  const int64_t rt = u["completion_tokens_details"]["reasoning_tokens"];
  EXPECT_GT(rt, 0);
  EXPECT_LE(rt - 0, 12 + 80);  // thinking (<= budget) + the forced wrap-up
  EXPECT_GT(u["completion_tokens"].get<int64_t>(), 0);
  EXPECT_LE(u["completion_tokens"].get<int64_t>(), 40);
  EXPECT_EQ(u["total_tokens"], u["prompt_tokens"].get<int64_t>() + u["completion_tokens"].get<int64_t>());
  EXPECT_EQ(j["openmuse"]["mode"], "thinking");

  // Streaming the same greedy request gives the same text, reasoning strictly before content.
  req["stream"] = true;
  req["stream_options"] = {{"include_usage", true}};
  auto st = s.post("/v1/chat/completions", req);
  ASSERT_TRUE(st);
  ASSERT_EQ(st->status, 200);
  EXPECT_NE(st->get_header_value("Content-Type").find("text/event-stream"), std::string::npos);
  EXPECT_NE(st->get_header_value("Content-Type").find("charset=utf-8"), std::string::npos)
      << "clients that honour the header (Playwright, some SDKs) would decode the UTF-8 stream as Latin-1";
  const std::vector<json> cs = chunks(st->body);
  ASSERT_GE(cs.size(), 3u);
  EXPECT_EQ(cs.front()["choices"][0]["delta"]["role"], "assistant");
  std::string sr, sc;
  bool content_seen = false, finish_seen = false;
  json usage;
  for (const json& c : cs) {
    if (c.contains("usage")) {
      usage = c["usage"];
      EXPECT_TRUE(c["choices"].empty());
      continue;
    }
    const json& d = c["choices"][0]["delta"];
    if (d.contains("reasoning_content")) {
      EXPECT_FALSE(content_seen) << "reasoning after content";
      sr += d["reasoning_content"].get<std::string>();
    }
    if (d.contains("content")) {
      sc += d["content"].get<std::string>();
      if (!d["content"].get<std::string>().empty()) content_seen = true;
    }
    if (!c["choices"][0]["finish_reason"].is_null()) finish_seen = true;
  }
  EXPECT_TRUE(finish_seen);
  EXPECT_EQ(sr, reasoning);
  EXPECT_EQ(sc, content);
  EXPECT_EQ(usage["completion_tokens"], u["completion_tokens"]);
  EXPECT_EQ(usage["completion_tokens_details"], u["completion_tokens_details"]);
  EXPECT_EQ(usage["prompt_tokens"], u["prompt_tokens"]);
}

TEST(Server, LogprobsCoverTheAnswerTokensAndStreamWithTheLastChunk) {
  Running s(models::think_model());
  json req = chat("thinking", 40);
  req["think_budget"] = 8;
  req["logprobs"] = true;
  req["top_logprobs"] = 3;
  auto r = s.post("/v1/chat/completions", req);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json j = json::parse(r->body);
  const std::string content = j["choices"][0]["message"]["content"];
  const json& lp = j["choices"][0]["logprobs"]["content"];
  ASSERT_TRUE(lp.is_array());
  ASSERT_FALSE(lp.empty()) << "the answer has tokens: " << content;
  // The answer's tokens, in order: their bytes spell the content (after the whitespace that separates it
  // from the thinking block); each has its 3 most likely alternatives, most likely first, and greedy
  // decoding never picks a token less likely than the best alternative.
  std::string spelled;
  for (const json& e : lp) {
    for (int b : e["bytes"]) spelled.push_back(static_cast<char>(b));
    const float chosen = e["logprob"];
    EXPECT_LE(chosen, 0.0f);
    ASSERT_EQ(e["top_logprobs"].size(), 3u);
    double mass = 0.0;
    float prev = 0.0f;
    for (size_t k = 0; k < 3; ++k) {
      const float v = e["top_logprobs"][k]["logprob"];
      if (k > 0) {
        EXPECT_LE(v, prev);
      }
      prev = v;
      mass += std::exp(v);
    }
    EXPECT_LE(mass, 1.0 + 1e-4);
    EXPECT_LE(chosen, e["top_logprobs"][0]["logprob"].get<float>() + 1e-4f);
  }
  // The random model writes bytes that are not UTF-8, which the content shows as U+FFFD; its ASCII must
  // match exactly.
  const auto ascii = [](std::string t) {
    std::erase_if(t, [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
    return t;
  };
  EXPECT_EQ(ascii(spelled.substr(std::min(spelled.size(), spelled.find_first_not_of(" \t\r\n")))), ascii(content));
  EXPECT_LE(static_cast<int64_t>(lp.size()), j["usage"]["completion_tokens"].get<int64_t>());

  // Streamed: the same list, whole, in the choice's last chunk.
  req["stream"] = true;
  auto st = s.post("/v1/chat/completions", req);
  ASSERT_TRUE(st);
  ASSERT_EQ(st->status, 200);
  json streamed;
  for (const json& c : chunks(st->body)) {
    if (!c["choices"].empty() && c["choices"][0].contains("logprobs")) {
      streamed = c["choices"][0]["logprobs"]["content"];
    }
  }
  EXPECT_EQ(streamed, lp);

  // Without logprobs the field stays null, as OpenAI's.
  auto plain = s.post("/v1/chat/completions", chat("thinking", 24));
  ASSERT_TRUE(plain);
  EXPECT_TRUE(json::parse(plain->body)["choices"][0]["logprobs"].is_null());
}

TEST(Server, NChoicesAreSampledTogetherInOneBatchedRun) {
  Running s(models::think_model());
  json req = chat("thinking", 24);
  req["temperature"] = 1.0;
  req["n"] = 3;
  const int64_t before = s.engine->stats().forward_calls;
  auto r = s.post("/v1/chat/completions", req);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const int64_t steps = s.engine->stats().forward_calls - before;
  // One prefill and at most 24 decode steps for all three (one after another would take ~75).
  EXPECT_LE(steps, 26);
  const json j = json::parse(r->body);
  ASSERT_EQ(j["choices"].size(), 3u);
  std::set<std::string> texts;
  int64_t generated = 0;
  for (int k = 0; k < 3; ++k) {
    const json& c = j["choices"][k];
    EXPECT_EQ(c["index"], k);
    texts.insert(c["message"]["reasoning_content"].get<std::string>() + "|" + c["message"]["content"].get<std::string>());
  }
  EXPECT_EQ(texts.size(), 3u) << "three different samples";
  // Usage: the shared prompt once, every sample's tokens.
  generated = j["usage"]["completion_tokens"];
  EXPECT_GT(generated, 24);
  EXPECT_LE(generated, 3 * 24);

  // Streamed, the same three choices come interleaved, each under its own index.
  req["stream"] = true;
  auto st = s.post("/v1/chat/completions", req);
  ASSERT_TRUE(st);
  ASSERT_EQ(st->status, 200);
  std::map<int, std::string> reasoning, content;
  std::set<int> finished;
  for (const json& c : chunks(st->body)) {
    if (c["choices"].empty()) continue;
    const int k = c["choices"][0]["index"];
    const json& d = c["choices"][0]["delta"];
    if (d.contains("reasoning_content")) reasoning[k] += d["reasoning_content"].get<std::string>();
    if (d.contains("content")) content[k] += d["content"].get<std::string>();
    if (!c["choices"][0]["finish_reason"].is_null()) finished.insert(k);
  }
  EXPECT_EQ(finished, (std::set<int>{0, 1, 2}));
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(reasoning[k], j["choices"][k]["message"]["reasoning_content"]) << k;
    EXPECT_EQ(content[k], j["choices"][k]["message"]["content"]) << k;
  }
}

TEST(Server, InstantHasNoReasoning) {
  Running s(models::think_model());
  auto r = s.post("/v1/chat/completions", chat("instant", 16));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json j = json::parse(r->body);
  EXPECT_FALSE(j["choices"][0]["message"].contains("reasoning_content"));
  EXPECT_EQ(j["usage"]["completion_tokens_details"]["reasoning_tokens"], 0);
  EXPECT_GT(j["usage"]["completion_tokens"].get<int64_t>(), 0);
}

TEST(Server, ContemplatingStreamsAgentsThenTheAggregatedAnswer) {
  EngineOptions eo;
  eo.max_agents = 3;
  Running s(models::think_model(), eo);
  json req = chat("contemplating", 24);
  req["agents"] = 3;
  req["think_budget"] = 8;
  req["temperature"] = 0.8;
  req["stream"] = true;
  auto r = s.post("/v1/chat/completions", req);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  std::set<int> agents_seen;
  bool progress = false, aggregation = false, final_after_agg = false;
  std::string final_content;
  for (const json& c : chunks(r->body)) {
    const json& d = c["choices"][0]["delta"];
    if (d.contains("agent")) {
      agents_seen.insert(d["agent"].get<int>());
      EXPECT_FALSE(d.contains("content")) << "agent text must not go into content";
    }
    if (d.contains("agent_progress")) {
      progress = true;
      EXPECT_EQ(d["agent_progress"].size(), 3u);
    }
    if (d.contains("aggregation")) {
      aggregation = true;
      EXPECT_EQ(d["aggregation"]["method"], "vote");
      EXPECT_EQ(d["aggregation"]["candidates"].size(), 3u);
    }
    if (d.contains("content") && !d.contains("role")) {
      final_content += d["content"].get<std::string>();
      final_after_agg = !aggregation;
    }
  }
  EXPECT_EQ(agents_seen, (std::set<int>{0, 1, 2}));
  EXPECT_TRUE(progress);
  EXPECT_TRUE(aggregation);
  (void)final_after_agg;

  req["stream"] = false;
  auto nr = s.post("/v1/chat/completions", req);
  ASSERT_TRUE(nr);
  ASSERT_EQ(nr->status, 200) << nr->body;
  const json j = json::parse(nr->body);
  EXPECT_EQ(j["openmuse"]["agents"].size(), 3u);
  EXPECT_EQ(j["openmuse"]["mode"], "contemplating");
  int64_t sum = 0;
  for (const json& a : j["openmuse"]["agents"]) sum += a["reasoning_tokens"].get<int64_t>() + a["content_tokens"].get<int64_t>();
  EXPECT_EQ(j["usage"]["completion_tokens"].get<int64_t>(), sum);  // every agent's tokens are counted
}

TEST(Server, StoriesModelWithoutTemplateAndCompletions) {
  Running s(models::stories());
  auto r = s.post("/v1/chat/completions", chat("thinking", 12, "Tell me a story."));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json j = json::parse(r->body);
  EXPECT_FALSE(j["choices"][0]["message"]["content"].get<std::string>().empty());
  EXPECT_FALSE(j["choices"][0]["message"].contains("reasoning_content"));  // no think tokens
  EXPECT_FALSE(j["openmuse"]["notes"].empty());

  auto c = s.post("/v1/completions", json{{"prompt", "Once upon a time"}, {"max_tokens", 10}, {"temperature", 0}});
  ASSERT_TRUE(c);
  ASSERT_EQ(c->status, 200) << c->body;
  const json cj = json::parse(c->body);
  EXPECT_EQ(cj["object"], "text_completion");
  EXPECT_FALSE(cj["choices"][0]["text"].get<std::string>().empty());
  EXPECT_EQ(cj["usage"]["completion_tokens"], 10);
  EXPECT_EQ(cj["choices"][0]["finish_reason"], "length");

  auto cs = s.post("/v1/completions", json{{"prompt", "Once upon a time"}, {"max_tokens", 10}, {"temperature", 0}, {"stream", true}});
  ASSERT_TRUE(cs);
  std::string text;
  for (const std::string& e : sse_events(cs->body)) {
    if (e == "[DONE]") continue;
    text += json::parse(e)["choices"][0]["text"].get<std::string>();
  }
  EXPECT_EQ(text, cj["choices"][0]["text"].get<std::string>());
}

TEST(Server, BadRequestsAre4xxNeverACrash) {
  EngineOptions eo;
  eo.n_ctx = 128;
  ServerOptions so;
  so.max_body = 4096;
  Running s(models::think_model(), eo, so);
  auto c = s.client();
  auto expect = [&](const std::string& body, int status, const std::string& what) {
    auto r = c.Post("/v1/chat/completions", body, "application/json");
    ASSERT_TRUE(r) << what;
    EXPECT_EQ(r->status, status) << what << ": " << r->body;
    const json j = json::parse(r->body, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << what << ": " << r->body;
    EXPECT_TRUE(j["error"]["message"].is_string()) << what;
    EXPECT_TRUE(j["error"]["type"].is_string()) << what;
  };
  expect("{not json", 400, "malformed");
  expect("", 400, "empty");
  expect("[]", 400, "array body");
  expect(R"({"messages": "hi"})", 400, "messages type");
  expect(R"({"messages": [{"role":"user","content":"x"}], "temperature": "hot"})", 400, "temperature type");
  expect(R"({"messages": [{"role":"user","content":"x"}], "tools": [{"type":"function"}]})", 400, "tools");
  expect(std::string(8000, ' ') + "{}", 413, "oversized");
  const std::string long_q(400, 'x');
  json over = chat("instant", 8, long_q);
  expect(over.dump(), 400, "prompt over the context");
  over["stream"] = true;
  expect(over.dump(), 400, "streamed prompt over the context");
  auto r = c.Post("/v1/chat/completions", chat("instant", 8, long_q).dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(json::parse(r->body)["error"]["code"], "context_length_exceeded");
  // Still serving.
  auto ok = s.post("/v1/chat/completions", chat("instant", 4));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

TEST(Server, ApiKeysRateLimitsAndQuotas) {
  const std::string path = testing::temp_path("keys.txt");
  testing::write_file(path, "sk-alice alice\nsha256:" + sha256_hex("sk-bob") + " bob 1\nsk-carol carol 0 1\n");
  ServerOptions so;
  so.keys_file = path;
  Running s(models::think_model(), {}, so);
  const json req = chat("instant", 4);
  auto none = s.post("/v1/chat/completions", req);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(json::parse(none->body)["error"]["code"], "invalid_api_key");
  auto wrong = s.post("/v1/chat/completions", req, "sk-mallory");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  auto models = s.client().Get("/v1/models");
  ASSERT_TRUE(models);
  EXPECT_EQ(models->status, 401);
  auto health = s.client().Get("/health");  // open without a key
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto alice = s.post("/v1/chat/completions", req, "sk-alice");
  ASSERT_TRUE(alice);
  EXPECT_EQ(alice->status, 200);
  // bob: one request per minute.
  auto bob1 = s.post("/v1/chat/completions", req, "sk-bob");
  ASSERT_TRUE(bob1);
  EXPECT_EQ(bob1->status, 200);
  auto bob2 = s.post("/v1/chat/completions", req, "sk-bob");
  ASSERT_TRUE(bob2);
  EXPECT_EQ(bob2->status, 429);
  EXPECT_EQ(json::parse(bob2->body)["error"]["code"], "rate_limit_exceeded");
  EXPECT_FALSE(bob2->get_header_value("Retry-After").empty());
  // carol: a quota of 1 token, spent by the first request.
  auto carol1 = s.post("/v1/chat/completions", req, "sk-carol");
  ASSERT_TRUE(carol1);
  EXPECT_EQ(carol1->status, 200);
  auto carol2 = s.post("/v1/chat/completions", req, "sk-carol");
  ASSERT_TRUE(carol2);
  EXPECT_EQ(carol2->status, 429);
  EXPECT_EQ(json::parse(carol2->body)["error"]["code"], "insufficient_quota");
  std::remove(path.c_str());
}

TEST(Server, WithoutKeysOnlyLoopback) {
  models::ChatModel m = models::think_model();
  core::ThreadPool pool(1);
  EngineOptions eo;
  eo.n_ctx = 256;
  Engine engine(*m.model, *m.tok, pool, eo);
  ServerOptions so;
  so.host = "0.0.0.0";
  EXPECT_THROW({ Server srv(engine, so); }, Error);
  EXPECT_TRUE(is_loopback_host("127.0.0.1"));
  EXPECT_TRUE(is_loopback_host("localhost"));
  EXPECT_FALSE(is_loopback_host("192.168.1.2"));
}

// Writes a request on a raw socket, reads until `marker` shows up `times` times, then hangs up.
void read_then_hang_up(int port, const std::string& body, const std::string& marker, int times) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string req = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                          std::to_string(body.size()) + "\r\n\r\n" + body;
  ASSERT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
  std::string got;
  char buf[4096];
  int seen = 0;
  while (seen < times) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    ASSERT_GT(n, 0) << got;
    got.append(buf, static_cast<size_t>(n));
    seen = 0;
    for (size_t p = got.find(marker); p != std::string::npos; p = got.find(marker, p + 1)) ++seen;
  }
  ::close(fd);
}

// After a client hung up: the engine notices at a following step, the request ends, its sequences and KV
// pages are freed, the cancel is counted, and it took fewer than max_steps forward passes.
void expect_cancelled_early(Running& s, int64_t max_steps) {
  const auto t0 = std::chrono::steady_clock::now();
  EngineStats st = s.engine->stats();
  while ((st.active > 0 || st.kv_pages_used > 8) && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(20)) {
    usleep(10000);
    st = s.engine->stats();
  }
  EXPECT_EQ(st.active, 0);
  auto met = s.client().Get("/metrics");
  ASSERT_TRUE(met);
  EXPECT_EQ(metric(met->body, "muse_cancelled_total"), 1);
  EXPECT_LT(st.forward_calls, max_steps);
}

TEST(Server, ADisconnectCancelsTheGeneration) {
  EngineOptions eo;
  eo.n_ctx = 16384;
  Running s(models::think_model(), eo);
  // A long generation (up to 16000 tokens) leaves time to notice the hang-up even on a loaded machine: with
  // a 1024-token context the tiny model could finish before a descheduled client's close was seen.
  json req = chat("thinking", 16000);
  req["think_budget"] = -1;
  req["stream"] = true;
  req["messages"][0]["content"] = "Think for a long time.";
  read_then_hang_up(s.port, req.dump(), "reasoning_content", 3);
  expect_cancelled_early(s, 12000);  // of the ~16000 steps the whole generation takes
}

// F32 weights: the engine's batching (shared steps, per-sequence KV and sampling) must not change what a
// request gets. With quantized weights the kernels for 3+ tokens sum a row's blocks in a different
// order than the one- and two-token kernels (core/matmul_gemm_avx512.cpp), so batched and solo logits
// can differ in the last bits and a sampled text can diverge; the F32 kernels sum in one order.
TEST(Server, ANonStreamingClientThatHangsUpIsCancelledToo) {
  EngineOptions eo;
  eo.n_ctx = 16384;
  Running s(models::think_model(), eo);
  // This tiny model writes thousands of tokens in a fraction of a second: 8 choices of 16000 tokens
  // (sampled together) leave time to notice the hang-up even on a loaded machine.
  json req = chat("thinking", 16000);
  req["think_budget"] = -1;
  req["n"] = 8;
  req["messages"][0]["content"] = "Think for a long time.";
  // Once generation runs, the reply's status line goes out and whitespace follows until the JSON is
  // ready; hanging up then makes a write fail, and that cancels the request.
  read_then_hang_up(s.port, req.dump(), "200 OK", 1);
  expect_cancelled_early(s, 12000);  // of the ~16000 steps that 8 choices of 16000 tokens take

  // A client that stays gets the whole completion, whitespace first, as valid JSON.
  auto r = s.post("/v1/chat/completions", chat("thinking", 24));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  const json j = json::parse(r->body, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r->body;
  EXPECT_EQ(j["object"], "chat.completion");
  // And an error found before generation keeps its status (a prompt over the context).
  json big = chat("thinking", 24, std::string(100000, 'x'));
  auto e = s.post("/v1/chat/completions", big);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->status, 400) << e->body;
}

TEST(Server, ConcurrentRequestsShareStepsAndMatchSoloRuns) {
  EngineOptions eo;
  eo.parallel = 3;
  Running s(models::think_model(true, 3, models::qwen3_template(), core::DType::kF32), eo);
  auto body = [](int i) {
    // Long enough that the requests overlap for most of their steps even when a loaded machine starts
    // the three clients tens of milliseconds apart: thinking without a budget cannot end before
    // max_tokens (end of generation is banned inside the thinking block).
    json r = chat("thinking", 600, "Question number " + std::to_string(i));
    r["think_budget"] = -1;
    r["temperature"] = 0.9;
    r["seed"] = 100 + i;
    return r;
  };
  struct Out {
    std::string content;
    int64_t tokens = 0;
  };
  auto run = [&](int i) {
    auto r = s.post("/v1/chat/completions", body(i));
    if (!r || r->status != 200) return Out{"<failed>", 0};
    const json j = json::parse(r->body);
    return Out{j["choices"][0]["message"].value("reasoning_content", "") + "|" + j["choices"][0]["message"]["content"].get<std::string>(),
               j["usage"]["completion_tokens"].get<int64_t>()};
  };
  std::vector<Out> solo;
  for (int i = 0; i < 3; ++i) solo.push_back(run(i));
  const int64_t before = s.engine->stats().forward_calls;
  std::vector<std::future<Out>> futs;
  for (int i = 0; i < 3; ++i) futs.push_back(std::async(std::launch::async, run, i));
  int64_t generated = 0;
  for (int i = 0; i < 3; ++i) {
    const Out o = futs[static_cast<size_t>(i)].get();
    EXPECT_EQ(o.content, solo[static_cast<size_t>(i)].content) << i;  // batching does not change the output
    generated += o.tokens;
  }
  const int64_t steps = s.engine->stats().forward_calls - before;
  // One request at a time takes at least one step per token; sharing steps takes fewer.
  EXPECT_GT(generated, 30);
  EXPECT_LT(steps, generated * 3 / 4) << "steps " << steps << " for " << generated << " tokens";
}

TEST(Server, FullQueueIs429AndShutdownIs503) {
  EngineOptions eo;
  eo.parallel = 1;
  eo.queue = 0;
  eo.n_ctx = 1024;  // room for a long first request
  Running s(models::think_model(), eo);
  json slow = chat("thinking", 3000);
  slow["think_budget"] = -1;
  slow["stream"] = true;
  auto first = std::async(std::launch::async, [&] { return s.post("/v1/chat/completions", slow); });
  const auto t0 = std::chrono::steady_clock::now();
  while (s.engine->stats().active == 0 && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10)) usleep(2000);
  auto second = s.post("/v1/chat/completions", chat("instant", 4));
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 429);
  EXPECT_EQ(json::parse(second->body)["error"]["code"], "queue_full");
  EXPECT_FALSE(second->get_header_value("Retry-After").empty());
  // Shutdown with no grace cancels the running stream, which still ends properly.
  s.engine->shutdown(0.0);
  auto r = first.get();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(sse_events(r->body).back(), "[DONE]");
  auto health = s.client().Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 503);
  auto after = s.post("/v1/chat/completions", chat("instant", 4));
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 503);
  EXPECT_EQ(json::parse(after->body)["error"]["code"], "shutting_down");
}

}  // namespace
}  // namespace muse::server
