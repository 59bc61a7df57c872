// What happens after the first login, under workerd against the Discord stand-in: refresh
// rotation (concurrent refreshes, the grace window, reuse detection), revocation, introspection,
// clients identified by a metadata document or configured by the operator, the Discord access
// policy, and the discord_guilds tool acting through Discord with the stored token.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHash } from 'node:crypto';
import { startWithStandin, startWorker, completeBindings } from '../support/worker.mjs';
import { DEFAULT_USER } from '../support/discord-standin.mjs';
import { browse, CALLBACK, Jar, login, mcpCall, pkcePair, registerClient } from '../support/oauth.mjs';
import { docServer, json } from '../support/docs.mjs';

const JSON_ACCEPT = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

function post(base, path, fields, headers = {}) {
  return fetch(`${base}${path}`, { method: 'POST', headers: { ...FORM, ...headers }, body: new URLSearchParams(fields) });
}

function refresh(base, clientId, refreshToken, extra = {}) {
  return post(base, '/token', { grant_type: 'refresh_token', client_id: clientId, refresh_token: refreshToken, ...extra });
}

async function kvKeys(w, prefix) {
  return (await (await w.kv()).list({ prefix })).keys.map((k) => k.name);
}

function basic(id, secret) {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

describe('refresh tokens (strict reuse detection: REFRESH_REUSE_WINDOW=0; the window itself is in review.test)', () => {
  let both;
  let w;
  let d;
  before(async () => {
    both = await startWithStandin({ REFRESH_REUSE_WINDOW: '0' });
    ({ worker: w, standin: d } = both);
  });
  after(() => both?.close());

  test('ten concurrent refreshes of one token end with exactly one live successor', async () => {
    const { client, tokens } = await login(w.url);
    const answers = await Promise.all(Array.from({ length: 10 }, () => refresh(w.url, client.client_id, tokens.refresh_token)));
    const bodies = await Promise.all(answers.map((r) => r.json()));
    assert.deepEqual(answers.map((r) => r.status), Array(10).fill(200), JSON.stringify(bodies[0]));
    const successors = new Set(bodies.map((b) => b.refresh_token));
    assert.equal(successors.size, 1, 'every racer got the same successor');
    const [next] = successors;
    assert.notEqual(next, tokens.refresh_token);
    const grant = next.split('.')[2];
    assert.deepEqual(await kvKeys(w, `rt:${grant}:`), [`rt:${grant}:1`], 'one successor record');
    // The successor works, and each access token handed out works.
    for (const b of bodies) assert.equal((await mcpCall(w.url, b.access_token, 'echo', { message: 'x' })).status, 200);
    const third = await refresh(w.url, client.client_id, next);
    assert.equal(third.status, 200);
  });

  test('a retry within the grace window gets the same successor; reuse after the successor was used revokes the grant', async () => {
    const { client, tokens } = await login(w.url, { scope: 'mcp profile guilds' });
    const a = await (await refresh(w.url, client.client_id, tokens.refresh_token)).json();
    const retry = await (await refresh(w.url, client.client_id, tokens.refresh_token)).json();
    assert.equal(retry.refresh_token, a.refresh_token, 'lost response: same successor, not an error');
    const b = await (await refresh(w.url, client.client_id, a.refresh_token)).json();
    assert.ok(b.refresh_token);
    const revokesBefore = d.requests.filter((r) => r.path === '/api/oauth2/token/revoke').length;
    const reuse = await refresh(w.url, client.client_id, tokens.refresh_token);
    assert.equal(reuse.status, 400);
    const body = await reuse.json();
    assert.equal(body.error, 'invalid_grant');
    assert.match(body.error_description, /already used.*revoked/);
    const newest = await refresh(w.url, client.client_id, b.refresh_token);
    assert.equal((await newest.json()).error, 'invalid_grant', 'the whole grant ended, newest token included');
    assert.equal((await mcpCall(w.url, b.access_token, 'echo', { message: 'x' })).status, 401, 'access tokens stop at once here');
    // The person's earlier logins in this suite still live, so their Discord authorization stays
    // (discord-authorization.test.mjs shows the last grant's end revoking it at Discord).
    const revokes = d.requests.filter((r) => r.path === '/api/oauth2/token/revoke');
    assert.equal(revokes.length, revokesBefore, 'Discord is not told while another grant of the person lives');
    const sub = DEFAULT_USER.id;
    const grant = tokens.refresh_token.split('.')[2];
    const tomb = JSON.parse(await (await w.kv()).get(`grant:${sub}:${grant}`));
    assert.equal(tomb.revoked.reason, 'refresh token reused');
    assert.equal(tomb.discord, undefined, 'the tombstone keeps no Discord token');
  });

  test('reuse after the grace window, even with the successor unused, revokes the grant', { timeout: 30_000 }, async () => {
    const { client, tokens } = await login(w.url);
    const a = await (await refresh(w.url, client.client_id, tokens.refresh_token)).json();
    await new Promise((r) => setTimeout(r, 11_500));
    const late = await refresh(w.url, client.client_id, tokens.refresh_token);
    assert.equal((await late.json()).error, 'invalid_grant');
    assert.equal((await refresh(w.url, client.client_id, a.refresh_token)).status, 400);
  });

  test('scope narrows, never widens; resource must match; tokens are bound to their client', async () => {
    const { client, tokens } = await login(w.url, { scope: 'mcp profile email' });
    const narrowed = await (await refresh(w.url, client.client_id, tokens.refresh_token, { scope: 'mcp' })).json();
    assert.equal(narrowed.scope, 'mcp');
    assert.equal((await mcpCall(w.url, narrowed.access_token, 'whoami')).status, 403, 'the access token is narrowed');
    const back = await (await refresh(w.url, client.client_id, narrowed.refresh_token, { scope: 'email mcp' })).json();
    assert.ok(back.access_token, JSON.stringify(back));
    assert.equal(back.scope, 'mcp email', 'RFC 6749 §6: the refresh token kept the granted scope');
    const wider = await (await refresh(w.url, client.client_id, back.refresh_token, { scope: 'mcp guilds' })).json();
    assert.equal(wider.scope, 'mcp', 'never wider than granted: RFC 6749 §3.3, less than asked, and no error a client would be stuck on');
    const target = await refresh(w.url, client.client_id, narrowed.refresh_token, { resource: 'https://elsewhere.example/mcp' });
    assert.equal((await target.json()).error, 'invalid_grant', 'never invalid_target on a refresh: the SDKs throw on it');
    const other = await registerClient(w.url);
    const stolen = await refresh(w.url, other.client_id, back.refresh_token);
    assert.match((await stolen.json()).error_description, /another client/);
    const forged = await refresh(w.url, client.client_id, back.refresh_token.replace(/\.2\./, '.7.'));
    assert.equal((await forged.json()).error, 'invalid_grant');
    const ok = await refresh(w.url, client.client_id, back.refresh_token);
    assert.equal((await ok.json()).scope, 'mcp profile email');
  });

  test('a refresh adds exactly one key to KV: the successor record', async () => {
    const { client, tokens } = await login(w.url);
    const keysBefore = await kvKeys(w, '');
    const r = await refresh(w.url, client.client_id, tokens.refresh_token);
    assert.equal(r.status, 200);
    const keysAfter = await kvKeys(w, '');
    assert.equal(keysAfter.length - keysBefore.length, 1, 'exactly one new key: the successor record');
  });
});

describe('revocation (RFC 7009) and introspection (RFC 7662)', () => {
  let both;
  let w;
  let d;
  before(async () => {
    both = await startWithStandin();
    ({ worker: w, standin: d } = both);
  });
  after(() => both?.close());

  test('revoking a refresh token ends the grant: refresh, /mcp and Discord', async () => {
    const { client, tokens } = await login(w.url);
    assert.equal((await mcpCall(w.url, tokens.access_token, 'echo', { message: 'x' })).status, 200);
    const liveBefore = d.liveGrants().size;
    const r = await post(w.url, '/revoke', { client_id: client.client_id, token: tokens.refresh_token, token_type_hint: 'refresh_token' });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('cache-control'), 'no-store');
    assert.equal(d.liveGrants().size, liveBefore - 1, 'the Discord authorization behind it is revoked');
    const denied = await mcpCall(w.url, tokens.access_token, 'echo', { message: 'x' });
    assert.equal(denied.status, 401);
    assert.match(denied.headers.get('www-authenticate'), /error="invalid_token", error_description="The access token has been revoked"/);
    assert.equal((await (await refresh(w.url, client.client_id, tokens.refresh_token)).json()).error, 'invalid_grant');
  });

  test('revoking an access token ends its grant too; unknown and foreign tokens answer 200 and change nothing', async () => {
    const { client, tokens } = await login(w.url);
    const other = await login(w.url);
    for (const junk of ['garbage', 'mcpr1.1.AAAAAAAAAAAAAAAAAAAAAA.0.forged', '']) {
      const r = await post(w.url, '/revoke', { client_id: client.client_id, token: junk });
      assert.equal(r.status, junk ? 200 : 400, junk);
    }
    const foreign = await post(w.url, '/revoke', { client_id: client.client_id, token: other.tokens.refresh_token });
    assert.equal(foreign.status, 200);
    assert.equal((await refresh(w.url, other.client.client_id, other.tokens.refresh_token)).status, 200, 'another client cannot revoke it');
    const r = await post(w.url, '/revoke', { client_id: client.client_id, token: tokens.access_token });
    assert.equal(r.status, 200);
    assert.equal((await refresh(w.url, client.client_id, tokens.refresh_token)).status, 400);
    const noClient = await post(w.url, '/revoke', { token: tokens.access_token });
    assert.equal(noClient.status, 401);
    assert.equal((await noClient.json()).error, 'invalid_client');
  });

  test('the bound: other isolates accept a revoked grant\'s access token only until it expires', async () => {
    const { client, tokens } = await login(w.url);
    await post(w.url, '/revoke', { client_id: client.client_id, token: tokens.refresh_token });
    // A second Worker with the same secrets stands for another isolate or edge location: it
    // reads no KV per request, so it honours the token until `exp`, which is ACCESS_TOKEN_TTL.
    const elsewhere = await startWorker({ bindings: completeBindings(d.url) });
    try {
      const status = await new Promise((resolve, reject) => {
        const u = new URL(elsewhere.url);
        const req = http.request({ host: '127.0.0.1', port: u.port, path: '/mcp', method: 'POST',
          headers: { ...JSON_ACCEPT, host: new URL(w.url).host, 'mcp-protocol-version': '2025-11-25', authorization: `Bearer ${tokens.access_token}` } },
        (res) => { res.resume(); resolve(res.statusCode); });
        req.on('error', reject);
        req.end(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }));
      });
      assert.equal(status, 200, 'another isolate, same origin: valid until exp (no KV read per MCP request)');
    } finally {
      await elsewhere.close();
    }
    const claims = JSON.parse(Buffer.from(tokens.access_token.split('.')[1], 'base64url'));
    assert.equal(claims.exp - claims.iat, 3600, 'the documented bound: ACCESS_TOKEN_TTL (+5 s leeway)');
  });

  test('introspection: own tokens active with RFC 7662 fields; revoked, foreign or public callers inactive or refused', async () => {
    const conf = await registerClient(w.url, { token_endpoint_auth_method: 'client_secret_basic' });
    const { verifier, challenge } = pkcePair();
    const q = new URLSearchParams({ response_type: 'code', client_id: conf.client_id, redirect_uri: CALLBACK, code_challenge: challenge, code_challenge_method: 'S256', scope: 'mcp profile', resource: `${w.url}/mcp` });
    const code = new URL((await browse(`${w.url}/authorize?${q}`)).url).searchParams.get('code');
    const auth = { authorization: basic(conf.client_id, conf.client_secret) };
    const issued = await (await post(w.url, '/token', { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: CALLBACK }, auth)).json();
    assert.ok(issued.access_token, JSON.stringify(issued));

    const look = async (token, headers = auth) => post(w.url, '/introspect', { token }, headers);
    const at = await (await look(issued.access_token)).json();
    assert.equal(at.active, true);
    assert.equal(at.scope, 'mcp profile');
    assert.equal(at.client_id, conf.client_id);
    assert.equal(at.sub, DEFAULT_USER.id);
    assert.equal(at.aud, `${w.url}/mcp`);
    assert.equal(at.iss, w.url);
    assert.equal(at.exp - at.iat, 3600);
    assert.equal(at.token_type, 'Bearer');
    const rt = await (await look(issued.refresh_token)).json();
    assert.equal(rt.active, true);
    assert.equal(rt.token_type, undefined, 'RFC 6749 names no type for refresh tokens');

    assert.deepEqual(await (await look('garbage')).json(), { active: false });
    const someoneElse = await login(w.url);
    assert.deepEqual(await (await look(someoneElse.tokens.access_token)).json(), { active: false }, 'another client\'s token');
    const publicCaller = await look(someoneElse.tokens.access_token, {});
    assert.equal(publicCaller.status, 401);
    const pub = await post(w.url, '/introspect', { token: someoneElse.tokens.access_token, client_id: someoneElse.client.client_id });
    assert.equal((await pub.json()).error, 'invalid_client', 'public clients hold no credentials');
    const wrong = await look(issued.access_token, { authorization: basic(conf.client_id, 'wrong') });
    assert.equal(wrong.status, 401);

    const rotated = await (await post(w.url, '/token', { grant_type: 'refresh_token', refresh_token: issued.refresh_token }, auth)).json();
    assert.deepEqual(await (await look(issued.refresh_token)).json(), { active: false }, 'a used refresh token is inactive');
    assert.equal((await (await look(rotated.refresh_token)).json()).active, true);
    await post(w.url, '/revoke', { token: rotated.refresh_token }, auth);
    assert.deepEqual(await (await look(rotated.access_token)).json(), { active: false }, 'revoked');
  });
});

