// `npm run bench`: this Worker against the ceiling (a trivial JavaScript Worker) and the peer
// (Cloudflare's TypeScript stack: workers-oauth-provider around the agents MCP handler, in
// bench/peer), each in its own workerd through Miniflare on loopback, driven by the same load
// generator (wrk, from Debian) at concurrency 1 and 8, in interleaved rounds. Prints a table of
// requests/s and p50/p99 latency with ratios against the ceiling and the peer measured in the
// same run, plus startup time, CPU time of workerd per request, KV operations per request
// (counted by a wrapper around the KV binding), and the Worker's size.
//
//   npm run bench                        3 rounds of 5 s per scenario
//   BENCH_SECONDS=10 BENCH_ROUNDS=5 npm run bench
//   npm run bench -- --json results.json
//   npm run bench -- --profile           CPU profiles by phase instead (bench/profile.mjs)

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { Miniflare } from 'miniflare';
import { ROOT, childProcesses, esbuildBin, installHint, isDebian, onPath, run, say } from '../scripts/lib.mjs';
import { build } from '../scripts/build.mjs';
import { setup } from '../scripts/setup.mjs';
import { COMPATIBILITY_DATE, completeBindings, freePort, startWorker } from '../tests/support/worker.mjs';
import { startStandin } from '../tests/support/discord-standin.mjs';
import { login, pkcePair } from '../tests/support/oauth.mjs';
import { profile } from './profile.mjs';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONCURRENCY = [1, 8];
// Each Worker logs a line per request; read and drop it (the runtime would block on a full pipe).
const QUIET = { handleRuntimeStdio: (out, err) => { out.resume(); err.resume(); } };
const PEER = path.join(ROOT, 'bench', 'peer');

// ---- tools --------------------------------------------------------------------------------

