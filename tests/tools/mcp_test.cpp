// MCP client round trip against tests/tools/mcp_server.py (a stdlib-only Python MCP server):
// initialize, tools/list over two pages, tools/call, an isError result, a JSON-RPC error, a timeout,
// and a server that does not start.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "core/error.h"
#include "tools/mcp_client.h"

namespace muse::tools {
namespace {

using json = nlohmann::json;

std::string server_command() {
  const std::filesystem::path script = std::filesystem::path(__FILE__).parent_path() / "mcp_server.py";
  return "exec python3 '" + script.string() + "'";
}

TEST(McpClient, RoundTrip) {
  McpClient mcp(server_command(), 10.0);
  EXPECT_EQ(mcp.server_info().value("name", ""), "muse-test-server");
  std::vector<ToolSpec> tools = mcp.list_tools();
  ASSERT_EQ(tools.size(), 3u);  // two pages
  EXPECT_EQ(tools[0].name, "add");
  EXPECT_EQ(tools[0].parameters["required"], json::array({"a", "b"}));
  EXPECT_EQ(mcp.call_tool("add", {{"a", 40}, {"b", 2}}), "42");
  try {
    mcp.call_tool("fail", json::object());
    ADD_FAILURE() << "isError was not reported";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("it failed on purpose"), std::string::npos);
  }
  try {
    mcp.call_tool("nope", json::object());
    ADD_FAILURE() << "JSON-RPC error was not reported";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown tool nope"), std::string::npos) << e.what();
  }
  // Still usable after the errors.
  EXPECT_EQ(mcp.call_tool("add", {{"a", -1}, {"b", 1}}), "0");
}

TEST(McpClient, ToolsJoinTheRegistryAndValidateArguments) {
  McpClient mcp(server_command(), 10.0);
  ToolRegistry reg;
  add_builtin_tools(reg, {"calculator"}, nullptr);
  EXPECT_TRUE(add_mcp_tools(reg, mcp).empty());
  EXPECT_TRUE(reg.has("add"));
  ToolCall c;
  c.name = "add";
  c.arguments = {{"a", 2}, {"b", 3}};
  EXPECT_EQ(reg.call(c).content, "5");
  c.arguments = {{"a", "two"}, {"b", 3}};
  ToolResult r = reg.call(c);
  EXPECT_TRUE(r.is_error);  // refused by the schema before reaching the server
  c.name = "fail";
  c.arguments = json::object();
  r = reg.call(c);
  EXPECT_TRUE(r.is_error);
  EXPECT_NE(r.content.find("it failed on purpose"), std::string::npos);
}

TEST(McpClient, TimesOutAndReportsDeadServers) {
  // 8 s: enough for python3 to start and answer initialize on a loaded machine (0.3 s was not on CI;
  // 1 s was not beside a training run; 8 s leaves room for a slower start), and still far below the 30 s
  // the slow call would take.
  McpClient mcp(server_command(), 8.0);
  const auto t0 = std::chrono::steady_clock::now();
  try {
    mcp.call_tool("slow", {{"seconds", 30}});
    ADD_FAILURE() << "no timeout";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnavailable);
    EXPECT_NE(std::string(e.what()).find("did not answer tools/call"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 20.0);
  try {
    McpClient dead("exit 3", 5.0);
    ADD_FAILURE() << "started a dead server";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnavailable);
    EXPECT_NE(std::string(e.what()).find("exited before answering initialize"), std::string::npos) << e.what();
  }
  EXPECT_THROW(McpClient("echo not-json; sleep 5", 5.0), Error);
}

}  // namespace
}  // namespace muse::tools
