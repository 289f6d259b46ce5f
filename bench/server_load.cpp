// Load test of `muse serve`: an in-process Engine + Server on a loopback port, C concurrent HTTP clients
// each sending R chat requests (instant mode, T tokens), for several C. Prints the aggregate generated
// tokens/s and the ratio to one client, i.e. what continuous batching buys (docs/performance.md).
//
//   bench_server_load -m ../shared/data/models/stories260K.gguf --clients 1,8,32 -n 64 -r 2 -t 2
//   bench_server_load --synthetic-dim 1024 ...   a random memory-bound model with stories260K's tokenizer
//   bench_server_load --clients 1,32 --seconds 60 --stream 1 ...   each client sends streaming requests
//                                                  for 60 s (the soak test); exits 1 on any error
#include <fmt/format.h>
#include <httplib.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/thread_pool.h"
#include "gguf/gguf.h"
#include "model/model.h"
#include "model/synthetic.h"
#include "server/engine.h"
#include "server/server.h"
#include "text/tokenizer.h"

using namespace muse;
using nlohmann::json;

int main(int argc, char** argv) {
  std::string path = "../shared/data/models/stories260K.gguf";  // from the repository root
  std::vector<int> clients = {1, 8, 32};
  int n_tokens = 64, repeats = 2, threads = 1;
  double seconds = 0.0;  // > 0: each client sends requests until this much time has passed (not -r)
  bool stream = false;   // SSE requests (the usage comes in the last chunk)
  int64_t synthetic_dim = 0;  // > 0: a random Q8_0 llama of this width (8 layers) with the model's tokenizer
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "-m") path = v;
    else if (a == "-n") n_tokens = std::atoi(v.c_str());
    else if (a == "-r") repeats = std::atoi(v.c_str());
    else if (a == "-t") threads = std::atoi(v.c_str());
    else if (a == "--synthetic-dim") synthetic_dim = std::atoll(v.c_str());
    else if (a == "--seconds") seconds = std::atof(v.c_str());
    else if (a == "--stream") stream = v == "1";
    else if (a == "--clients") {
      clients.clear();
      std::stringstream ss(v);
      for (std::string x; std::getline(ss, x, ',');) clients.push_back(std::atoi(x.c_str()));
    } else {
      std::fprintf(stderr, "usage: %s [-m MODEL] [--synthetic-dim D] [--clients 1,8,32] [-n TOKENS] [-r REQUESTS_PER_CLIENT | --seconds S] [--stream 1] [-t THREADS]\n", argv[0]);
      return 2;
    }
  }
  int max_clients = 1;
  for (int c : clients) max_clients = std::max(max_clients, c);
  auto model = model::Model::load(path);
  auto tok = text::Tokenizer::from_gguf(model->file());
  if (synthetic_dim > 0) {
    // A memory-bound model (weights far bigger than the caches), where batching pays, with the real
    // model's vocabulary so that the chat template and tokenizer work.
    model::SyntheticSpec spec;
    spec.n_vocab = model->hparams().n_vocab;
    spec.n_embd = synthetic_dim;
    spec.n_head = 16;
    spec.n_head_kv = 4;
    spec.n_layer = 8;
    spec.n_ff = synthetic_dim * 8 / 3 / 64 * 64;
    spec.n_ctx = 512;
    spec.weight_type = core::DType::kQ8_0;
    gguf::Writer w;
    model::build_synthetic(spec, w);
    for (const auto& [key, value] : model->file().metadata()) {
      if (key.rfind("tokenizer.", 0) == 0) w.set(key, value);
    }
    auto synth = model::Model::from_file(gguf::File::from_bytes(w.to_bytes(), "synthetic.gguf"));
    tok = text::Tokenizer::from_gguf(synth->file());
    model = std::move(synth);
    path = fmt::format("synthetic llama dim {} x 8 layers Q8_0 ({:.0f} MB of weights) with {}'s tokenizer", synthetic_dim,
                       static_cast<double>(model->file().file_size()) / 1e6, path);
  }
  core::ThreadPool pool(threads);
  server::EngineOptions eo;
  eo.parallel = max_clients;
  eo.queue = max_clients;
  eo.max_agents = 1;
  eo.n_ctx = std::min<int64_t>(model->hparams().n_ctx_train, 512);
  server::Engine engine(*model, *tok, pool, eo);
  server::ServerOptions so;
  so.port = 0;
  server::Server srv(engine, so);
  const int port = srv.bind();
  std::thread listener([&] { srv.listen(); });

  if (seconds > 0) {
    std::printf("model %s, %d thread(s), %d tokens per request, requests for %.0f s per client%s\n", path.c_str(),
                threads, n_tokens, seconds, stream ? ", streaming" : "");
  } else {
    std::printf("model %s, %d thread(s), %d tokens per request, %d requests per client%s\n", path.c_str(), threads,
                n_tokens, repeats, stream ? ", streaming" : "");
  }
  std::printf("| clients | requests | generated tokens | wall s | tokens/s (all clients) | vs 1 client | engine steps | tokens/step |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  double base = 0.0;
  int all_failed = 0;
  for (int c : clients) {
    std::vector<int64_t> tokens(static_cast<size_t>(c), 0);
    std::vector<int> failures(static_cast<size_t>(c), 0);
    std::vector<int> sent(static_cast<size_t>(c), 0);
    const int64_t steps0 = engine.stats().forward_calls;
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> ts;
    for (int i = 0; i < c; ++i) {
      ts.emplace_back([&, i] {
        httplib::Client cl("127.0.0.1", port);
        cl.set_read_timeout(600, 0);
        auto more = [&](int r) {
          return seconds > 0 ? std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < seconds
                             : r < repeats;
        };
        for (int r = 0; more(r); ++r) {
          json body = {{"messages", json::array({{{"role", "user"}, {"content", "Tell me a story about a cat."}}})},
                       {"mode", "instant"}, {"max_tokens", n_tokens}, {"temperature", 0.8}, {"seed", i * 1000 + r}};
          if (stream) {
            body["stream"] = true;
            body["stream_options"] = {{"include_usage", true}};
          }
          ++sent[static_cast<size_t>(i)];
          auto res = cl.Post("/v1/chat/completions", body.dump(), "application/json");
          // A streamed reply must end with its usage chunk and [DONE]; an error event inside it counts too.
          std::optional<int64_t> got;
          std::string why;
          if (!res) {
            why = httplib::to_string(res.error());
          } else if (res->status != 200) {
            why = std::to_string(res->status) + " " + res->body;
          } else if (!stream) {
            got = json::parse(res->body)["usage"]["completion_tokens"].get<int64_t>();
          } else if (res->body.find("data: [DONE]") == std::string::npos || res->body.find("\"error\"") != std::string::npos) {
            why = "stream without [DONE] or with an error: " + res->body.substr(0, 300);
          } else {
            const size_t u = res->body.rfind("data: {");
            const json last = json::parse(res->body.substr(u + 6, res->body.find('\n', u) - u - 6), nullptr, false);
            if (last.is_discarded() || !last.contains("usage")) {
              why = "stream without a usage chunk";
            } else {
              got = last["usage"]["completion_tokens"].get<int64_t>();
            }
          }
          if (!got) {
            if (failures[static_cast<size_t>(i)] == 0) std::fprintf(stderr, "client %d: %s\n", i, why.c_str());
            ++failures[static_cast<size_t>(i)];
            continue;
          }
          tokens[static_cast<size_t>(i)] += *got;
        }
      });
    }
    for (auto& t : ts) t.join();
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    int64_t total = 0;
    int failed = 0, requests = 0;
    for (int i = 0; i < c; ++i) {
      total += tokens[static_cast<size_t>(i)];
      failed += failures[static_cast<size_t>(i)];
      requests += sent[static_cast<size_t>(i)];
    }
    all_failed += failed;
    const int64_t steps = engine.stats().forward_calls - steps0;
    const double tps = static_cast<double>(total) / wall;
    if (base == 0.0) base = tps;
    std::printf("| %d | %d (%d failed) | %lld | %.2f | %.0f | %.2fx | %lld | %.1f |\n", c, requests, failed, static_cast<long long>(total), wall, tps, tps / base,
                static_cast<long long>(steps), steps > 0 ? static_cast<double>(total) / static_cast<double>(steps) : 0.0);
    std::fflush(stdout);
  }
  engine.shutdown(0.0);
  srv.stop();
  listener.join();
  std::printf("errors: %d\n", all_failed);
  return all_failed == 0 ? 0 : 1;
}