function wrkBin() {
  const found = onPath('wrk');
  if (found) return found;
  // Installed only where that needs no question: Debian's package, as root.
  if (isDebian() && process.getuid?.() === 0) {
    say("Installing Debian's wrk, the load generator (apt-get, once)…");
    for (const args of [['install', '-y', '-q', 'wrk'], ['update', '-q'], ['install', '-y', '-q', 'wrk']]) {
      const r = spawnSync('apt-get', args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
      if (r.status === 0 && args[0] === 'install') return 'wrk';
    }
  }
  throw new Error(`wrk, the load generator, is needed: ${installHint('wrk')}`);
}

async function peerBundle() {
  if (!existsSync(path.join(PEER, 'node_modules', 'agents'))) {
    say('Installing the peer\'s packages (bench/peer, once)…');
    await run('npm', ['ci', '--no-audit', '--no-fund', '--legacy-peer-deps'], { cwd: PEER });
  }
  const out = path.join(PEER, 'dist', 'index.js');
  mkdirSync(path.dirname(out), { recursive: true });
  const node = ['path', 'fs', 'crypto', 'os', 'url', 'util', 'stream', 'events', 'buffer', 'async_hooks'];
  await run(esbuildBin(), [path.join(PEER, 'src', 'index.js'), '--bundle', '--format=esm', '--platform=neutral', '--main-fields=module,main',
    '--conditions=workerd,worker,browser,import', '--external:cloudflare:*', '--external:node:*', ...node.map((n) => `--external:${n}`),
    `--outfile=${out}`, '--log-level=error'], { cwd: ROOT });
  return out;
}

// ---- KV operation counting --------------------------------------------------------------

// Wraps a KV namespace and keeps a count of every operation under `__bench_ops` in it.
const KV_COUNTER = `
const ops = { get: 0, put: 0, delete: 0, list: 0 };
export default function (env) {
  const inner = env.INNER;
  const count = async (op) => { ops[op] += 1; await inner.put('__bench_ops', JSON.stringify(ops)); };
  return {
    async get(k, o) { await count('get'); return inner.get(k, o); },
    async getWithMetadata(k, o) { await count('get'); return inner.getWithMetadata(k, o); },
    async put(k, v, o) { await count('put'); return inner.put(k, v, o); },
    async delete(k) { await count('delete'); return inner.delete(k); },
    async list(o) { await count('list'); return inner.list(o); },
  };
}`;

function counted(name) {
  return { name: `${name}-kv`, modules: true, script: KV_COUNTER, kvNamespaces: { INNER: `${name}-kv` } };
}

async function kvOps(mf, name) {
  const v = await mf.getKVNamespace('INNER', `${name}-kv`).then((ns) => ns.get('__bench_ops'));
  return v ? JSON.parse(v) : { get: 0, put: 0, delete: 0, list: 0 };
}

// ---- the three Workers --------------------------------------------------------------------

async function started(label, make, probe) {
  const t0 = performance.now();
  const handle = await make();
  for (;;) {
    const r = await fetch(probe(handle)).catch(() => null);
    if (r) { await r.arrayBuffer(); break; }
  }
  handle.startupMs = performance.now() - t0;
  say(`${label}: up in ${handle.startupMs.toFixed(0)} ms at ${handle.url}`);
  return handle;
}

/** The empty-handler floor: a Rust `fetch` that answers at once (cargo feature `floor`). */
async function floor() {
  return started('floor (Rust fetch that returns at once)', async () => {
    const port = await freePort();
    const mf = new Miniflare({
      ...QUIET, host: '127.0.0.1', port, modules: true, compatibilityDate: COMPATIBILITY_DATE,
      scriptPath: path.join(ROOT, 'build-floor', 'index.js'), modulesRoot: path.join(ROOT, 'build-floor'),
      modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'], fallthrough: true }],
    });
    return { mf, url: (await mf.ready).origin, close: () => mf.dispose() };
  }, (h) => `${h.url}/`);
}

async function ceiling() {
  return started('ceiling (trivial JS Worker)', async () => {
    const port = await freePort();
    const mf = new Miniflare({
      ...QUIET, host: '127.0.0.1', port, modules: true, compatibilityDate: COMPATIBILITY_DATE,
      script: 'const body = JSON.stringify({ jsonrpc: "2.0", id: 1, result: { ok: true } }); export default { fetch() { return new Response(body, { headers: { "content-type": "application/json" } }); } }',
    });
    return { mf, url: (await mf.ready).origin, close: () => mf.dispose() };
  }, (h) => `${h.url}/`);
}

// Timing runs use plain KV; KV is counted in separate instances, since the counting wrapper
// itself writes.
async function ours(standin, { count = false } = {}) {
  return started(`this Worker (Rust → wasm)${count ? ', KV counted' : ''}`, async () => {
    const port = await freePort();
    const bindings = completeBindings(standin.url);
    const mf = new Miniflare({
      ...QUIET, host: '127.0.0.1', port,
      workers: [
        {
          name: 'ours', modules: true, scriptPath: path.join(ROOT, 'build', 'index.js'), modulesRoot: path.join(ROOT, 'build'),
          modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'], fallthrough: true }],
          compatibilityDate: COMPATIBILITY_DATE, bindings,
          ...(count ? { wrappedBindings: { OAUTH_KV: { scriptName: 'ours-kv' } } } : { kvNamespaces: { OAUTH_KV: 'ours' } }),
        },
        ...(count ? [counted('ours')] : []),
      ],
    });
    return { mf, url: (await mf.ready).origin, close: () => mf.dispose() };
  }, (h) => `${h.url}/health`);
}

async function peer(bundle, { count = false } = {}) {
  return started(`peer (workers-oauth-provider + agents)${count ? ', KV counted' : ''}`, async () => {
    const port = await freePort();
    const mf = new Miniflare({
      ...QUIET, host: '127.0.0.1', port,
      workers: [
        {
          name: 'peer', modules: true, scriptPath: bundle, modulesRoot: path.dirname(bundle),
          compatibilityDate: COMPATIBILITY_DATE, compatibilityFlags: ['nodejs_compat'],
          ...(count ? { wrappedBindings: { OAUTH_KV: { scriptName: 'peer-kv' } } } : { kvNamespaces: { OAUTH_KV: 'peer' } }),
        },
        ...(count ? [counted('peer')] : []),
      ],
    });
    return { mf, url: (await mf.ready).origin, close: () => mf.dispose() };
  }, (h) => `${h.url}/.well-known/oauth-authorization-server`);
}

async function peerToken(url) {
  const redirect = 'http://127.0.0.1:9/cb';
  const reg = await (await fetch(`${url}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ redirect_uris: [redirect], token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'] }) })).json();
  const { verifier, challenge } = pkcePair();
  const q = new URLSearchParams({ response_type: 'code', client_id: reg.client_id, redirect_uri: redirect, code_challenge: challenge, code_challenge_method: 'S256', state: 's', resource: `${url}/mcp` });
  const a = await fetch(`${url}/authorize?${q}`, { redirect: 'manual' });
  const code = new URL(a.headers.get('location')).searchParams.get('code');
  const t = await (await fetch(`${url}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'authorization_code', code, client_id: reg.client_id, code_verifier: verifier, redirect_uri: redirect, resource: `${url}/mcp` }) })).json();
  if (!t.access_token) throw new Error(`peer token: ${JSON.stringify(t)}`);
  return { client: reg, tokens: t };
}

