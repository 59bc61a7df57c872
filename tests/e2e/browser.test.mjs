// The pages a person sees, in headless Chromium (Debian's chromium driven by playwright-core):
// the consent page renders without console errors (so its CSP admits its own style), shows a
// hostile client name as text, and Approve and Deny both end at the client's redirect URI.
// Every other page a person sees (landing, errors with their request id, Discord failure,
// access refused, connected apps) renders without console errors and works by keyboard.
// Screenshots at phone and desktop widths land in test-results/screenshots/.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { ROOT, completeBindings, startWorker } from '../support/worker.mjs';
import { chromePath } from '../../scripts/lib.mjs';
import { startStandin } from '../support/discord-standin.mjs';
import { CALLBACK, login, pkcePair, registerClient } from '../support/oauth.mjs';

const SHOTS = path.join(ROOT, 'test-results', 'screenshots');
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'];

// A 1×1 PNG standing in for Discord's avatar CDN, which this machine cannot reach.
const AVATAR = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };

describe('the pages a person sees, in Chromium', () => {
  let d;
  let w;
  let browser;
  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    d = await startStandin();
    w = await startWorker({ bindings: completeBindings(d.url) });
    browser = await chromium.launch({ executablePath: chromePath(), args: ARGS });
  });
  after(async () => {
    await browser?.close();
    await w?.close();
    await d?.close();
  });

  async function open(clientName, viewport) {
    const client = await registerClient(w.url, { client_name: clientName });
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    const problems = [];
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text()); });
    page.on('pageerror', (e) => problems.push(String(e)));
    let landed = null;
    // The client's redirect URI: capture where the flow ends instead of connecting there.
    await context.route(`${new URL(CALLBACK).origin}/**`, (route) => {
      landed = new URL(route.request().url());
      return route.fulfill({ status: 200, contentType: 'text/plain', body: 'back at the client' });
    });
    const { challenge } = pkcePair();
    const url = `${w.url}/authorize?${new URLSearchParams({
      response_type: 'code', client_id: client.client_id, redirect_uri: CALLBACK, code_challenge: challenge,
      code_challenge_method: 'S256', state: 'browser-state', scope: 'mcp profile email', resource: `${w.url}/mcp`,
    })}`;
    const res = await page.goto(url);
    return { context, page, problems, res, landed: () => landed };
  }

  test('renders cleanly, escapes a hostile name, and Approve reaches the client with a code', async () => {
    const hostile = '<img src=x onerror="document.title=1">Evil';
    const { context, page, problems, res, landed } = await open(hostile, { width: 1280, height: 800 });
    try {
      assert.equal(res.status(), 200);
      assert.equal(await page.title(), 'Approve access');
      assert.equal(await page.locator('img').count(), 0, 'the name is text, not markup');
      assert.ok((await page.locator('h1').innerText()).includes(hostile));
      assert.ok(await page.getByRole('button', { name: 'Approve and log in with Discord' }).isVisible());
      assert.ok(await page.getByRole('button', { name: 'Deny' }).isVisible());
      await page.screenshot({ path: path.join(SHOTS, 'consent-desktop.png'), fullPage: true });
      await page.setViewportSize({ width: 390, height: 844 });
      await page.screenshot({ path: path.join(SHOTS, 'consent-phone.png'), fullPage: true });
      await page.getByRole('button', { name: 'Approve and log in with Discord' }).click();
      await page.waitForURL((u) => u.href.startsWith(CALLBACK));
      const back = landed();
      assert.ok(back.searchParams.get('code'));
      assert.equal(back.searchParams.get('state'), 'browser-state');
      assert.equal(back.searchParams.get('iss'), w.url);
      assert.deepEqual(problems, [], 'no console errors or CSP violations');
    } finally {
      await context.close();
    }
  });

  test('Deny reaches the client with access_denied', async () => {
    const { context, page, problems, landed } = await open('Plain client', { width: 390, height: 844 });
    try {
      await page.getByRole('button', { name: 'Deny' }).click();
      // A self-registered client: a page with the way back, which the person follows.
      await page.getByRole('link', { name: /Return to the application/ }).click();
      await page.waitForURL((u) => u.href.startsWith(CALLBACK));
      assert.equal(landed().searchParams.get('error'), 'access_denied');
      assert.equal(landed().searchParams.get('state'), 'browser-state');
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  test('the landing page and an error page render without console errors', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const page = await context.newPage();
    const problems = [];
    page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
    try {
      await page.goto(`${w.url}/`);
      assert.match(await page.locator('#mcp-url').innerText(), /\/mcp$/);
      await page.screenshot({ path: path.join(SHOTS, 'landing-phone.png'), fullPage: true });
      const res = await page.goto(`${w.url}/authorize?client_id=unknown`);
      assert.equal(res.status(), 400);
      assert.match(await page.locator('h1').innerText(), /Unknown application/);
      await page.screenshot({ path: path.join(SHOTS, 'error-phone.png'), fullPage: true });
      assert.deepEqual(problems.filter((p) => !p.includes('400')), []);
    } finally {
      await context.close();
    }
  });

  /** A fresh browser context that records console problems other than the page's own status. */
  async function tab(viewport = DESKTOP) {
    const context = await browser.newContext({ viewport });
    await context.route('https://cdn.discordapp.com/**', (route) => route.fulfill({ status: 200, contentType: 'image/png', body: AVATAR }));
    const page = await context.newPage();
    const problems = [];
    page.on('console', (m) => {
      const expectedStatus = /Failed to load resource: the server responded with a status of (40[034]|413|502)/.test(m.text());
      if ((m.type() === 'error' || m.type() === 'warning') && !expectedStatus) problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(String(e)));
    return { context, page, problems };
  }

  /** Screenshots at desktop and phone width; the page must not scroll sideways on a phone. */
  async function shoot(page, name) {
    await page.setViewportSize(DESKTOP);
    await page.screenshot({ path: path.join(SHOTS, `${name}-desktop.png`), fullPage: true });
    await page.setViewportSize(PHONE);
    await page.screenshot({ path: path.join(SHOTS, `${name}-phone.png`), fullPage: true });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `${name}: no sideways scrolling on a phone (${overflow}px)`);
  }

  async function authorizeUrl(base) {
    const client = await registerClient(base, { client_name: 'Browser test client' });
    return `${base}/authorize?${new URLSearchParams({
      response_type: 'code', client_id: client.client_id, redirect_uri: CALLBACK, code_challenge: pkcePair().challenge,
      code_challenge_method: 'S256', state: 's', scope: 'mcp profile', resource: `${base}/mcp`,
    })}`;
  }

  test('landing and a not-found page with its request id', async () => {
    const { context, page, problems } = await tab();
    try {
      await page.goto(`${w.url}/`);
      assert.match(await page.locator('#mcp-url').innerText(), /\/mcp$/);
      await shoot(page, 'landing');
      const res = await page.goto(`${w.url}/no-such-page`);
      assert.equal(res.status(), 404);
      assert.equal(await page.title(), 'Page not found');
      const id = res.headers()['x-request-id'];
      assert.equal(await page.locator('footer code').innerText(), id, 'the id a person can report');
      await shoot(page, 'not-found');
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  test('Discord failing during login: a page that says so and leads back', async () => {
    const { context, page, problems } = await tab();
    await context.route(`${new URL(CALLBACK).origin}/**`, (route) => route.fulfill({ status: 200, contentType: 'text/plain', body: 'client' }));
    try {
      await page.goto(await authorizeUrl(w.url));
      d.fail('token', 'server_error');
      const [res] = await Promise.all([
        page.waitForResponse((r) => r.url().startsWith(`${w.url}/redirect`)),
        page.getByRole('button', { name: 'Approve and log in with Discord' }).click(),
      ]);
      assert.equal(res.status(), 502);
      await page.waitForLoadState();
      assert.equal(await page.title(), 'Login with Discord failed');
      assert.ok(await page.getByRole('alert').isVisible());
      await shoot(page, 'discord-failure');
      const back = await page.getByRole('link', { name: 'Return to the application' }).getAttribute('href');
      assert.equal(new URL(back).searchParams.get('error'), 'temporarily_unavailable');
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  test('access refused names the Discord account with its avatar', async () => {
    const guarded = await startWorker({ bindings: completeBindings(d.url, { ALLOWED_DISCORD_USERS: '111111111111111111' }) });
    const { context, page, problems } = await tab();
    try {
      await page.goto(await authorizeUrl(guarded.url));
      const [res] = await Promise.all([
        page.waitForResponse((r) => r.url().startsWith(`${guarded.url}/redirect`)),
        page.getByRole('button', { name: 'Approve and log in with Discord' }).click(),
      ]);
      assert.equal(res.status(), 403);
      await page.waitForLoadState();
      assert.equal(await page.title(), 'Access refused');
      assert.match(await page.locator('.who').innerText(), /Logged in to Discord as Nelly/);
      assert.ok(await page.locator('.who img').evaluate((img) => img.complete && img.naturalWidth > 0), 'avatar shown');
      await shoot(page, 'access-refused');
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
      await guarded.close();
    }
  });

  test('connected apps: log in, see the app, disconnect it with the keyboard', async () => {
    const session = await login(w.url, { scope: 'mcp profile email' });
    const { context, page, problems } = await tab();
    try {
      await page.goto(`${w.url}/apps`);
      await shoot(page, 'apps-login');
      await page.getByRole('link', { name: 'Log in with Discord' }).click();
      await page.waitForURL(`${w.url}/apps`);
      assert.match(await page.locator('.who').innerText(), /Logged in to Discord as Nelly/);
      assert.ok(await page.locator('.who img').evaluate((img) => img.complete && img.naturalWidth > 0), 'avatar shown');
      const app = page.locator('.apps li').filter({ hasText: 'e2e test client' });
      assert.equal(await app.count(), 1);
      assert.match(await app.innerText(), /See the email address/);
      await shoot(page, 'apps');
      await page.setViewportSize(DESKTOP);
      // Keyboard only: Tab to the app's Disconnect button, then Enter.
      let focused = '';
      for (let i = 0; i < 20 && focused !== 'Disconnect e2e test client'; i++) {
        await page.keyboard.press('Tab');
        focused = await page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? '');
      }
      assert.equal(focused, 'Disconnect e2e test client');
      await page.keyboard.press('Enter');
      await page.waitForURL(`${w.url}/apps?done=revoked`);
      assert.match(await page.getByRole('status').innerText(), /Disconnected/);
      assert.equal(await page.locator('.apps li').count(), 0);
      await shoot(page, 'apps-disconnected');
      const res = await fetch(`${w.url}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', client_id: session.client.client_id, refresh_token: session.tokens.refresh_token }),
      });
      assert.equal((await res.json()).error, 'invalid_grant', 'the app lost its access');
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});
