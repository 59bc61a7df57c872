// The authorization server end to end, under workerd, against the Discord stand-in: discovery,
// registration, consent and its CSRF protection, Discord failures, the token endpoint, bearer
// checks on /mcp, and a whole login whose steps land on two Worker instances that share
// nothing but their secrets (as two edge locations would, before KV has replicated).

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { completeBindings, startWithStandin, startWorker } from '../support/worker.mjs';
import { DEFAULT_USER, startStandin } from '../support/discord-standin.mjs';
import { browse, CALLBACK, consentForm, Jar, login, mcpCall, pkcePair, registerClient } from '../support/oauth.mjs';

function authorizeUrl(base, clientId, extra = {}) {
  const { challenge } = pkcePair();
  return `${base}/authorize?${new URLSearchParams({
    response_type: 'code', client_id: clientId, redirect_uri: CALLBACK, code_challenge: challenge,
    code_challenge_method: 'S256', state: 'st', resource: `${base}/mcp`, ...extra,
  })}`;
}

describe('authorization server', () => {
  let w;
  let d;
  let both;
  before(async () => {
    both = await startWithStandin();
    ({ worker: w, standin: d } = both);
  });
  after(() => both?.close());

  test('discovery: 401 names the metadata; RFC 9728 and RFC 8414 documents state what exists', async () => {
    const res = await mcpCall(w.url, null, 'echo', { message: 'x' });
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), `Bearer resource_metadata="${w.url}/.well-known/oauth-protected-resource/mcp", scope="mcp profile"`);
    const prm = await (await fetch(`${w.url}/.well-known/oauth-protected-resource/mcp`)).json();
    assert.deepEqual(prm, {
      resource: `${w.url}/mcp`, authorization_servers: [w.url], scopes_supported: ['mcp', 'profile', 'email', 'guilds'],
      bearer_methods_supported: ['header'], resource_name: 'MCP server with Discord login',
    });
    assert.equal((await (await fetch(`${w.url}/.well-known/oauth-protected-resource`)).json()).resource, `${w.url}/`);
    const as = await (await fetch(`${w.url}/.well-known/oauth-authorization-server`)).json();
    assert.equal(as.issuer, w.url);
    assert.equal(as.registration_endpoint, `${w.url}/register`);
    assert.deepEqual(as.code_challenge_methods_supported, ['S256']);
    assert.equal(as.authorization_response_iss_parameter_supported, true);
    assert.equal(as.revocation_endpoint, `${w.url}/revoke`);
    assert.equal(as.introspection_endpoint, `${w.url}/introspect`);
    assert.equal(as.client_id_metadata_document_supported, true);
    assert.equal((await fetch(`${w.url}/.well-known/openid-configuration`)).status, 404);
  });

  test('registration validates and answers RFC 7591 errors', async () => {
    const bad = async (body) => {
      const r = await fetch(`${w.url}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      assert.equal(r.status, 400);
      assert.equal(r.headers.get('cache-control'), 'no-store');
      return (await r.json()).error;
    };
    assert.equal(await bad({ redirect_uris: ['javascript:alert(1)'] }), 'invalid_redirect_uri');
    assert.equal(await bad({ redirect_uris: ['http://example.com/cb'] }), 'invalid_redirect_uri');
    assert.equal(await bad({ redirect_uris: [CALLBACK], token_endpoint_auth_method: 'private_key_jwt' }), 'invalid_client_metadata');
    assert.equal(await bad({ redirect_uris: [CALLBACK], client_name: 'x'.repeat(101) }), 'invalid_client_metadata');
    // No IDNA in this build (idna_adapter pinned in Cargo.toml): international hosts in punycode.
    const unicode = await fetch(`${w.url}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ redirect_uris: ['https://bücher.example/cb'] }) });
    const refused = await unicode.json();
    assert.equal(refused.error, 'invalid_redirect_uri');
    assert.match(refused.error_description, /must be ASCII: write an international name in punycode/);
    assert.ok((await registerClient(w.url, { redirect_uris: ['https://xn--bcher-kva.example/cb'] })).client_id, 'the punycode form registers');
    const confidential = await registerClient(w.url, { token_endpoint_auth_method: 'client_secret_basic' });
    assert.ok(confidential.client_secret);
    assert.equal(confidential.client_secret_expires_at, 0);
    const kv = await (await w.kv()).list();
    assert.equal(kv.keys.length, 0, 'registration writes nothing');
  });

  test('a whole login: consent names the client (escaped), whoami is the Discord user, KV writes one grant', async () => {
    const client = await registerClient(w.url, { client_name: '<b>Evil</b> & Co' });
    const jar = new Jar();
    const { tokens } = await login(w.url, { client, jar, scope: 'mcp profile email' });
    const me = await (await mcpCall(w.url, tokens.access_token, 'whoami')).json();
    const who = JSON.parse(me.result.content[0].text);
    assert.equal(who.id, DEFAULT_USER.id);
    assert.equal(who.email, DEFAULT_USER.email);
    const keys = (await (await w.kv()).list()).keys.map((k) => k.name.split(':')[0]).sort();
    assert.deepEqual(keys, ['grant'], 'one record: the grant, which is also the code\'s single-use marker');
    const sent = d.requests.filter((r) => r.path === '/api/oauth2/token').at(-1);
    assert.equal(sent.form.grant_type, 'authorization_code');
    assert.equal(sent.form.redirect_uri, `${w.url}/redirect`);
    assert.match(sent.headers.authorization, /^Basic /);
    assert.equal(sent.headers['content-type'], 'application/x-www-form-urlencoded');

    // The approval is remembered for this client and these scopes: the next login skips the
    // consent page; a client of the same browser that asks for more sees it again.
    const again = await browse(authorizeUrl(w.url, client.client_id, { scope: 'mcp email' }), { jar });
    assert.equal(again.pages.length, 0);
    assert.ok(new URL(again.url).searchParams.get('code'));
    const narrow = await registerClient(w.url);
    await login(w.url, { client: narrow, jar, scope: 'mcp' });
    const wider = await browse(authorizeUrl(w.url, narrow.client_id, { scope: 'mcp profile' }), { jar });
    assert.equal(wider.pages.length, 1, 'more scope: consent again');
    assert.match(wider.pages[0].html, /See your Discord user name/);
  });

  test('a grant without the profile scope reveals only the Discord id', async () => {
    const { tokens } = await login(w.url, { scope: 'mcp' });
    const claims = JSON.parse(Buffer.from(tokens.access_token.split('.')[1], 'base64url'));
    assert.deepEqual(claims.discord, { id: DEFAULT_USER.id, username: '' });
    const hello = await (await mcpCall(w.url, tokens.access_token, 'hello', { name: 'x' })).json();
    assert.equal(JSON.parse(hello.result.content[0].text).greeting, 'Hello, x!');
  });

  test('the consent page escapes a hostile client name and refuses framing', async () => {
    const client = await registerClient(w.url, { client_name: '<img src=x onerror=alert(1)>' });
    const res = await fetch(authorizeUrl(w.url, client.client_id), { headers: { accept: 'text/html' } });
    const html = await res.text();
    assert.ok(!html.includes('<img src=x'));
    assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;'));
    const csp = res.headers.get('content-security-policy');
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(csp, new RegExp(`form-action 'self' ${d.url} http://127.0.0.1:9`));
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    assert.match(res.headers.getSetCookie()[0], /^__Host-csrf=.*; Path=\/; Secure; HttpOnly; SameSite=Lax/);
  });

  test('deny ends on a page whose link carries access_denied, state and iss (a self-registered client: no redirect)', async () => {
    const client = await registerClient(w.url);
    const { pages } = await browse(authorizeUrl(w.url, client.client_id), { decision: 'deny' });
    const denied = pages.at(-1);
    assert.equal(denied.status, 200);
    assert.equal(denied.headers.get('location'), null, 'no redirect to a URI nobody vetted (second review, finding 4)');
    assert.match(denied.html, /Access denied/);
    const back = new URL(denied.html.match(/<a href="([^"]+)">Return to the application at <code>127\.0\.0\.1<\/code>/)[1].replace(/&amp;/g, '&'));
    assert.equal(`${back.origin}${back.pathname}`, CALLBACK);
    assert.equal(back.searchParams.get('error'), 'access_denied');
    assert.equal(back.searchParams.get('state'), 'st');
    assert.equal(back.searchParams.get('iss'), w.url);
  });

  test('a consent post without the CSRF cookie, with another one, or cross-site is refused', async () => {
    const client = await registerClient(w.url);
    const res = await fetch(authorizeUrl(w.url, client.client_id), { headers: { accept: 'text/html' } });
    const form = consentForm(await res.text());
    const cookie = res.headers.getSetCookie()[0].split(';')[0];
    const post = (headers, fields = form.fields) => fetch(`${w.url}/authorize`, {
      method: 'POST', redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', ...headers },
      body: new URLSearchParams({ ...fields, decision: 'approve' }),
    });
    assert.equal((await post({})).status, 403, 'no cookie');
    assert.equal((await post({ cookie, 'sec-fetch-site': 'cross-site' })).status, 403, 'cross-site');
    assert.equal((await post({ cookie }, { ...form.fields, csrf: 'forged' })).status, 403, 'wrong token');
    const other = await registerClient(w.url);
    const res2 = await fetch(authorizeUrl(w.url, other.client_id), { headers: { accept: 'text/html' } });
    const otherCookie = res2.headers.getSetCookie()[0].split(';')[0];
    const otherForm = consentForm(await res2.text());
    assert.equal((await post({ cookie: otherCookie }, { ...form.fields, csrf: otherForm.fields.csrf })).status, 403, "another client's CSRF pair");
    const ok = await post({ cookie, 'sec-fetch-site': 'same-origin' });
    assert.equal(ok.status, 302);
    assert.ok(ok.headers.get('location').startsWith(`${d.url}/oauth2/authorize?`));
  });

  test('a client running in a browser page can discover, register and read errors from its own origin (CORS)', async () => {
    const origin = { origin: 'https://web-client.example' };
    const pre = await fetch(`${w.url}/register`, { method: 'OPTIONS', headers: { ...origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), '*');
    assert.match(pre.headers.get('access-control-allow-headers'), /content-type/);
    const meta = await fetch(`${w.url}/.well-known/oauth-authorization-server`, { headers: origin });
    assert.equal(meta.headers.get('access-control-allow-origin'), '*');
    const bad = await fetch(`${w.url}/token`, { method: 'POST', headers: { ...origin, 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=authorization_code' });
    assert.equal(bad.status, 401);
    assert.equal(bad.headers.get('access-control-allow-origin'), '*', 'the error is readable, not an opaque CORS failure');
    const apps = await fetch(`${w.url}/apps`, { method: 'OPTIONS', headers: origin });
    assert.equal(apps.headers.get('access-control-allow-origin'), null, 'cookie-bearing pages stay closed');
  });

  test('authorize errors: pages for unknown clients and bad redirects; for a registered client, a page with a link back', async () => {
    const client = await registerClient(w.url);
    const page = async (url) => {
      const r = await fetch(url, { redirect: 'manual', headers: { accept: 'text/html' } });
      assert.equal(r.status, 400);
      assert.equal(r.headers.get('location'), null);
      return r.text();
    };
    assert.match(await page(authorizeUrl(w.url, 'mcpc1.forged.AAAA')), /Unknown application/);
    assert.match(await page(authorizeUrl(w.url, client.client_id, { redirect_uri: 'https://evil.example/cb' })), /Invalid redirect URI/);
    // Nobody vetted a registered client's redirect URI, so the error is a page whose link the
    // person may follow (RFC 9700 §4.11.2); configured clients get the redirect (review.test).
    const redirected = async (extra) => {
      const html = await page(authorizeUrl(w.url, client.client_id, extra));
      assert.match(html, /Invalid request from the application/);
      const to = new URL(html.match(/<a href="([^"]+)">return to the application/)[1].replace(/&amp;/g, '&'));
      assert.equal(`${to.origin}${to.pathname}`, CALLBACK);
      assert.equal(to.searchParams.get('iss'), w.url);
      return to.searchParams.get('error');
    };
    assert.equal(await redirected({ code_challenge_method: 'plain' }), 'invalid_request');
    assert.equal(await redirected({ resource: 'https://elsewhere.example/mcp' }), 'invalid_target');
    assert.equal(await redirected({ response_type: 'token' }), 'unsupported_response_type');
  });

  test('Discord failures give the person a page and the client the right error', async () => {
    const client = await registerClient(w.url);
    // The rate limit last: within its retry_after the Worker does not call that route again.
    for (const [kind, clientError, text] of [
      ['invalid_grant', 'access_denied', /did not accept the login code/],
      ['server_error', 'temporarily_unavailable', /did not answer in time/],
      ['rate_limit', 'temporarily_unavailable', /rate limiting/],
    ]) {
      d.fail('token', kind, kind === 'rate_limit' ? { retryAfter: 1 } : {});
      const { pages, status } = await browse(authorizeUrl(w.url, client.client_id));
      const last = pages.at(-1);
      assert.equal(status, 502, kind);
      assert.match(last.html, text, kind);
      const link = last.html.match(/<a href="([^"]+)">Return to the application<\/a>/)[1].replace(/&amp;/g, '&');
      assert.equal(new URL(link).searchParams.get('error'), clientError, kind);
    }
    await new Promise((r) => setTimeout(r, 1100)); // past Discord's retry_after, for the tests below
  });

  test('token endpoint: PKCE, single use, replay revokes, rotation, scope narrowing', async () => {
    const client = await registerClient(w.url);
    const { verifier, challenge } = pkcePair();
    const { url } = await browse(authorizeUrl(w.url, client.client_id, { code_challenge: challenge }));
    const code = new URL(url).searchParams.get('code');
    const token = (fields) => fetch(`${w.url}/token`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: client.client_id, ...fields }),
    });
    const wrong = await token({ grant_type: 'authorization_code', code, code_verifier: pkcePair().verifier, redirect_uri: CALLBACK });
    assert.equal(wrong.status, 400);
    assert.equal((await wrong.json()).error, 'invalid_grant');
    const other = await registerClient(w.url);
    const stolen = await fetch(`${w.url}/token`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: other.client_id, grant_type: 'authorization_code', code, code_verifier: verifier }),
    });
    assert.match((await stolen.json()).error_description, /another client/);

    const ok = await token({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: CALLBACK });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('cache-control'), 'no-store');
    const first = await ok.json();
    assert.equal(first.token_type, 'Bearer');
    assert.equal(first.expires_in, 3600);

    const rotated = await (await token({ grant_type: 'refresh_token', refresh_token: first.refresh_token, scope: 'mcp' })).json();
    assert.equal(rotated.scope, 'mcp', 'narrowed');
    assert.notEqual(rotated.refresh_token, first.refresh_token);
    const retried = await (await token({ grant_type: 'refresh_token', refresh_token: first.refresh_token, scope: 'mcp' })).json();
    assert.equal(retried.refresh_token, rotated.refresh_token, 'a retry within the grace window gets the same successor');
    const widen = await (await token({ grant_type: 'refresh_token', refresh_token: rotated.refresh_token, scope: 'mcp email' })).json();
    assert.equal(widen.scope, 'mcp', 'never wider than granted (less than asked, RFC 6749 §3.3)');
    const narrowed = await mcpCall(w.url, rotated.access_token, 'whoami');
    assert.equal(narrowed.status, 403);
    assert.match(narrowed.headers.get('www-authenticate'), /error="insufficient_scope"/);
    assert.match(narrowed.headers.get('www-authenticate'), /scope="profile"/);

    const replay = await token({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: CALLBACK });
    assert.match((await replay.json()).error_description, /already used/);
    const afterReplay = await token({ grant_type: 'refresh_token', refresh_token: rotated.refresh_token });
    assert.equal((await afterReplay.json()).error, 'invalid_grant', 'the replayed code revoked its grant');
  });

  test('bearer checks: garbage, tampering and another key are invalid_token', async () => {
    const { tokens } = await login(w.url);
    const [h, p, s] = tokens.access_token.split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url'));
    claims.sub = '1';
    const tampered = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${p}.`;
    for (const bad of ['garbage', tampered, none]) {
      const r = await mcpCall(w.url, bad, 'echo', { message: 'x' });
      assert.equal(r.status, 401, bad);
      assert.match(r.headers.get('www-authenticate'), /error="invalid_token"/);
    }
    const other = await startWorker({ bindings: completeBindings(d.url, { SECRET_KEY: 'another-secret-key-0123456789-abcdefghijkl' }) });
    try {
      assert.equal((await mcpCall(other.url, tokens.access_token, 'echo', { message: 'x' })).status, 401);
    } finally {
      await other.close();
    }
  });
});

describe('registration switched off', () => {
  test('DISABLE_REGISTRATION: /register is 403 with an RFC 7591 body, and metadata stops advertising it', async () => {
    const w = await startWorker({ bindings: completeBindings('https://discord.com', { DISABLE_REGISTRATION: 'true' }) });
    try {
      const r = await fetch(`${w.url}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ redirect_uris: [CALLBACK] }) });
      assert.equal(r.status, 403);
      assert.equal(r.headers.get('cache-control'), 'no-store');
      const body = await r.json();
      assert.equal(body.error, 'access_denied');
      assert.match(body.error_description, /registration is disabled/);
      const as = await (await fetch(`${w.url}/.well-known/oauth-authorization-server`)).json();
      assert.equal(as.registration_endpoint, undefined);
    } finally {
      await w.close();
    }
  });
});

