// McpClient: a Model Context Protocol client over stdio (JSON-RPC 2.0, one JSON message per line).
//
//   McpClient mcp("python3 server.py --flag");    // starts it with /bin/sh -c, runs initialize
//   for (const ToolSpec& t : mcp.list_tools()) ...  // tools/list (all pages)
//   std::string out = mcp.call_tool("add", {{"a", 1}});  // tools/call: the text content joined
//   add_mcp_tools(registry, mcp);                  // every server tool as a registry tool
//
// The child's stdin/stdout are pipes owned by the client; its stderr is inherited. Every request waits
// at most `timeout_seconds` for its answer; notifications and requests from the server are skipped.
// The destructor closes the child's stdin and, if it has not exited after a short grace period,
// kills it. Writing to a server that has died would raise SIGPIPE: the constructor sets SIGPIPE to
// "ignore" when it is at its default (the one process-wide change it makes).
//
// Errors: a command that cannot start, a server that exits, answers garbage, or times out throws
// muse::Error(kUnavailable) naming the command and the method; a JSON-RPC error answer throws
// kInvalidArgument with the server's message; a tool result with isError: true throws kInvalidArgument
// with its text (so a registry call turns it into an error result for the model). Not thread-safe.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/registry.h"

namespace muse::tools {

class McpClient {
 public:
  explicit McpClient(std::string command, double timeout_seconds = 20.0);
  ~McpClient();
  McpClient(const McpClient&) = delete;
  McpClient& operator=(const McpClient&) = delete;

  std::vector<ToolSpec> list_tools();
  std::string call_tool(const std::string& name, const nlohmann::json& arguments);

  const nlohmann::json& server_info() const { return server_info_; }
  const std::string& command() const { return command_; }

 private:
  nlohmann::json request(const std::string& method, const nlohmann::json& params);
  void send(const nlohmann::json& msg);
  std::string read_line(const std::string& method);
  void stop();  // closes the pipes, reaps (or kills) the child

  std::string command_;
  double timeout_;
  pid_t pid_ = -1;
  int to_child_ = -1, from_child_ = -1;
  std::string inbuf_;
  int64_t next_id_ = 1;
  nlohmann::json server_info_;
};

// Registers every tool the server lists; a tool whose name is already taken is skipped with a note.
// The client must outlive the registry.
std::vector<std::string> add_mcp_tools(ToolRegistry& reg, McpClient& client);

}  // namespace muse::tools
