// Observability: one JSON log line per request with its id, route, status, duration, client
// and Discord user where known, and never a token, code, secret or cookie; a person's error
// page carries the request id, and every response names it in X-Request-Id.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BROWSER_ACCEPT, TEST_SECRET_KEY, completeBindings, startWorker } from '../support/worker.mjs';
import { startStandin, STANDIN_CLIENT_SECRET } from '../support/discord-standin.mjs';
import { login } from '../support/oauth.mjs';

let standin;
let w;
before(async () => {
  standin = await startStandin();
  w = await startWorker({ bindings: completeBindings(standin.url), captureLogs: true });
});
after(async () => {
  await w?.close();
  await standin?.close();
});

/** The parsed log lines (other runtime output is skipped). */
function lines() {
  return w.logs.flatMap((l) => { try { const v = JSON.parse(l.slice(l.indexOf('{'))); return v.request_id ? [v] : []; } catch { return []; } });
}

async function settle() {
  await new Promise((r) => setTimeout(r, 300));
}

test('a login and a tool call log what happened and nothing secret', async () => {
  const { client, tokens } = await login(w.url, { scope: 'mcp profile' });
  const res = await fetch(`${w.url}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25', authorization: `Bearer ${tokens.access_token}` },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { message: 'hi' } } }),
  });
  assert.equal(res.status, 200);
  const id = res.headers.get('x-request-id');
  assert.match(id, /^[0-9a-f]{16}$/);
  const bad = await fetch(`${w.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', client_id: client.client_id, refresh_token: 'mcpr1.x.y.0.z' }),
  });
  assert.equal(bad.status, 400);
  await settle();
  const all = lines();
  const call = all.find((l) => l.request_id === id);
  assert.deepEqual(
    { route: call.route, status: call.status, method: call.method, detail: call.detail, client_id: call.client_id, user: call.user, level: call.level },
    { route: 'mcp', status: 200, method: 'POST', detail: 'tools/call echo', client_id: client.client_id, user: '80351110224678912', level: 'info' },
  );
  assert.equal(typeof call.duration_ms, 'number');
  const refused = all.find((l) => l.request_id === bad.headers.get('x-request-id'));
  assert.deepEqual([refused.route, refused.status, refused.error, refused.level, refused.detail], ['token', 400, 'invalid_grant', 'warn', 'refresh_token']);
  const redeemed = all.find((l) => l.route === 'token' && l.detail === 'authorization_code');
  assert.equal(redeemed.user, '80351110224678912');
  const callback = all.find((l) => l.route === 'discord_callback');
  assert.equal(callback.status, 302);
  assert.equal(callback.user, '80351110224678912');
  for (const route of ['register', 'authorize', 'consent', 'discord_callback', 'token', 'mcp']) {
    assert.ok(all.some((l) => l.route === route), `${route} logged`);
  }
  const text = w.logs.join('\n');
  for (const secret of [tokens.access_token, tokens.refresh_token, TEST_SECRET_KEY, STANDIN_CLIENT_SECRET, '__Host-', 'code=']) {
    assert.ok(!text.includes(secret), `logs never carry ${secret.slice(0, 12)}…`);
  }
});

test('an error page shows the request id a person can report', async () => {
  const res = await fetch(`${w.url}/nowhere`, { headers: { accept: BROWSER_ACCEPT } });
  assert.equal(res.status, 404);
  const id = res.headers.get('x-request-id');
  const html = await res.text();
  assert.ok(html.includes(`Request id <code>${id}</code>`), html);
  await settle();
  const line = lines().find((l) => l.request_id === id);
  assert.deepEqual([line.route, line.status, line.level], ['unknown', 404, 'warn']);
});
