// `npm run bench -- --profile`: CPU profiles of this Worker under load, taken with workerd's
// inspector (the Chrome DevTools protocol's Profiler domain, through Miniflare's
// `inspectorPort`) while wrk drives one scenario at a time. The wasm keeps its names section,
// so Rust functions show by name. Prints, per scenario, the share of the isolate's samples by
// phase (and the top functions), and writes them to bench/.tmp/profile.json.
//
//   npm run bench -- --profile          10 s per scenario
//   PROFILE_SECONDS=20 npm run bench -- --profile

import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Miniflare } from 'miniflare';
import { ROOT, NODE_MAJOR, say } from '../scripts/lib.mjs';
import { COMPATIBILITY_DATE, completeBindings, freePort } from '../tests/support/worker.mjs';
import { login } from '../tests/support/oauth.mjs';

const SECONDS = Number(process.env.PROFILE_SECONDS ?? 10);

/**
 * Phases, by the first pattern a function's name (or script) matches; the order matters.
 * Names are Rust paths from the names section, wasm-bindgen glue (`__wbg_…`) and JS.
 */
const PHASES = [
  ['request.cf getter', /__wbg_cf_|\bcf\b/],
  ['header reads', /__wbg_(get|entries|next|headers|has)_|[Hh]eaders/],
  ['log line', /__wbg_log|console|web::log/],
  ['body read', /arrayBuffer|__wbg_(bytes|body|text)_|read_body|ReadableStream/],
  ['URL parse', /\burl::|__wbg_url_|\bURL\b/],
  ['JWT (HMAC-SHA-256, JSON)', /sha2|hmac|jwt_compact|access_token|base64/],
  ['JSON-RPC and dispatch', /rules::mcp|serde_json|serde::|jsonrpc/],
  ['tool', /mcp_oauth_worker::tools/],
  ['service and routing', /mcp_oauth_worker::service|web::mcp|web::bearer|web::discovery|web::http/],
  ['response conversion', /Response|__wbg_new_|runtime::to_response|fixed/],
  ['allocator', /dlmalloc|alloc::|__rust_alloc|__rust_dealloc|memcpy|memmove|memset/],
  ['entry shim and futures', /queueMicrotask|wasm_bindgen_futures|Promise|closure|__wbg_adapter|invoke|fetch/],
  ['(idle)', /\(idle\)/],
  ['(garbage collector)', /\(garbage collector\)/],
];

function phaseOf(name) {
  return PHASES.find(([, re]) => re.test(name))?.[0] ?? 'other (runtime, unnamed)';
}

/** Samples by function, self time, from a CDP profile. */
function selfTimes(profile) {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const counts = new Map();
  for (const s of profile.samples) counts.set(s, (counts.get(s) ?? 0) + 1);
  const byFn = new Map();
  let total = 0;
  for (const [id, c] of counts) {
    const f = nodes.get(id).callFrame;
    const name = `${f.functionName || '(anonymous)'}${f.url ? ` ${f.url.split('/').pop()}` : ''}`;
    byFn.set(name, (byFn.get(name) ?? 0) + c);
    total += c;
  }
  return { byFn, total };
}

async function inspector(port) {
  const targets = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
  const t = targets.find((x) => /ours|main/.test(x.title)) ?? targets.find((x) => !/miniflare|entry/i.test(x.title)) ?? targets[0];
  const ws = new WebSocket(t.webSocketDebuggerUrl);
  let id = 0;
  const pending = new Map();
  ws.onmessage = (m) => {
    const d = JSON.parse(m.data);
    if (d.id && pending.has(d.id)) { pending.get(d.id)(d); pending.delete(d.id); }
  };
  await new Promise((r, j) => { ws.onopen = r; ws.onerror = j; });
  const send = (method, params = {}) => new Promise((r) => { const i = ++id; pending.set(i, r); ws.send(JSON.stringify({ id: i, method, params })); });
  return { send, close: () => ws.close() };
}

