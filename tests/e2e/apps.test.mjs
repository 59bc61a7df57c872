// The connected apps page (/apps), driven as a person's browser would (cookies per host,
// redirects followed by hand): log in with Discord (the stand-in), see exactly your own
// grants, disconnect one (its tokens die, Discord is told), and every forged or foreign
// request refused.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startWithStandin } from '../support/worker.mjs';
import { Jar, login, visit } from '../support/oauth.mjs';

const field = (html, name) => html.match(new RegExp(`name="${name}" value="([^"]*)"`))?.[1];
const grantOf = (refreshToken) => refreshToken.split('.')[2];

function post(jar, base, fields, extra = {}) {
  return visit(jar, `${base}/apps`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin', ...extra },
    body: new URLSearchParams(fields).toString(),
  });
}

async function refresh(base, session) {
  const res = await fetch(`${base}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', client_id: session.client.client_id, refresh_token: session.tokens.refresh_token }),
  });
  return { status: res.status, body: await res.json() };
}

async function callTool(base, accessToken) {
  const res = await fetch(`${base}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25', authorization: `Bearer ${accessToken}` },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { message: 'hi' } } }),
  });
  await res.arrayBuffer();
  return res.status;
}

describe('connected apps page', () => {
  let env;
  let base;
  before(async () => {
    env = await startWithStandin();
    base = env.worker.url;
  });
  after(async () => env?.close());

  test('lists only your grants, disconnects one, refuses forged and foreign requests', async () => {
    const first = await login(base, { scope: 'mcp profile' });
    const second = await login(base, { scope: 'mcp email' });
    env.standin.setUser({ id: '80351110224678999', username: 'other', global_name: 'Someone Else' });
    const foreign = await login(base);
    env.standin.setUser({});

    const jar = new Jar();
    const anonymous = await visit(jar, `${base}/apps`);
    assert.equal(anonymous.status, 200);
    assert.match(anonymous.html, /<title>Connected apps<\/title>/);
    assert.match(anonymous.html, /href="\/apps\/login"/);

    env.standin.requests.length = 0;
    const page = await visit(jar, `${base}/apps/login`);
    assert.equal(page.url, `${base}/apps`);
    assert.equal(page.status, 200);
    const authorize = env.standin.requests.find((r) => r.path === '/oauth2/authorize');
    assert.equal(authorize.query.scope, 'identify', 'identity only');
    // Its identify-only token is used once and dropped, never revoked: at Discord, revoking any
    // token ends the person's whole authorization, and every connected client's Discord access.
    assert.ok(!env.standin.requests.some((r) => r.path === '/api/oauth2/token/revoke'), 'nothing revoked at Discord');
    assert.match(page.html, /Logged in to Discord as <strong>Nelly<\/strong>/);
    assert.match(page.html, /<img src="https:\/\/cdn\.discordapp\.com\/avatars\/80351110224678912\/8342729096ea3675442027381ff50dfe\.png"/);
    const grants = [...page.html.matchAll(/name="grant" value="([^"]+)"/g)].map((m) => m[1]).sort();
    assert.deepEqual(grants, [grantOf(first.tokens.refresh_token), grantOf(second.tokens.refresh_token)].sort());
    assert.ok(!page.html.includes(grantOf(foreign.tokens.refresh_token)), "another person's grant never shows");
    assert.match(page.html, /See the email address/);
    assert.match(page.html, /Last refreshed<\/dt><dd>never/);
    // Self-registered names carry the mark the consent page gives them (second review, finding 7).
    assert.match(page.html, /<h2>e2e test client<\/h2><p class="muted"><strong>Unverified name:<\/strong>/);
    const csrf = field(page.html, 'csrf');
    assert.ok(csrf);

    // After a refresh the page shows when.
    const refreshed = await refresh(base, first);
    assert.equal(refreshed.status, 200);
    first.tokens = refreshed.body;
    const again = await visit(jar, `${base}/apps`);
    assert.match(again.html, /Last refreshed<\/dt><dd>\d{4}-\d\d-\d\d \d\d:\d\d UTC/);

    const target = grantOf(second.tokens.refresh_token);
    const refused = [
      [{ action: 'revoke', grant: target }, {}, 'no CSRF token'],
      [{ action: 'revoke', grant: target, csrf: 'x'.repeat(43) }, {}, 'a wrong CSRF token'],
      [{ action: 'revoke', grant: target, csrf }, { 'sec-fetch-site': 'cross-site' }, 'a cross-site post'],
      [{ action: 'revoke', grant: target, csrf }, { cookie: '' }, 'no session'],
    ];
    for (const [fields, headers, what] of refused) {
      const r = headers.cookie === '' ? await post(new Jar(), base, fields, {}) : await post(jar, base, fields, headers);
      assert.equal(r.status, 403, what);
      assert.match(r.html, /<title>(Request refused|Logged out)<\/title>/, what);
    }
    const odd = await post(jar, base, { action: 'revoke', grant: '../../etc', csrf });
    assert.equal(odd.status, 400);
    assert.equal(await callTool(base, second.tokens.access_token), 200, 'nothing was revoked by refused requests');

    // Another person's grant id, posted with your session: not reachable.
    const foreignGrant = grantOf(foreign.tokens.refresh_token);
    const notYours = await post(jar, base, { action: 'revoke', grant: foreignGrant, csrf });
    assert.equal(notYours.url, `${base}/apps?done=gone`);
    assert.equal((await refresh(base, foreign)).status, 200, "the other person's client still works");

    env.standin.requests.length = 0;
    const done = await post(jar, base, { action: 'revoke', grant: target, csrf });
    assert.equal(done.url, `${base}/apps?done=revoked`);
    assert.match(done.html, /Disconnected\. Its tokens no longer work\./);
    assert.ok(!done.html.includes(target));
    // The Discord authorization is the person's: it stays while their other app lives
    // (discord-authorization.test.mjs shows the last disconnect revoking it).
    assert.ok(!env.standin.requests.some((r) => r.path === '/api/oauth2/token/revoke'), 'Discord is not told yet');
    assert.equal((await refresh(base, second)).body.error, 'invalid_grant');
    assert.equal(await callTool(base, second.tokens.access_token), 401);
    assert.equal(await callTool(base, first.tokens.access_token), 200, 'the other app keeps working');

    const twice = await post(jar, base, { action: 'revoke', grant: target, csrf });
    assert.equal(twice.url, `${base}/apps?done=gone`);

    const out = await post(jar, base, { action: 'logout', csrf });
    assert.equal(out.url, `${base}/apps`);
    assert.match(out.html, /href="\/apps\/login"/, 'logged out');
    const stale = await post(jar, base, { action: 'revoke', grant: grantOf(first.tokens.refresh_token), csrf });
    assert.equal(stale.status, 403, 'the old CSRF token without a session does nothing');
  });

  test('a Discord answer for another login, or a cancelled one, changes nothing', async () => {
    const jar = new Jar();
    const start = await fetch(`${base}/apps/login`, { redirect: 'manual' });
    jar.store(`${base}/apps/login`, start);
    const state = new URL(start.headers.get('location')).searchParams.get('state');
    const wrong = await visit(jar, `${base}/redirect?code=x&state=${'A'.repeat(22)}`);
    assert.equal(wrong.status, 400, 'not this login: the MCP callback answers, and refuses');
    const cancelled = await visit(jar, `${base}/redirect?error=access_denied&state=${state}`);
    assert.equal(cancelled.status, 400);
    assert.match(cancelled.html, /<title>Login cancelled<\/title>/);
    assert.match(cancelled.html, /href="\/apps"/);
    const page = await visit(jar, `${base}/apps`);
    assert.match(page.html, /href="\/apps\/login"/, 'still logged out');
  });
});
