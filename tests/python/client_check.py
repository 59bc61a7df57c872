"""Drives the official Python MCP SDK client against a server URL and prints what it saw as JSON.

Usage: python client_check.py URL MODE   (MODE: auto | legacy)
`auto` probes server/discover (2026-07-28, stateless); `legacy` uses the initialize handshake.
Exit status is non-zero if any step raises.
"""

import asyncio
import json
import sys

from mcp import Client


async def main(url: str, mode: str) -> dict:
    out: dict = {"mode": mode}
    async with Client(url, mode=mode, cache=None) as client:
        out["protocolVersion"] = client.protocol_version
        out["serverName"] = client.server_info.name if client.server_info else None
        tools = await client.list_tools()
        out["tools"] = [t.name for t in tools.tools]
        calls = {
            "echo": {"message": "héllo from python"},
            "add": {"a": 2, "b": 40},
            "get_time": {},
            "server_info": {},
            "hello": {"name": "Python"},
        }
        out["calls"] = {}
        for name, args in calls.items():
            r = await client.call_tool(name, args)
            out["calls"][name] = {"isError": bool(r.is_error), "structured": r.structured_content}
        bad = await client.call_tool("add", {"a": 1})
        out["invalidCall"] = {"isError": bool(bad.is_error), "text": bad.content[0].text}
        resources = await client.list_resources()
        out["resources"] = [str(r.uri) for r in resources.resources]
        read = await client.read_resource("guide://connect")
        out["resourceText"] = read.contents[0].text
        templates = await client.list_resource_templates()
        out["templates"] = [t.uri_template for t in templates.resource_templates]
        prompts = await client.list_prompts()
        out["prompts"] = [p.name for p in prompts.prompts]
        prompt = await client.get_prompt("tool_guide", {"tool": "echo"})
        out["promptText"] = prompt.messages[0].content.text
    return out


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], sys.argv[2]))))