function wrkOnce(bin, url, request, seconds) {
  const dir = path.join(ROOT, 'bench', '.tmp');
  mkdirSync(dir, { recursive: true });
  const script = path.join(dir, 'profile.lua');
  const lines = [`wrk.method = "${request.method ?? 'GET'}"`];
  for (const [k, v] of Object.entries(request.headers ?? {})) lines.push(`wrk.headers["${k}"] = ${JSON.stringify(v)}`);
  if (request.body) lines.push(`wrk.body = ${JSON.stringify(request.body)}`);
  writeFileSync(script, lines.join('\n'));
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['-t', '1', '-c', '8', '-d', `${seconds}s`, '-s', script, url]);
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.on('error', reject);
    child.on('close', () => resolve(Number(out.match(/Requests\/sec:\s+([\d.]+)/)?.[1] ?? NaN)));
  });
}

export async function profile({ wrk, standin }) {
  if (typeof WebSocket === 'undefined') {
    throw new Error(`profiling needs Node ${NODE_MAJOR} or newer (for its WebSocket), this is ${process.versions.node}`);
  }
  const port = await freePort();
  const inspectorPort = await freePort();
  const mf = new Miniflare({
    host: '127.0.0.1', port, inspectorPort,
    handleRuntimeStdio: (out, err) => { out.resume(); err.resume(); },
    workers: [{
      name: 'ours', modules: true, scriptPath: path.join(ROOT, 'build-profile', 'index.js'), modulesRoot: path.join(ROOT, 'build-profile'),
      modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'], fallthrough: true }],
      compatibilityDate: COMPATIBILITY_DATE, bindings: completeBindings(standin.url), kvNamespaces: { OAUTH_KV: 'ours' },
    }],
  });
  const url = (await mf.ready).origin;
  try {
    const { tokens } = await login(url);
    const json = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25' };
    const scenarios = [
      ['authenticated tools/call echo', `${url}/mcp`, { method: 'POST', headers: { ...json, authorization: `Bearer ${tokens.access_token}` }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { message: 'hello' } } }) }],
      ['401 with discovery', `${url}/mcp`, { method: 'POST', headers: json, body: '{"jsonrpc":"2.0","id":1,"method":"ping"}' }],
      ['protected resource metadata', `${url}/.well-known/oauth-protected-resource/mcp`, {}],
    ];
    const cdp = await inspector(inspectorPort);
    const report = {};
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 50 });
    for (const [label, target, request] of scenarios) {
      await cdp.send('Profiler.start');
      const rps = await wrkOnce(wrk, target, request, SECONDS);
      const { result } = await cdp.send('Profiler.stop');
      const { byFn, total } = selfTimes(result.profile);
      const phases = {};
      for (const [name, c] of byFn) phases[phaseOf(name)] = (phases[phaseOf(name)] ?? 0) + c;
      const share = (c) => Number(((100 * c) / total).toFixed(1));
      report[label] = {
        rps, samples: total,
        phases: Object.fromEntries(Object.entries(phases).sort((a, b) => b[1] - a[1]).map(([k, c]) => [k, share(c)])),
        top: [...byFn].sort((a, b) => b[1] - a[1]).slice(0, 15).map(([k, c]) => [k, share(c)]),
      };
      say(`profiled ${label}: ${rps.toFixed(0)} req/s, ${total} samples`);
    }
    cdp.close();
    const out = path.join(ROOT, 'bench', '.tmp', 'profile.json');
    writeFileSync(out, JSON.stringify(report, null, 2));
    for (const [label, r] of Object.entries(report)) {
      console.log(`\n${label} (c=8, ${r.rps.toFixed(0)} req/s, ${r.samples} samples): share of the isolate's samples by phase`);
      for (const [k, v] of Object.entries(r.phases)) console.log(`  ${String(v).padStart(5)}%  ${k}`);
      console.log('  top functions (self):');
      for (const [k, v] of r.top) console.log(`  ${String(v).padStart(5)}%  ${k.slice(0, 110)}`);
    }
    console.log(`\nWritten to ${path.relative(ROOT, out)}.`);
    return report;
  } finally {
    await mf.dispose();
  }
}
