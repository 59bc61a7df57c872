// The pages a person sees, in headless Chromium (Debian's chromium driven by playwright-core):
// the consent page renders without console errors (so its CSP admits its own style), shows a
// hostile client name as text, and Approve and Deny both end at the client's redirect URI.
// Screenshots at phone and desktop widths land in test-results/screenshots/.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { ROOT, completeBindings, startWorker } from '../support/worker.mjs';
import { startStandin } from '../support/discord-standin.mjs';
import { CALLBACK, pkcePair, registerClient } from '../support/oauth.mjs';

const SHOTS = path.join(ROOT, 'test-results', 'screenshots');
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'];

describe('consent page in Chromium', () => {
  let d;
  let w;
  let browser;
  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    d = await startStandin();
    w = await startWorker({ bindings: completeBindings(d.url) });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ARGS });
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
});
