// The second outside security review: each finding closed here has a test that fails on the
// build it reviewed (b294ef1) and passes now. Run against an older build with
// MCP_WORKER_BUILD_DIR=<its build/>.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { completeBindings, startWorker } from '../support/worker.mjs';
import { startStandin } from '../support/discord-standin.mjs';
import { login, mcpCall } from '../support/oauth.mjs';

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
