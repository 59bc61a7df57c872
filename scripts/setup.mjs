// Installs everything the build and the tests need, from the package registries only, and
// skips whatever is already in place. The first run takes several minutes (two Rust tools are
// compiled from crates.io); later runs take seconds.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  NODE_MAJOR, ROOT, TOOLS_DIR, chromePath, installHint, isDebian, node22, node22Hint, WORKER_BUILD_VERSION, esbuildBin, run, say, seconds, venvPython, versionOf,
  wasmBindgenBin, wasmBindgenVersion, workerBuildBin, cCompiler, pythonFound } from './lib.mjs';

function need(cmd, hint) {
  const r = spawnSync(cmd, ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(`${cmd} is not installed. ${hint}`);
  return r.stdout.trim();
}

async function wasmTarget() {
  const installed = spawnSync('rustup', ['target', 'list', '--installed'], { encoding: 'utf8' });
  if (installed.stdout?.split('\n').includes('wasm32-unknown-unknown')) return false;
  say('Adding the Rust target wasm32-unknown-unknown (rustup)…');
  await run('rustup', ['target', 'add', 'wasm32-unknown-unknown']);
  return true;
}

async function npmPackages() {
  const lock = path.join(ROOT, 'package-lock.json');
  const stamp = path.join(ROOT, 'node_modules', '.setup-stamp');
  const hash = createHash('sha256').update(readFileSync(lock)).digest('hex');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === hash) return false;
  say('Installing npm packages (wrangler, workerd, esbuild, binaryen, test clients) with npm ci…');
  await run('npm', ['ci', '--no-audit', '--no-fund'], { env: { ...process.env, npm_config_loglevel: 'error' } });
  writeFileSync(stamp, hash);
  return true;
}

// The official Python MCP SDK, for end-to-end tests with a client this project did not write.
async function pythonClient() {
  const req = path.join(ROOT, 'tests', 'python', 'requirements.txt');
  const venv = path.join(ROOT, '.venv');
  const stamp = path.join(venv, '.setup-stamp');
  const hash = createHash('sha256').update(readFileSync(req)).digest('hex');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === hash) return false;
  say('Creating .venv with the Python MCP SDK (tests/python/requirements.txt)…');
  await run(pythonCommand(), ['-m', 'venv', venv]);
  await run(venvPython(), ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', req]);
  writeFileSync(stamp, hash);
  return true;
}

function pythonCommand() {
  const cmd = pythonFound();
  if (cmd) return cmd;
  throw new Error(`Python 3.10 or newer is needed for the Python SDK client tests (npm test only): ${installHint('python')}`);
}

// Chrome or Chromium for the browser tests of the pages people see (playwright-core drives it;
// a test tool's own browser download cannot work offline). Installed here only where that
// needs no question: Debian's package, as root.
async function chromium() {
  if (chromePath()) return false;
  if (!isDebian() || process.getuid?.() !== 0) {
    throw new Error(`No Chrome or Chromium found for the browser tests (npm test only): ${installHint('chrome')}`);
  }
  const apt = (args) => run('apt-get', args, { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  say("Installing Debian's chromium for the browser tests (apt-get; about a minute)…");
  try {
    await apt(['install', '-y', '-q', 'chromium']).catch(async () => {
      await apt(['update', '-q']);
      await apt(['install', '-y', '-q', 'chromium']);
    });
  } catch (e) {
    throw new Error(`could not install chromium (${e.message}): ${installHint('chrome')}`);
  }
  if (!chromePath()) throw new Error(`chromium was installed but not found on PATH: ${installHint('chrome')}`);
  return true;
}

async function cargoTool(crate, version, bin, label, minutes) {
  const have = versionOf(bin);
  if (have && have.includes(version)) return false;
  // cargo install links with the system's C compiler; without one it fails deep in a build log.
  if (!cCompiler()) throw new Error(`A C compiler is needed to compile ${crate} (cargo install): ${installHint('cc')}`);
  say(`Compiling ${crate} ${version} from crates.io (${label}; about ${minutes} minutes, once: it is cached in ${TOOLS_DIR})…`);
  const root = path.dirname(path.dirname(bin));
  await run('cargo', ['install', crate, '--version', version, '--root', root]);
  if (!versionOf(bin)?.includes(version)) throw new Error(`${crate} ${version} did not install at ${bin}`);
  return true;
}

/**
 * `forTests`: also what only `npm test` needs (the Python SDK venv, Chrome/Chromium, a Node 22
 * for the conformance suite and Inspector). `npm start` needs Rust, Node and npm only.
 */
export async function setup({ forTests = false } = {}) {
  const start = Date.now();
  need('cargo', 'Install Rust with rustup: https://rustup.rs');
  need('rustup', 'Install Rust with rustup: https://rustup.rs');
  const major = Number(process.versions.node.split('.')[0]);
  // Wrangler itself runs on Node 20; the project asks for 22 (20 reached end of life).
  if (major < 20) throw new Error(node22Hint());
  if (major < NODE_MAJOR && !forTests) say(`Note: ${node22Hint()}`);

  const did = [];
  if (await wasmTarget()) did.push('wasm target');
  if (await npmPackages()) did.push('npm packages');
  if (forTests) {
    if (!node22()) throw new Error(node22Hint());
    if (await pythonClient()) did.push('Python MCP SDK');
    if (await chromium()) did.push('chromium');
  }
  if (await cargoTool('worker-build', WORKER_BUILD_VERSION, workerBuildBin(), 'the Workers build tool', 3)) did.push('worker-build');
  const wbg = wasmBindgenVersion();
  if (await cargoTool('wasm-bindgen-cli', wbg, wasmBindgenBin(), `the wasm-bindgen CLI matching Cargo.lock's wasm-bindgen ${wbg}`, 5)) did.push('wasm-bindgen');
  if (!versionOf(esbuildBin())) throw new Error(`esbuild is not runnable at ${esbuildBin()}; run npm ci again`);

  say(did.length ? `Setup done in ${seconds(start)} (installed: ${did.join(', ')}).` : `Setup: everything already in place (${seconds(start)}).`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  setup({ forTests: process.argv.includes('--tests') }).catch((e) => {
    console.error(`setup failed: ${e.message}`);
    process.exit(1);
  });
}
