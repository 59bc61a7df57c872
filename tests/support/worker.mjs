// Runs the Worker as built (build/index.js + wasm) under workerd through Miniflare, on loopback.

import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Miniflare } from 'miniflare';

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

/**
 * Starts the built Worker. `bindings` are its vars and secrets; `kv: false` leaves the
 * OAUTH_KV binding out; `buildDir: 'build-conformance'` runs the conformance build.
 * Resolves to { url, mf, kv(), close() }.
 */
export async function startWorker({ bindings = {}, kv = true, buildDir = 'build', port = 0 } = {}) {
  const options = {
    host: '127.0.0.1',
    port,
    modules: true,
    scriptPath: path.join(ROOT, buildDir, 'index.js'),
    modulesRoot: path.join(ROOT, buildDir),
    modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'], fallthrough: true }],
    compatibilityDate: COMPATIBILITY_DATE,
    bindings,
    kvNamespaces: kv ? ['OAUTH_KV'] : [],
  };
  const mf = new Miniflare(options);
  const ready = await mf.ready;
  return {
    mf,
    url: ready.origin,
    kv: () => mf.getKVNamespace('OAUTH_KV'),
    /** Restarts workerd with other bindings (a redeploy): same URL, same KV, fresh isolate. */
    restart: async (newBindings) => {
      await mf.setOptions({ ...options, port: Number(new URL(ready.origin).port), bindings: newBindings });
      await mf.ready;
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
