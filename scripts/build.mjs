// Builds the Worker into build/ with worker-build, using the local wasm-bindgen, wasm-opt and
// esbuild that setup installed (worker-build would otherwise download them).

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, buildEnv, run, say, seconds, workerBuildBin } from './lib.mjs';
import { setup } from './setup.mjs';

// Everything the wasm depends on; an unchanged hash means build/ is current.
function inputsHash(features) {
  const h = createHash('sha256').update(JSON.stringify(features));
  const files = ['Cargo.toml', 'Cargo.lock', ...readdirSync(path.join(ROOT, 'src'), { recursive: true }).map((f) => path.join('src', String(f)))];
  for (const f of files.sort()) {
    const full = path.join(ROOT, f);
    if (statSync(full).isFile()) h.update(f).update(readFileSync(full));
  }
  return h.digest('hex');
}

/**
 * Builds into `outDir` (relative to the repository). `features` are cargo features: the
 * conformance build uses `conformance` and its own directory, so the default build/ that
 * `wrangler deploy` uploads never contains the fixtures.
 */
export async function build({ features = [], outDir = 'build', force = false, skipSetup = false } = {}) {
  if (!skipSetup) await setup();
  const start = Date.now();
  const out = path.join(ROOT, outDir);
  const stamp = path.join(out, '.inputs-hash');
  const hash = inputsHash(features);
  if (!force && existsSync(stamp) && readFileSync(stamp, 'utf8') === hash && existsSync(path.join(out, 'index.js'))) {
    say(`${outDir}/ is up to date (sources unchanged).`);
    return;
  }
  say(`Building the Worker (cargo → wasm-bindgen → wasm-opt → esbuild)${features.length ? ` with features ${features.join(',')}` : ''}…`);
  const args = ['--release', '--out-dir', outDir];
  if (features.length) args.push('--features', features.join(','));
  await run(workerBuildBin(), args, { env: buildEnv() });
  const wasm = path.join(out, 'index_bg.wasm');
  if (!existsSync(path.join(out, 'index.js'))) throw new Error(`worker-build produced no ${outDir}/index.js`);
  writeFileSync(stamp, hash);
  say(`Built in ${seconds(start)}${existsSync(wasm) ? ` (wasm ${(statSync(wasm).size / 1024).toFixed(0)} KiB raw)` : ''}.`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  build({ force: process.argv.includes('--force') }).catch((e) => {
    console.error(`build failed: ${e.message}`);
    process.exit(1);
  });
}
