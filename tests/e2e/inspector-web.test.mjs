// MCP Inspector's own web page (the pinned @modelcontextprotocol/inspector, v2), in headless
// Chromium, logging in to the Worker through Inspector's own OAuth flow: a person adds the server
// (Streamable HTTP, the Worker's /mcp URL), switches it on, approves on the Worker's consent page
// and on the Discord stand-in's Authorize page, lands back on Inspector's /oauth/callback, and
// then sees the tools and runs `whoami` as the stand-in's user.
//
// Inspector v2 has one connection mode: its Node backend connects to the server and does the
// OAuth requests (the page talks only to Inspector's own /api/*), so the Worker sees no `Origin`
// and needs no ALLOWED_ORIGINS for it; the first test runs without it and checks that the
// browser never called /mcp itself. The second test shows what ALLOWED_ORIGINS is for: a page
// at Inspector's origin calling /mcp straight from the browser is refused (403, "Origin not
// allowed") until that origin is listed, and then reads the 401 and its WWW-Authenticate.
//
// Inspector needs Node 22; the test skips only when there is none.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { ROOT, completeBindings, freePort, startWorker } from '../support/worker.mjs';
import { startStandin } from '../support/discord-standin.mjs';
import { chromePath, node22, node22Hint } from '../../scripts/lib.mjs';

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'];
const LAUNCHER = path.join(ROOT, 'node_modules', '@modelcontextprotocol', 'inspector', 'clients', 'launcher', 'build', 'index.js');
const NODE22 = node22();
const SERVER_ID = 'discord-worker';
const SHOTS = path.join(ROOT, 'test-results', 'screenshots');

// Inspector's environment: nothing inherited that would change where it listens, whom it
// admits, or route its requests through a proxy.
const DROPPED_ENV = [
  'HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'ALL_PROXY', 'all_proxy',
  'ALLOWED_ORIGINS', 'DANGEROUSLY_OMIT_AUTH', 'DANGEROUSLY_BIND_ALL_INTERFACES', 'MCP_PROXY_AUTH_TOKEN',
  'MCP_CATALOG_PATH', 'MCP_INSPECTOR_ALLOWED_HOSTS', 'MCP_LOG_FILE', 'MCP_SANDBOX_FULL_ADDRESS',
  'MCP_APP_ORIGIN_FULL_ADDRESS', 'INSPECTOR_TLS_KEY_PATH', 'INSPECTOR_TLS_CERT_PATH', 'SERVER_PORT', 'VITEST',
];

/**
 * Starts Inspector's web UI (`mcp-inspector --web`) on Node 22, on a free loopback port, with a
 * throwaway home and storage, secrets in memory only, no browser opened, and an API token we
 * choose (Inspector writes it into the page it serves, so the page needs nothing else).
 */
async function startInspector() {
  const port = await freePort();
  const home = mkdtempSync(path.join(tmpdir(), 'mcp-inspector-web-'));
  mkdirSync(path.join(home, 'storage'));
  const env = { ...process.env };
  for (const k of DROPPED_ENV) delete env[k];
  Object.assign(env, {
    HOME: home,
    USERPROFILE: home,
    MCP_STORAGE_DIR: path.join(home, 'storage'),
    HOST: '127.0.0.1',
    CLIENT_PORT: String(port),
    MCP_SANDBOX_PORT: '0', // the MCP Apps sandbox and app origin: any free loopback port
    MCP_APP_ORIGIN_PORT: '0',
    MCP_AUTO_OPEN_ENABLED: 'false',
    MCP_INSPECTOR_SECRET_STORE: 'memory',
    MCP_INSPECTOR_API_TOKEN: randomBytes(16).toString('hex'),
    NO_COLOR: '1',
  });
  const child = spawn(NODE22, [LAUNCHER, '--web'], { cwd: home, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b) => { out += b; });
  child.stderr.on('data', (b) => { out += b; });
  const exited = new Promise((r) => child.once('exit', r));
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      try { process.kill(-child.pid, 'SIGTERM'); } catch { /* already gone */ }
      const t = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }, 3000);
      await exited;
      clearTimeout(t);
    }
    rmSync(home, { recursive: true, force: true });
  };
  try {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`Inspector did not start within 30 s:\n${out}`)), 30_000);
      const check = () => {
        if (/MCP Inspector Web is up and running at/.test(out)) { clearTimeout(timer); resolve(); }
        else if (child.exitCode !== null) { clearTimeout(timer); reject(new Error(`Inspector exited with ${child.exitCode}:\n${out}`)); }
        else setTimeout(check, 100);
      };
      child.once('error', (e) => { clearTimeout(timer); reject(e); });
      check();
    });
  } catch (e) {
    await close();
    throw e;
  }
  return { url: `http://127.0.0.1:${port}`, output: () => out, close };
}

