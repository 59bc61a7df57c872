// The second outside security review: each finding closed here has a test that fails on the
// build it reviewed (b294ef1) and passes now. Run against an older build with
// MCP_WORKER_BUILD_DIR=<its build/>.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Response } from 'miniflare';
import { completeBindings, startWorker } from '../support/worker.mjs';
import { startStandin } from '../support/discord-standin.mjs';
import { browse, CALLBACK, Jar, login, mcpCall, pkcePair, registerClient, visit } from '../support/oauth.mjs';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

describe('1. one login cannot spend the free plan\'s KV budget', () => {
  let d;
  let w;
  before(async () => {
    d = await startStandin();
    w = await startWorker({ bindings: completeBindings(d.url), countKv: true });
  });
  after(async () => { await w?.close(); await d?.close(); });

  test('a burst of rotating and concurrent refreshes costs a bounded number of KV operations, and the login still works', { timeout: 120_000 }, async () => {
    const { client, tokens } = await login(w.url, { scope: 'mcp profile guilds' });
    const refresh = async (rt) => {
      const r = await fetch(`${w.url}/token`, { method: 'POST', headers: FORM, body: new URLSearchParams({ grant_type: 'refresh_token', client_id: client.client_id, refresh_token: rt }) });
      return { status: r.status, body: await r.json() };
    };
    const before = await w.kvOps();
    // 300 refreshes, each with the newest refresh token, as a client looping on /token would.
    let rt = tokens.refresh_token;
    let access = tokens.access_token;
    for (let i = 0; i < 300; i++) {
      const r = await refresh(rt);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      ({ refresh_token: rt, access_token: access } = r.body);
    }
    // Then 20 at once with the same token.
    const together = await Promise.all(Array.from({ length: 20 }, () => refresh(rt)));
    assert.ok(together.every((r) => r.status === 200), JSON.stringify(together.map((r) => r.body.error)));
    // And discord_guilds called 100 times.
    for (let i = 0; i < 100; i++) await (await mcpCall(w.url, access, 'discord_guilds')).arrayBuffer();
    const after = await w.kvOps();
    const spent = { reads: after.get - before.get, writes: after.put - before.put, deletes: after.delete - before.delete };
    console.log(`# 300 sequential + 20 concurrent refreshes of one login, then 100 discord_guilds: KV ${JSON.stringify(spent)}`);
    assert.ok(spent.writes <= 12, `writes: the rotation burst (10) and the guilds cache, not one per refresh (${spent.writes})`);
    assert.ok(spent.reads <= 80, `reads bounded too (${spent.reads})`);
    // The login still works: a tool call with the newest access token, and a refresh.
    assert.equal((await mcpCall(w.url, access, 'whoami')).status, 200);
    assert.equal((await refresh(rt)).status, 200);
  });
});

