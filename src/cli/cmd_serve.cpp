// muse serve: the OpenAI-compatible HTTP server (docs/server.md). Loads one model, starts the engine
// (continuous batching over a shared KV cache) and serves the API and the web page until SIGINT or
// SIGTERM, then shuts down gracefully: in-flight requests get --grace seconds to finish.
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "cli/commands.h"
#include "cli/reason_options.h"
#include "core/error.h"
#include "server/engine.h"
#include "server/server.h"

namespace muse::cli {
namespace {

struct ServeOptions {
  ModelOptions model;
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string keys_file;
  std::string web_root;
  int parallel = 4;
  int queue = 16;
  int max_agents = 8;
  int64_t kv_pages = 0;
  size_t max_body = 1 << 20;
  double grace = 10.0;
  std::string chat_template_file;
  std::string model_name;
};

// web/dist beside the repository: from the working directory, or up from the binary (build/<dir>/muse).
std::string default_web_root() {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_regular_file("web/dist/index.html", ec)) return "web/dist";
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return "web/dist";
  for (fs::path dir = exe.parent_path(); !dir.empty() && dir != dir.root_path(); dir = dir.parent_path()) {
    if (fs::is_regular_file(dir / "web" / "dist" / "index.html", ec)) return (dir / "web" / "dist").string();
  }
  return "web/dist";
}

void serve(const ServeOptions& o) {
  // SIGINT/SIGTERM are taken by a waiter thread (sigwait), so block them before any thread starts.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  LoadedModel m = load_for_reasoning(o.model);
  server::EngineOptions eo;
  eo.parallel = o.parallel;
  eo.queue = o.queue;
  eo.max_agents = o.max_agents;
  eo.n_ctx = o.model.resolved_ctx(m.model->hparams());
  eo.kv.type = o.model.kv();
  eo.kv.n_pages = o.kv_pages;
  if (!o.chat_template_file.empty()) {
    std::ifstream in(o.chat_template_file, std::ios::binary);
    if (!in) fail(ErrorCode::kNotFound, "--chat-template: cannot read '{}'", o.chat_template_file);
    std::stringstream ss;
    ss << in.rdbuf();
    eo.chat_template = ss.str();
  }
  server::ServerOptions so;
  so.host = o.host;
  so.port = o.port;
  so.keys_file = o.keys_file;
  so.web_root = o.web_root.empty() ? default_web_root() : o.web_root;
  so.max_body = o.max_body;
  so.model_name = !o.model_name.empty() ? o.model_name : std::filesystem::path(o.model.path).stem().string();

  server::Engine engine(*m.model, *m.tok, *m.pool, eo);
  server::Server srv(engine, so);
  const int port = srv.bind();
  if (!srv.keys_enabled()) {
    std::fprintf(stderr, "muse serve: no API keys: listening on %s only (pass --api-keys FILE to serve others)\n",
                 o.host.c_str());
  }
  std::fprintf(stderr, "muse serve: %s on http://%s:%d (context %lld, %d parallel, queue %d, KV %lld pages%s)\n",
               so.model_name.c_str(), o.host.c_str(), port, static_cast<long long>(eo.n_ctx), eo.parallel, eo.queue,
               static_cast<long long>(engine.stats().kv_pages_total), engine.has_think_tags() ? "" : ", no think tokens");
  std::fflush(stderr);

  std::atomic<bool> done{false};
  std::thread waiter([&] {
    const timespec tick{0, 200'000'000};
    while (!done) {
      const int sig = sigtimedwait(&sigs, nullptr, &tick);
      if (sig == SIGINT || sig == SIGTERM) {
        std::fprintf(stderr, "muse serve: %s: finishing in-flight requests (up to %.0f s)\n",
                     sig == SIGINT ? "SIGINT" : "SIGTERM", o.grace);
        engine.shutdown(o.grace);
        srv.stop();
        return;
      }
    }
  });
  srv.listen();
  done = true;
  waiter.join();
  engine.shutdown(0.0);
  std::fprintf(stderr, "muse serve: stopped\n");
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto o = std::make_shared<ServeOptions>();
  auto* cmd = app.add_subcommand("serve", "Serve the model over an OpenAI-compatible HTTP API and the web page "
                                          "(docs/server.md)");
  o->model.add_to(cmd);
  cmd->add_option("--host", o->host, "Address to listen on (a non-loopback address needs --api-keys)")->capture_default_str();
  cmd->add_option("--port", o->port, "Port (0: any free port)")->check(CLI::Range(0, 65535))->capture_default_str();
  cmd->add_option("--api-keys", o->keys_file, "API keys file: KEY [NAME [REQ_PER_MIN [TOKEN_QUOTA]]] per line; KEY "
                                              "is sha256:<hex> or plain")->check(CLI::ExistingFile);
  cmd->add_option("--web-root", o->web_root, "Folder of the web page (default: web/dist beside the repository)");
  cmd->add_option("--parallel", o->parallel, "Requests generating at once (sharing each decode step)")
      ->check(CLI::Range(1, 256))->capture_default_str();
  cmd->add_option("--queue", o->queue, "Requests waiting for a slot before 429")->check(CLI::Range(0, 100000))->capture_default_str();
  cmd->add_option("--max-agents", o->max_agents, "Most agents a contemplating request may use")
      ->check(CLI::Range(1, 64))->capture_default_str();
  cmd->add_option("--kv-pages", o->kv_pages, "KV cache pages shared by all requests (0: every slot can fill its context)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 30))->capture_default_str();
  cmd->add_option("--max-body", o->max_body, "Largest request body in bytes")->check(CLI::Range(size_t{1024}, size_t{1} << 30))->capture_default_str();
  cmd->add_option("--grace", o->grace, "Seconds in-flight requests get to finish at shutdown")->check(CLI::Range(0.0, 3600.0))->capture_default_str();
  cmd->add_option("--chat-template", o->chat_template_file, "Jinja chat template file replacing the model's")->check(CLI::ExistingFile);
  cmd->add_option("--model-name", o->model_name, "Model id shown by /v1/models (default: the file name)");
  cmd->callback([o] { serve(*o); });
}

}  // namespace muse::cli
