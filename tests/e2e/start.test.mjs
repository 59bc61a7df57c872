// `npm start` as a newcomer runs it: no .dev.vars, so it must start the Discord stand-in, say
// so, and serve the Worker through `wrangler dev` on loopback. Runs the real script.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, existsSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BROWSER_ACCEPT, ROOT, freePort } from '../support/worker.mjs';
import { login } from '../support/oauth.mjs';
import { definedTools } from '../support/tools.mjs';
import { node22 } from '../../scripts/lib.mjs';

// `npm start` needs Rust, Node and npm only: it runs here with a PATH that has every command of
// this machine except Python, apt and sudo (and any Chrome), as on a Mac or a bare container.
const WITHOUT = /^(python[0-9.]*|pip[0-9.]*|apt|apt-get|sudo|chromium.*|google-chrome.*)$/;
function pathWithout(dir) {
  mkdirSync(dir);
  for (const from of (process.env.PATH ?? '').split(path.delimiter)) {
    let names = [];
    try { names = readdirSync(from); } catch { continue; }
    for (const n of names) {
      if (WITHOUT.test(n) || existsSync(path.join(dir, n))) continue;
      symlinkSync(path.join(from, n), path.join(dir, n));
    }
  }
  return dir;
}

function waitFor(getText, pattern, child, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}:\n${getText()}`)), ms);
    const check = () => {
      if (pattern.test(getText())) {
        clearTimeout(timer);
        resolve();
      } else if (child.exitCode !== null) {
        clearTimeout(timer);
        reject(new Error(`exited with ${child.exitCode}:\n${getText()}`));
      } else setTimeout(check, 100);
    };
    check();
  });
}

test('npm start with no .dev.vars, and no python3, apt-get or sudo, runs against the local Discord stand-in', { timeout: 180_000 }, async () => {
  const port = await freePort();
  const standinPort = await freePort();
  const state = mkdtempSync(path.join(tmpdir(), 'mcp-worker-state-'));
  const bin = pathWithout(path.join(state, 'bin'));
  for (const absent of ['python3', 'python', 'apt-get', 'sudo']) assert.ok(!existsSync(path.join(bin, absent)), absent);
  const child = spawn(process.execPath, [path.join(ROOT, 'scripts', 'start.mjs')], {
    cwd: ROOT,
    detached: true,
    env: {
      ...process.env,
      PORT: String(port),
      STANDIN_PORT: String(standinPort),
      MCP_WORKER_STATE_DIR: state,
      MCP_WORKER_DEV_VARS: path.join(state, 'no-such-file'),
      PATH: bin,
      WRANGLER_SEND_METRICS: 'false',
      NO_COLOR: '1',
    },
  });
  let out = '';
  child.stdout.on('data', (b) => { out += b; });
  child.stderr.on('data', (b) => { out += b; });
  try {
    // "Ready" comes when the Worker answers, and nothing alarming is printed on the way: no
    // cf.json DNS trace (this machine is offline), no "src changed" at start.
    await waitFor(() => out, /Ready: http:\/\/127\.0\.0\.1:\d+\/ {3}MCP URL: http:\/\/127\.0\.0\.1:\d+\/mcp/, child, 170_000);
    assert.doesNotMatch(out, /ENOTFOUND|Request\.cf|Error:/);
    assert.doesNotMatch(out, /src changed, restarting build/);
    assert.match(out, /Mode: LOCAL, with a Discord stand-in at http:\/\/127\.0\.0\.1:\d+/);
    assert.match(out, /To use real Discord: copy \.dev\.vars\.example to \.dev\.vars/);

    const base = `http://127.0.0.1:${port}`;
    const health = await (await fetch(`${base}/health`)).json();
    assert.equal(health.status, 'ok');
    assert.equal(health.configured, true, JSON.stringify(health));
    assert.equal(health.discord, 'local stand-in');

    const landing = await fetch(`${base}/`, { headers: { accept: BROWSER_ACCEPT } });
    assert.equal(landing.status, 200);
    const html = await landing.text();
    assert.ok(html.includes(`${base}/mcp`));
    assert.match(html, new RegExp(`Discord stand-in at <code>http://127\\.0\\.0\\.1:${standinPort}</code>`));

    // The whole login in local mode: the consent page, the stand-in's one-click page, a token.
    const { tokens } = await login(base);
    const me = await fetch(`${base}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${tokens.access_token}`, 'mcp-protocol-version': '2025-11-25' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'whoami' } }),
    });
    assert.equal((await me.json()).result.structuredContent.username, 'nelly');

    // MCP Inspector (its CLI, on Node 22) connects to the local server with that token, lists
    // every tool src/tools.rs defines, and calls one.
    const inspect = (...args) => new Promise((resolve) => {
      const c = spawn(node22(), [
        path.join(ROOT, 'node_modules', '@modelcontextprotocol', 'inspector', 'clients', 'launcher', 'build', 'index.js'),
        '--cli', `${base}/mcp`, '--transport', 'http', ...args, '--header', `Authorization: Bearer ${tokens.access_token}`,
      ], { env: { ...process.env, HOME: state } });
      let o = '';
      c.stdout.on('data', (b) => { o += b; });
      c.stderr.on('data', (b) => { o += b; });
      c.on('exit', (code) => resolve({ code, json: () => JSON.parse(o.slice(o.indexOf('{'), o.lastIndexOf('}') + 1)), out: o }));
    });
    const listed = await inspect('--method', 'tools/list');
    assert.equal(listed.code, 0, listed.out);
    assert.deepEqual(listed.json().tools.map((t) => t.name), definedTools());
    const inspector = await inspect('--method', 'tools/call', '--tool-name', 'whoami');
    assert.equal(inspector.code, 0, inspector.out);
    assert.equal(inspector.json().structuredContent.id, '80351110224678912');

    const standin = await fetch(`http://127.0.0.1:${standinPort}/_standin/requests`);
    assert.equal(standin.status, 200);
    const seen = (await standin.json()).map((r) => `${r.method} ${r.path}`);
    assert.ok(seen.includes('POST /oauth2/authorize'), 'the person clicked Authorize on the stand-in page');
    assert.ok(existsSync(path.join(state, 'local', 'secret-key')), 'a local SECRET_KEY was generated and kept');
  } finally {
    try { process.kill(-child.pid, 'SIGTERM'); } catch { /* already gone */ }
    await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
    rmSync(state, { recursive: true, force: true });
  }
  // Nothing is left listening.
  await assert.rejects(fetch(`http://127.0.0.1:${port}/health`));
  await assert.rejects(fetch(`http://127.0.0.1:${standinPort}/_standin/requests`));
});

test('a busy port stops npm start at once with the variable to set, not a stack trace', { timeout: 120_000 }, async () => {
  const net = await import('node:net');
  const busy = net.createServer();
  await new Promise((r) => busy.listen(0, '127.0.0.1', r));
  const port = busy.address().port;
  try {
    const child = spawn(process.execPath, [path.join(ROOT, 'scripts', 'start.mjs')], {
      cwd: ROOT,
      env: { ...process.env, PORT: String(port), STANDIN_PORT: String(await freePort()), WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1' },
    });
    let out = '';
    child.stdout.on('data', (b) => { out += b; });
    child.stderr.on('data', (b) => { out += b; });
    const code = await new Promise((r) => child.on('exit', r));
    assert.equal(code, 1, out);
    assert.match(out, new RegExp(`Port ${port} is in use\\. Run on another port: PORT=8790 npm start`));
    assert.doesNotMatch(out, /EADDRINUSE|at .*\.mjs:\d+/, 'no stack trace');
  } finally {
    busy.close();
  }
});