describe('4. Deny and a cancelled login send a person to an unvetted redirect URI only by a link; only app schemes', () => {
  let d;
  let w;
  before(async () => {
    d = await startStandin();
    const ops = [{ client_id: 'ops', client_secret_hash: 'none', redirect_uris: [CALLBACK] }];
    w = await startWorker({ bindings: completeBindings(d.url, { OAUTH_CLIENTS: JSON.stringify(ops) }) });
  });
  after(async () => { await w?.close(); await d?.close(); });

  const authorize = (clientId, redirect = CALLBACK) => {
    const q = new URLSearchParams({ response_type: 'code', client_id: clientId, redirect_uri: redirect, code_challenge: pkcePair().challenge, code_challenge_method: 'S256', state: 'st' });
    return `${w.url}/authorize?${q}`;
  };

  test('operating-system handlers are refused at registration; app schemes are accepted', async () => {
    for (const handler of ['search-ms:query=x', 'ms-word:ofe|u|https://evil.example/a.docx', 'ms-msdt:-id', 'myapp://cb']) {
      const r = await fetch(`${w.url}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ redirect_uris: [handler], token_endpoint_auth_method: 'none' }) });
      assert.equal(r.status, 400, handler);
      assert.equal((await r.json()).error, 'invalid_redirect_uri', handler);
    }
    for (const app of ['cursor://anysphere.cursor-mcp/oauth/callback', 'com.example.app:/cb']) {
      assert.equal((await registerClient(w.url, { redirect_uris: [app] }).then(() => 201, () => 400)), 201, app);
    }
  });

  test('Deny: a page with a link for a self-registered client, a redirect for a configured one; the consent page shows the whole address', async () => {
    const client = await registerClient(w.url, { redirect_uris: ['com.example.app:/oauth/cb'] });
    const seen = await browse(authorize(client.client_id, 'com.example.app:/oauth/cb'), { decision: 'deny' });
    assert.match(seen.pages[0].html, /sent back to <code>com\.example\.app:\/oauth\/cb<\/code>/, 'the whole URI, not the scheme');
    const denied = seen.pages.at(-1);
    assert.equal(denied.status, 200);
    assert.match(denied.html, /Access denied/);
    assert.match(denied.html, /<a href="com\.example\.app:\/oauth\/cb\?error=access_denied[^"]*">Return to the application at <code>com\.example\.app:<\/code>/);
    const vetted = await browse(authorize('ops'), { decision: 'deny' });
    assert.ok(vetted.url.startsWith(`${CALLBACK}?error=access_denied`), vetted.url);
  });

  test('a login cancelled on Discord: the same page for a self-registered client', async () => {
    const client = await registerClient(w.url);
    const jar = new Jar();
    const consent = await browse(authorize(client.client_id), { jar, stopAt: d.url });
    const state = new URL(consent.url).searchParams.get('state');
    const cancelled = await visit(jar, `${w.url}/redirect?error=access_denied&state=${state}`);
    assert.equal(cancelled.status, 200);
    assert.match(cancelled.html, /Login cancelled/);
    assert.match(cancelled.html, /Return to the application at <code>127\.0\.0\.1<\/code>/);
  });
});

describe('2. the connected apps page cannot spend the day\'s KV lists', () => {
  let d;
  let w;
  before(async () => {
    d = await startStandin();
    w = await startWorker({ bindings: completeBindings(d.url), countKv: true });
  });
  after(async () => { await w?.close(); await d?.close(); });

  test('HEAD reads nothing, and reloads within 5 minutes read nothing more; a disconnect reads again', async () => {
    const jar = new Jar();
    await login(w.url, { jar });
    const first = await visit(jar, `${w.url}/apps/login`);
    assert.equal(first.url, `${w.url}/apps`);
    const before = await w.kvOps();
    const head = await visit(jar, `${w.url}/apps`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    for (let i = 0; i < 20; i++) assert.equal((await visit(jar, `${w.url}/apps`)).status, 200);
    const after = await w.kvOps();
    assert.deepEqual([after.list - before.list, after.get - before.get], [0, 0], 'no list and no read for 21 views');
    const csrf = first.html.match(/name="csrf" value="([^"]*)"/)[1];
    const grant = first.html.match(/name="grant" value="([^"]+)"/)[1];
    const done = await visit(jar, `${w.url}/apps`, { method: 'POST', headers: { ...FORM, 'sec-fetch-site': 'same-origin' }, body: new URLSearchParams({ action: 'revoke', grant, csrf }) });
    assert.match(done.url, /done=revoked/);
    assert.doesNotMatch(done.html, new RegExp(`value="${grant}"`), 'the list after a disconnect is read again, without it');
  });

  test('the access policy applies to the page\'s login too', async () => {
    const policed = await startWorker({ bindings: completeBindings(d.url, { ALLOWED_DISCORD_USERS: '1234567890123456789' }) });
    try {
      const refused = await visit(new Jar(), `${policed.url}/apps/login`);
      assert.equal(refused.status, 403);
      assert.match(refused.html, /Access refused/);
    } finally {
      await policed.close();
    }
  });
});

describe('3. the server\'s pages never repeat the request\'s text', () => {
  let d;
  let w;
  before(async () => {
    d = await startStandin();
    const outbound = async (request) => (request.url.startsWith('https://app.example/') ? new Response('gone', { status: 404 }) : undefined);
    w = await startWorker({ bindings: completeBindings(d.url), outbound });
  });
  after(async () => { await w?.close(); await d?.close(); });

  test('an unknown scope with bidi overrides and a phone number, and a document URL made of text', async () => {
    const client = await registerClient(w.url);
    const crafted = 'mcp \u202E Your Discord account is suspended. Call +1-555-0100';
    const q = new URLSearchParams({ response_type: 'code', client_id: client.client_id, redirect_uri: CALLBACK, code_challenge: pkcePair().challenge, code_challenge_method: 'S256', scope: crafted });
    const page = await fetch(`${w.url}/authorize?${q}`, { headers: { accept: 'text/html' } });
    const html = await page.text();
    assert.equal(page.status, 200, 'the scope is granted as far as it is known');
    assert.doesNotMatch(html, /555-0100|\u202E|suspended/);
    const doc = 'https://app.example/Your-account-is-suspended-call-555-0100/client.json';
    const q2 = new URLSearchParams({ response_type: 'code', client_id: doc, redirect_uri: 'https://app.example/cb', code_challenge: pkcePair().challenge, code_challenge_method: 'S256' });
    const refused = await fetch(`${w.url}/authorize?${q2}`, { headers: { accept: 'text/html' } });
    const text = await refused.text();
    assert.equal(refused.status, 400);
    assert.match(text, /metadata document at app\.example answered HTTP 404/);
    assert.doesNotMatch(text, /555-0100|suspended/, 'the host is named, not the URL');
  });
});
