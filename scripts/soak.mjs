// Load and soak: many concurrent connections drive the authenticated MCP path (tool calls) and
// the token endpoint (refresh rotation, each client along its own chain) against the built
// Worker under workerd, on loopback, with the Discord stand-in. Reports requests, errors (must
// be 0) and the resident memory of the workerd process at the start and the end.
//
// workerd under Miniflare grows its memory with every request even for a Worker that does
// nothing, so the same load is then sent to a reference JavaScript Worker that only echoes its
// body, in the same run: the Worker's growth per request is judged against that.
//
//   npm run soak                 5 minutes, 32 connections
//   node scripts/soak.mjs 20 8   20 seconds, 8 connections

import { Miniflare } from 'miniflare';
import { childProcesses } from './lib.mjs';
import { pathToFileURL } from 'node:url';
import { startWithStandin } from '../tests/support/worker.mjs';
import { login } from '../tests/support/oauth.mjs';

/** KiB of growth per request, or null when memory could not be read. */
function perRequest(start, end, requests) {
  return start === null || end === null ? null : ((end - start) * 1024) / requests;
}

/**
 * Resident memory (MiB) of the workerd processes this process started, or null where it
 * cannot be read (no `ps`, or no workerd child found): the figure is then skipped.
 */
export function workerdMemory() {
  const found = childProcesses('workerd');
  if (!found?.length) return null;
  return Math.round(found.reduce((kib, p) => kib + p.rssKiB, 0) / 1024);
}

export async function soak({ seconds = 300, connections = 32, log = console.log } = {}) {
  const both = await startWithStandin();
  const { worker: w } = both;
  try {
    // One login per connection: each refreshes along its own chain, as a real client does.
    const clients = [];
    for (let i = 0; i < connections; i++) clients.push(await login(w.url));
    const memStart = workerdMemory();
    const stats = { mcp: 0, refresh: 0, errors: 0, firstErrors: [] };
    const error = (what) => {
      stats.errors += 1;
      if (stats.firstErrors.length < 5) stats.firstErrors.push(what);
    };
    const deadline = Date.now() + seconds * 1000;
    let id = 0;
    async function connection(c) {
      let n = 0;
      while (Date.now() < deadline) {
        n += 1;
        if (n % 20 === 0) {
          const res = await fetch(`${w.url}/token`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ grant_type: 'refresh_token', client_id: c.client.client_id, refresh_token: c.tokens.refresh_token }),
          });
          const body = await res.json().catch(() => null);
          if (res.status !== 200 || !body?.refresh_token) error(`refresh ${res.status} ${JSON.stringify(body)}`);
          else c.tokens = body;
          stats.refresh += 1;
          continue;
        }
        const message = 'x'.repeat(1 + (n % 64) * 16);
        const res = await fetch(`${w.url}/mcp`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json', 'mcp-protocol-version': '2025-11-25', authorization: `Bearer ${c.tokens.access_token}` },
          body: JSON.stringify({ jsonrpc: '2.0', id: ++id, method: 'tools/call', params: { name: 'echo', arguments: { message } } }),
        });
        const body = await res.json().catch(() => null);
        if (res.status !== 200 || body?.result?.structuredContent?.length !== message.length) error(`mcp ${res.status} ${JSON.stringify(body).slice(0, 200)}`);
        stats.mcp += 1;
      }
    }
    const started = Date.now();
    let ticker = setInterval(() => log(`  … ${Math.round((Date.now() - started) / 1000)} s: ${stats.mcp + stats.refresh} requests, ${stats.errors} errors, workerd ${workerdMemory()} MiB`), 30_000);
    await Promise.all(clients.map(connection));
    clearInterval(ticker);
    ticker = null;
    const elapsed = (Date.now() - started) / 1000;
    const memEnd = workerdMemory();
    const requests = stats.mcp + stats.refresh;
    return { seconds: elapsed, connections, ...stats, requests, perSecond: Math.round(requests / elapsed), memStart, memEnd, kibPerRequest: perRequest(memStart, memEnd, requests) };
  } finally {
    await both.close();
  }
}

/** The same load against a JavaScript Worker that echoes what it is sent. */
export async function reference({ seconds = 300, connections = 32 } = {}) {
  const mf = new Miniflare({
    host: '127.0.0.1',
    port: 0,
    modules: true,
    compatibilityDate: '2026-04-01',
    script: 'export default { async fetch(req) { return new Response(await req.text(), { headers: { "content-type": "application/json" } }); } }',
  });
  const url = (await mf.ready).origin;
  try {
    const memStart = workerdMemory();
    const deadline = Date.now() + seconds * 1000;
    let requests = 0;
    let errors = 0;
    const started = Date.now();
    await Promise.all(Array.from({ length: connections }, async () => {
      let n = 0;
      while (Date.now() < deadline) {
        n += 1;
        const body = n % 20 === 0 ? 'grant_type=refresh_token&client_id=x&refresh_token=y' : JSON.stringify({ jsonrpc: '2.0', id: n, method: 'tools/call', params: { name: 'echo', arguments: { message: 'x'.repeat(1 + (n % 64) * 16) } } });
        const res = await fetch(`${url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer x'.repeat(20) }, body });
        await res.arrayBuffer();
        if (res.status !== 200) errors += 1;
        requests += 1;
      }
    }));
    const memEnd = workerdMemory();
    const elapsed = (Date.now() - started) / 1000;
    return { requests, errors, perSecond: Math.round(requests / elapsed), memStart, memEnd, kibPerRequest: perRequest(memStart, memEnd, requests) };
  } finally {
    await mf.dispose();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const seconds = Number(process.argv[2] ?? 300);
  const connections = Number(process.argv[3] ?? 32);
  console.log(`Soak: ${connections} connections for ${seconds} s against the built Worker (npm run build first).`);
  const r = await soak({ seconds, connections });
  console.log(`requests ${r.requests} (${r.mcp} tools/call, ${r.refresh} refreshes) in ${r.seconds.toFixed(1)} s = ${r.perSecond}/s`);
  console.log(`errors ${r.errors}${r.firstErrors.length ? `: ${r.firstErrors.join(' | ')}` : ''}`);
  const ref = await reference({ seconds, connections });
  console.log(`reference echo Worker, same load: ${ref.requests} requests = ${ref.perSecond}/s, ${ref.errors} errors`);
  if (r.kibPerRequest === null || ref.kibPerRequest === null) {
    console.log('memory: not measured (needs `ps` and the workerd processes this run started); skipped');
  } else {
    console.log(`workerd resident memory: ${r.memStart} → ${r.memEnd} MiB (${r.kibPerRequest.toFixed(2)} KiB per request); echo Worker ${ref.memStart} → ${ref.memEnd} MiB (${ref.kibPerRequest.toFixed(2)} KiB per request)`);
    console.log(`memory growth per request, this Worker / reference: ${(r.kibPerRequest / ref.kibPerRequest).toFixed(2)}`);
  }
  process.exit(r.errors === 0 ? 0 : 1);
}
