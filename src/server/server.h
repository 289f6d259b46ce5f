// Server: the HTTP side of `muse serve` (docs/server.md): routes, API keys, SSE streaming, metrics and
// the static web page, over cpp-httplib, in front of one Engine.
//
//   server::Engine engine(model, tok, pool, engine_options);
//   server::Server srv(engine, server_options);   // loads the keys; refuses a public host without keys
//   int port = srv.bind();                        // port 0: any free port
//   std::thread t([&] { srv.listen(); });          // blocks until stop()
//   ...; engine.shutdown(grace); srv.stop(); t.join();
//
// Thread-safety: listen() runs on one thread and serves connections on httplib's pool; stop() may be
// called from any thread. Errors: the constructor and bind() throw muse::Error; a request never
// crashes the server (every handler answers an OpenAI error object instead).
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "server/engine.h"
#include "server/metrics.h"

namespace muse::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;               // 0: any free port
  std::string web_root;          // static files for GET /; empty or missing: a how-to-build page
  std::string keys_file;         // empty: no keys (then only a loopback host is allowed)
  size_t max_body = 1 << 20;     // bytes
  std::string model_name = "muse";  // what GET /v1/models lists
  int http_threads = 0;          // 0: parallel + queue + 8
};

class Server {
 public:
  Server(Engine& engine, const ServerOptions& options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  int bind();     // binds host:port, returns the port; throws kIOError when it cannot
  void listen();  // serves until stop()
  void stop();
  bool keys_enabled() const;
  const Metrics& metrics() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Whether `host` is a loopback address (127.0.0.0/8, ::1, localhost).
bool is_loopback_host(const std::string& host);

}  // namespace muse::server
