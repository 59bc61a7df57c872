// The MCP endpoint over real HTTP under workerd: transport rules of every protocol version,
// with raw requests whose exact statuses and bodies are asserted.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { completeBindings, startWorker } from '../support/worker.mjs';
import { startStandin } from '../support/discord-standin.mjs';
import { login } from '../support/oauth.mjs';
import { definedTools } from '../support/tools.mjs';

const ACCEPT = 'application/json, text/event-stream';
const META = (extra = {}) => ({
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientCapabilities': {},
  ...extra,
});

describe('MCP over streamable HTTP', () => {
  let w;
  let w2;
  let standin;
  let token;
  before(async () => {
    standin = await startStandin();
    w = await startWorker({ bindings: completeBindings(standin.url, { ALLOWED_ORIGINS: 'https://inspector.example' }) });
    w2 = await startWorker({ bindings: completeBindings(standin.url) });
    token = (await login(w.url)).tokens.access_token;
  });
  after(async () => {
    await w?.close();
    await w2?.close();
    await standin?.close();
  });

  function post(body, headers = {}, path = '/mcp', base = w.url) {
    return fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: ACCEPT, authorization: `Bearer ${token}`, ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  }

  function modern(method, params = {}, { name, headers = {} } = {}) {
    return post(
      { jsonrpc: '2.0', id: 1, method, params: { ...params, _meta: META(params._meta) } },
      { 'mcp-protocol-version': '2026-07-28', 'mcp-method': method, ...(name ? { 'mcp-name': name } : {}), ...headers },
    );
  }

  test('GET and DELETE on the endpoint are 405 with Allow; GET / stays the landing page', async () => {
    for (const method of ['GET', 'DELETE', 'PUT']) {
      const res = await fetch(`${w.url}/mcp`, { method });
      assert.equal(res.status, 405, method);
      assert.equal(res.headers.get('allow'), 'POST, OPTIONS');
      await res.body?.cancel();
    }
    const del = await fetch(`${w.url}/`, { method: 'DELETE' });
    assert.equal(del.status, 405);
    assert.equal(del.headers.get('allow'), 'GET, HEAD, POST, OPTIONS');
    await del.body?.cancel();
    const landing = await fetch(`${w.url}/`, { headers: { accept: 'text/html' } });
    assert.equal(landing.status, 200);
    await landing.body?.cancel();
  });

  test('2025 handshake: initialize negotiates; its signed session id works on another isolate; a forged one is 404', async () => {
    const init = await post({
      jsonrpc: '2.0', id: 1, method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    });
    assert.equal(init.status, 200);
    const session = init.headers.get('mcp-session-id');
    assert.match(session, /^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}$/);
    const body = await init.json();
    assert.equal(body.result.protocolVersion, '2025-06-18');
    assert.deepEqual(body.result.capabilities, { tools: {}, resources: {}, prompts: {}, completions: {}, logging: {} });

    const note = await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, { 'mcp-protocol-version': '2025-06-18' });
    assert.equal(note.status, 202);
    assert.equal(await note.text(), '');

    // A second Worker instance (its own isolate and store, never saw the handshake) accepts the
    // session id. (It is reached at another origin here, so it needs its own login; the edge
    // test shows tokens crossing instances that share an origin.)
    const token2 = (await login(w2.url)).tokens.access_token;
    const call = await post(
      { jsonrpc: '2.0', id: 'x', method: 'tools/call', params: { name: 'echo', arguments: { message: 'other isolate' } } },
      { 'mcp-protocol-version': '2025-06-18', 'mcp-session-id': session, authorization: `Bearer ${token2}` }, '/mcp', w2.url,
    );
    assert.equal(call.status, 200);
    const r = await call.json();
    assert.equal(r.id, 'x');
    assert.deepEqual(r.result.structuredContent, { message: 'other isolate', length: 13 });

    const forged = await post({ jsonrpc: '2.0', id: 1, method: 'ping' }, { 'mcp-protocol-version': '2025-06-18', 'mcp-session-id': `${session.slice(0, -2)}AA` });
    assert.equal(forged.status, 404);
    assert.equal((await forged.json()).error.message, 'Session not found; send initialize to start a new one');
  });

  test('POST / is an alias of POST /mcp', async () => {
    const res = await post({ jsonrpc: '2.0', id: 2, method: 'ping' }, {}, '/');
    assert.deepEqual(await res.json(), { jsonrpc: '2.0', id: 2, result: {} });
  });

  test('2026-07-28: discover, decorated results, header rules, removed methods', async () => {
    const d = await (await modern('server/discover')).json();
    assert.deepEqual(d.result.supportedVersions, ['2026-07-28', '2025-11-25', '2025-06-18', '2025-03-26']);
    assert.equal(d.result.resultType, 'complete');
    assert.equal(d.result._meta['io.modelcontextprotocol/serverInfo'].name, 'mcp-oauth-worker');

    const list = await (await modern('tools/list')).json();
    assert.deepEqual(list.result.tools.map((t) => t.name), definedTools());
    assert.equal(list.result.ttlMs, 300000);
    assert.equal(list.result.cacheScope, 'public');
    for (const t of list.result.tools) {
      assert.equal(t.inputSchema.additionalProperties, false, t.name);
      assert.ok(t.outputSchema && t.title && t.annotations, t.name);
    }

    const mismatch = await modern('tools/call', { name: 'echo', arguments: { message: 'm' } }, { name: 'add' });
    assert.equal(mismatch.status, 400);
    assert.equal((await mismatch.json()).error.code, -32020);

    const encoded = await modern('tools/call', { name: 'hello', arguments: { name: 'Zoë' } }, { name: `=?base64?${Buffer.from('hello').toString('base64')}?=` });
    assert.equal((await encoded.json()).result.structuredContent.greeting, 'Hello, Zoë! (Greeted on behalf of Nelly.)');

    for (const m of ['initialize', 'ping', 'logging/setLevel', 'no/such']) {
      const res = await modern(m);
      assert.equal(res.status, 404, m);
      const e = await res.json();
      assert.equal(e.error.code, -32601, m);
      assert.equal(e.id, 1, m);
    }

    const unsupported = await post(
      { jsonrpc: '2.0', id: 3, method: 'tools/list', params: { _meta: { ...META(), 'io.modelcontextprotocol/protocolVersion': '2099-01-01' } } },
      { 'mcp-protocol-version': '2099-01-01', 'mcp-method': 'tools/list' },
    );
    assert.equal(unsupported.status, 400);
    const u = await unsupported.json();
    assert.equal(u.error.code, -32022);
    assert.deepEqual(u.error.data, { supported: ['2026-07-28', '2025-11-25', '2025-06-18', '2025-03-26'], requested: '2099-01-01' });

    const nf = await (await modern('resources/read', { uri: 'guide://none' }, { name: 'guide://none' })).json();
    assert.equal(nf.error.code, -32602);
    assert.equal(nf.error.data.uri, 'guide://none');
  });

  test('JSON-RPC strictness: parse error, invalid request, batches by version', async () => {
    const parse = await post('{"jsonrpc":');
    assert.equal(parse.status, 400);
    assert.deepEqual(await parse.json(), { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error: the body is not valid JSON' } });

    const invalid = await post({ jsonrpc: '2.0', id: 5, method: ['x'] });
    assert.equal(invalid.status, 400);
    assert.equal((await invalid.json()).error.code, -32600);

    const batch = await post([{ jsonrpc: '2.0', id: 1, method: 'ping' }, { jsonrpc: '2.0', id: 2, method: 'tools/list' }]);
    const b = await batch.json();
    assert.equal(b.length, 2);
    assert.deepEqual(b[0], { jsonrpc: '2.0', id: 1, result: {} });

    const refused = await post([{ jsonrpc: '2.0', id: 1, method: 'ping' }], { 'mcp-protocol-version': '2025-11-25' });
    assert.equal(refused.status, 400);
    assert.match((await refused.json()).error.message, /batches are not supported in protocol version 2025-11-25/);
  });

  test('request hygiene: 413, 415, 406, Origin 403 and CORS for allowed origins', async () => {
    const big = await post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(1024 * 1024) } }));
    assert.equal(big.status, 413);
    await big.body?.cancel();

    const text = await post('{}', { 'content-type': 'text/plain' });
    assert.equal(text.status, 415);
    await text.body?.cancel();

    const html = await post({ jsonrpc: '2.0', id: 1, method: 'ping' }, { accept: 'text/html' });
    assert.equal(html.status, 406);
    await html.body?.cancel();

    const evil = await post({ jsonrpc: '2.0', id: 1, method: 'ping' }, { origin: 'https://evil.example' });
    assert.equal(evil.status, 403);
    await evil.body?.cancel();

    const own = await post({ jsonrpc: '2.0', id: 1, method: 'ping' }, { origin: w.url });
    assert.equal(own.status, 200);
    await own.body?.cancel();

    const allowed = await post({ jsonrpc: '2.0', id: 1, method: 'ping' }, { origin: 'https://inspector.example' });
    assert.equal(allowed.status, 200);
    assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://inspector.example');
    await allowed.body?.cancel();

    const pre = await fetch(`${w.url}/mcp`, {
      method: 'OPTIONS',
      headers: { origin: 'https://inspector.example', 'access-control-request-method': 'POST' },
    });
    assert.equal(pre.status, 204);
    assert.match(pre.headers.get('access-control-allow-headers'), /mcp-protocol-version/);
  });

  test('refused messages leave the keep-alive connection usable (the first request of every client is refused)', async () => {
    const http = await import('node:http');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const { port } = new URL(w.url);
    const sockets = new Set();
    const send = (headers, body) => new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/mcp', method: 'POST', agent, headers: { 'content-type': 'application/json', accept: ACCEPT, ...headers } }, (res) => {
        let data = '';
        res.on('data', (c) => { data += c; });
        res.on('end', () => resolve({ status: res.statusCode, body: data }));
      });
      req.on('socket', (s) => sockets.add(s));
      req.on('error', reject);
      req.end(body);
    });
    try {
      const ping = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' });
      assert.equal((await send({}, ping)).status, 401);
      assert.equal((await send({ origin: 'https://evil.example' }, ping)).status, 403);
      const ok = await send({ authorization: `Bearer ${token}`, 'mcp-protocol-version': '2025-11-25' }, ping);
      assert.equal(ok.status, 200);
      assert.deepEqual(JSON.parse(ok.body).result, {});
      assert.equal(sockets.size, 1, 'all three on one connection');
    } finally {
      agent.destroy();
    }
  });

  test('tool argument errors are tool results the model can read; unknown tools are -32602', async () => {
    const bad = await (await post({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'add', arguments: { a: 1, b: 'two' } } })).json();
    assert.equal(bad.result.isError, true);
    assert.equal(bad.result.content[0].text, 'Invalid arguments for `add`: argument `b`: expected a number, got a string');
    const unknown = await (await post({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'rm_rf' } })).json();
    assert.equal(unknown.error.code, -32602);
    assert.equal(unknown.error.message, 'Unknown tool: rm_rf');
  });
});

