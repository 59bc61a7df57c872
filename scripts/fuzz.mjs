// Coverage-guided fuzzing (cargo fuzz: libFuzzer on nightly Rust) of every parser and validator
// that takes outside input; the targets are in fuzz/fuzz_targets/. Each target starts from the
// seeds in fuzz/seeds/<target> and grows its corpus in fuzz/corpus/<target> (not committed).
// A crash stops the run and leaves its input in fuzz/artifacts/<target>; turn it into a
// regression test before fixing it.
//
//   npm run fuzz                  every target for FUZZ_SECONDS (default 120) each
//   node scripts/fuzz.mjs 5       every target for 5 s (what `npm test` runs)

import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { CARGO_FUZZ_VERSION, ROOT, cargoFuzzBin, run, say, seconds, versionOf } from './lib.mjs';

const FUZZ = path.join(ROOT, 'fuzz');

/** Nightly Rust (libFuzzer needs its sanitizer flags) and cargo-fuzz, both cached. */
export async function fuzzTools() {
  const have = spawnSync('rustup', ['run', 'nightly', 'rustc', '--version'], { encoding: 'utf8' });
  if (have.status !== 0) {
    say('Installing nightly Rust for the fuzzer (rustup, minimal profile; about a minute, once)…');
    await run('rustup', ['toolchain', 'install', 'nightly', '--profile', 'minimal']);
  }
  const bin = cargoFuzzBin();
  if (!versionOf(bin)?.includes(CARGO_FUZZ_VERSION)) {
    say(`Compiling cargo-fuzz ${CARGO_FUZZ_VERSION} (about 2 minutes, once: cached)…`);
    await run('cargo', ['install', 'cargo-fuzz', '--version', CARGO_FUZZ_VERSION, '--root', path.dirname(path.dirname(bin))]);
  }
  return bin;
}

export function targets() {
  return readdirSync(path.join(FUZZ, 'fuzz_targets')).filter((f) => f.endsWith('.rs') && f !== 'common.rs').map((f) => f.slice(0, -3)).sort();
}

function runTarget(bin, target, secs) {
  const corpus = path.join(FUZZ, 'corpus', target);
  mkdirSync(corpus, { recursive: true });
  const seeds = path.join(FUZZ, 'seeds', target);
  const dirs = [corpus, ...(existsSync(seeds) ? [seeds] : [])];
  return new Promise((resolve) => {
    const child = spawn(bin, ['fuzz', 'run', '--fuzz-dir', FUZZ, target, ...dirs, '--', `-max_total_time=${secs}`, '-rss_limit_mb=2048', '-max_len=65536', '-print_final_stats=1'], {
      cwd: ROOT,
      env: { ...process.env, RUSTUP_TOOLCHAIN: 'nightly' },
    });
    let log = '';
    child.stdout.on('data', (b) => { log += b; });
    child.stderr.on('data', (b) => { log += b; });
    child.on('exit', (code) => {
      const execs = Number(log.match(/stat::number_of_executed_units:\s*(\d+)/)?.[1] ?? 0);
      const cov = log.match(/cov: (\d+)/g)?.at(-1)?.split(' ')[1] ?? '?';
      resolve({ target, code, execs, cov, log });
    });
  });
}

export async function fuzz(secs) {
  const start = Date.now();
  const bin = await fuzzTools();
  say('Building the fuzz targets (nightly, instrumented)…');
  await run(bin, ['fuzz', 'build', '--fuzz-dir', FUZZ], { cwd: ROOT, env: { ...process.env, RUSTUP_TOOLCHAIN: 'nightly' } });
  const results = [];
  for (const t of targets()) {
    const r = await runTarget(bin, t, secs);
    results.push(r);
    say(`fuzz ${t}: ${r.code === 0 ? 'ok' : 'CRASH'}, ${r.execs.toLocaleString('en')} executions in ${secs} s (${Math.round(r.execs / secs).toLocaleString('en')}/s), coverage ${r.cov}`);
    if (r.code !== 0) {
      console.error(r.log.split('\n').slice(-40).join('\n'));
      throw new Error(`fuzz target ${t} found a failure; its input is in fuzz/artifacts/${t}`);
    }
  }
  say(`Fuzzed ${results.length} targets for ${secs} s each in ${seconds(start)}.`);
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const secs = Number(process.argv[2] ?? process.env.FUZZ_SECONDS ?? 120);
  fuzz(secs).catch((e) => {
    console.error(`fuzz: ${e.message}`);
    process.exit(1);
  });
}
