"""Drives the official Python MCP SDK client against a server URL and prints what it saw as JSON.

Usage: python client_check.py URL MODE   (MODE: auto | legacy)
`auto` probes server/discover (2026-07-28, stateless); `legacy` uses the initialize handshake.
The SDK's own OAuth provider logs in: discovery, registration, PKCE, then this script plays the
person's browser (consent form, Discord stand-in) and hands the code back to the SDK.
Exit status is non-zero if any step raises.
"""

import asyncio
import html
import json
import re
import sys
from urllib.parse import parse_qs, urljoin, urlparse

import httpx2
from mcp import Client
from mcp.client.auth import AuthorizationCodeResult, OAuthClientProvider, TokenStorage
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.auth import OAuthClientMetadata

CALLBACK = "http://127.0.0.1:9/callback"


class MemoryStorage(TokenStorage):
    def __init__(self):
        self.tokens = None
        self.client = None

    async def get_tokens(self):
        return self.tokens

    async def set_tokens(self, tokens):
        self.tokens = tokens

    async def get_client_info(self):
        return self.client

    async def set_client_info(self, client_info):
        self.client = client_info


async def browse(start: str, seen: dict) -> str:
    """Follows the login as a person's browser would, approving the consent page."""
    jar: dict[str, dict[str, str]] = {}
    url, method, data = start, "GET", None
    async with httpx2.AsyncClient() as http:
        for _ in range(12):
            if url.startswith(CALLBACK):
                return url
            host = urlparse(url).netloc
            cookies = "; ".join(f"{k}={v}" for k, v in jar.get(host, {}).items())
            headers = {"accept": "text/html", **({"cookie": cookies} if cookies else {})}
            if method == "POST":
                headers |= {"content-type": "application/x-www-form-urlencoded", "sec-fetch-site": "same-origin"}
            r = await http.request(method, url, headers=headers, data=data)
            for line in r.headers.get_list("set-cookie"):
                name, _, rest = line.partition("=")
                value = rest.split(";")[0]
                if value and "max-age=0" not in line.lower():
                    jar.setdefault(host, {})[name.strip()] = value
                else:
                    jar.get(host, {}).pop(name.strip(), None)
            if 300 <= r.status_code < 400:
                url, method, data = urljoin(url, r.headers["location"]), "GET", None
                continue
            form = re.search(r'<form method="post" action="([^"]+)">(.*?)</form>', r.text, re.S)
            if r.status_code != 200 or not form:
                raise RuntimeError(f"login stopped at {url}: HTTP {r.status_code}")
            seen["consent"] = r.text
            fields = {k: html.unescape(v) for k, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form.group(2))}
            url, method, data = urljoin(url, form.group(1)), "POST", {**fields, "decision": "approve"}
    raise RuntimeError("too many steps")


async def main(url: str, mode: str) -> dict:
    out: dict = {"mode": mode}
    seen: dict = {}
    pending: dict = {}

    async def redirect_handler(auth_url: str) -> None:
        pending["back"] = await browse(auth_url, seen)

    async def callback_handler() -> AuthorizationCodeResult:
        q = parse_qs(urlparse(pending["back"]).query)
        return AuthorizationCodeResult(code=q["code"][0], state=q.get("state", [None])[0], iss=q.get("iss", [None])[0])

    provider = OAuthClientProvider(
        server_url=url,
        client_metadata=OAuthClientMetadata(
            client_name="Python SDK e2e",
            redirect_uris=[CALLBACK],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
            scope="mcp profile",
        ),
        storage=MemoryStorage(),
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
    )
    http = create_mcp_http_client(auth=provider)
    async with http, Client(streamable_http_client(url, http_client=http), mode=mode, cache=None) as client:
        out["consentNamedClient"] = "Python SDK e2e" in seen.get("consent", "")
        me = await client.call_tool("whoami", {})
        out["whoami"] = me.structured_content
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
            "whoami": {},
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