describe('SSE responses (conformance build, whose fixtures report progress and log; it has no login)', () => {
  let w;
  before(async () => { w = await startWorker({ buildDir: 'build-conformance', bindings: completeBindings('https://discord.com') }); });
  after(() => w?.close());

  function events(text) {
    return text.split('\n\n').filter(Boolean).map((e) => {
      const lines = e.split('\n');
      assert.equal(lines[0], 'event: message');
      return JSON.parse(lines[1].replace(/^data: /, ''));
    });
  }

  test('progress notifications, then the response, on one stream', async () => {
    const res = await fetch(`${w.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: ACCEPT, 'mcp-protocol-version': '2025-11-25' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'test_tool_with_progress', _meta: { progressToken: 'p1' } } }),
    });
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    assert.equal(res.headers.get('x-accel-buffering'), 'no');
    const ev = events(await res.text());
    assert.deepEqual(ev.slice(0, 3).map((e) => [e.method, e.params.progressToken, e.params.progress]), [
      ['notifications/progress', 'p1', 0], ['notifications/progress', 'p1', 50], ['notifications/progress', 'p1', 100],
    ]);
    assert.equal(ev[3].id, 9);
    assert.equal(ev[3].result.content[0].text, 'Progress test completed');
  });

  test('a client that accepts only JSON gets JSON and no notifications', async () => {
    const res = await fetch(`${w.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'test_tool_with_progress', _meta: { progressToken: 'p1' } } }),
    });
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.equal((await res.json()).id, 9);
  });

  test('2026-07-28: log messages only when the request asks for them, at or above its level', async () => {
    const call = (meta) => fetch(`${w.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: ACCEPT, 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'test_logging_tool' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'test_logging_tool', _meta: META(meta) } }),
    });
    const silent = await call({});
    assert.equal(silent.headers.get('content-type'), 'application/json');
    await silent.body.cancel();
    const info = events(await (await call({ 'io.modelcontextprotocol/logLevel': 'info' })).text());
    assert.deepEqual(info.slice(0, 3).map((e) => [e.method, e.params.level, e.params.data]), [
      ['notifications/message', 'info', 'Tool execution started'],
      ['notifications/message', 'info', 'Tool processing data'],
      ['notifications/message', 'info', 'Tool execution completed'],
    ]);
    const errorsOnly = await call({ 'io.modelcontextprotocol/logLevel': 'error' });
    assert.equal(errorsOnly.headers.get('content-type'), 'application/json', 'info messages are below "error"');
    await errorsOnly.body.cancel();
  });

  test('the default build carries none of the fixtures, and requires login', async () => {
    const d = await startStandin();
    const plain = await startWorker({ bindings: completeBindings(d.url) });
    try {
      const anonymous = await fetch(`${plain.url}/mcp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: ACCEPT },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      assert.equal(anonymous.status, 401);
      await anonymous.body.cancel();
      const { tokens } = await login(plain.url);
      const res = await fetch(`${plain.url}/mcp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: ACCEPT, authorization: `Bearer ${tokens.access_token}` },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'test_simple_text' } }),
      });
      assert.equal((await res.json()).error.code, -32602);
    } finally {
      await plain.close();
      await d.close();
    }
  });
});

describe('DNS-rebinding protection in local mode', () => {
  test('LOCAL_ONLY refuses a request addressed to another host name, on every route', async () => {
    const w = await startWorker({ bindings: completeBindings('https://discord.com', { LOCAL_ONLY: 'true' }) });
    const { port } = new URL(w.url);
    const http = await import('node:http');
    const send = (path, method, host, body) => new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path, method, headers: { host, origin: `http://${host}`, 'content-type': 'application/json', accept: ACCEPT, 'cf-connecting-ip': '8.8.8.8' } }, (res) => {
        let data = '';
        res.on('data', (c) => { data += c; });
        res.on('end', () => resolve({ status: res.statusCode, body: data }));
      });
      req.on('error', reject);
      req.end(body);
    });
    try {
      const ping = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' });
      const evil = await send('/mcp', 'POST', `evil.example.com:${port}`, ping);
      assert.equal(evil.status, 403);
      assert.match(JSON.parse(evil.body).error.message, /Host not allowed/);
      assert.equal((await send('/health', 'GET', `evil.example.com:${port}`)).status, 403);
      // Past the host check, these reach authentication (no token: 401).
      assert.equal((await send('/mcp', 'POST', `localhost:${port}`, ping)).status, 401);
      assert.equal((await send('/mcp', 'POST', `127.0.0.1:${port}`, ping)).status, 401);
    } finally {
      await w.close();
    }
  });
});
