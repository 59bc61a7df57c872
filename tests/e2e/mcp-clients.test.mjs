// Clients this project did not write: the official TypeScript SDK client and the official
// Python SDK client (both its 2026-07-28 stateless mode and its initialize handshake) connect
// to the built Worker, list and call every tool, read a resource and get a prompt.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { ROOT, startWithStandin } from '../support/worker.mjs';
import { DEFAULT_USER } from '../support/discord-standin.mjs';
import { CALLBACK, browse } from '../support/oauth.mjs';
import { definedTools } from '../support/tools.mjs';

const TOOLS = definedTools();

function runPython(args) {
  return new Promise((resolve) => {
    const child = spawn(path.join(ROOT, '.venv', 'bin', 'python'), args);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => { stdout += b; });
    child.stderr.on('data', (b) => { stderr += b; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('exit', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** The SDK's OAuthClientProvider, in memory; the "browser" is tests/support/oauth.mjs. */
class MemoryProvider {
  constructor() { this.authUrl = null; }
  get redirectUrl() { return CALLBACK; }
  get clientMetadata() {
    return {
      redirect_uris: [CALLBACK], client_name: 'TypeScript SDK e2e', token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], scope: 'mcp profile email',
    };
  }
  clientInformation() { return this.client; }
  saveClientInformation(info) { this.client = info; }
  tokens() { return this.saved; }
  saveTokens(t) { this.saved = t; }
  redirectToAuthorization(url) { this.authUrl = url; }
  saveCodeVerifier(v) { this.verifier = v; }
  codeVerifier() { return this.verifier; }
}

describe('official SDK clients, logging in with OAuth through the Discord stand-in', () => {
  let w;
  let d;
  let both;
  before(async () => {
    both = await startWithStandin();
    ({ worker: w, standin: d } = both);
  });
  after(() => both?.close());

  test('TypeScript SDK: discovery, registration, PKCE, consent, Discord, token; then every tool, resources, prompts', async () => {
    const provider = new MemoryProvider();
    const url = new URL(`${w.url}/mcp`);
    const first = new StreamableHTTPClientTransport(url, { authProvider: provider });
    await assert.rejects(new Client({ name: 'ts-sdk-e2e', version: '1.0.0' }).connect(first), UnauthorizedError);
    assert.ok(provider.client.client_id.startsWith('mcpc1.'), 'registered dynamically');
    assert.ok(provider.authUrl, 'sent the person to /authorize');
    assert.equal(provider.authUrl.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(provider.authUrl.searchParams.get('resource'), `${w.url}/mcp`);
    const { url: back, pages } = await browse(provider.authUrl.toString());
    assert.match(pages[0].html, /TypeScript SDK e2e/, 'the consent page names the client');
    const code = new URL(back).searchParams.get('code');
    assert.equal(new URL(back).searchParams.get('iss'), w.url);
    await first.finishAuth(code);
    assert.equal(provider.saved.token_type, 'Bearer');

    const client = new Client({ name: 'ts-sdk-e2e', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(url, { authProvider: provider });
    await client.connect(transport);
    try {
      const me = await client.callTool({ name: 'whoami', arguments: {} });
      assert.equal(me.structuredContent.id, DEFAULT_USER.id);
      assert.equal(me.structuredContent.username, DEFAULT_USER.username);
      assert.equal(me.structuredContent.email, null, 'the SDK asked for the scope the 401 named: mcp profile');
      assert.deepEqual(me.structuredContent.scopes, ['mcp', 'profile']);
      assert.equal(client.getServerVersion().name, 'mcp-oauth-worker');
      assert.ok(transport.sessionId, 'a signed session id was issued and is echoed');
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((t) => t.name), TOOLS);

      const echo = await client.callTool({ name: 'echo', arguments: { message: 'from TS' } });
      assert.deepEqual(echo.structuredContent, { message: 'from TS', length: 7 });
      const add = await client.callTool({ name: 'add', arguments: { a: 0.1, b: 0.2 } });
      assert.ok(Math.abs(add.structuredContent.sum - 0.3) < 1e-12);
      const time = await client.callTool({ name: 'get_time', arguments: {} });
      assert.match(time.structuredContent.utc, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.ok(Math.abs(time.structuredContent.unix - Date.now() / 1000) < 120);
      const info = await client.callTool({ name: 'server_info', arguments: {} });
      assert.equal(info.structuredContent.mcpUrl, `${w.url}/mcp`);
      const hello = await client.callTool({ name: 'hello', arguments: { name: 'TS' } });
      assert.equal(hello.structuredContent.greeting, 'Hello, TS! (Greeted on behalf of Nelly.)');
      const invalid = await client.callTool({ name: 'hello', arguments: {} });
      assert.equal(invalid.isError, true);
      assert.match(invalid.content[0].text, /argument `name`: is required/);

      const { resources } = await client.listResources();
      assert.deepEqual(resources.map((r) => r.uri), ['guide://connect', 'guide://tools']);
      const read = await client.readResource({ uri: 'guide://connect/claude-code' });
      assert.match(read.contents[0].text, new RegExp(`claude mcp add --transport http discord-tools ${w.url}/mcp`));
      const { resourceTemplates } = await client.listResourceTemplates();
      assert.equal(resourceTemplates[0].uriTemplate, 'guide://connect/{client}');

      const { prompts } = await client.listPrompts();
      assert.deepEqual(prompts.map((p) => p.name), ['tool_guide', 'getting_started']);
      const prompt = await client.getPrompt({ name: 'tool_guide', arguments: { tool: 'add' } });
      assert.match(prompt.messages[0].content.text, /`add`/);

      const done = await client.complete({ ref: { type: 'ref/resource', uri: 'guide://connect/{client}' }, argument: { name: 'client', value: 'cu' } });
      assert.deepEqual(done.completion.values, ['cursor']);
      await client.setLoggingLevel('warning');
      await client.ping();

      // The access token stops working (as when it expires): the SDK refreshes with its
      // refresh token, stores the rotated one, and the call goes through.
      const before = provider.saved.refresh_token;
      assert.match(before, /^mcpr1\./);
      provider.saved = { ...provider.saved, access_token: 'no-longer-valid' };
      const again = await client.callTool({ name: 'echo', arguments: { message: 'after refresh' } });
      assert.equal(again.structuredContent.message, 'after refresh');
      assert.notEqual(provider.saved.refresh_token, before, 'rotated refresh token saved');
      assert.notEqual(provider.saved.access_token, 'no-longer-valid');
      const refreshes = d.requests.filter((r) => r.path === '/api/oauth2/token').length;
      assert.equal(refreshes, 1, 'refreshing our token never calls Discord');
    } finally {
      await client.close();
    }
  });

  for (const mode of ['auto', 'legacy']) {
    test(`Python SDK (mode ${mode}): its OAuth provider logs in, then every tool, resources, prompts`, async () => {
      // Asynchronously: the Discord stand-in runs in this process and must keep answering.
      const r = await runPython([path.join(ROOT, 'tests', 'python', 'client_check.py'), `${w.url}/mcp`, mode]);
      assert.equal(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout.trim().split('\n').at(-1));
      assert.equal(out.protocolVersion, mode === 'auto' ? '2026-07-28' : '2025-11-25');
      assert.equal(out.serverName, 'mcp-oauth-worker');
      assert.deepEqual(out.tools, TOOLS);
      assert.deepEqual(out.calls.echo, { isError: false, structured: { message: 'héllo from python', length: 17 } });
      assert.deepEqual(out.calls.add.structured, { sum: 42 });
      assert.equal(out.calls.hello.structured.greeting, 'Hello, Python! (Greeted on behalf of Nelly.)');
      assert.equal(out.consentNamedClient, true);
      assert.equal(out.whoami.id, DEFAULT_USER.id);
      assert.equal(out.whoami.email, null, 'email only with the email scope');
      // The tools the Python client calls (tests/python/client_check.py), each without error.
      assert.deepEqual(Object.keys(out.calls), ['echo', 'add', 'get_time', 'server_info', 'hello', 'whoami']);
      for (const t of Object.keys(out.calls)) assert.equal(out.calls[t].isError, false, t);
      assert.deepEqual(out.invalidCall, { isError: true, text: 'Invalid arguments for `add`: argument `b`: is required (a number)' });
      assert.deepEqual(out.resources, ['guide://connect', 'guide://tools']);
      assert.match(out.resourceText, /Server URL: `http:\/\/127\.0\.0\.1:\d+\/mcp`/);
      assert.deepEqual(out.templates, ['guide://connect/{client}']);
      assert.deepEqual(out.prompts, ['tool_guide', 'getting_started']);
      assert.match(out.promptText, /I want to use the MCP tool `echo`/);
    });
  }
});
