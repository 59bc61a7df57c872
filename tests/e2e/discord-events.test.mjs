// Discord's webhook events, as the stand-in sends them (signed with Ed25519 over the timestamp
// and the body): a PING is answered, APPLICATION_DEAUTHORIZED ends every grant of that person
// with nothing left that works, and anything unsigned, badly signed, stale or replayed is refused
// and changes nothing.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { completeBindings, startWorker } from '../support/worker.mjs';
import { DEFAULT_USER, startStandin } from '../support/discord-standin.mjs';
import { login, mcpCall } from '../support/oauth.mjs';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

describe('Discord webhook events (DISCORD_PUBLIC_KEY)', () => {
  let d;
  let w;
  let events;
  before(async () => {
    d = await startStandin();
    w = await startWorker({ bindings: completeBindings(d.url, { DISCORD_PUBLIC_KEY: d.publicKey }) });
    events = `${w.url}/discord/events`;
  });
  after(async () => { await w?.close(); await d?.close(); });

  const refresh = (session) => fetch(`${w.url}/token`, { method: 'POST', headers: FORM, body: new URLSearchParams({ grant_type: 'refresh_token', client_id: session.client.client_id, refresh_token: session.tokens.refresh_token }) });

  test('a PING is answered 204', async () => {
    const r = await d.ping(events);
    assert.equal(r.status, 204);
  });

  test('bad, missing, stale and replayed signatures are refused and change nothing', async () => {
    const mine = await login(w.url);
    const other = generateKeyPairSync('ed25519');
    const payload = { version: 1, application_id: d.clientId, type: 1, event: { type: 'APPLICATION_DEAUTHORIZED', timestamp: '2026-12-02T18:00:00Z', data: { user: { id: DEFAULT_USER.id } } } };
    const body = JSON.stringify(payload);
    const ts = String(Math.floor(Date.now() / 1000));
    const forged = sign(null, Buffer.from(ts + body), other.privateKey).toString('hex');
    const attempts = {
      'no signature': await d.sendEvent(events, payload, { signature: null }),
      'another key': await d.sendEvent(events, payload, { timestamp: ts, signature: forged }),
      'ten minutes old': await d.sendEvent(events, payload, { timestamp: Math.floor(Date.now() / 1000) - 600 }),
      'body changed after signing': await d.sendEvent(events, payload, { body: body.replace(DEFAULT_USER.id, '80351110224678999') }),
      'garbage signature': await d.sendEvent(events, payload, { signature: 'zz' }),
    };
    for (const [what, r] of Object.entries(attempts)) assert.equal(r.status, 401, what);
    assert.equal((await refresh(mine)).status, 200, 'nothing changed');
    // Replayed: the same signed request twice (a deauthorization of someone with no grant here).
    const nobody = { ...payload, event: { ...payload.event, data: { user: { id: '80351110224670000' } } } };
    const at = Math.floor(Date.now() / 1000);
    assert.equal((await d.sendEvent(events, nobody, { timestamp: at })).status, 204);
    assert.equal((await d.sendEvent(events, nobody, { timestamp: at })).status, 401, 'replayed');
  });

  test('APPLICATION_DEAUTHORIZED ends every grant of that person, with nothing left that works; others keep theirs', async () => {
    const first = await login(w.url);
    const second = await login(w.url, { scope: 'mcp email' });
    d.setUser({ id: '80351110224678999', username: 'other', global_name: 'Someone Else' });
    const someoneElse = await login(w.url);
    d.setUser({});
    const revokesBefore = d.requests.filter((r) => r.path === '/api/oauth2/token/revoke').length;
    assert.equal((await d.deauthorize(events, DEFAULT_USER.id)).status, 204);
    for (const s of [first, second]) {
      const r = await refresh(s);
      assert.deepEqual([r.status, (await r.json()).error], [400, 'invalid_grant']);
      assert.equal((await mcpCall(w.url, s.tokens.access_token, 'whoami')).status, 401, 'access tokens stop here at once');
    }
    assert.equal((await refresh(someoneElse)).status, 200, 'another person is untouched');
    assert.equal(d.requests.filter((r) => r.path === '/api/oauth2/token/revoke').length, revokesBefore, 'Discord is not told: it told us');
  });

  test('without DISCORD_PUBLIC_KEY the endpoint is off', async () => {
    const off = await startWorker({ bindings: completeBindings(d.url) });
    try {
      assert.equal((await d.ping(`${off.url}/discord/events`)).status, 404);
    } finally {
      await off.close();
    }
  });
});
