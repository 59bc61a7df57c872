// A person's browser, reduced to what the login needs: it follows redirects between the
// Worker and the Discord stand-in, keeps cookies per host, and submits the consent form as a
// person would (Approve or Deny). Plus a whole login for tests that need a token.

import { createHash, randomBytes } from 'node:crypto';

export const CALLBACK = 'http://127.0.0.1:9/callback';

/** Cookie jar keyed by host. */
export class Jar {
  constructor() { this.hosts = new Map(); }
  header(url) {
    const c = this.hosts.get(new URL(url).host);
    return c && c.size ? [...c].map(([k, v]) => `${k}=${v}`).join('; ') : undefined;
  }
  store(url, res) {
    const host = new URL(url).host;
    const c = this.hosts.get(host) ?? new Map();
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      const gone = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === '';
      if (gone) c.delete(name); else c.set(name, value);
    }
    this.hosts.set(host, c);
  }
  get(url, name) { return this.hosts.get(new URL(url).host)?.get(name); }
}

/** Parses the consent form: its action and hidden fields. */
export function consentForm(html) {
  const form = html.match(/<form method="post" action="([^"]+)">([\s\S]*?)<\/form>/);
  if (!form) return null;
  const fields = {};
  for (const m of form[2].matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    fields[m[1]] = m[2].replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  }
  return { action: form[1], fields };
}

/** One request with the jar's cookies, keeping what it sets; redirects are not followed. */
async function jarFetch(jar, url, init, accept) {
  const headers = { accept, ...(init.headers ?? {}) };
  const cookie = jar.header(url);
  if (cookie) headers.cookie = cookie;
  const res = await fetch(url, { ...init, headers, redirect: 'manual' });
  jar.store(url, res);
  return res;
}

/**
 * Walks from an authorization URL to the client's redirect URI. Returns { url, pages } where
 * `url` is the final redirect (with code or error) and `pages` the HTML pages seen.
 * Stops at the first URL that is not on one of the `hosts` we serve.
 */
export async function browse(start, { decision = 'approve', jar = new Jar(), stopAt = CALLBACK, maxSteps = 12 } = {}) {
  let url = start;
  let init = {};
  const pages = [];
  for (let i = 0; i < maxSteps; i++) {
    if (url.startsWith(stopAt) || !/^https?:/.test(url)) return { url, pages, jar };
    const res = await jarFetch(jar, url, init, 'text/html');
    if (res.status >= 300 && res.status < 400) {
      url = new URL(res.headers.get('location'), url).toString();
      init = {};
      continue;
    }
    const html = await res.text();
    pages.push({ url, status: res.status, html, headers: res.headers });
    const form = res.status === 200 ? consentForm(html) : null;
    if (!form) return { url, pages, jar, status: res.status };
    url = new URL(form.action, url).toString();
    init = {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' },
      body: new URLSearchParams({ ...form.fields, decision }).toString(),
    };
  }
  throw new Error(`too many steps from ${start}`);
}

export function pkcePair() {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

export async function registerClient(base, meta = {}) {
  const res = await fetch(`${base}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      redirect_uris: [CALLBACK],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      client_name: 'e2e test client',
      ...meta,
    }),
  });
  if (res.status !== 201) throw new Error(`registration failed: ${res.status} ${await res.text()}`);
  return res.json();
}

/** Registration, authorization with consent, Discord stand-in, token exchange. */
export async function login(base, { scope = 'mcp profile', authBase = base, jar = new Jar(), client } = {}) {
  const c = client ?? (await registerClient(authBase));
  const { verifier, challenge } = pkcePair();
  const state = randomBytes(8).toString('hex');
  const q = new URLSearchParams({
    response_type: 'code', client_id: c.client_id, redirect_uri: CALLBACK, code_challenge: challenge,
    code_challenge_method: 'S256', state, scope, resource: `${base}/mcp`,
  });
  const { url } = await browse(`${authBase}/authorize?${q}`, { jar });
  const back = new URL(url);
  if (back.searchParams.get('state') !== state) throw new Error(`state mismatch: ${url}`);
  const code = back.searchParams.get('code');
  if (!code) throw new Error(`no code: ${url}`);
  const res = await fetch(`${base}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, code_verifier: verifier, client_id: c.client_id, redirect_uri: CALLBACK, resource: `${base}/mcp` }),
  });
  const tokens = await res.json();
  if (res.status !== 200) throw new Error(`token exchange failed: ${res.status} ${JSON.stringify(tokens)}`);
  return { client: c, tokens, iss: back.searchParams.get('iss') };
}

/** GET `url` with the jar's cookies, following redirects; the last answer and its body. */
export async function visit(jar, url, init = {}) {
  for (let i = 0; i < 8; i++) {
    const res = await jarFetch(jar, url, init, 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8');
    if (res.status >= 300 && res.status < 400) {
      url = new URL(res.headers.get('location'), url).toString();
      init = {};
      continue;
    }
    return { url, status: res.status, html: await res.text(), headers: res.headers };
  }
  throw new Error('too many redirects');
}

/** `tools/call` of `name` on the MCP endpoint, with a bearer token when given (2025-11-25). */
export function mcpCall(base, token, name, args = {}) {
  return fetch(`${base}/mcp`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args } }),
  });
}
