// `npm start`: sets up what is missing, then serves the Worker on http://127.0.0.1:8787 with a
// local KV store that persists between runs (.wrangler/state). When .dev.vars has no Discord
// credentials it also starts a local Discord stand-in and points the Worker at it.
//
// Environment: PORT (8787), STANDIN_PORT (8788), MCP_WORKER_STATE_DIR (.wrangler/state),
// MCP_WORKER_DEV_VARS (.dev.vars).

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { ROOT, packageBin, say } from './lib.mjs';
import { setup } from './setup.mjs';
import { startStandin } from '../tests/support/discord-standin.mjs';

/** Reads a dotenv-style file: KEY=VALUE lines, optional quotes, # comments. */
export function parseDotenv(text) {
  const out = {};
  for (const line of text.split(/\r?\n/)) {
    const m = line.match(/^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/);
    if (!m) continue;
    let v = m[2];
    if (/^(['"]).*\1$/.test(v)) v = v.slice(1, -1);
    else v = v.replace(/\s+#.*$/, '');
    out[m[1]] = v;
  }
  return out;
}

function dotenvLine(k, v) {
  return `${k}=${JSON.stringify(String(v))}`;
}

const port = Number(process.env.PORT ?? 8787);
const standinPort = Number(process.env.STANDIN_PORT ?? 8788);
const stateDir = path.resolve(ROOT, process.env.MCP_WORKER_STATE_DIR ?? '.wrangler/state');
const localDir = path.join(stateDir, 'local');

await setup();
mkdirSync(localDir, { recursive: true });

/** Whether `p` can be listened on at 127.0.0.1 right now. */
function portFree(p) {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(p, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}
// wrangler's own answer to a busy port ("use --port") is one `npm start` cannot pass on, and
// Cursor's desktop app listens on 8787 for its logins: say which variable to set, in one line.
for (const [name, p, other] of [['PORT', port, 8790], ['STANDIN_PORT', standinPort, 8791]]) {
  if (!(await portFree(p))) {
    const cursor = p === 8787 ? " (Cursor's desktop app listens there for its logins)" : '';
    console.error(`Port ${p} is in use${cursor}. Run on another port: ${name}=${other} npm start`);
    process.exit(1);
  }
}

const devVarsPath = path.resolve(ROOT, process.env.MCP_WORKER_DEV_VARS ?? '.dev.vars');
const devVars = existsSync(devVarsPath) ? parseDotenv(readFileSync(devVarsPath, 'utf8')) : {};
const realDiscord = Boolean(devVars.DISCORD_CLIENT_ID?.trim() && devVars.DISCORD_CLIENT_SECRET?.trim());

// Values layered over .dev.vars. A SECRET_KEY is generated once and kept with the local state,
// so tokens survive restarts; it never leaves this machine. LOCAL_ONLY makes the Worker answer
// only to localhost names (DNS-rebinding protection).
const overlay = { LOCAL_ONLY: 'true' };
if (!devVars.SECRET_KEY?.trim()) {
  const keyFile = path.join(localDir, 'secret-key');
  if (!existsSync(keyFile)) writeFileSync(keyFile, randomBytes(32).toString('base64url'), { mode: 0o600 });
  overlay.SECRET_KEY = readFileSync(keyFile, 'utf8').trim();
}

let standin = null;
if (!realDiscord) {
  standin = await startStandin({ port: standinPort, page: true, log: (l) => console.log(`[discord stand-in] ${l}`) });
  Object.assign(overlay, {
    DISCORD_CLIENT_ID: standin.clientId,
    DISCORD_CLIENT_SECRET: standin.clientSecret,
    DISCORD_BASE_URL: standin.url,
  });
}
const overlayFile = path.join(localDir, 'overlay.env');
writeFileSync(overlayFile, Object.entries(overlay).map(([k, v]) => dotenvLine(k, v)).join('\n') + '\n', { mode: 0o600 });

const origin = `http://127.0.0.1:${port}`;
console.log('');
if (realDiscord) {
  say(`Mode: REAL DISCORD (credentials from .dev.vars). Your Discord application must list ${origin}/redirect as a redirect URI.`);
} else {
  say(`Mode: LOCAL, with a Discord stand-in at ${standin.url} (no Discord account needed).`);
  say('To use real Discord: copy .dev.vars.example to .dev.vars, fill in DISCORD_CLIENT_ID and DISCORD_CLIENT_SECRET, and run npm start again.');
}
say(`Starting on ${origin} (local data: ${path.relative(ROOT, stateDir) || '.'}); the first build takes a while…`);
console.log('');

const envFiles = existsSync(devVarsPath) ? ['--env-file', devVarsPath] : [];
envFiles.push('--env-file', overlayFile);
const wrangler = spawn(
  process.execPath,
  [packageBin('wrangler'), 'dev', '--ip', '127.0.0.1', '--port', String(port), '--persist-to', stateDir, '--inspector-port', '0',
    '--show-interactive-dev-session=false', ...envFiles],
  {
    cwd: ROOT,
    stdio: ['inherit', 'pipe', 'pipe'],
    // The Worker reads no `request.cf`: without this, an offline run prints a DNS stack trace
    // for Cloudflare's cf.json, twice.
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
  },
);

// wrangler's output, passed on line by line, less what alarms without cause: its watcher's
// first "src changed", which it prints when the watcher starts whatever changed (the rebuild
// it starts then finds the build up to date).
let ready = false;
let watcherStarted = false;
for (const [from, to] of [[wrangler.stdout, process.stdout], [wrangler.stderr, process.stderr]]) {
  let rest = '';
  from.on('data', (chunk) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop();
    for (const line of lines) {
      if (!watcherStarted && /^The file src changed, restarting build\.\.\.$/.test(line.trim())) {
        watcherStarted = true;
        continue;
      }
      to.write(`${line}\n`);
    }
  });
}

// "Ready" once the Worker answers, not before: the first build takes minutes.
(async () => {
  for (;;) {
    if (wrangler.exitCode !== null) return;
    const r = await fetch(`${origin}/health`).catch(() => null);
    if (r?.ok) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  ready = true;
  console.log('');
  say(`Ready: ${origin}/   MCP URL: ${origin}/mcp   (Ctrl+C stops it)`);
  console.log('');
})();

let stopping = false;
async function stop(code) {
  if (stopping) return;
  stopping = true;
  if (wrangler.exitCode === null) wrangler.kill('SIGTERM');
  if (standin) await standin.close();
  process.exit(code);
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));
wrangler.on('exit', (code) => stop(code ?? 0));
