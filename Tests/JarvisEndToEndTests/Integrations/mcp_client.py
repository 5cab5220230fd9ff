#!/usr/bin/env python3
"""Drives `jarvisctl mcp` with the official MCP Python SDK (the `mcp` package, pinned in
mcp-requirements.txt) as a real client, against a running jarvisd. Run by MCPTests.swift:

    mcp_client.py JARVISCTL SOCKET

Part one speaks through the SDK's stdio client: the handshake, every tool, entries as
resources, and the errors for an unknown entry or tool. Part two writes raw lines to a second
server, among them malformed ones, and reads the answers back through the SDK's message types:
each malformed line gets a JSON-RPC error and the server goes on serving.

Prints one JSON object of findings on the last line; exits 1 with the reason on a failed check.
"""
import asyncio
import importlib.metadata
import json
import os
import subprocess
import sys

from mcp import ClientSession, types
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.shared.exceptions import McpError
from pydantic import AnyUrl

TOOLS = {"remember", "ask", "search", "list", "show", "forget"}


def check(condition, message):
    if not condition:
        print(f"FAILED: {message}", file=sys.stderr, flush=True)
        # At once: inside the SDK's task groups an exit would come out as an exception group.
        os._exit(1)


def text_of(result):
    return "".join(c.text for c in result.content if isinstance(c, types.TextContent))


async def through_the_sdk(jarvisctl, socket):
    found = {}
    params = StdioServerParameters(command=jarvisctl, args=["mcp", "--socket", socket])
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            check(init.serverInfo.name == "jarvis", f"server name {init.serverInfo.name!r}")
            check(init.capabilities.tools is not None and init.capabilities.resources is not None, "tools and resources capabilities")
            found["protocol_version"] = str(init.protocolVersion)

            tools = await session.list_tools()
            names = {t.name for t in tools.tools}
            check(names == TOOLS, f"tools {sorted(names)}")
            found["tools"] = sorted(names)

            r = await session.call_tool("remember", {"text": "My gym locker is number 40, in the basement.", "name": "locker"})
            check(not r.isError, f"remember: {text_of(r)}")
            locker = r.structuredContent["entries"][0]["id"]
            check(r.structuredContent["entries"][0]["name"] == "locker", "remember keeps the name")
            r = await session.call_tool("remember", {"text": "My sister Anna moved to Porto in May.", "aliases": ["my sister"]})
            check(not r.isError, f"second remember: {text_of(r)}")
            anna = r.structuredContent["entries"][0]["id"]

            r = await session.call_tool("search", {"query": "gym locker number", "limit": 5})
            check(not r.isError, f"search: {text_of(r)}")
            hits = r.structuredContent["hits"]
            check([h["id"] for h in hits][:1] == [locker], f"search ranks the locker first: {hits}")
            check("locker" in hits[0]["snippet"], f"the snippet shows the match: {hits[0]['snippet']!r}")
            check(len(hits) == 2 and hits[0]["score"] >= hits[1]["score"], f"two hits, best first: {hits}")
            found["search_first"] = hits[0]["id"]

            r = await session.call_tool("list", {})
            check(sorted(e["id"] for e in r.structuredContent["entries"]) == sorted([locker, anna]), f"list: {text_of(r)}")

            r = await session.call_tool("show", {"entry": "locker"})
            check(not r.isError and r.structuredContent["entry"]["text"] == "My gym locker is number 40, in the basement.", f"show: {text_of(r)}")

            resources = await session.list_resources()
            uris = {str(x.uri) for x in resources.resources}
            check(uris == {f"jarvis://entry/{locker}", f"jarvis://entry/{anna}"}, f"resources {sorted(uris)}")
            templates = await session.list_resource_templates()
            check([t.uriTemplate for t in templates.resourceTemplates] == ["jarvis://entry/{id}"], "the entry template")
            content = await session.read_resource(AnyUrl(f"jarvis://entry/{anna}"))
            check(content.contents[0].text == "My sister Anna moved to Porto in May.", f"read_resource: {content}")

            r = await session.call_tool("ask", {"question": "What number is my gym locker?", "max_tokens": 24})
            check(not r.isError and r.structuredContent["answer"].strip() != "", f"ask: {text_of(r)}")
            check(locker in r.structuredContent["entries"], f"ask rests on the locker entry: {r.structuredContent}")
            found["answer"] = r.structuredContent["answer"]

            # Bad input: each is an error, and the session goes on.
            r = await session.call_tool("show", {"entry": "no-such-entry"})
            check(r.isError and "not_found" in text_of(r), f"unknown entry: {text_of(r)}")
            r = await session.call_tool("forget", {})
            check(r.isError and "missing argument" in text_of(r), f"missing argument: {text_of(r)}")
            try:
                await session.read_resource(AnyUrl("jarvis://entry/999999"))
                check(False, "reading an unknown entry must fail")
            except McpError as e:
                check(e.error.code == -32002, f"unknown resource code {e.error.code}")
            try:
                await session.call_tool("dance", {})
                check(False, "an unknown tool must fail")
            except McpError as e:
                check(e.error.code == types.INVALID_PARAMS, f"unknown tool code {e.error.code}")

            r = await session.call_tool("forget", {"entry": str(anna)})
            check(not r.isError and r.structuredContent["entry"]["id"] == anna, f"forget: {text_of(r)}")
            r = await session.call_tool("list", {})
            check([e["id"] for e in r.structuredContent["entries"]] == [locker], f"list after forget: {text_of(r)}")
    return found


