// `node bench/signatures.mjs`: where private_key_jwt signatures are verified, measured. Builds
// the Worker twice (WebCrypto through the runtime layer, as deployed; and the `wasm-signatures`
// feature, jwt-compact's RSA and ECDSA compiled into the wasm), reports both sizes, then times
// POST /token with a client assertion on each, in interleaved rounds, against a baseline request
// that stops before any signature (an unknown client). The assertion is replayed on purpose:
// the `jti` check comes after the signature, so every request verifies one and is then refused.
//
//   node bench/signatures.mjs              3 rounds of 3 s per case
//   BENCH_SECONDS=5 BENCH_ROUNDS=5 node bench/signatures.mjs

import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { Response } from 'miniflare';
import { ROOT, say } from '../scripts/lib.mjs';
import { build } from '../scripts/build.mjs';
import { setup } from '../scripts/setup.mjs';
import { completeBindings, startWorker } from '../tests/support/worker.mjs';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

function client(kind) {
  const id = `https://bench.example/${kind}.json`;
  const { privateKey, publicKey } = kind === 'rs256'
    ? generateKeyPairSync('rsa', { modulusLength: 2048 })
    : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const alg = kind === 'rs256' ? 'RS256' : 'ES256';
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'k', use: 'sig', alg };
  const doc = { client_id: id, redirect_uris: ['https://bench.example/cb'], token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: alg, jwks: { keys: [jwk] } };
  return { id, alg, privateKey, doc };
}

function assertion(c, aud) {
  const now = Math.floor(Date.now() / 1000);
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const signed = `${b64({ alg: c.alg, kid: 'k' })}.${b64({ iss: c.id, sub: c.id, aud, iat: now, exp: now + 300, jti: randomUUID() })}`;
  const sig = sign('sha256', Buffer.from(signed), c.alg === 'ES256' ? { key: c.privateKey, dsaEncoding: 'ieee-p1363' } : c.privateKey);
  return `${signed}.${sig.toString('base64url')}`;
}

/** Sequential requests for `SECONDS`: mean milliseconds per request. */
async function time(url, body, expect) {
  const end = performance.now() + SECONDS * 1000;
  let n = 0;
  const t0 = performance.now();
  while (performance.now() < end) {
    const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    await r.arrayBuffer();
    if (r.status !== expect) throw new Error(`${url}: ${r.status}, expected ${expect}`);
    n += 1;
  }
  return (performance.now() - t0) / n;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

await setup();
await build({ skipSetup: true });
await build({ features: ['wasm-signatures'], outDir: 'build-signatures', skipSetup: true });
const size = (dir) => gzipSync(readFileSync(path.join(ROOT, dir, 'index_bg.wasm'))).length / 1024;
const builds = { webcrypto: 'build', 'wasm (jwt-compact)': 'build-signatures' };

const clients = { rs256: client('rs256'), es256: client('es256') };
const outbound = async (request) => {
  const c = Object.values(clients).find((x) => x.id === request.url);
  return c ? new Response(JSON.stringify(c.doc), { headers: { 'content-type': 'application/json' } }) : undefined;
};
const workers = {};
for (const [name, dir] of Object.entries(builds)) workers[name] = await startWorker({ buildDir: dir, bindings: completeBindings('https://discord.com'), outbound });

const cases = {};
for (const [name, w] of Object.entries(workers)) {
  const token = `${w.url}/token`;
  const form = (fields) => new URLSearchParams(fields).toString();
  cases[`${name}: baseline (unknown client)`] = [token, form({ grant_type: 'refresh_token', refresh_token: 'x', client_id: 'mcpc1.unknown.x' }), 401];
  for (const [kind, c] of Object.entries(clients)) {
    const body = form({ grant_type: 'refresh_token', refresh_token: 'x', client_id: c.id, client_assertion_type: ASSERTION_TYPE, client_assertion: assertion(c, w.url) });
    // The first use is accepted (then the refresh token is refused); every later one is a replay.
    await (await fetch(token, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body })).text();
    cases[`${name}: ${kind.toUpperCase()} assertion`] = [token, body, 401];
  }
}
const results = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const [label, [url, body, expect]] of Object.entries(cases)) results[label].push(await time(url, body, expect));
}
for (const w of Object.values(workers)) await w.close();

say(`Signature verification, ${ROUNDS} rounds of ${SECONDS} s per case, sequential requests, median ms per request:`);
const base = Object.fromEntries(Object.keys(builds).map((b) => [b, median(results[`${b}: baseline (unknown client)`])]));
for (const [label, xs] of Object.entries(results)) {
  const b = base[label.split(':')[0]];
  const m = median(xs);
  console.log(`  ${label.padEnd(40)} ${m.toFixed(3)} ms${label.includes('baseline') ? '' : `   (+${(m - b).toFixed(3)} ms over the baseline)`}`);
}
for (const [name, dir] of Object.entries(builds)) console.log(`  wasm size, ${name.padEnd(20)} ${size(dir).toFixed(1)} KiB gzip`);
console.log(`  ratio of sizes: ${(size('build-signatures') / size('build')).toFixed(3)}×`);
