// The Discord stand-in behaves as Discord's documentation says, so tests that use it test the
// Worker against Discord's contract and not against a convenient fiction.

import { test, before, after, beforeEach, describe } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_USER, startStandin } from '../support/discord-standin.mjs';

const REDIRECT = 'http://127.0.0.1:8787/redirect';

describe('Discord stand-in', () => {
  let d;
  before(async () => { d = await startStandin(); });
  after(() => d.close());
  beforeEach(() => d.reset());

  const basic = (id = d.clientId, secret = d.clientSecret) =>
    `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

  async function authorize(scope = 'identify email', state = 'st4te') {
    const q = new URLSearchParams({ response_type: 'code', client_id: d.clientId, scope, state, redirect_uri: REDIRECT });
    const res = await fetch(`${d.url}/oauth2/authorize?${q}`, { redirect: 'manual' });
    assert.equal(res.status, 302);
    const loc = new URL(res.headers.get('location'));
    assert.equal(`${loc.origin}${loc.pathname}`, REDIRECT);
    assert.equal(loc.searchParams.get('state'), state);
    return loc.searchParams.get('code');
  }

  function tokenRequest(fields, { auth = basic(), contentType = 'application/x-www-form-urlencoded' } = {}) {
    const body = contentType.includes('json') ? JSON.stringify(fields) : new URLSearchParams(fields).toString();
    return fetch(`${d.url}/api/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': contentType, ...(auth ? { authorization: auth } : {}) },
      body,
    });
  }

  test('webhook events are signed as Discord signs them: Ed25519 over the timestamp and the body', async () => {
    const http = await import('node:http');
    const { createPublicKey, verify } = await import('node:crypto');
    const got = [];
    const sink = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => { got.push({ headers: req.headers, body }); res.writeHead(204).end(); });
    });
    await new Promise((r) => sink.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${sink.address().port}/events`;
      await d.ping(url);
      await d.deauthorize(url, DEFAULT_USER.id);
      const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(d.publicKey, 'hex').toString('base64url') }, format: 'jwk' });
      for (const { headers, body } of got) {
        const signed = Buffer.from(headers['x-signature-timestamp'] + body);
        assert.ok(verify(null, signed, key, Buffer.from(headers['x-signature-ed25519'], 'hex')), 'verifies with the public key');
        assert.ok(Math.abs(Number(headers['x-signature-timestamp']) - Date.now() / 1000) < 5);
      }
      assert.deepEqual(JSON.parse(got[0].body), { version: 1, application_id: d.clientId, type: 0 });
      const event = JSON.parse(got[1].body);
      assert.equal(event.type, 1);
      assert.equal(event.event.type, 'APPLICATION_DEAUTHORIZED');
      assert.equal(event.event.data.user.id, DEFAULT_USER.id);
      assert.match(d.publicKey, /^[0-9a-f]{64}$/);
    } finally {
      sink.close();
    }
  });

  test('authorize redirects back with code and state; a code is single-use', async () => {
    const code = await authorize();
    const ok = await tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT });
    assert.equal(ok.status, 200);
    const tokens = await ok.json();
    assert.equal(tokens.token_type, 'Bearer');
    assert.equal(tokens.expires_in, 604800);
    assert.equal(tokens.scope, 'identify email');
    assert.ok(tokens.access_token && tokens.refresh_token);
    const again = await tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT });
    assert.equal(again.status, 400);
    assert.equal((await again.json()).error, 'invalid_grant');
  });

  test('client authentication by Basic or by body; wrong secret is invalid_client', async () => {
    const code = await authorize();
    const viaBody = await tokenRequest(
      { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: d.clientId, client_secret: d.clientSecret },
      { auth: null },
    );
    assert.equal(viaBody.status, 200);
    const bad = await tokenRequest({ grant_type: 'authorization_code', code: await authorize(), redirect_uri: REDIRECT }, { auth: basic(d.clientId, 'wrong') });
    assert.equal(bad.status, 401);
    assert.deepEqual(await bad.json(), { error: 'invalid_client' });
  });

  test('JSON bodies are refused; redirect_uri must match the authorization', async () => {
    const code = await authorize();
    const json = await tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT }, { contentType: 'application/json' });
    assert.equal(json.status, 400);
    const wrong = await tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: 'http://127.0.0.1:8787/other' });
    assert.equal(wrong.status, 400);
    assert.equal((await wrong.json()).error, 'invalid_grant');
  });

  test('a route bucket announces itself in X-RateLimit-* headers, then answers 429 until it resets', async () => {
    const code = await authorize('identify guilds');
    const token = (await (await tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT })).json()).access_token;
    const get = () => fetch(`${d.url}/api/v10/users/@me/guilds`, { headers: { authorization: `Bearer ${token}` } });
    d.setBucket('guilds', 2, 0.5);
    const first = await get();
    assert.deepEqual([first.status, first.headers.get('x-ratelimit-limit'), first.headers.get('x-ratelimit-remaining')], [200, '2', '1']);
    assert.equal(first.headers.get('x-ratelimit-reset-after'), '0.500');
    assert.equal((await get()).headers.get('x-ratelimit-remaining'), '0');
    const limited = await get();
    assert.equal(limited.status, 429);
    const body = await limited.json();
    assert.deepEqual([body.retry_after, body.global], [0.5, false]);
    assert.equal(limited.headers.get('x-ratelimit-scope'), 'user');
    await new Promise((r) => setTimeout(r, 600));
    assert.equal((await get()).status, 200, 'reset');
  });

  test('users/@me shows email only with the email scope; guilds need the guilds scope', async () => {
    const tokenFor = async (scope) => {
      const code = await authorize(scope);
      return (await (await tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT })).json()).access_token;
    };
    const me = async (t) => fetch(`${d.url}/api/v10/users/@me`, { headers: { authorization: `Bearer ${t}` } });

    const identify = await tokenFor('identify');
    const plain = await (await me(identify)).json();
    assert.equal(plain.id, DEFAULT_USER.id);
    assert.equal(plain.discriminator, '0');
    assert.ok(!('email' in plain));
    const guildsDenied = await fetch(`${d.url}/api/v10/users/@me/guilds`, { headers: { authorization: `Bearer ${identify}` } });
    assert.equal(guildsDenied.status, 403);

    const full = await tokenFor('identify email guilds');
    const withEmail = await (await me(full)).json();
    assert.equal(withEmail.email, DEFAULT_USER.email);
    assert.equal(withEmail.verified, true);
    const guilds = await fetch(`${d.url}/api/v10/users/@me/guilds`, { headers: { authorization: `Bearer ${full}` } });
    assert.equal(guilds.status, 200);
    assert.ok((await guilds.json()).length > 0);

    assert.equal((await me('nonsense')).status, 401);
  });

  test('refresh rotates; revoke ends the whole authorization', async () => {
    const code = await authorize();
    const first = await (await tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT })).json();
    const second = await (await tokenRequest({ grant_type: 'refresh_token', refresh_token: first.refresh_token })).json();
    assert.notEqual(second.refresh_token, first.refresh_token);
    const reuse = await tokenRequest({ grant_type: 'refresh_token', refresh_token: first.refresh_token });
    assert.equal(reuse.status, 400);

    const revoke = await fetch(`${d.url}/api/oauth2/token/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic() },
      body: new URLSearchParams({ token: second.refresh_token }),
    });
    assert.equal(revoke.status, 200);
    const me = await fetch(`${d.url}/api/v10/users/@me`, { headers: { authorization: `Bearer ${second.access_token}` } });
    assert.equal(me.status, 401, 'access token of the revoked authorization is dead');
    assert.equal(d.liveGrants().size, 0);
  });

  test('revoking one token ends every authorization of that user, as Discord does; other users keep theirs', async () => {
    const one = await (await tokenRequest({ grant_type: 'authorization_code', code: await authorize(), redirect_uri: REDIRECT })).json();
    const two = await (await tokenRequest({ grant_type: 'authorization_code', code: await authorize(), redirect_uri: REDIRECT })).json();
    d.setUser({ id: '42', username: 'other' });
    const theirs = await (await tokenRequest({ grant_type: 'authorization_code', code: await authorize(), redirect_uri: REDIRECT })).json();
    const revoke = await fetch(`${d.url}/api/oauth2/token/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic() },
      body: new URLSearchParams({ token: one.access_token }),
    });
    assert.equal(revoke.status, 200);
    const me = (t) => fetch(`${d.url}/api/v10/users/@me`, { headers: { authorization: `Bearer ${t}` } }).then((r) => r.status);
    assert.equal(await me(two.access_token), 401, 'the other login of the same user ended too');
    assert.equal(await me(theirs.access_token), 200, 'another user is untouched');
  });

  test('injected failures answer as Discord does: 429 with retry_after, invalid_grant, 5xx', async () => {
    d.fail('token', 'rate_limit', { retryAfter: 2.5 });
    const limited = await tokenRequest({ grant_type: 'authorization_code', code: 'x', redirect_uri: REDIRECT });
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('retry-after'), '3');
    assert.deepEqual(await limited.json(), { message: 'You are being rate limited.', retry_after: 2.5, global: false });

    d.fail('token', 'invalid_grant');
    const code = await authorize();
    const invalid = await tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT });
    assert.equal((await invalid.json()).error, 'invalid_grant');

    d.fail('me', 'server_error');
    assert.equal((await fetch(`${d.url}/api/v10/users/@me`)).status, 502);
  });

  test('records what it received, and is controllable over HTTP from other processes', async () => {
    await authorize('identify');
    assert.equal(d.requests.at(-1).path, '/oauth2/authorize');
    assert.equal(d.requests.at(-1).query.scope, 'identify');

    const ctl = (p, body) => fetch(`${d.url}/_standin/${p}`, { method: body ? 'POST' : 'GET', body: body && JSON.stringify(body) });
    await (await ctl('user', { id: '42', username: 'other' })).body.cancel();
    await (await ctl('fail', { endpoint: 'token', kind: 'invalid_client' })).body.cancel();
    const res = await tokenRequest({ grant_type: 'authorization_code', code: 'x', redirect_uri: REDIRECT });
    assert.equal(res.status, 401);
    const recorded = await (await ctl('requests')).json();
    assert.equal(recorded.at(-1).path, '/api/oauth2/token');
    assert.equal(recorded.at(-1).form.grant_type, 'authorization_code');
    assert.equal(d.user.username, 'other');
  });

  test('bad authorize requests get Discord\'s error page, never a redirect', async () => {
    for (const q of [
      { response_type: 'code', client_id: 'unknown', scope: 'identify', redirect_uri: REDIRECT },
      { response_type: 'token', client_id: d.clientId, scope: 'identify', redirect_uri: REDIRECT },
      { response_type: 'code', client_id: d.clientId, scope: 'bogus', redirect_uri: REDIRECT },
    ]) {
      const res = await fetch(`${d.url}/oauth2/authorize?${new URLSearchParams(q)}`, { redirect: 'manual' });
      assert.equal(res.status, 400, JSON.stringify(q));
      await res.body.cancel();
    }
  });
});

describe('Discord stand-in, local page mode', () => {
  test('shows a one-click page; Authorize and Cancel redirect as Discord does', async () => {
    const d = await startStandin({ page: true });
    try {
      const q = new URLSearchParams({ response_type: 'code', client_id: d.clientId, scope: 'identify', state: 's<1>', redirect_uri: REDIRECT });
      const page = await fetch(`${d.url}/oauth2/authorize?${q}`);
      assert.equal(page.status, 200);
      const html = await page.text();
      assert.match(html, /Discord stand-in/);
      assert.ok(!html.includes('s<1>'), 'state is escaped');

      const post = (decision) => fetch(`${d.url}/oauth2/authorize`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams([...q, ['decision', decision]]),
      });
      const approved = new URL((await post('approve')).headers.get('location'));
      assert.ok(approved.searchParams.get('code'));
      assert.equal(approved.searchParams.get('state'), 's<1>');
      const denied = new URL((await post('deny')).headers.get('location'));
      assert.equal(denied.searchParams.get('error'), 'access_denied');
      assert.equal(denied.searchParams.get('state'), 's<1>');
    } finally {
      await d.close();
    }
  });
});
