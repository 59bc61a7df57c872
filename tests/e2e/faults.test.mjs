// Faults: when KV fails the OAuth endpoints answer 503 `temporarily_unavailable` with
// Retry-After, nothing is half-written, and nothing is lost (the same code or refresh token
// works once KV is back); when Discord fails, the person and the client get a clear error.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { completeBindings, startWorker } from '../support/worker.mjs';
import { startStandin } from '../support/discord-standin.mjs';
import { CALLBACK, browse, login, pkcePair, registerClient } from '../support/oauth.mjs';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const post = (base, path, fields) => fetch(`${base}${path}`, { method: 'POST', headers: FORM, body: new URLSearchParams(fields) });

async function unavailable(res, what) {
  assert.equal(res.status, 503, what);
  assert.equal(res.headers.get('retry-after'), '2', what);
  assert.equal(res.headers.get('cache-control'), 'no-store', what);
  assert.equal((await res.json()).error, 'temporarily_unavailable', what);
}

async function allKeys(w) {
  return (await (await w.kv()).list()).keys.map((k) => k.name).sort();
}

describe('KV failures', () => {
  let d;
  let w;
  before(async () => {
    d = await startStandin();
    w = await startWorker({ bindings: completeBindings(d.url) });
  });
  after(async () => { await w?.close(); await d?.close(); });

  /** A code ready to redeem, and its verifier. */
  async function code(client) {
    const { verifier, challenge } = pkcePair();
    const q = new URLSearchParams({ response_type: 'code', client_id: client.client_id, redirect_uri: CALLBACK, code_challenge: challenge, code_challenge_method: 'S256' });
    const { url } = await browse(`${w.url}/authorize?${q}`);
    return { code: new URL(url).searchParams.get('code'), verifier };
  }

  test('a code redeemed while KV cannot be written: 503, nothing stored, the same code works afterwards', async () => {
    const client = await registerClient(w.url);
    const c = await code(client);
    const before = await allKeys(w);
    await w.restart(completeBindings(d.url), [{ op: 'put' }]);
    const redeem = () => post(w.url, '/token', { grant_type: 'authorization_code', client_id: client.client_id, code: c.code, code_verifier: c.verifier });
    await unavailable(await redeem(), 'put fails');
    assert.deepEqual(await allKeys(w), before, 'no grant without its tokens');
    await w.restart(completeBindings(d.url), [{ op: 'get' }]);
    await unavailable(await redeem(), 'get fails');
    await w.restart(completeBindings(d.url));
    const ok = await redeem();
    assert.equal(ok.status, 200, 'nothing was lost');
  });

  test('refresh, revocation and introspection while KV fails; the grant is intact afterwards', async () => {
    const { client, tokens } = await login(w.url);
    const conf = await registerClient(w.url, { token_endpoint_auth_method: 'client_secret_post' });
    for (const faults of [[{ op: 'get' }], [{ op: 'put' }]]) {
      await w.restart(completeBindings(d.url), faults);
      const before = await allKeys(w);
      await unavailable(await post(w.url, '/token', { grant_type: 'refresh_token', client_id: client.client_id, refresh_token: tokens.refresh_token }), `refresh, ${faults[0].op} fails`);
      await unavailable(await post(w.url, '/revoke', { client_id: client.client_id, token: tokens.refresh_token }), `revoke, ${faults[0].op} fails`);
      if (faults[0].op === 'get') {
        await unavailable(await post(w.url, '/introspect', { client_id: conf.client_id, client_secret: conf.client_secret, token: tokens.access_token }), 'introspect');
      }
      assert.deepEqual(await allKeys(w), before, 'nothing half-written');
      // The MCP endpoint reads no KV: tools keep working while it is down.
      const mcp = await fetch(`${w.url}/mcp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', 'mcp-protocol-version': '2025-11-25', authorization: `Bearer ${tokens.access_token}` },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { message: 'kv is down' } } }),
      });
      assert.equal(mcp.status, 200);
    }
    await w.restart(completeBindings(d.url));
    const ok = await post(w.url, '/token', { grant_type: 'refresh_token', client_id: client.client_id, refresh_token: tokens.refresh_token });
    assert.equal(ok.status, 200, 'the refresh token survived');
  });

  test('revocation: when its essential write fails the grant is untouched and the answer says so', async () => {
    const { client, tokens } = await login(w.url);
    await w.restart(completeBindings(d.url), [{ op: 'put', prefix: 'revoked:' }]);
    await unavailable(await post(w.url, '/revoke', { client_id: client.client_id, token: tokens.refresh_token }), 'revoked: mark fails');
    await w.restart(completeBindings(d.url));
    assert.equal((await post(w.url, '/token', { grant_type: 'refresh_token', client_id: client.client_id, refresh_token: tokens.refresh_token })).status, 200);
  });

  test('discord_guilds while KV fails: a tool error, not a protocol error', async () => {
    const { tokens } = await login(w.url, { scope: 'mcp guilds' });
    await w.restart(completeBindings(d.url), [{ op: 'get', prefix: 'grant:' }]);
    const res = await fetch(`${w.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', 'mcp-protocol-version': '2025-11-25', authorization: `Bearer ${tokens.access_token}` },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'discord_guilds', arguments: {} } }),
    });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.result.isError, true);
    assert.equal(body.result.content[0].text, 'Storage is unavailable; try again.');
    await w.restart(completeBindings(d.url));
  });
});

