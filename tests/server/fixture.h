// A running `muse serve` in-process for the tests: an Engine and a Server on a free loopback port,
// driven over real HTTP with httplib's client; plus SSE parsing.
#pragma once

#include <httplib.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/thread_pool.h"
#include "reason/chat_model.h"
#include "server/engine.h"
#include "server/server.h"

namespace muse::server::testing {

using nlohmann::json;

struct Running {
  reason::test_models::ChatModel m;
  core::ThreadPool pool{1};
  std::unique_ptr<Engine> engine;
  std::unique_ptr<Server> server;
  std::thread thread;
  int port = 0;

  Running(reason::test_models::ChatModel model, EngineOptions eo = {}, ServerOptions so = {}) : m(std::move(model)) {
    eo.kv.page_size = 16;
    if (eo.n_ctx == 4096) eo.n_ctx = 512;
    engine = std::make_unique<Engine>(*m.model, *m.tok, pool, eo);
    so.port = 0;
    server = std::make_unique<Server>(*engine, so);
    port = server->bind();
    thread = std::thread([this] { server->listen(); });
    for (int i = 0; i < 200; ++i) {
      httplib::Client c("127.0.0.1", port);
      if (c.Get("/health")) break;
      usleep(5000);
    }
  }
  ~Running() {
    engine->shutdown(0.0);
    server->stop();
    thread.join();
  }
  httplib::Client client(const std::string& key = "") const {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(30, 0);
    if (!key.empty()) c.set_bearer_token_auth(key);
    return c;
  }
  httplib::Result post(const std::string& path, const json& body, const std::string& key = "") const {
    return client(key).Post(path, body.dump(), "application/json");
  }
};

// The data: payloads of an SSE body ("[DONE]" kept as a string).
inline std::vector<std::string> sse_events(const std::string& body) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t end = body.find('\n', pos);
    if (end == std::string::npos) end = body.size();
    const std::string line = body.substr(pos, end - pos);
    if (line.rfind("data: ", 0) == 0) out.push_back(line.substr(6));
    pos = end + 1;
  }
  return out;
}

inline std::string temp_path(const std::string& stem) {
  return ::testing::TempDir() + stem + "_" + std::to_string(getpid());
}

inline void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

}  // namespace muse::server::testing