def raw_lines(jarvisctl, socket):
    """Malformed messages on a raw pipe; every answer parsed by the SDK's JSONRPCMessage."""
    p = subprocess.Popen([jarvisctl, "mcp", "--socket", socket], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True, bufsize=1)

    def send(line):
        p.stdin.write(line + "\n")
        p.stdin.flush()

    def answer_to(request_id):
        """Reads messages until the answer to request_id; returns it and the errors before it."""
        errors = []
        while True:
            line = p.stdout.readline()
            check(line != "", f"the server closed its output before answering {request_id}")
            message = types.JSONRPCMessage.model_validate_json(line).root
            if getattr(message, "id", None) == request_id:
                return message, errors
            if isinstance(message, types.JSONRPCError):
                errors.append(message.error.code)

    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": types.LATEST_PROTOCOL_VERSION, "capabilities": {},
                       "clientInfo": {"name": "raw", "version": "0"}}}
    send(json.dumps(init))
    message, _ = answer_to(1)
    check(isinstance(message, types.JSONRPCResponse), f"initialize: {message}")
    send(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}))

    send("{this is not json")
    send('{"jsonrpc": "2.0", "id": 2, "method": 42}')
    send("[1, 2")
    send(json.dumps({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}))
    message, errors = answer_to(3)
    check(isinstance(message, types.JSONRPCResponse), f"tools/list after malformed lines: {message}")
    check(len(message.result["tools"]) == len(TOOLS), f"tools/list result: {message.result}")
    check(types.PARSE_ERROR in errors, f"a parse error for the malformed lines, got {errors}")

    send(json.dumps({"jsonrpc": "2.0", "id": 4, "method": "no/such/method"}))
    message, _ = answer_to(4)
    check(isinstance(message, types.JSONRPCError) and message.error.code == types.METHOD_NOT_FOUND, f"unknown method: {message}")

    send(json.dumps({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "show", "arguments": {"entry": 7}}}))
    message, _ = answer_to(5)
    check(isinstance(message, types.JSONRPCResponse) and message.result.get("isError") is True, f"a mistyped argument: {message}")

    # A request written just before the input closes is still answered, then the server exits.
    send(json.dumps({"jsonrpc": "2.0", "id": 6, "method": "tools/call", "params": {"name": "list", "arguments": {}}}))
    p.stdin.close()
    message, _ = answer_to(6)
    check(isinstance(message, types.JSONRPCResponse) and not message.result.get("isError"), f"still serving: {message}")
    check(p.wait(timeout=60) == 0, f"the server's exit status when its input closed: {p.returncode}")
    return {"errors_before_answer": errors, "still_serving": True}


def main():
    jarvisctl, socket = sys.argv[1], sys.argv[2]
    found = asyncio.run(through_the_sdk(jarvisctl, socket))
    found.update(raw_lines(jarvisctl, socket))
    found["mcp_sdk"] = importlib.metadata.version("mcp")
    print(json.dumps(found))


if __name__ == "__main__":
    main()
