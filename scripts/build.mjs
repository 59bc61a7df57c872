// Builds the Worker into build/ with worker-build, using the local wasm-bindgen, wasm-opt and
// esbuild that setup installed (worker-build would otherwise download them).

import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, buildEnv, run, say, seconds, workerBuildBin } from './lib.mjs';
import { setup } from './setup.mjs';

// Everything the wasm depends on; an unchanged hash means build/ is current.
function inputsHash(features, names) {
  const h = createHash('sha256').update(JSON.stringify({ features, names }));
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
 * `wrangler deploy` uploads never contains the fixtures. `names` keeps the wasm names section
 * (Rust function names in profiles and stack traces), which the deployed build leaves out.
 */
export async function build({ features = [], outDir = 'build', force = false, skipSetup = false, names = false } = {}) {
  if (!skipSetup) await setup();
  const start = Date.now();
  const out = path.join(ROOT, outDir);
  const stamp = path.join(out, '.inputs-hash');
  const hash = inputsHash(features, names);
  if (!force && existsSync(stamp) && readFileSync(stamp, 'utf8') === hash && existsSync(path.join(out, 'index.js'))) {
    say(`${outDir}/ is up to date (sources unchanged).`);
    return;
  }
  say(`Building the Worker (cargo → wasm-bindgen → wasm-opt → esbuild)${features.length ? ` with features ${features.join(',')}` : ''}…`);
  // Built beside the output, then copied over it with the entry point last: worker-build
  // empties its output directory first, and `wrangler dev` (which may read the configuration
  // at any moment, after an edit of wrangler.toml) must never find build/ without index.js.
  const next = `${outDir}.next`;
  const nextDir = path.join(ROOT, next);
  rmSync(nextDir, { recursive: true, force: true });
  const args = ['--release', '--out-dir', next];
  if (features.length) args.push('--features', features.join(','));
  await run(workerBuildBin(), args, { env: buildEnv() });
  const entry = path.join(nextDir, 'index.js');
  if (!existsSync(entry)) throw new Error(`worker-build produced no ${next}/index.js`);
  plainEntrypoint(entry);
  const nextWasm = path.join(nextDir, 'index_bg.wasm');
  if (!names && existsSync(nextWasm)) writeFileSync(nextWasm, withoutNames(readFileSync(nextWasm)));
  mkdirSync(out, { recursive: true });
  cpSync(nextDir, out, { recursive: true, force: true, filter: (src) => src !== entry && path.basename(src) !== '.tmp' });
  copyFileSync(entry, path.join(out, 'index.js'));
  rmSync(nextDir, { recursive: true, force: true });
  const wasm = path.join(out, 'index_bg.wasm');
  writeFileSync(stamp, hash);
  say(`Built in ${seconds(start)}${existsSync(wasm) ? ` (wasm ${(statSync(wasm).size / 1024).toFixed(0)} KiB raw)` : ''}.`);
}

// worker-build's shim exports a WorkerEntrypoint class wrapped in Proxies (to rebuild the wasm
// instance after a panic): every request constructs an entrypoint and goes through nested
// Proxies, which costs about 0.2 ms of CPU (measured with bench/run.mjs). This swaps it for a
// plain module export that keeps the same recovery: the reinitialisation check before each
// request and the critical-error mark on a failure. If the shim ever changes shape, the
// original stays and the build says so.
function plainEntrypoint(file) {
  const js = readFileSync(file, 'utf8');
  const cls = js.match(/(\w+)\.prototype\.fetch=function\((\w)\)\{return (\w+)\.call\(this,\2,this\.env,this\.ctx\)\}/);
  const reinit = js.match(/function ([\w$]+)\(\)\{\w+\.criticalError&&\(console\.log\("Reinitializing Wasm application"\)/);
  const mark = js.match(/function ([\w$]+)\((\w)\)\{\2 instanceof WebAssembly\.RuntimeError/);
  const proxied = cls && js.match(new RegExp(`([\\w$]+)=new Proxy\\(${cls[1]},[\\w$]+\\)`));
  if (!cls || !reinit || !mark || !proxied) {
    say('Note: the worker-build shim has an unexpected shape; keeping its class entrypoint (slower, still correct).');
    return;
  }
  const plain = `${proxied[1]}={async fetch(q,v,x){${reinit[1]}();try{return await ${cls[3]}(q,v,x)}catch(z){throw ${mark[1]}(z),z}}}`;
  writeFileSync(file, js.replace(proxied[0], plain));
}

// worker-build always asks wasm-opt to keep the names section (`--debuginfo`). It is 170 KiB raw,
// 47 KiB of the gzip'd upload, and only names functions in profiles and in the stack of a
// crash (which `npm run bench -- --profile` builds with). The section is dropped here, exactly:
// a wasm module is a header and a list of sections, and custom section "name" is one of them.
export function withoutNames(wasm) {
  const kept = wasmSections(wasm).filter((s) => s.custom !== 'name');
  return Buffer.concat([wasm.subarray(0, 8), ...kept.map((s) => wasm.subarray(s.start, s.end))]);
}

/** The sections of a wasm module: where each starts and ends, and a custom section's name. */
export function wasmSections(wasm) {
  const sections = [];
  let i = 8;
  const leb = () => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = wasm[i++];
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
  };
  while (i < wasm.length) {
    const start = i;
    const id = wasm[i++];
    const size = leb();
    const body = i;
    let custom = null;
    if (id === 0) {
      const len = leb();
      custom = wasm.subarray(i, i + len).toString();
    }
    i = body + size;
    sections.push({ id, custom, start, end: i });
  }
  return sections;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  // `--names`, or KEEP_WASM_NAMES=1 through `wrangler dev`/`deploy` (which run this script),
  // keeps the names section: Rust function names in a crash's stack trace.
  const names = process.argv.includes('--names') || process.env.KEEP_WASM_NAMES === '1';
  build({ force: process.argv.includes('--force'), names }).catch((e) => {
    console.error(`build failed: ${e.message}`);
    process.exit(1);
  });
}
