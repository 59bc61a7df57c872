// The short form of the soak (`npm run soak` runs it for 5 minutes): concurrent connections on
// the authenticated MCP path and the token endpoint, with no error, and workerd's memory
// bounded after thousands of requests.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { soak } from '../../scripts/soak.mjs';

test('15 seconds, 16 connections: every request answered correctly, memory bounded', { timeout: 120_000 }, async () => {
  const r = await soak({ seconds: 15, connections: 16, log: () => {} });
  console.log(`# soak: ${r.requests} requests (${r.mcp} tools/call, ${r.refresh} refreshes), ${r.perSecond}/s, ${r.errors} errors, workerd ${r.memStart} → ${r.memEnd} MiB`);
  assert.equal(r.errors, 0, r.firstErrors.join('\n'));
  assert.ok(r.refresh > 0 && r.mcp > r.refresh);
  assert.ok(r.memStart > 0, 'the workerd process was found');
  assert.ok(r.memEnd < r.memStart + 64, `memory grew from ${r.memStart} to ${r.memEnd} MiB`);
});