describe('Client ID Metadata Documents', () => {
  let both;
  let w;
  let docs;
  const routes = {};
  before(async () => {
    docs = await docServer(routes);
    // LOCAL_ONLY admits http://127.0.0.1 metadata URLs, as for local development; production
    // accepts https only (the last test here).
    both = await startWithStandin({ LOCAL_ONLY: 'true' });
    ({ worker: w } = both);
  });
  after(async () => { await both?.close(); await docs?.close(); });

  function authorize(clientId, extra = {}) {
    const { verifier, challenge } = pkcePair();
    const q = new URLSearchParams({ response_type: 'code', client_id: clientId, redirect_uri: CALLBACK, code_challenge: challenge, code_challenge_method: 'S256', state: 's', resource: `${w.url}/mcp`, ...extra });
    return { url: `${w.url}/authorize?${q}`, verifier };
  }

  test('a client identified by its metadata URL logs in, refreshes, and the document is cached', async () => {
    const id = `${docs.base}/clients/good.json`;
    routes['/clients/good.json'] = json({ client_id: id, client_name: 'Doc Client', redirect_uris: [CALLBACK], token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'] }, { 'cache-control': 'max-age=600' });
    const { url, verifier } = authorize(id);
    const jar = new Jar();
    const seen = await browse(url, { jar });
    assert.match(seen.pages[0].html, /<strong>Doc Client<\/strong> from <strong>127\.0\.0\.1<\/strong>/, 'consent names the client and the host that vouches for it');
    const code = new URL(seen.url).searchParams.get('code');
    const t = await (await post(w.url, '/token', { grant_type: 'authorization_code', code, code_verifier: verifier, client_id: id, redirect_uri: CALLBACK })).json();
    assert.ok(t.access_token && t.refresh_token, JSON.stringify(t));
    assert.equal((await refresh(w.url, id, t.refresh_token)).status, 200);
    assert.deepEqual(docs.hits, ['/clients/good.json']);
    // Cached in this isolate (and the Cache API where it works), never in KV: anyone can name
    // any URL, and anonymous requests must not spend the operator's KV writes.
    assert.deepEqual(await kvKeys(w, 'cimd:'), [], 'nothing in KV');
    await browse(authorize(id).url, { jar });
    assert.deepEqual(docs.hits, ['/clients/good.json'], 'the second login read the cache, not the host');
    const wrongRedirect = await fetch(authorize(id, { redirect_uri: 'http://127.0.0.1:9/other' }).url, { headers: { accept: 'text/html' } });
    assert.equal(wrongRedirect.status, 400, 'the document\'s redirect_uris govern');
    assert.match(await wrongRedirect.text(), /does not match any URI/);
  });

  test('broken documents give the person a clear page and are not cached', { timeout: 20_000 }, async () => {
    const at = (p) => `${docs.base}${p}`;
    Object.assign(routes, {
      '/mismatch.json': json({ client_id: 'https://someone-else.example/c.json', redirect_uris: [CALLBACK] }),
      '/html.json': (req, res) => { res.writeHead(200, { 'content-type': 'text/html' }); res.end(JSON.stringify({ client_id: at('/html.json'), redirect_uris: [CALLBACK] })); },
      '/huge.json': json(JSON.stringify({ client_id: at('/huge.json'), redirect_uris: [CALLBACK], client_name: 'x', pad: 'y'.repeat(6000) })),
      '/redirect.json': (req, res) => { res.writeHead(302, { location: at('/mismatch.json') }); res.end(); },
      '/secret.json': json({ client_id: at('/secret.json'), redirect_uris: [CALLBACK], token_endpoint_auth_method: 'client_secret_basic' }),
      '/slow.json': (req, res) => { setTimeout(() => json({ client_id: at('/slow.json'), redirect_uris: [CALLBACK] })(req, res), 4000); },
      '/notjson.json': json('{not json'),
    });
    const cases = {
      '/mismatch.json': /client_id other than its own URL/,
      '/html.json': /not served as application\/json/,
      '/huge.json': /larger than 5120 bytes/,
      '/redirect.json': /redirect, which is not followed/,
      '/notjson.json': /not JSON/,
      '/missing.json': /answered HTTP 404/,
    };
    for (const [p, why] of Object.entries(cases)) {
      const r = await fetch(authorize(at(p)).url, { headers: { accept: 'text/html' } });
      assert.equal(r.status, 400, p);
      const html = await r.text();
      assert.match(html, /Application could not be verified/, p);
      assert.match(html, why, p);
      assert.doesNotMatch(html, new RegExp(p.replace('.', '\\.')), 'the page names the host, not the URL');
      assert.equal(r.headers.get('location'), null, 'never redirected');
    }
    // A host that does not answer in time is its fault, not the request's: 502, naming it.
    const slow = await fetch(authorize(at('/slow.json')).url, { headers: { accept: 'text/html' } });
    assert.equal(slow.status, 502);
    assert.match(await slow.text(), /metadata at 127\.0\.0\.1 did not answer within 3 seconds/);
    // A document naming a shared-secret method is a public client here (it could not hold a
    // secret this server issued): accepted, and PKCE protects it.
    const secret = await fetch(authorize(at('/secret.json')).url, { headers: { accept: 'text/html' } });
    assert.equal(secret.status, 200);
    const hits = docs.hits.length;
    await (await fetch(authorize(at('/mismatch.json')).url, { headers: { accept: 'text/html' } })).text();
    assert.equal(docs.hits.length, hits + 1, 'a failed document is not cached: it is fetched again');
    for (const bad of [`${docs.base}/`, `${docs.base}/a/../b.json`, `${docs.base}/c.json#frag`, `http://user:pw@127.0.0.1:1/c.json`]) {
      const r = await fetch(authorize(bad).url, { headers: { accept: 'text/html' } });
      assert.equal(r.status, 400, bad);
      assert.match(await r.text(), /Unknown application/, bad);
    }
  });

  test('without LOCAL_ONLY an http metadata URL is refused', async () => {
    const prod = await startWithStandin();
    try {
      const r = await fetch(`${prod.worker.url}/authorize?client_id=${encodeURIComponent(`${docs.base}/c.json`)}&response_type=code`, { headers: { accept: 'text/html' } });
      assert.equal(r.status, 400);
      assert.match(await r.text(), /only fetches https URLs/);
    } finally {
      await prod.close();
    }
  });
});

describe('pre-registered clients (OAUTH_CLIENTS) with registration switched off', () => {
  let both;
  let w;
  const secret = 'operator-issued-secret-0123456789';
  before(async () => {
    const clients = [
      { client_id: 'ops-dashboard', client_secret_hash: `sha256:${createHash('sha256').update(secret).digest('hex')}`, redirect_uris: [CALLBACK], client_name: 'Ops Dashboard', introspection: true },
      { client_id: 'cli-tool', client_secret_hash: 'none', redirect_uris: ['http://127.0.0.1/callback'], client_name: 'CLI Tool' },
    ];
    both = await startWithStandin({ OAUTH_CLIENTS: JSON.stringify(clients), DISABLE_REGISTRATION: 'true' });
    ({ worker: w } = both);
  });
  after(() => both?.close());

  test('a configured public client logs in and refreshes; a confidential one needs its secret', async () => {
    const reg = await fetch(`${w.url}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ redirect_uris: [CALLBACK] }) });
    assert.equal(reg.status, 403);
    const { tokens } = await login(w.url, { client: { client_id: 'cli-tool' } });
    const me = await (await mcpCall(w.url, tokens.access_token, 'whoami')).json();
    assert.equal(me.result.structuredContent.id, DEFAULT_USER.id);
    assert.equal((await refresh(w.url, 'cli-tool', tokens.refresh_token)).status, 200);

    const { verifier, challenge } = pkcePair();
    const q = new URLSearchParams({ response_type: 'code', client_id: 'ops-dashboard', redirect_uri: CALLBACK, code_challenge: challenge, code_challenge_method: 'S256' });
    const seen = await browse(`${w.url}/authorize?${q}`);
    assert.match(seen.pages[0].html, /Ops Dashboard/);
    const code = new URL(seen.url).searchParams.get('code');
    const fields = { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: CALLBACK };
    const noSecret = await post(w.url, '/token', { ...fields, client_id: 'ops-dashboard' });
    assert.equal(noSecret.status, 401);
    const wrong = await post(w.url, '/token', fields, { authorization: basic('ops-dashboard', 'nope') });
    assert.equal((await wrong.json()).error_description, 'wrong client secret');
    const ok = await post(w.url, '/token', { ...fields, client_id: 'ops-dashboard', client_secret: secret });
    assert.equal(ok.status, 200, 'client_secret_post works as well as Basic');

    // A resource server marked `introspection: true` may look at any client's tokens.
    const any = await (await post(w.url, '/introspect', { token: tokens.access_token }, { authorization: basic('ops-dashboard', secret) })).json();
    assert.equal(any.active, true);
    assert.equal(any.client_id, 'cli-tool');
    const unknown = await fetch(`${w.url}/authorize?client_id=nobody&response_type=code`, { headers: { accept: 'text/html' } });
    assert.equal(unknown.status, 400);
  });

  test('an invalid OAUTH_CLIENTS is named on /health, never quoted', async () => {
    const bad = await startWorker({ bindings: completeBindings('http://127.0.0.1:9', { OAUTH_CLIENTS: '[{"client_id":"x","client_secret_hash":"sha256:zz","redirect_uris":["http://127.0.0.1/cb"]}]' }) });
    try {
      const h = await (await fetch(`${bad.url}/health`)).json();
      assert.deepEqual(h.missing, ['OAUTH_CLIENTS']);
    } finally {
      await bad.close();
    }
  });
});

describe('Discord access policy', () => {
  test('listed users get in; others see a refusal page, the client gets access_denied, nothing is stored', async () => {
    const both = await startWithStandin({ ALLOWED_DISCORD_USERS: `${DEFAULT_USER.id}, 123456789012345678` });
    const { worker: w, standin: d } = both;
    try {
      const { tokens } = await login(w.url);
      assert.ok(tokens.access_token);
      const before = await kvKeys(w, '');
      d.setUser({ id: '999999999999999999', username: 'mallory', global_name: '<Mallory>' });
      const client = await registerClient(w.url);
      const { challenge } = pkcePair();
      const q = new URLSearchParams({ response_type: 'code', client_id: client.client_id, redirect_uri: CALLBACK, code_challenge: challenge, code_challenge_method: 'S256', state: 'st9' });
      const seen = await browse(`${w.url}/authorize?${q}`);
      const page = seen.pages.at(-1);
      assert.equal(page.status, 403);
      assert.match(page.html, /Access refused/);
      assert.match(page.html, /&lt;Mallory&gt;/, 'named, escaped');
      assert.match(page.html, /999999999999999999/);
      const back = new URL(page.html.match(/<a href="([^"]+)">Return to the application<\/a>/)[1].replace(/&amp;/g, '&'));
      assert.equal(back.searchParams.get('error'), 'access_denied');
      assert.equal(back.searchParams.get('state'), 'st9');
      assert.deepEqual(await kvKeys(w, ''), before, 'nothing stored for a refused person');
      assert.equal(d.requests.filter((r) => r.path === '/api/v10/users/@me/guilds').length, 0, 'no server list needed');
      assert.equal(d.requests.at(-1).path, '/api/oauth2/token/revoke', 'their Discord authorization is revoked');
    } finally {
      await both.close();
    }
  });

  test('members of a listed server get in, checked with the guilds scope at login; non-members are refused', async () => {
    const member = await startWithStandin({ ALLOWED_DISCORD_GUILDS: '1000000000000000002' });
    try {
      const { tokens } = await login(member.worker.url);
      assert.ok(tokens.access_token);
      const asked = member.standin.requests.find((r) => r.path === '/oauth2/authorize');
      assert.match(asked.query.scope, /\bguilds\b/);
      assert.equal(member.standin.requests.filter((r) => r.path === '/api/v10/users/@me/guilds').length, 1);
    } finally {
      await member.close();
    }
    const outsider = await startWithStandin({ ALLOWED_DISCORD_GUILDS: '1000000000000000009' });
    try {
      const client = await registerClient(outsider.worker.url);
      const { challenge } = pkcePair();
      const q = new URLSearchParams({ response_type: 'code', client_id: client.client_id, redirect_uri: CALLBACK, code_challenge: challenge, code_challenge_method: 'S256' });
      const seen = await browse(`${outsider.worker.url}/authorize?${q}`);
      assert.equal(seen.pages.at(-1).status, 403);
      assert.deepEqual(await kvKeys(outsider.worker, ''), []);
    } finally {
      await outsider.close();
    }
  });
});

describe('discord_guilds: a tool acting through Discord with the stored token', () => {
  let both;
  let w;
  let d;
  before(async () => {
    both = await startWithStandin();
    ({ worker: w, standin: d } = both);
  });
  after(() => both?.close());

  const guildCalls = () => d.requests.filter((r) => r.path === '/api/v10/users/@me/guilds').length;
  const call = async (token) => (await (await mcpCall(w.url, token, 'discord_guilds')).json()).result;

  test('lists the servers, then serves them from the KV cache; the Discord token never leaves the Worker', async () => {
    const { tokens } = await login(w.url, { scope: 'mcp guilds' });
    assert.doesNotMatch(JSON.stringify(tokens), /standin|discord/i);
    const n = guildCalls();
    const first = await call(tokens.access_token);
    assert.ok(!first.isError, JSON.stringify(first));
    assert.deepEqual(first.structuredContent.guilds, [
      { id: '1000000000000000001', name: 'Stand-in Guild', owner: true },
      { id: '1000000000000000002', name: 'Another Guild', owner: false },
    ]);
    assert.equal(first.structuredContent.cached, false);
    const second = await call(tokens.access_token);
    assert.equal(second.structuredContent.cached, true);
    assert.equal(guildCalls(), n + 1, 'one Discord call for two tool calls');
    const grant = JSON.parse(Buffer.from(tokens.access_token.split('.')[1], 'base64url')).gid;
    const stored = await (await w.kv()).get(`grant:${DEFAULT_USER.id}:${grant}`);
    const issued = d.requests.filter((r) => r.path === '/api/oauth2/token').length;
    assert.ok(issued > 0);
    assert.doesNotMatch(stored, /"access_token"|"refresh_token"/, 'sealed at rest');
    const without = await login(w.url, { scope: 'mcp profile' });
    const denied = await mcpCall(w.url, without.tokens.access_token, 'discord_guilds');
    assert.equal(denied.status, 403);
    assert.match(denied.headers.get('www-authenticate'), /scope="guilds"/);
  });

  test('an expired Discord token is refreshed with Discord and stored; a refused one asks to reconnect, once', async () => {
    // Discord tokens that expire two seconds after login, and then really have expired.
    d.setAccessTtl(2);
    const { tokens } = await login(w.url, { scope: 'mcp guilds' });
    d.setAccessTtl(604800);
    await new Promise((r) => setTimeout(r, 2500));
    const refreshesBefore = d.requests.filter((r) => r.path === '/api/oauth2/token' && r.form.grant_type === 'refresh_token').length;
    const r = await call(tokens.access_token);
    assert.ok(!r.isError, JSON.stringify(r));
    assert.equal(d.requests.filter((q) => q.path === '/api/oauth2/token' && q.form.grant_type === 'refresh_token').length, refreshesBefore + 1);
    const grant = JSON.parse(Buffer.from(tokens.access_token.split('.')[1], 'base64url')).gid;
    assert.ok(grant);
    assert.deepEqual(await kvKeys(w, 'discord-user:'), [`discord-user:${DEFAULT_USER.id}`], 'refreshed tokens stored once, for the person');

    // Discord refuses the refresh: the tool says reconnect, the grant is marked, no loop.
    d.setAccessTtl(2);
    const second = await login(w.url, { scope: 'mcp guilds' });
    d.setAccessTtl(604800);
    await new Promise((r) => setTimeout(r, 2500));
    d.fail('token', 'invalid_grant');
    const before = d.requests.length;
    const refused = await call(second.tokens.access_token);
    assert.equal(refused.isError, true);
    assert.match(refused.content[0].text, /Reconnect: log in to this server again/);
    const again = await call(second.tokens.access_token);
    assert.equal(again.isError, true);
    const discordCalls = d.requests.slice(before).length;
    assert.equal(discordCalls, 1, 'one refresh attempt, then the mark answers without calling Discord');
  });

  test('Discord rate limiting becomes an error result that says when to retry', async () => {
    const { tokens } = await login(w.url, { scope: 'mcp guilds' });
    d.fail('guilds', 'rate_limit', { retryAfter: 1.2 });
    const r = await call(tokens.access_token);
    assert.equal(r.isError, true);
    assert.match(r.content[0].text, /retry in 2 seconds/);
    const asked = () => d.requests.filter((q) => q.path === '/api/v10/users/@me/guilds').length;
    const before = asked();
    assert.equal((await call(tokens.access_token)).isError, true, 'within retry_after: answered here');
    assert.equal(asked(), before, 'and not sent to Discord');
    await new Promise((done) => setTimeout(done, 1300));
    const ok = await call(tokens.access_token);
    assert.ok(!ok.isError, 'the next call after it goes through');
  });
});

describe('rotating SECRET_KEY with SECRET_KEY_PREVIOUS', () => {
  test('a redeploy with a new key keeps registrations, tokens and stored Discord tokens; dropping the old key ends them', async () => {
    const both = await startWithStandin();
    const { worker: w, standin: d } = both;
    try {
      const { client, tokens } = await login(w.url, { scope: 'mcp guilds' });
      const oldKey = completeBindings(d.url).SECRET_KEY;
      const newKey = 'rotated-secret-key-9876543210-zyxwvutsrqponm';
      await w.restart(completeBindings(d.url, { SECRET_KEY: newKey, SECRET_KEY_PREVIOUS: oldKey }));
      assert.equal((await mcpCall(w.url, tokens.access_token, 'echo', { message: 'x' })).status, 200, 'old access token');
      const guilds = await (await mcpCall(w.url, tokens.access_token, 'discord_guilds')).json();
      assert.ok(!guilds.result.isError, 'Discord tokens sealed under the old key still open');
      const next = await (await refresh(w.url, client.client_id, tokens.refresh_token)).json();
      assert.ok(next.access_token, 'old refresh token, old client registration');
      const again = await login(w.url, { client });
      assert.ok(again.tokens.access_token, 'a client registered before the rotation logs in again');

      await w.restart(completeBindings(d.url, { SECRET_KEY: newKey }));
      assert.equal((await mcpCall(w.url, next.access_token, 'echo', { message: 'x' })).status, 200, 'signed with the new key');
      assert.equal((await mcpCall(w.url, tokens.access_token, 'echo', { message: 'x' })).status, 401, 'old key gone');
      const oldClient = await refresh(w.url, client.client_id, next.refresh_token);
      assert.equal(oldClient.status, 401);
      assert.equal((await oldClient.json()).error, 'invalid_client', 'a registration signed with the old key ends with it; the client registers again');
    } finally {
      await both.close();
    }
  });
});
