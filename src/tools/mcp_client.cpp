#include "tools/mcp_client.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "core/error.h"

namespace muse::tools {

using json = nlohmann::json;

namespace {

constexpr size_t kMaxLine = 16 << 20;  // a server answer larger than this is refused
constexpr const char* kProtocolVersion = "2025-03-26";

}  // namespace

McpClient::McpClient(std::string command, double timeout_seconds) : command_(std::move(command)), timeout_(timeout_seconds) {
  if (command_.empty()) fail(ErrorCode::kInvalidArgument, "mcp: empty server command");
  struct sigaction old {};
  if (sigaction(SIGPIPE, nullptr, &old) == 0 && old.sa_handler == SIG_DFL) signal(SIGPIPE, SIG_IGN);
  int in_pipe[2], out_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0) fail(ErrorCode::kIOError, "mcp: pipe: {}", std::strerror(errno));
  if (pipe2(out_pipe, O_CLOEXEC) != 0) {
    close(in_pipe[0]);
    close(in_pipe[1]);
    fail(ErrorCode::kIOError, "mcp: pipe: {}", std::strerror(errno));
  }
  pid_ = fork();
  if (pid_ < 0) fail(ErrorCode::kIOError, "mcp: fork: {}", std::strerror(errno));
  if (pid_ == 0) {
    setpgid(0, 0);  // its own process group, so stop() can end the shell and what it started
    dup2(in_pipe[0], STDIN_FILENO);
    dup2(out_pipe[1], STDOUT_FILENO);
    execl("/bin/sh", "sh", "-c", command_.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  to_child_ = in_pipe[1];
  from_child_ = out_pipe[0];
  try {
    json init = request("initialize", {{"protocolVersion", kProtocolVersion},
                                       {"capabilities", json::object()},
                                       {"clientInfo", {{"name", "openmuse"}, {"version", "0.1.0"}}}});
    server_info_ = init.value("serverInfo", json::object());
    send({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});
  } catch (...) {
    stop();
    throw;
  }
}

McpClient::~McpClient() { stop(); }

void McpClient::stop() {
  if (to_child_ >= 0) close(to_child_);
  if (from_child_ >= 0) close(from_child_);
  to_child_ = from_child_ = -1;
  if (pid_ > 0) {
    const pid_t pid = pid_;
    pid_ = -1;
    for (int i = 0; i < 50; ++i) {  // up to 0.5 s to exit on its own after stdin closed
      if (waitpid(pid, nullptr, WNOHANG) == pid) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
}

void McpClient::send(const json& msg) {
  const std::string line = msg.dump() + "\n";  // dump() never writes a raw newline
  size_t off = 0;
  while (off < line.size()) {
    ssize_t n = write(to_child_, line.data() + off, line.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EPIPE) {  // the server is gone (it may die before or after reading our request)
      fail(ErrorCode::kUnavailable, "mcp: '{}' exited before answering {}", command_,
           msg.is_object() && msg.contains("method") && msg["method"].is_string() ? msg["method"].get<std::string>()
                                                                                : std::string("a message"));
    }
    if (n <= 0) fail(ErrorCode::kUnavailable, "mcp: '{}': cannot write to the server: {}", command_, std::strerror(errno));
    off += static_cast<size_t>(n);
  }
}

std::string McpClient::read_line(const std::string& method) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_);
  for (;;) {
    const size_t nl = inbuf_.find('\n');
    if (nl != std::string::npos) {
      std::string line = inbuf_.substr(0, nl);
      inbuf_.erase(0, nl + 1);
      return line;
    }
    if (inbuf_.size() > kMaxLine) fail(ErrorCode::kUnavailable, "mcp: '{}': answer to {} is over {} bytes", command_, method, kMaxLine);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      fail(ErrorCode::kUnavailable, "mcp: '{}' did not answer {} within {} s", command_, method, timeout_);
    }
    pollfd p{from_child_, POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) continue;  // the deadline check above reports it
    char buf[65536];
    ssize_t n = read(from_child_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail(ErrorCode::kUnavailable, "mcp: '{}' exited before answering {}", command_, method);
    inbuf_.append(buf, static_cast<size_t>(n));
  }
}

json McpClient::request(const std::string& method, const json& params) {
  const int64_t id = next_id_++;
  send({{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}});
  for (;;) {
    const std::string line = read_line(method);
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    json msg = json::parse(line, nullptr, false);
    if (msg.is_discarded() || !msg.is_object()) {
      fail(ErrorCode::kUnavailable, "mcp: '{}' wrote a line that is not a JSON-RPC message while answering {}", command_, method);
    }
    if (!msg.contains("id") || msg.contains("method")) {
      // A notification, or a request from the server (sampling, roots...), which we do not offer.
      if (msg.contains("method") && msg.contains("id")) {
        send({{"jsonrpc", "2.0"}, {"id", msg["id"]}, {"error", {{"code", -32601}, {"message", "method not supported"}}}});
      }
      continue;
    }
    if (msg["id"] != json(id)) continue;  // a late answer to an earlier (timed-out) request
    if (msg.contains("error")) {
      const json& e = msg["error"];
      fail(ErrorCode::kInvalidArgument, "mcp: '{}' {} failed: {} (code {})", command_, method,
           e.value("message", std::string("?")), e.value("code", 0));
    }
    if (!msg.contains("result")) fail(ErrorCode::kUnavailable, "mcp: '{}' answered {} without a result", command_, method);
    return msg["result"];
  }
}

std::vector<ToolSpec> McpClient::list_tools() {
  std::vector<ToolSpec> out;
  json params = json::object();
  for (int page = 0; page < 100; ++page) {
    json r = request("tools/list", params);
    if (!r.contains("tools") || !r["tools"].is_array()) fail(ErrorCode::kUnavailable, "mcp: '{}': tools/list has no tools array", command_);
    for (const json& t : r["tools"]) {
      if (!t.is_object() || !t.contains("name") || !t["name"].is_string()) continue;
      ToolSpec s;
      s.name = t["name"].get<std::string>();
      s.description = t.value("description", std::string());
      if (t.contains("inputSchema") && t["inputSchema"].is_object()) s.parameters = t["inputSchema"];
      out.push_back(std::move(s));
    }
    if (!r.contains("nextCursor") || !r["nextCursor"].is_string()) break;
    params = {{"cursor", r["nextCursor"]}};
  }
  return out;
}

std::string McpClient::call_tool(const std::string& name, const json& arguments) {
  json r = request("tools/call", {{"name", name}, {"arguments", arguments}});
  std::string text;
  if (r.contains("content") && r["content"].is_array()) {
    for (const json& c : r["content"]) {
      if (!c.is_object()) continue;
      if (c.value("type", "") == "text") {
        text += (text.empty() ? "" : "\n") + c.value("text", std::string());
      } else {
        text += (text.empty() ? "" : "\n") + fmt::format("[{} content]", c.value("type", std::string("unknown")));
      }
    }
  }
  if (text.empty() && r.contains("structuredContent")) text = r["structuredContent"].dump();
  if (r.value("isError", false)) fail(ErrorCode::kInvalidArgument, "{}", text.empty() ? "the tool failed" : text);
  return text;
}

std::vector<std::string> add_mcp_tools(ToolRegistry& reg, McpClient& client) {
  std::vector<std::string> notes;
  for (ToolSpec& s : client.list_tools()) {
    if (reg.has(s.name)) {
      notes.push_back(fmt::format("mcp tool '{}' skipped: the name is taken", s.name));
      continue;
    }
    const std::string name = s.name;
    try {
      reg.add(std::move(s), [&client, name](const json& args) { return client.call_tool(name, args); });
    } catch (const Error& e) {
      notes.push_back(fmt::format("mcp tool '{}' skipped: {}", name, e.what()));
    }
  }
  return notes;
}

}  // namespace muse::tools
