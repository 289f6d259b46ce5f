#!/usr/bin/env python3
"""A tiny MCP server over stdio (JSON-RPC 2.0, one message per line) for the McpClient test.

Tools: add(a, b) -> the sum as text; fail() -> an isError result; slow(seconds) sleeps first.
It also sends a notification before each answer and a request the client must decline, so the
client's skipping logic is exercised. Python 3 standard library only.
"""
import json
import sys
import time

TOOLS = [
    {"name": "add", "description": "Adds two integers.",
     "inputSchema": {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                     "required": ["a", "b"]}},
    {"name": "fail", "description": "Always fails.", "inputSchema": {"type": "object", "properties": {}}},
    {"name": "slow", "description": "Sleeps.",
     "inputSchema": {"type": "object", "properties": {"seconds": {"type": "number"}}, "required": ["seconds"]}},
]


def send(msg):
    sys.stdout.write(json.dumps(msg) + "\n")
    sys.stdout.flush()


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        msg = json.loads(line)
        if "id" not in msg:
            continue  # a notification (notifications/initialized)
        if "method" not in msg:
            continue  # the client's answer to our ping request
        mid, method, params = msg["id"], msg["method"], msg.get("params", {})
        send({"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "info", "data": method}})
        if method == "initialize":
            send({"jsonrpc": "2.0", "id": mid, "result": {
                "protocolVersion": params.get("protocolVersion", "2025-03-26"),
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "muse-test-server", "version": "1.0"}}})
        elif method == "tools/list":
            if params.get("cursor") is None:
                send({"jsonrpc": "2.0", "id": "srv-1", "method": "roots/list"})  # the client must decline it
                send({"jsonrpc": "2.0", "id": mid, "result": {"tools": TOOLS[:2], "nextCursor": "page2"}})
            else:
                send({"jsonrpc": "2.0", "id": mid, "result": {"tools": TOOLS[2:]}})
        elif method == "tools/call":
            name, args = params["name"], params.get("arguments", {})
            if name == "add":
                result = {"content": [{"type": "text", "text": str(args["a"] + args["b"])}]}
            elif name == "fail":
                result = {"content": [{"type": "text", "text": "it failed on purpose"}], "isError": True}
            elif name == "slow":
                time.sleep(float(args["seconds"]))
                result = {"content": [{"type": "text", "text": "done"}]}
            else:
                send({"jsonrpc": "2.0", "id": mid, "error": {"code": -32602, "message": "unknown tool " + name}})
                continue
            send({"jsonrpc": "2.0", "id": mid, "result": result})
        else:
            send({"jsonrpc": "2.0", "id": mid, "error": {"code": -32601, "message": "no method " + method}})


if __name__ == "__main__":
    main()