describe('edge consistency', () => {
  test('a login whose every step lands on the other of two instances with separate KV still works', async () => {
    const d = await startStandin();
    const a = await startWorker({ bindings: completeBindings(d.url) });
    const b = await startWorker({ bindings: completeBindings(d.url) });
    const backends = [new URL(a.url), new URL(b.url)];
    const served = [];
    let turn = 0;
    // One public address, alternating between the two instances, Host header kept: what a
    // client sees when consecutive requests reach different edge locations.
    const proxy = http.createServer((req, res) => {
      const i = turn++ % 2;
      served.push(`${i ? 'B' : 'A'} ${req.method} ${req.url.split('?')[0]}`);
      const up = http.request({ host: '127.0.0.1', port: backends[i].port, path: req.url, method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode, r.headers);
        r.pipe(res);
      });
      up.on('error', () => { res.writeHead(502); res.end(); });
      req.pipe(up);
    });
    await new Promise((r) => proxy.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${proxy.address().port}`;
    try {
      const { tokens } = await login(base);
      const me = await (await mcpCall(base, tokens.access_token, 'whoami')).json();
      assert.equal(JSON.parse(me.result.content[0].text).id, DEFAULT_USER.id);
      const again = await mcpCall(base, tokens.access_token, 'get_time');
      assert.equal(again.status, 200);
      await again.body.cancel();
      assert.ok(served.some((s) => s.startsWith('A')) && served.some((s) => s.startsWith('B')));
      for (const step of ['POST /register', 'GET /authorize', 'POST /authorize', 'GET /redirect', 'POST /token', 'POST /mcp']) {
        assert.ok(served.some((s) => s.endsWith(step)), `${step} was served`);
      }
    } finally {
      proxy.closeAllConnections();
      await new Promise((r) => proxy.close(r));
      await a.close();
      await b.close();
      await d.close();
    }
  });
});

// Its own Worker: the tests above count every key in KV.
describe('KV expiry', () => {
  let w;
  let both;
  before(async () => {
    both = await startWithStandin();
    ({ worker: w } = both);
  });
  after(() => both?.close());

  test('KV writes carry their expiry: a grant lives 90 days, a refresh record until its token expires', async () => {
    const { tokens, client } = await login(w.url);
    const refreshed = await fetch(`${w.url}/token`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: client.client_id }),
    });
    assert.equal(refreshed.status, 200);
    const now = Date.now() / 1000;
    const kv = await w.kv();
    const grant = tokens.refresh_token.split('.')[2];
    const keys = (await kv.list()).keys.filter((k) => k.name.includes(grant));
    const grantKey = keys.find((k) => k.name.startsWith('grant:'));
    assert.ok(Math.abs(grantKey.expiration - (now + 90 * 86400)) < 120, `grant expires in 90 days: ${JSON.stringify(grantKey)}`);
    const successor = keys.find((k) => !k.name.startsWith('grant:'));
    assert.ok(Math.abs(successor.expiration - (now + 30 * 86400)) < 120, `the successor's record expires with it (30 days): ${JSON.stringify(keys)}`);
  });
});
