// Clients this project did not write: the official TypeScript SDK client and the official
// Python SDK client (both its 2026-07-28 stateless mode and its initialize handshake) connect
// to the built Worker, list and call every tool, read a resource and get a prompt.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ROOT, completeBindings, startWorker } from '../support/worker.mjs';

const TOOLS = ['echo', 'add', 'get_time', 'server_info', 'hello'];

describe('official SDK clients', () => {
  let w;
  before(async () => { w = await startWorker({ bindings: completeBindings('https://discord.com') }); });
  after(() => w?.close());

  test('TypeScript SDK: list and call every tool, resources, prompts, completion', async () => {
    const client = new Client({ name: 'ts-sdk-e2e', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(`${w.url}/mcp`));
    await client.connect(transport);
    try {
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
      assert.equal(hello.structuredContent.greeting, 'Hello, TS!');
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
    } finally {
      await client.close();
    }
  });

  for (const mode of ['auto', 'legacy']) {
    test(`Python SDK (mode ${mode}): list and call every tool, resources, prompts`, () => {
      const python = path.join(ROOT, '.venv', 'bin', 'python');
      const r = spawnSync(python, [path.join(ROOT, 'tests', 'python', 'client_check.py'), `${w.url}/mcp`, mode], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout.trim().split('\n').at(-1));
      assert.equal(out.protocolVersion, mode === 'auto' ? '2026-07-28' : '2025-11-25');
      assert.equal(out.serverName, 'mcp-oauth-worker');
      assert.deepEqual(out.tools, TOOLS);
      assert.deepEqual(out.calls.echo, { isError: false, structured: { message: 'héllo from python', length: 17 } });
      assert.deepEqual(out.calls.add.structured, { sum: 42 });
      assert.equal(out.calls.hello.structured.greeting, 'Hello, Python!');
      for (const t of TOOLS) assert.equal(out.calls[t].isError, false, t);
      assert.deepEqual(out.invalidCall, { isError: true, text: 'Invalid arguments for `add`: argument `b`: is required (a number)' });
      assert.deepEqual(out.resources, ['guide://connect', 'guide://tools']);
      assert.match(out.resourceText, /Server URL: `http:\/\/127\.0\.0\.1:\d+\/mcp`/);
      assert.deepEqual(out.templates, ['guide://connect/{client}']);
      assert.deepEqual(out.prompts, ['tool_guide', 'getting_started']);
      assert.match(out.promptText, /I want to use the MCP tool `echo`/);
    });
  }
});