describe('MCP Inspector web UI, in Chromium, through its own OAuth flow', { skip: NODE22 ? false : `MCP Inspector needs Node 22: ${node22Hint()}` }, () => {
  let standin;
  let worker;
  let inspector;
  let browser;
  before(async () => {
    const executablePath = chromePath();
    assert.ok(executablePath, 'no Chrome or Chromium found: install chromium, or set CHROME_PATH');
    // page: true, so a person clicks Authorize on the stand-in, as with real Discord.
    standin = await startStandin({ page: true });
    // No ALLOWED_ORIGINS: Inspector's backend, not the page, talks to the Worker.
    worker = await startWorker({ bindings: completeBindings(standin.url) });
    [inspector, browser] = await Promise.all([
      startInspector(),
      chromium.launch({ executablePath, args: ARGS }),
    ]);
  });
  after(async () => {
    await browser?.close();
    await inspector?.close();
    await worker?.close();
    await standin?.close();
  });

  /**
   * A page on Inspector. Its web font (Google Fonts) is blocked so that nothing leaves the
   * machine. Blocked through DevTools rather than with context.route(): with any route set,
   * Playwright answers CORS preflights itself, and the second test needs the Worker's answer.
   */
  async function inspectorPage() {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.setBlockedURLs', { urls: ['*://fonts.googleapis.com/*', '*://fonts.gstatic.com/*'] });
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    return { context, page, cdp, errors };
  }

  test('add the server, log in with consent and the Discord stand-in, list tools, run whoami', { timeout: 60_000 }, async () => {
    const { context, page, errors } = await inspectorPage();
    const requests = [];
    page.on('request', (r) => requests.push(r.url()));
    const visited = [];
    page.on('framenavigated', (f) => { if (f === page.mainFrame()) visited.push(f.url()); });
    try {
      await page.goto(inspector.url);
      assert.equal(await page.title(), 'MCP Inspector');

      // Add Servers → Add manually: Streamable HTTP, the Worker's URL.
      await page.getByRole('button', { name: 'Add Servers' }).click();
      await page.getByRole('menuitem', { name: 'Add manually' }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByRole('textbox', { name: 'Server ID' }).fill(SERVER_ID);
      await dialog.getByRole('textbox', { name: 'Transport' }).click();
      await page.getByRole('option', { name: 'streamable-http', exact: true }).click();
      await dialog.getByRole('textbox', { name: 'URL' }).fill(`${worker.url}/mcp`);
      await dialog.getByRole('button', { name: 'Add', exact: true }).click();
      await dialog.waitFor({ state: 'hidden' });

      // Connect: Inspector meets the 401, discovers the metadata, registers itself and sends
      // the browser to the Worker's consent page.
      await page.getByRole('switch', { name: `Connect or disconnect "${SERVER_ID}"` }).click({ force: true });
      await page.waitForURL((u) => u.href.startsWith(`${worker.url}/authorize?`));
      const authorize = new URL(page.url());
      assert.equal(authorize.searchParams.get('redirect_uri'), `${inspector.url}/oauth/callback`);
      assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
      assert.equal(authorize.searchParams.get('resource'), `${worker.url}/mcp`);
      assert.equal(await page.title(), 'Approve access');
      assert.match(await page.locator('h1').innerText(), /MCP Inspector/, 'the consent page names the client Inspector registered');
      await page.getByRole('button', { name: 'Approve and log in with Discord' }).click();

      // The stand-in's page, as Discord's: Authorize.
      await page.waitForURL((u) => u.href.startsWith(`${standin.url}/oauth2/authorize`));
      await page.getByRole('button', { name: 'Authorize' }).click();

      // Back at Inspector's callback; it exchanges the code and connects.
      const card = page.locator('.mantine-Card-root').filter({ has: page.getByRole('switch', { name: `Connect or disconnect "${SERVER_ID}"` }) });
      await card.getByText('Connected', { exact: true }).waitFor();
      assert.ok(visited.some((u) => u.startsWith(`${inspector.url}/oauth/callback?code=`)), `came back through the callback: ${visited.join(' → ')}`);
      assert.ok(visited.some((u) => u.includes(`iss=${encodeURIComponent(worker.url)}`)), 'the callback carried the issuer');

      // Tools: the list Inspector fetched on connect, then run whoami.
      await page.locator('label', { hasText: /^Tools$/ }).click();
      // Each tool is a button named by its title and its name ("Who am I whoami").
      const whoami = page.getByRole('button', { name: 'whoami' });
      await whoami.waitFor();
      await whoami.click();
      await page.getByRole('button', { name: 'Execute Tool' }).click();
      await page.getByText('"nelly"').first().waitFor();
      assert.match(await page.locator('body').innerText(), /"username": "nelly"/);
      mkdirSync(SHOTS, { recursive: true });
      await page.screenshot({ path: path.join(SHOTS, 'inspector-web-whoami.png') });

      // Proxy mode: the page never called /mcp itself; Inspector's backend did.
      assert.deepEqual(requests.filter((u) => u.startsWith(`${worker.url}/mcp`)), [], 'the browser made no request to /mcp');
      assert.ok(requests.some((u) => u === `${inspector.url}/api/mcp/connect`), 'connected through Inspector\'s backend');
      assert.ok(requests.some((u) => u === `${inspector.url}/api/fetch`), 'OAuth requests went through Inspector\'s backend');
      const seen = standin.requests.map((r) => `${r.method} ${r.path}`);
      assert.ok(seen.includes('POST /oauth2/authorize'), 'a person clicked Authorize on the stand-in page');
      assert.ok(seen.includes('POST /api/oauth2/token'), 'the Worker exchanged the Discord code');
      assert.deepEqual(errors, [], 'no uncaught errors on Inspector\'s page');
    } catch (e) {
      // What the page showed, for the report.
      mkdirSync(SHOTS, { recursive: true });
      await page.screenshot({ path: path.join(SHOTS, 'inspector-web-failure.png'), fullPage: true }).catch(() => {});
      const text = await page.locator('body').innerText().catch(() => '');
      e.message += `\n  page: ${page.url()}\n  page text: ${text.slice(0, 3000)}\n  visited: ${visited.join('\n    ')}\n  Inspector output:\n${inspector.output()}`;
      throw e;
    } finally {
      await context.close();
    }
  });

  test('a page at Inspector\'s origin calling /mcp from the browser needs ALLOWED_ORIGINS', { timeout: 30_000 }, async () => {
    const { context, page, cdp } = await inspectorPage();
    const origin = inspector.url;
    const mcp = `${worker.url}/mcp`;
    // The browser's own CORS preflights to /mcp, as DevTools shows them.
    const preflights = [];
    cdp.on('Network.responseReceived', (e) => { if (e.type === 'Preflight' && e.response.url === mcp) preflights.push(e.response.status); });
    const preflightsSeen = async (n) => {
      for (let i = 0; i < 50 && preflights.length < n; i++) await new Promise((r) => setTimeout(r, 20));
      return preflights;
    };
    const call = () => page.evaluate(async (url) => {
      try {
        const r = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
        });
        return { status: r.status, wwwAuthenticate: r.headers.get('www-authenticate') };
      } catch (e) {
        return { error: String(e) };
      }
    }, mcp);
    try {
      await page.goto(origin);
      // Not listed: the Worker refuses the browser's preflight with 403, so the page cannot connect…
      const refused = await call();
      assert.match(refused.error ?? '', /Failed to fetch/, JSON.stringify(refused));
      assert.deepEqual(await preflightsSeen(1), [403], 'the preflight was refused');
      // …and says why, to the preflight and to the request itself from that origin.
      for (const method of ['OPTIONS', 'POST']) {
        const res = await fetch(mcp, {
          method,
          headers: method === 'OPTIONS'
            ? { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' }
            : { origin, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
          body: method === 'POST' ? JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }) : undefined,
        });
        assert.equal(res.status, 403, method);
        assert.match(await res.text(), /Origin not allowed/, method);
      }

      // Listed: the same call reads the Worker's 401 and the header that starts OAuth discovery.
      await worker.restart(completeBindings(standin.url, { ALLOWED_ORIGINS: origin }));
      const allowed = await call();
      assert.equal(allowed.status, 401, JSON.stringify(allowed));
      assert.match(allowed.wwwAuthenticate ?? '', /^Bearer .*resource_metadata="/, JSON.stringify(allowed));
      assert.deepEqual(await preflightsSeen(2), [403, 204], 'the preflight was admitted');
    } finally {
      await context.close();
    }
  });
});
