// Runs the Worker as built (build/index.js + wasm) under workerd through Miniflare, on loopback.

import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Miniflare, fetch as mfFetch } from 'miniflare';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const wranglerToml = readFileSync(path.join(ROOT, 'wrangler.toml'), 'utf8');
export const COMPATIBILITY_DATE = wranglerToml.match(/^compatibility_date\s*=\s*"([^"]+)"/m)?.[1];

export const TEST_SECRET_KEY = 'test-secret-key-0123456789-abcdefghijklmnop';

/** Bindings of a complete configuration pointing at `discordUrl`. */
export function completeBindings(discordUrl, extra = {}) {
  return {
    DISCORD_CLIENT_ID: 'standin-client-id',
    DISCORD_CLIENT_SECRET: 'standin-client-secret',
    SECRET_KEY: TEST_SECRET_KEY,
    DISCORD_BASE_URL: discordUrl,
    ...extra,
  };
}

// A KV namespace that fails on command: a wrapped binding around the real one. `rules` is a
// list of { op: 'get' | 'put' | 'delete' | '*', prefix? }; a matching call throws, as Workers
// KV does when it is unavailable. Every call the Worker makes is counted, by kind, in a
// namespace of its own (read with kvOps()).
const KV_FAULTS_WORKER = `
const ops = { get: 0, put: 0, delete: 0, list: 0 };
export default function (env) {
  const rules = JSON.parse(env.RULES);
  const inner = env.INNER;
  const count = (op) => { ops[op] += 1; return env.OPS.put('ops', JSON.stringify(ops)); };
  const check = async (op, key) => {
    await count(op);
    if (rules.some((r) => (r.op === op || r.op === '*') && String(key).startsWith(r.prefix ?? ''))) {
      throw new Error('KV ' + op + ' failed (injected fault)');
    }
  };
  return {
    async get(key, o) { await check('get', key); return inner.get(key, o); },
    async getWithMetadata(key, o) { await check('get', key); return inner.getWithMetadata(key, o); },
    async put(key, v, o) { await check('put', key); return inner.put(key, v, o); },
    async delete(key) { await check('delete', key); return inner.delete(key); },
    async list(o) { await count('list'); return inner.list(o); },
  };
}`;

/**
 * Starts the built Worker. `bindings` are its vars and secrets; `kv: false` leaves the
 * OAUTH_KV binding out; `kvFaults` (a rule list, see above) puts a failing layer in front of
 * it (and counts every KV call: `countKv: true` alone counts without faults; read the counts
 * with kvOps()); `rateLimit` binds RATE_LIMITER at that many requests a minute (as wrangler.toml does
 * at 60); `buildDir: 'build-conformance'` runs the conformance build (relative to the
 * repository, or absolute; `MCP_WORKER_BUILD_DIR` changes the default, e.g. to run a suite
 * against an older build and see which tests it fails). `outbound(request)`, when given,
 * answers every fetch the Worker makes (Miniflare's outbound interception: the hosts of
 * clients' metadata documents and key sets, which this machine cannot reach); return
 * `undefined` to let a request through to its real (loopback) destination.
 * Resolves to { url, mf, kv(), restart(bindings, kvFaults), close() }.
 */
export async function startWorker({ bindings = {}, kv = true, kvFaults = null, countKv = false, buildDir = process.env.MCP_WORKER_BUILD_DIR ?? 'build', port = 0, rateLimit = null, captureLogs = false, outbound = null } = {}) {
  if (countKv && !kvFaults) kvFaults = [];
  // The Worker's console output, line by line (workerd's stdout), when asked for.
  const logs = [];
  // Otherwise the log lines are dropped (one per request would flood the test output) and
  // only what the runtime writes to stderr is shown.
  const stdio = captureLogs
    ? { handleRuntimeStdio: (out, err) => { for (const st of [out, err]) { let rest = ''; st.on('data', (d) => { const parts = (rest + d).split('\n'); rest = parts.pop(); logs.push(...parts); }); } } }
    : { handleRuntimeStdio: (out, err) => { out.resume(); err.pipe(process.stderr); } };
  const main = (b, faults) => ({
    ...(rateLimit ? { ratelimits: { RATE_LIMITER: { simple: { limit: rateLimit, period: 60 } } } } : {}),
    ...(outbound ? { outboundService: async (request) => (await outbound(request)) ?? mfFetch(request) } : {}),
    name: 'main',
    modules: true,
    scriptPath: path.resolve(ROOT, buildDir, 'index.js'),
    modulesRoot: path.resolve(ROOT, buildDir),
    modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'], fallthrough: true }],
    compatibilityDate: COMPATIBILITY_DATE,
    bindings: b,
    ...(faults
      ? { wrappedBindings: { OAUTH_KV: { scriptName: 'kv-faults', bindings: { RULES: JSON.stringify(faults) } } } }
      : { kvNamespaces: kv ? { OAUTH_KV: 'OAUTH_KV' } : {} }),
  });
  // Wrapped-binding workers take the compatibility date of the worker that uses them.
  const faultsWorker = { name: 'kv-faults', modules: true, script: KV_FAULTS_WORKER, kvNamespaces: { INNER: 'OAUTH_KV', OPS: 'KV_OPS' } };
  const options = (b, faults, p) => ({ ...stdio, host: '127.0.0.1', port: p, workers: faults ? [main(b, faults), faultsWorker] : [main(b, null)] });
  const mf = new Miniflare(options(bindings, kvFaults, port));
  const ready = await mf.ready;
  const fixedPort = Number(new URL(ready.origin).port);
  let faulty = Boolean(kvFaults);
  return {
    mf,
    url: ready.origin,
    logs,
    kv: () => (faulty ? mf.getKVNamespace('INNER', 'kv-faults') : mf.getKVNamespace('OAUTH_KV', 'main')),
    /** KV calls the Worker made so far, by kind (with `countKv` or `kvFaults`). */
    kvOps: async () => {
      const raw = await (await mf.getKVNamespace('OPS', 'kv-faults')).get('ops');
      return raw ? JSON.parse(raw) : { get: 0, put: 0, delete: 0, list: 0 };
    },
    /** Restarts workerd with other bindings or faults (a redeploy): same URL, same KV, fresh isolate. */
    restart: async (newBindings, faults = null) => {
      await mf.setOptions(options(newBindings, faults, fixedPort));
      await mf.ready;
      faulty = Boolean(faults);
    },
    close: () => mf.dispose(),
  };
}

/** A TCP port that is free on 127.0.0.1 right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

/** The built Worker pointed at a fresh Discord stand-in; close() stops both. */
export async function startWithStandin(extra = {}) {
  const { startStandin } = await import('./discord-standin.mjs');
  const standin = await startStandin();
  const worker = await startWorker({ bindings: completeBindings(standin.url, extra) });
  return { standin, worker, close: async () => { await worker.close(); await standin.close(); } };
}