// ---- measuring ------------------------------------------------------------------------------

/**
 * CPU seconds used so far by the workerd processes this process started. Linux (and WSL) only:
 * elsewhere /proc does not exist and the CPU column reads NaN (skipped), the rates still hold.
 */
function workerdCpu() {
  if (process.platform !== 'linux') return NaN;
  const tick = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
  return (childProcesses('workerd') ?? []).reduce((sum, { pid }) => {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return sum + (Number(f[11]) + Number(f[12])) / tick;
  }, 0);
}

function luaFor({ method = 'GET', headers = {}, body = null }) {
  const lines = [`wrk.method = "${method}"`];
  for (const [k, v] of Object.entries(headers)) lines.push(`wrk.headers["${k}"] = ${JSON.stringify(v)}`);
  if (body) lines.push(`wrk.body = ${JSON.stringify(body)}`);
  // Any answer other than the expected status counts as an error.
  lines.push('bad = 0', 'response = function(status) if status ~= EXPECTED then bad = bad + 1 end end');
  return lines.join('\n');
}

function parseLatency(text, pct) {
  const m = text.match(new RegExp(`\\s${pct}%\\s+([\\d.]+)(us|ms|s)`));
  if (!m) return NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
}

/** Runs wrk without blocking the event loop, so the Workers' log output keeps draining. */
async function wrk(bin, url, request, expected, connections) {
  const dir = path.join(ROOT, 'bench', '.tmp');
  mkdirSync(dir, { recursive: true });
  const script = path.join(dir, 'request.lua');
  writeFileSync(script, luaFor(request).replace('EXPECTED', String(expected)));
  const cpu0 = workerdCpu();
  const text = await new Promise((resolve, reject) => {
    const child = spawn(bin, ['-t', '1', '-c', String(connections), '-d', `${SECONDS}s`, '--latency', '-s', script, url]);
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.on('error', reject);
    child.on('close', () => resolve(out));
  });
  const cpu = workerdCpu() - cpu0;
  const rps = Number(text.match(/Requests\/sec:\s+([\d.]+)/)?.[1] ?? NaN);
  const total = Number(text.match(/(\d+) requests in/)?.[1] ?? 0);
  const non2xx = Number(text.match(/Non-2xx or 3xx responses: (\d+)/)?.[1] ?? 0);
  return { rps, p50: parseLatency(text, 50), p99: parseLatency(text, 99), total, non2xx, cpuMsPerRequest: total ? (cpu * 1000) / total : NaN };
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

// ---- main -------------------------------------------------------------------------------------

async function main() {
  const jsonOut = process.argv.includes('--json') ? process.argv[process.argv.indexOf('--json') + 1] : null;
  await setup();
  const bin = wrkBin();
  if (process.argv.includes('--profile')) {
    // Its own build, with the wasm names section, so Rust functions show by name.
    await build({ outDir: 'build-profile', names: true, skipSetup: true });
    const standin = await startStandin();
    try {
      await profile({ wrk: bin, standin });
    } finally {
      await standin.close();
    }
    return;
  }
  await build({ skipSetup: true });
  await build({ features: ['floor'], outDir: 'build-floor', skipSetup: true });
  const bundle = await peerBundle();
  const standin = await startStandin();
  const c = await ceiling();
  const f = await floor();
  const w = await ours(standin);
  const p = await peer(bundle);
  try {
    const kv = await countKv(standin, bundle);
    const mine = await login(w.url);
    const theirs = await peerToken(p.url);
    const refreshed = await (await fetch(`${w.url}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'refresh_token', client_id: mine.client.client_id, refresh_token: mine.tokens.refresh_token }) })).json();
    const peerRefresh = await (await fetch(`${p.url}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'refresh_token', client_id: theirs.client.client_id, refresh_token: theirs.tokens.refresh_token }) })).json();
    if (!refreshed.access_token || !peerRefresh.access_token) throw new Error('refresh failed');

    const echo = (token, id = 1) => ({
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25', authorization: `Bearer ${token}` },
      body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: { message: 'hello' } } }),
    });
    const unauth = { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: '{"jsonrpc":"2.0","id":1,"method":"ping"}' };
    const scenarios = [
      { key: 'ceiling', label: 'ceiling: fixed JSON', url: `${c.url}/`, req: {}, status: 200 },
      { key: 'floor', label: 'floor: Rust fetch returning at once', url: `${f.url}/`, req: {}, status: 200 },
      { key: 'ours-call', label: 'this Worker: authenticated tools/call echo', url: `${w.url}/mcp`, req: echo(refreshed.access_token), status: 200 },
      { key: 'peer-call', label: 'peer: authenticated tools/call echo', url: `${p.url}/mcp`, req: echo(peerRefresh.access_token), status: 200 },
      { key: 'ours-401', label: 'this Worker: 401 with discovery', url: `${w.url}/mcp`, req: unauth, status: 401 },
      { key: 'peer-401', label: 'peer: 401 with discovery', url: `${p.url}/mcp`, req: unauth, status: 401 },
      { key: 'ours-prm', label: 'this Worker: protected resource metadata', url: `${w.url}/.well-known/oauth-protected-resource/mcp`, req: {}, status: 200 },
      { key: 'peer-prm', label: 'peer: protected resource metadata', url: `${p.url}/.well-known/oauth-protected-resource/mcp`, req: {}, status: 200 },
      { key: 'ours-asm', label: 'this Worker: authorization server metadata', url: `${w.url}/.well-known/oauth-authorization-server`, req: {}, status: 200 },
      { key: 'peer-asm', label: 'peer: authorization server metadata', url: `${p.url}/.well-known/oauth-authorization-server`, req: {}, status: 200 },
    ];
    // Sanity: every scenario answers what wrk will expect.
    for (const s of scenarios) {
      const r = await fetch(s.url, { method: s.req.method ?? 'GET', headers: s.req.headers, body: s.req.body });
      await r.arrayBuffer();
      if (r.status !== s.status) throw new Error(`${s.label}: ${r.status}, expected ${s.status}`);
    }
    const results = {};
    for (let round = 1; round <= ROUNDS; round++) {
      for (const conc of CONCURRENCY) {
        for (const s of scenarios) {
          const r = await wrk(bin, s.url, s.req, s.status, conc);
          (results[`${s.key}@${conc}`] ??= []).push(r);
          say(`round ${round}, c=${conc}, ${s.label}: ${r.rps.toFixed(0)} req/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms${r.non2xx && s.status < 300 ? `, ${r.non2xx} unexpected statuses` : ''}`);
        }
      }
    }
    const agg = {};
    for (const [k, rs] of Object.entries(results)) {
      agg[k] = { rps: median(rs.map((r) => r.rps)), p50: median(rs.map((r) => r.p50)), p99: median(rs.map((r) => r.p99)), cpu: median(rs.map((r) => r.cpuMsPerRequest)) };
    }
    const wasm = readFileSync(path.join(ROOT, 'build', 'index_bg.wasm'));
    const report = {
      date: new Date().toISOString(), machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`, seconds: SECONDS, rounds: ROUNDS,
      startupMs: { ceiling: c.startupMs, floor: f.startupMs, ours: w.startupMs, peer: p.startupMs },
      wasm: { rawKiB: wasm.length / 1024, gzipKiB: gzipSync(wasm, { level: 9 }).length / 1024 },
      kv,
      results: agg,
    };
    print(report, scenarios);
    if (jsonOut) writeFileSync(jsonOut, JSON.stringify(report, null, 2));
    // How cost grows with argument size and tool count, natively (benches/scale.rs).
    await run('cargo', ['bench', '--quiet', '--bench', 'scale']);
  } finally {
    await c.close();
    await f.close();
    await w.close();
    await p.close();
    await standin.close();
  }
}

function diff(a, b) {
  return { get: b.get - a.get, put: b.put - a.put, delete: b.delete - a.delete };
}

const CALLS = 20;

/** KV operations per login, per refresh and per authenticated call, counted by the wrapper. */
async function countKv(standin, bundle) {
  const out = {};
  for (const [name, start, doLogin] of [
    ['ours', () => ours(standin, { count: true }), (url) => login(url)],
    ['peer', () => peer(bundle, { count: true }), (url) => peerToken(url)],
  ]) {
    const h = await start();
    try {
      const k0 = await kvOps(h.mf, name);
      const { client, tokens } = await doLogin(h.url);
      const k1 = await kvOps(h.mf, name);
      const next = await (await fetch(`${h.url}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'refresh_token', client_id: client.client_id, refresh_token: tokens.refresh_token }) })).json();
      const k2 = await kvOps(h.mf, name);
      for (let i = 0; i < CALLS; i++) {
        const r = await fetch(`${h.url}/mcp`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25', authorization: `Bearer ${next.access_token}` },
          body: JSON.stringify({ jsonrpc: '2.0', id: i, method: 'tools/call', params: { name: 'echo', arguments: { message: 'x' } } }),
        });
        if (r.status !== 200) throw new Error(`${name} call: ${r.status}`);
        await r.arrayBuffer();
      }
      const k3 = await kvOps(h.mf, name);
      const call = diff(k2, k3);
      out[name] = { login: diff(k0, k1), refresh: diff(k1, k2), call: { get: call.get / CALLS, put: call.put / CALLS } };
    } finally {
      await h.close();
    }
  }
  return out;
}

