// One Discord authorization per person, as Discord keeps it: revoking any one Discord token
// ends every token of that person (the stand-in does so). Ending one grant must not break the
// person's other clients; ending the last one revokes the authorization at Discord.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { completeBindings, startWorker } from '../support/worker.mjs';
import { startStandin } from '../support/discord-standin.mjs';
import { login, mcpCall } from '../support/oauth.mjs';

async function guilds(base, token) {
  const res = await mcpCall(base, token, 'discord_guilds');
  const text = await res.text();
  const json = JSON.parse(text.startsWith('{') ? text : text.split('\n').find((l) => l.startsWith('data:')).slice(5));
  return json.result;
}

describe('one Discord authorization per person', () => {
  let d;
  let w;
  before(async () => {
    d = await startStandin();
    w = await startWorker({ bindings: completeBindings(d.url) });
  });
  after(async () => { await w?.close(); await d?.close(); });

  const revokes = () => d.requests.filter((r) => r.path === '/api/oauth2/token/revoke').length;
  const revoke = (s) => fetch(`${w.url}/revoke`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ client_id: s.client.client_id, token: s.tokens.refresh_token }) });

  test('two clients of one person: ending one leaves the other\'s discord_guilds working; ending the last revokes at Discord', async () => {
    const a = await login(w.url, { scope: 'mcp guilds' });
    const b = await login(w.url, { scope: 'mcp guilds' });
    const before = revokes();
    assert.equal((await revoke(a)).status, 200);
    assert.equal(revokes(), before, 'Discord is not told while another grant of the person lives');
    // Its first call reaches Discord with the person's tokens: still valid there.
    const guildCalls = d.requests.filter((r) => r.path === '/api/v10/users/@me/guilds').length;
    const after = await guilds(w.url, b.tokens.access_token);
    assert.equal(d.requests.filter((r) => r.path === '/api/v10/users/@me/guilds').length, guildCalls + 1, 'asked Discord');
    assert.equal(after.isError, undefined, JSON.stringify(after));
    assert.equal((await revoke(b)).status, 200);
    assert.equal(revokes(), before + 1, 'the last grant ends: the authorization is revoked at Discord');
    assert.equal(d.liveGrants().size, 0, 'nothing of the person is left at Discord');
  });
});

describe('membership that stays current (ALLOWED_DISCORD_GUILDS)', () => {
  let d;
  let w;
  before(async () => {
    d = await startStandin();
    w = await startWorker({ bindings: completeBindings(d.url, { ALLOWED_DISCORD_GUILDS: d.guilds[0].id }) });
  });
  after(async () => { await w?.close(); await d?.close(); });

  const refresh = (s, rt = s.tokens.refresh_token) => fetch(`${w.url}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'refresh_token', client_id: s.client.client_id, refresh_token: rt }) });

  test('a member keeps refreshing; one kicked from the server loses access at the next refresh', async () => {
    const member = await login(w.url);
    assert.equal((await refresh(member)).status, 200);
    // Another person (the check of the first is remembered for a while in this isolate).
    d.setUser({ id: '80351110224678950', username: 'kicked', global_name: 'Kicked' });
    try {
      const kicked = await login(w.url);
      d.setGuilds([d.guilds[1]]);
      const r = await refresh(kicked);
      const body = await r.json();
      assert.deepEqual([r.status, body.error], [400, 'invalid_grant']);
      assert.match(body.error_description, /no longer allowed/);
      assert.equal((await mcpCall(w.url, kicked.tokens.access_token, 'whoami')).status, 401, 'its access tokens stop here at once');
    } finally {
      d.setGuilds(d.guilds);
      d.setUser({});
    }
  });

  test('Discord down at a refresh: the refresh goes on (fail-open)', async () => {
    d.setUser({ id: '80351110224678951', username: 'third', global_name: 'Third' });
    try {
      const s = await login(w.url);
      const asked = () => d.requests.filter((q) => q.path === '/api/v10/users/@me/guilds').length;
      const before = asked();
      d.fail('guilds', 'server_error');
      const r = await refresh(s);
      assert.equal(r.status, 200, 'fail-open while Discord cannot be asked');
      assert.equal(asked(), before + 1, 'Discord was asked (and answered 500)');
    } finally {
      d.setUser({});
    }
  });
});

describe('Discord\'s rate limits as they are', () => {
  let d;
  let w;
  before(async () => {
    d = await startStandin();
    w = await startWorker({ bindings: completeBindings(d.url) });
  });
  after(async () => { await w?.close(); await d?.close(); });

  test('nothing is sent into a bucket Discord said is exhausted; the tool says when to retry', async () => {
    const a = await login(w.url, { scope: 'mcp guilds' });
    const b = await login(w.url, { scope: 'mcp guilds' });
    d.setBucket('guilds', 1, 30);
    const asked = () => d.requests.filter((r) => r.path === '/api/v10/users/@me/guilds').length;
    const before = asked();
    const first = await guilds(w.url, a.tokens.access_token);
    assert.equal(first.isError, undefined, JSON.stringify(first));
    assert.equal(asked(), before + 1);
    // Discord said X-RateLimit-Remaining: 0 for 30 s: the next call is answered here.
    const second = await guilds(w.url, b.tokens.access_token);
    assert.equal(second.isError, true);
    assert.match(second.content[0].text, /rate limiting requests; retry in (29|30) seconds/);
    assert.equal(asked(), before + 1, 'no request sent into the exhausted bucket');
  });
});
