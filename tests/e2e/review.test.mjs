// Findings of the outside security review (issue 14), each pinned by a test that failed before
// its fix: bounded outbound bodies, no KV writes from anonymous traffic, rate limits on the
// callback, the apps page and discord_guilds (IPv6 by /64), no open redirect through
// unvetted clients, consent forgotten on disconnect and bound to what was shown, no Discord
// revocation on the apps login, unverified names shown as such, verified email only, and the
// refresh reuse window.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { completeBindings, startWorker } from '../support/worker.mjs';
import { startStandin } from '../support/discord-standin.mjs';
import { CALLBACK, Jar, browse, login, mcpCall, pkcePair, registerClient, visit } from '../support/oauth.mjs';
import { docServer, json } from '../support/docs.mjs';

const HTML = { accept: 'text/html' };
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

function authorizeUrl(base, clientId, extra = {}) {
  const { challenge } = pkcePair();
  return `${base}/authorize?${new URLSearchParams({
    response_type: 'code', client_id: clientId, redirect_uri: CALLBACK, code_challenge: challenge,
    code_challenge_method: 'S256', state: 'st', scope: 'mcp', resource: `${base}/mcp`, ...extra,
  })}`;
}

function refresh(base, clientId, refreshToken) {
  return fetch(`${base}/token`, { method: 'POST', headers: FORM, body: new URLSearchParams({ grant_type: 'refresh_token', client_id: clientId, refresh_token: refreshToken }) });
}

/** A Worker (LOCAL_ONLY, so loopback metadata URLs are fetched) with a stand-in and a doc server. */
async function setup({ bindings = {}, ...options } = {}) {
  const d = await startStandin();
  const routes = {};
  const docs = await docServer(routes);
  const w = await startWorker({ bindings: completeBindings(d.url, { LOCAL_ONLY: 'true', ...bindings }), ...options });
  return { d, w, docs, routes, close: async () => { await w.close(); await docs.close(); await d.close(); } };
}

/** Consent pages seen on the way (Deny ends on a page of its own). */
const consentPages = (seen) => seen.pages.filter((p) => /wants to access this server/.test(p.html)).length;

const doc = (id, extra = {}) => ({ client_id: id, client_name: 'Doc App', redirect_uris: [CALLBACK], token_endpoint_auth_method: 'none', ...extra });