function print(r, scenarios) {
  const row = (cells) => `| ${cells.join(' | ')} |`;
  const lines = [];
  lines.push(`Benchmark, ${r.date}, ${r.machine}; ${r.rounds} interleaved rounds of ${r.seconds} s per scenario and concurrency; medians.`);
  lines.push('');
  lines.push(row(['scenario', 'c', 'req/s', 'p50 ms', 'p99 ms', 'workerd CPU ms/req', '× ceiling', '× floor', '× peer']));
  lines.push(row(['---', '---', '---', '---', '---', '---', '---', '---', '---']));
  for (const conc of CONCURRENCY) {
    const ceil = r.results[`ceiling@${conc}`];
    const fl = r.results[`floor@${conc}`];
    for (const s of scenarios) {
      const x = r.results[`${s.key}@${conc}`];
      const peerKey = s.key.startsWith('ours-') ? s.key.replace('ours-', 'peer-') : null;
      const vsPeer = peerKey ? (x.rps / r.results[`${peerKey}@${conc}`].rps).toFixed(2) : '';
      const vsFloor = s.key.startsWith('ours-') ? (x.rps / fl.rps).toFixed(2) : '';
      lines.push(row([s.label, conc, x.rps.toFixed(0), x.p50.toFixed(2), x.p99.toFixed(2), x.cpu.toFixed(3), (x.rps / ceil.rps).toFixed(2), vsFloor, vsPeer]));
    }
  }
  lines.push('');
  lines.push(`Startup (process start to first answer): ceiling ${r.startupMs.ceiling.toFixed(0)} ms, floor ${r.startupMs.floor.toFixed(0)} ms, this Worker ${r.startupMs.ours.toFixed(0)} ms, peer ${r.startupMs.peer.toFixed(0)} ms.`);
  lines.push(`Wasm: ${r.wasm.rawKiB.toFixed(1)} KiB raw, ${r.wasm.gzipKiB.toFixed(1)} KiB gzip.`);
  const kv = (k) => `${k.get} reads, ${k.put} writes${k.delete ? `, ${k.delete} deletes` : ''}`;
  const per = (k) => (k ? `${k.get.toFixed(2)} reads, ${k.put.toFixed(2)} writes` : 'n/a');
  lines.push(`KV, this Worker: per authenticated tools/call ${per(r.kv.ours.call)}; per login (register → token) ${kv(r.kv.ours.login)}; per refresh ${kv(r.kv.ours.refresh)}.`);
  lines.push(`KV, peer: per authenticated tools/call ${per(r.kv.peer.call)}; per login ${kv(r.kv.peer.login)}; per refresh ${kv(r.kv.peer.refresh)}.`);
  console.log(lines.join('\n'));
}

main().catch((e) => {
  console.error(`bench: ${e.stack ?? e.message}`);
  process.exit(1);
});