describe('Discord failures at login', () => {
  let d;
  let w;
  before(async () => {
    d = await startStandin();
    w = await startWorker({ bindings: completeBindings(d.url) });
  });
  after(async () => { await w?.close(); await d?.close(); });

  // The person sees a page saying what happened; the way back tells the client.
  const cases = [
    ['token', 'server_error', 502, /Discord did not answer in time/, 'temporarily_unavailable'],
    ['token', 'rate_limit', 502, /rate limiting this server\. Try again in 2 seconds/, 'temporarily_unavailable'],
    ['token', 'invalid_grant', 502, /did not accept the login code/, 'access_denied'],
    ['token', 'invalid_client', 502, /refused this server&#39;s application credentials/, 'server_error'],
    ['token', 'malformed', 502, /answered unexpectedly/, 'temporarily_unavailable'],
    ['me', 'server_error', 502, /did not answer in time/, 'temporarily_unavailable'],
    ['me', 'malformed', 502, /answered unexpectedly/, 'temporarily_unavailable'],
    ['me', 'no_id', 502, /answered unexpectedly/, 'temporarily_unavailable'],
    ['me', 'hang', 502, /did not answer in time/, 'temporarily_unavailable'],
  ];
  for (const [endpoint, kind, status, message, clientError] of cases) {
    test(`${endpoint}: ${kind}`, { timeout: 20_000 }, async () => {
      d.fail(endpoint, kind, kind === 'rate_limit' ? { retryAfter: 1.2 } : {});
      const client = await registerClient(w.url);
      const { challenge } = pkcePair();
      const q = new URLSearchParams({ response_type: 'code', client_id: client.client_id, redirect_uri: CALLBACK, code_challenge: challenge, code_challenge_method: 'S256', state: 's1' });
      const { pages } = await browse(`${w.url}/authorize?${q}`);
      const last = pages.at(-1);
      assert.equal(last.status, status);
      assert.match(last.html, /Login with Discord failed/);
      assert.match(last.html, message);
      const link = new URL(last.html.match(/<a href="([^"]+)">Return to the application<\/a>/)[1].replace(/&amp;/g, '&'));
      assert.equal(link.searchParams.get('error'), clientError);
      assert.equal(link.searchParams.get('state'), 's1');
      assert.deepEqual(await allKeys(w), [], 'nothing stored');
      if (kind === 'rate_limit') {
        // Within Discord's retry_after, nothing more is sent to that route: the next login
        // is told the same at once. Then the limit has passed for the cases below.
        const sent = d.requests.filter((r) => r.path === '/api/oauth2/token').length;
        const again = await browse(`${w.url}/authorize?${q}`);
        assert.match(again.pages.at(-1).html, /rate limiting this server\. Try again in [12] seconds/);
        assert.equal(d.requests.filter((r) => r.path === '/api/oauth2/token').length, sent, 'not sent into the limit');
        await new Promise((r) => setTimeout(r, 1300));
      }
    });
  }
});

describe('abuse limits', () => {
  test('over the rate limit, per route and per address: 429 with Retry-After, as a page or as OAuth JSON', async () => {
    const d = await startStandin();
    const w = await startWorker({ bindings: completeBindings(d.url), rateLimit: 3 });
    try {
      const register = () => fetch(`${w.url}/register`, { method: 'POST', headers: { 'content-type': 'application/json', 'cf-connecting-ip': '203.0.113.7' }, body: JSON.stringify({ redirect_uris: [CALLBACK] }) });
      for (let i = 0; i < 3; i++) assert.equal((await register()).status, 201, `request ${i + 1}`);
      const limited = await register();
      assert.equal(limited.status, 429);
      assert.equal(limited.headers.get('retry-after'), '60');
      assert.equal(limited.headers.get('cache-control'), 'no-store');
      assert.equal((await limited.json()).error, 'temporarily_unavailable');
      const elsewhere = await fetch(`${w.url}/register`, { method: 'POST', headers: { 'content-type': 'application/json', 'cf-connecting-ip': '198.51.100.1' }, body: JSON.stringify({ redirect_uris: [CALLBACK] }) });
      assert.equal(elsewhere.status, 201, 'another address has its own budget');
      const page = async () => fetch(`${w.url}/authorize?client_id=x`, { headers: { accept: 'text/html', 'cf-connecting-ip': '203.0.113.7' } });
      for (let i = 0; i < 3; i++) assert.equal((await page()).status, 400, 'the authorize budget is separate from registration');
      const tooMany = await page();
      assert.equal(tooMany.status, 429);
      assert.match(await tooMany.text(), /Too many requests/);
      const mcp = await fetch(`${w.url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', 'cf-connecting-ip': '203.0.113.7' }, body: '{}' });
      assert.equal(mcp.status, 401, 'the MCP endpoint is not rate limited (it costs no storage)');
    } finally {
      await w.close();
      await d.close();
    }
  });
});
