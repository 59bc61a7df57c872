// The Worker as built, under workerd: health, landing page, configuration reporting, routing
// errors and the headers every answer carries.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BROWSER_ACCEPT, ROOT, TEST_SECRET_KEY, completeBindings, startWorker } from '../support/worker.mjs';
import { startStandin } from '../support/discord-standin.mjs';

const VERSION = readFileSync(path.join(ROOT, 'Cargo.toml'), 'utf8').match(/^version\s*=\s*"([^"]+)"/m)[1];

describe('configured Worker', () => {
  let worker;
  let standin;
  before(async () => {
    standin = await startStandin();
    worker = await startWorker({ bindings: completeBindings(standin.url) });
  });
  after(async () => {
    await worker?.close();
    await standin?.close();
  });

  test('GET /health reports status, version and a complete configuration', async () => {
    const res = await fetch(`${worker.url}/health`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.deepEqual(await res.json(), {
      status: 'ok',
      name: 'mcp-oauth-worker',
      version: VERSION,
      configured: true,
      missing: [],
      discord: 'local stand-in',
    });
  });

  test('HEAD /health answers 200 with no body', async () => {
    const res = await fetch(`${worker.url}/health`, { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal((await res.arrayBuffer()).byteLength, 0);
  });

  test('GET / is the landing page with the MCP URL and a CSP that admits its own style', async () => {
    const res = await fetch(`${worker.url}/`, { headers: { accept: BROWSER_ACCEPT } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    const html = await res.text();
    assert.match(html, new RegExp(`<pre id="mcp-url">${worker.url}/mcp</pre>`));
    assert.match(html, /id="config-status">Complete/);
    assert.match(html, /Local mode/);
    const csp = res.headers.get('content-security-policy');
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(csp, /default-src 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    const style = html.match(/<style>([\s\S]*?)<\/style>/)[1];
    const hash = createHash('sha256').update(style).digest('base64');
    assert.ok(csp.includes(`'sha256-${hash}'`), 'CSP carries the hash of the inline style');
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
    assert.ok(!html.includes(TEST_SECRET_KEY));
    assert.ok(!html.includes('standin-client-secret'));
  });

  test('unknown paths are 404 as JSON for programs and HTML for browsers', async () => {
    const json = await fetch(`${worker.url}/no/such/path`, { headers: { accept: 'application/json' } });
    assert.equal(json.status, 404);
    assert.equal(json.headers.get('content-type'), 'application/json');
    assert.equal((await json.json()).error, 'not_found');

    const anything = await fetch(`${worker.url}/no/such/path`); // fetch sends */*
    assert.equal(anything.status, 404);
    assert.equal(anything.headers.get('content-type'), 'application/json');
    await anything.body?.cancel();

    const html = await fetch(`${worker.url}/no/such/path`, { headers: { accept: BROWSER_ACCEPT } });
    assert.equal(html.status, 404);
    assert.equal(html.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.match(await html.text(), /<h1>Page not found<\/h1>/);
    assert.match(html.headers.get('content-security-policy'), /frame-ancestors 'none'/);
  });

  test('a wrong method gets 405 with Allow; OPTIONS gets 204 with Allow', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const res = await fetch(`${worker.url}/health`, { method });
      assert.equal(res.status, 405, method);
      assert.equal(res.headers.get('allow'), 'GET, HEAD, OPTIONS', method);
      assert.equal((await res.json()).error, 'method_not_allowed', method);
    }
    const opt = await fetch(`${worker.url}/health`, { method: 'OPTIONS' });
    assert.equal(opt.status, 204);
    assert.equal(opt.headers.get('allow'), 'GET, HEAD, OPTIONS');
    const root = await fetch(`${worker.url}/`, { method: 'OPTIONS' });
    assert.equal(root.status, 204);
    assert.equal(root.headers.get('allow'), 'GET, HEAD, POST, OPTIONS', 'the base URL also takes MCP posts');
  });

  test('the Worker made no call to Discord for any of this', () => {
    assert.equal(standin.requests.length, 0);
  });
});

describe('incomplete configuration', () => {
  test('no secrets: /health and / name every missing secret and its fix', async () => {
    const worker = await startWorker({ bindings: {} });
    try {
      const health = await (await fetch(`${worker.url}/health`)).json();
      assert.equal(health.status, 'ok');
      assert.equal(health.configured, false);
      assert.deepEqual(health.missing, ['DISCORD_CLIENT_ID', 'DISCORD_CLIENT_SECRET', 'SECRET_KEY']);
      assert.equal(health.discord, 'discord', 'defaults to https://discord.com');

      const html = await (await fetch(`${worker.url}/`, { headers: { accept: BROWSER_ACCEPT } })).text();
      assert.match(html, /id="config-status">Incomplete/);
      for (const name of ['DISCORD_CLIENT_ID', 'DISCORD_CLIENT_SECRET', 'SECRET_KEY']) {
        assert.ok(html.includes(`npx wrangler secret put ${name}`), name);
      }
    } finally {
      await worker.close();
    }
  });

  test('a short SECRET_KEY is reported by name and length, never by value', async () => {
    const shortKey = 'only-twenty-nine-characters!!';
    const worker = await startWorker({ bindings: completeBindings('https://discord.com', { SECRET_KEY: shortKey }) });
    try {
      const res = await fetch(`${worker.url}/`, { headers: { accept: BROWSER_ACCEPT } });
      const html = await res.text();
      assert.match(html, /SECRET_KEY<\/strong>: SECRET_KEY is shorter than 32 characters/);
      assert.ok(!html.includes(shortKey));
      const health = await (await fetch(`${worker.url}/health`)).json();
      assert.deepEqual(health.missing, ['SECRET_KEY']);
      assert.ok(!JSON.stringify(health).includes(shortKey));
    } finally {
      await worker.close();
    }
  });

  test('a missing KV binding and a bad DISCORD_BASE_URL are reported', async () => {
    const worker = await startWorker({
      bindings: completeBindings('http://discord.example.com'),
      kv: false,
    });
    try {
      const health = await (await fetch(`${worker.url}/health`)).json();
      assert.deepEqual(health.missing, ['DISCORD_BASE_URL', 'OAUTH_KV']);
      const html = await (await fetch(`${worker.url}/`, { headers: { accept: BROWSER_ACCEPT } })).text();
      assert.match(html, /DISCORD_BASE_URL is invalid: http is allowed only for a loopback host/);
      assert.match(html, /npx wrangler kv namespace create OAUTH_KV/);
    } finally {
      await worker.close();
    }
  });
});