describe('denial of service and cost', () => {
  let s;
  before(async () => { s = await setup({ countKv: true }); });
  after(() => s?.close());

  test('1. an endless or drip-fed metadata document ends within the deadline, and the Worker stays healthy', { timeout: 30_000 }, async () => {
    const at = (p) => `${s.docs.base}${p}`;
    const endless = new Set();
    s.routes['/endless.json'] = (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(`{"client_id":"${at('/endless.json')}","pad":"`);
      const timer = setInterval(() => res.write('a'.repeat(16 * 1024)), 2);
      endless.add(timer);
      res.on('close', () => clearInterval(timer));
    };
    s.routes['/drip.json'] = (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const timer = setInterval(() => res.write(' '), 200);
      endless.add(timer);
      res.on('close', () => clearInterval(timer));
    };
    try {
      // Too large is the document's fault (400); too slow is its host's (502, naming it).
      for (const [p, why, status] of [['/endless.json', /larger than 5120 bytes/, 400], ['/drip.json', /did not answer within 3 seconds/, 502]]) {
        const started = Date.now();
        const r = await fetch(authorizeUrl(s.w.url, at(p)), { headers: HTML });
        const took = Date.now() - started;
        assert.equal(r.status, status, p);
        assert.match(await r.text(), why, p);
        assert.ok(took < 4500, `${p} answered in ${took} ms: one deadline covers the body too`);
      }
      assert.equal((await fetch(`${s.w.url}/health`)).status, 200, 'the isolate survived');
      assert.ok((await login(s.w.url)).tokens.access_token, 'and still logs people in');
    } finally {
      for (const t of endless) clearInterval(t);
    }
  });

  test('2. an anonymous flood writes nothing to KV (only a signed-in person\'s action does)', { timeout: 60_000 }, async () => {
    const before = await s.w.kvOps();
    const ids = [];
    for (let i = 0; i < 40; i++) {
      const path = `/flood/${i}.json`;
      ids.push(`${s.docs.base}${path}`);
      s.routes[path] = json(doc(`${s.docs.base}${path}`));
    }
    const settle = async (p) => { const r = await p; await r.arrayBuffer(); return r.status; };
    // First every document once, then all of it again at once (documents now cached).
    const first = await Promise.all(ids.map((id) => settle(fetch(authorizeUrl(s.w.url, id), { headers: HTML }))));
    const requests = [
      ...ids.map((id) => fetch(authorizeUrl(s.w.url, id), { headers: HTML })),
      ...Array.from({ length: 10 }, () => fetch(`${s.w.url}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ redirect_uris: [CALLBACK] }) })),
      ...Array.from({ length: 10 }, () => fetch(`${s.w.url}/token`, { method: 'POST', headers: FORM, body: new URLSearchParams({ grant_type: 'authorization_code', client_id: ids[0], code: 'bogus', code_verifier: 'v'.repeat(43) }) })),
      ...Array.from({ length: 10 }, () => refresh(s.w.url, ids[0], 'mcpr1.1.AAAAAAAAAAAAAAAAAAAAAA.0.forged')),
      ...Array.from({ length: 10 }, () => fetch(`${s.w.url}/redirect?code=x&state=y`, { headers: HTML })),
      ...Array.from({ length: 10 }, () => mcpCall(s.w.url, null, 'echo', { message: 'x' })),
    ];
    const statuses = [...first, ...(await Promise.all(requests.map(settle)))];
    assert.equal(statuses.filter((x) => x >= 500).length, 0, statuses.join(','));
    assert.equal(statuses.slice(0, 80).filter((x) => x === 200).length, 80, 'every metadata-document client got its consent page');
    const after = await s.w.kvOps();
    const delta = Object.fromEntries(Object.keys(after).map((k) => [k, after[k] - before[k]]));
    console.log(`# anonymous flood of ${statuses.length} requests (80 metadata-document authorizations): KV ${JSON.stringify(delta)}`);
    assert.equal(delta.put, 0, 'no KV write');
    assert.equal(delta.delete, 0, 'no KV delete');
    assert.equal(s.docs.hits.filter((h) => h.startsWith('/flood/')).length, 40, 'each document fetched once, then served from the isolate\'s cache');
  });
});

describe('3. rate limits on the callback, the apps page and discord_guilds; IPv6 by /64', () => {
  let s;
  before(async () => { s = await setup({ rateLimit: 6 }); });
  after(() => s?.close());

  test('GET /redirect and GET /apps answer 429 over the limit; another /64 has its own budget', async () => {
    for (const [path, ip, other] of [['/redirect?code=x&state=y', '2001:db8:1:2::1', '2001:db8:1:3::1'], ['/apps', '2001:db8:5:6::1', '2001:db8:5:7::1']]) {
      const statuses = [];
      for (let i = 0; i < 8; i++) {
        // Every request from another address in the same /64: one caller, one budget.
        const r = await fetch(`${s.w.url}${path}`, { headers: { ...HTML, 'cf-connecting-ip': ip.replace(/::1$/, `::${i + 1}`) } });
        await r.arrayBuffer();
        statuses.push(r.status);
      }
      assert.equal(statuses.filter((x) => x === 429).length, 2, `${path}: ${statuses}`);
      assert.ok(statuses.slice(0, 6).every((x) => x !== 429), `${path}: ${statuses}`);
      const elsewhere = await fetch(`${s.w.url}${path}`, { headers: { ...HTML, 'cf-connecting-ip': other } });
      await elsewhere.arrayBuffer();
      assert.notEqual(elsewhere.status, 429, `${path}: another /64`);
    }
  });

  test('discord_guilds is limited per grant', async () => {
    const { tokens } = await login(s.w.url, { scope: 'mcp guilds' });
    const results = [];
    for (let i = 0; i < 7; i++) results.push((await (await mcpCall(s.w.url, tokens.access_token, 'discord_guilds')).json()).result);
    assert.ok(results.slice(0, 6).every((r) => !r.isError), JSON.stringify(results[0]));
    assert.equal(results[6].isError, true);
    assert.match(results[6].content[0].text, /Too many calls of discord_guilds/);
  });
});

describe('redirects and consent', () => {
  let s;
  const OPS = { client_id: 'ops', client_secret_hash: 'none', redirect_uris: [CALLBACK], client_name: 'Ops' };
  before(async () => { s = await setup({ bindings: { OAUTH_CLIENTS: JSON.stringify([OPS]) } }); });
  after(() => s?.close());

  /** The error page of an unvetted client: no Location, a link to the client's error URI. */
  async function linkedError(url, host) {
    const r = await fetch(url, { headers: HTML, redirect: 'manual' });
    assert.equal(r.status, 400);
    assert.equal(r.headers.get('location'), null, 'never an automatic redirect');
    const html = await r.text();
    assert.match(html, /Invalid request from the application/);
    const href = html.match(/<a href="([^"]+)">return to the application/)?.[1]?.replace(/&amp;/g, '&');
    assert.ok(href?.startsWith(`https://${host}/landing?`), href);
    return new URL(href).searchParams.get('error');
  }

  test('4. no open redirect through a registered or metadata-document client; configured clients keep RFC 6749 redirects', async () => {
    const evil = await registerClient(s.w.url, { redirect_uris: ['https://evil.example/landing'] });
    assert.equal(await linkedError(authorizeUrl(s.w.url, evil.client_id, { redirect_uri: 'https://evil.example/landing', response_type: 'x' }), 'evil.example'), 'unsupported_response_type');
    const id = `${s.docs.base}/evil.json`;
    s.routes['/evil.json'] = json(doc(id, { redirect_uris: ['https://evil-doc.example/landing'] }));
    assert.equal(await linkedError(authorizeUrl(s.w.url, id, { redirect_uri: 'https://evil-doc.example/landing', response_type: 'token' }), 'evil-doc.example'), 'unsupported_response_type');

    const configured = await fetch(authorizeUrl(s.w.url, 'ops', { response_type: 'x' }), { redirect: 'manual' });
    assert.equal(configured.status, 302, 'the operator vetted this redirect URI');
    assert.equal(new URL(configured.headers.get('location')).searchParams.get('error'), 'unsupported_response_type');
  });

  test('5. disconnecting on /apps forgets the client\'s remembered approval in that browser', async () => {
    const jar = new Jar();
    const session = await login(s.w.url, { jar });
    const again = await browse(authorizeUrl(s.w.url, session.client.client_id), { jar });
    assert.equal(again.pages.length, 0, 'remembered: straight to Discord and back');
    assert.ok(new URL(again.url).searchParams.get('code'));

    const apps = await visit(jar, `${s.w.url}/apps/login`);
    assert.match(apps.html, /Disconnect/);
    const csrf = apps.html.match(/name="csrf" value="([^"]*)"/)[1];
    const grant = session.tokens.refresh_token.split('.')[2];
    const done = await visit(jar, `${s.w.url}/apps`, { method: 'POST', headers: { ...FORM, 'sec-fetch-site': 'same-origin' }, body: new URLSearchParams({ action: 'revoke', grant, csrf }) });
    assert.match(done.url, /done=revoked/);

    const after = await browse(authorizeUrl(s.w.url, session.client.client_id), { jar, decision: 'deny' });
    assert.equal(consentPages(after), 1, 'the consent page is shown again');
    assert.match(after.pages[0].html, /wants to access this server/);
  });

  test('5. a remembered approval of a metadata document holds only while the document shows the same', async () => {
    const id = `${s.docs.base}/changing.json`;
    let current = doc(id, { client_name: 'Changing App' });
    // no-store: the Worker fetches it on every authorization, so a change shows at once.
    s.routes['/changing.json'] = (req, res) => json(current, { 'cache-control': 'no-store' })(req, res);
    const jar = new Jar();
    const first = await browse(authorizeUrl(s.w.url, id), { jar });
    assert.equal(first.pages.length, 1, 'asked once');
    assert.equal((await browse(authorizeUrl(s.w.url, id), { jar })).pages.length, 0, 'then remembered');
    current = doc(id, { client_name: 'Changing App', redirect_uris: [CALLBACK, 'https://new-owner.example/cb'] });
    const changed = await browse(authorizeUrl(s.w.url, id), { jar, decision: 'deny' });
    assert.equal(consentPages(changed), 1, 'a new redirect URI asks again');
    current = doc(id, { client_name: 'Renamed App' });
    assert.equal(consentPages(await browse(authorizeUrl(s.w.url, id), { jar, decision: 'deny' })), 1, 'so does a new name');
  });

  test('6. logging in to /apps does not revoke Discord: every connected client keeps its Discord access', async () => {
    const { tokens } = await login(s.w.url, { scope: 'mcp guilds' });
    const revocations = () => s.d.requests.filter((r) => r.path === '/api/oauth2/token/revoke').length;
    const before = revocations();
    const apps = await visit(new Jar(), `${s.w.url}/apps/login`);
    assert.match(apps.html, /Disconnect/);
    assert.equal(revocations(), before, 'no revocation sent');
    const guilds = (await (await mcpCall(s.w.url, tokens.access_token, 'discord_guilds')).json()).result;
    assert.ok(!guilds.isError, JSON.stringify(guilds));
    assert.equal(guilds.structuredContent.cached, false, 'asked Discord, with the grant\'s token');
  });
});

describe('what a person sees', () => {
  let s;
  before(async () => { s = await setup(); });
  after(() => s?.close());

  test('7. names with invisible format characters are refused; self-registered names are marked unverified', async () => {
    for (const name of ['Claude\u202E(ai.edualc)', 'Cla\u200Bude', 'Claude \u2066(claude.ai)\u2069']) {
      const r = await fetch(`${s.w.url}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ redirect_uris: [CALLBACK], client_name: name }) });
      assert.equal(r.status, 400, JSON.stringify(name));
      assert.equal((await r.json()).error, 'invalid_client_metadata');
    }
    const spoof = await registerClient(s.w.url, { client_name: 'Claude (claude.ai)' });
    const page = await (await fetch(authorizeUrl(s.w.url, spoof.client_id), { headers: HTML })).text();
    assert.match(page, /calling itself <strong>“Claude \(claude\.ai\)”<\/strong>/);
    assert.match(page, /Unverified name/);

    const id = `${s.docs.base}/hostile.json`;
    s.routes['/hostile.json'] = json(doc(id, { redirect_uris: ['https://a.example/cb#Call 555-0100 for support'] }));
    const error = await (await fetch(authorizeUrl(s.w.url, id), { headers: HTML })).text();
    assert.match(error, /Application could not be verified/);
    assert.doesNotMatch(error, /555-0100/, 'the document\'s text is not echoed');
  });

  test('8. the email reaches tokens and whoami only when Discord says it is verified', async () => {
    s.d.setUser({ verified: false });
    const unverified = await login(s.w.url, { scope: 'mcp profile email' });
    const me = (t) => mcpCall(s.w.url, t, 'whoami').then((r) => r.json()).then((j) => j.result.structuredContent);
    assert.equal((await me(unverified.tokens.access_token)).email, null);
    s.d.setUser({ verified: true });
    const verified = await login(s.w.url, { scope: 'mcp profile email' });
    assert.equal((await me(verified.tokens.access_token)).email, 'nelly@example.com');
  });
});

describe('refresh reuse: a stale copy within REFRESH_REUSE_WINDOW is refused, later reuse revokes', () => {
  async function chain(s) {
    const { client, tokens } = await login(s.w.url);
    const one = await (await refresh(s.w.url, client.client_id, tokens.refresh_token)).json();
    const two = await (await refresh(s.w.url, client.client_id, one.refresh_token)).json();
    assert.ok(two.refresh_token, JSON.stringify(two));
    // The first generation again, after its successor moved on (a second process's copy).
    const stale = await refresh(s.w.url, client.client_id, tokens.refresh_token);
    return { client, stale: { status: stale.status, body: await stale.json() }, newest: two.refresh_token };
  }

  test('default window (300 s): invalid_grant, and the grant lives on', async () => {
    const s = await setup();
    try {
      const { client, stale, newest } = await chain(s);
      assert.equal(stale.status, 400);
      assert.equal(stale.body.error, 'invalid_grant');
      assert.match(stale.body.error_description, /replaced by a newer one/);
      assert.equal((await refresh(s.w.url, client.client_id, newest)).status, 200, 'the newest generation still rotates');
      assert.equal(s.d.requests.filter((r) => r.path === '/api/oauth2/token/revoke').length, 0);
    } finally {
      await s.close();
    }
  });

  test('REFRESH_REUSE_WINDOW=0: the same reuse revokes the whole grant (RFC 9700 §4.14)', async () => {
    const s = await setup({ bindings: { REFRESH_REUSE_WINDOW: '0' } });
    try {
      const { client, stale, newest } = await chain(s);
      assert.equal(stale.body.error, 'invalid_grant');
      assert.match(stale.body.error_description, /already used/);
      assert.equal((await (await refresh(s.w.url, client.client_id, newest)).json()).error, 'invalid_grant', 'revoked');
    } finally {
      await s.close();
    }
  });
});
