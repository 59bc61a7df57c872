// A stand-in for the parts of Discord's documented OAuth2 and REST API that the Worker uses,
// served on loopback. Used by the end-to-end tests and by `npm start` (local mode).
//
//   GET  /oauth2/authorize            auto-approves (tests) or shows a one-click page (local mode)
//   POST /api/oauth2/token            authorization_code and refresh_token grants, form body only
//   POST /api/oauth2/token/revoke     ends the user's whole authorization of the application (every token of theirs), as Discord does
//   GET  /api/v10/users/@me           email/verified only with the `email` scope
//   GET  /api/v10/users/@me/guilds    only with the `guilds` scope
//
// Tests drive it in-process (`startStandin()`), or over HTTP through /_standin/* when they run
// in another process: GET /_standin/requests, POST /_standin/fail, POST /_standin/user,
// POST /_standin/reset.
//
// Run alone: node tests/support/discord-standin.mjs [--port 8788] [--page]

import http from 'node:http';
import { generateKeyPairSync, randomBytes, sign, timingSafeEqual } from 'node:crypto';
import { pathToFileURL } from 'node:url';

export const STANDIN_CLIENT_ID = 'standin-client-id';
export const STANDIN_CLIENT_SECRET = 'standin-client-secret';

export const DEFAULT_USER = Object.freeze({
  id: '80351110224678912',
  username: 'nelly',
  global_name: 'Nelly',
  avatar: '8342729096ea3675442027381ff50dfe',
  discriminator: '0',
  email: 'nelly@example.com',
  verified: true,
});

const SCOPES = new Set(['identify', 'email', 'guilds', 'guilds.members.read', 'connections']);
const CODE_TTL_MS = 10 * 60 * 1000;
const ACCESS_TTL_S = 604800;
const MAX_BODY = 64 * 1024;

const GUILDS = [
  { id: '1000000000000000001', name: 'Stand-in Guild', icon: null, owner: true, permissions: '2147483647', features: [] },
  { id: '1000000000000000002', name: 'Another Guild', icon: null, owner: false, permissions: '104324673', features: [] },
];

function token() {
  return randomBytes(24).toString('base64url');
}

function safeEqual(a, b) {
  const x = Buffer.from(String(a));
  const y = Buffer.from(String(b));
  return x.length === y.length && timingSafeEqual(x, y);
}

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Starts the stand-in. Options: port (0 = any free port), clientId, clientSecret,
 * user (merged over DEFAULT_USER), page (true: a person clicks Authorize; false: auto-approve),
 * redirectUris (if set, authorize/token accept only these), log (function for one-line logs).
 * Resolves to a handle with url, requests, fail(), setUser(), reset(), close().
 */
export async function startStandin(options = {}) {
  const cfg = {
    clientId: options.clientId ?? STANDIN_CLIENT_ID,
    clientSecret: options.clientSecret ?? STANDIN_CLIENT_SECRET,
    page: options.page ?? false,
    redirectUris: options.redirectUris ?? null,
    log: options.log ?? (() => {}),
  };
  let user = { ...DEFAULT_USER, ...(options.user ?? {}) };
  let guilds = GUILDS; // the servers the user is a member of
  // Route buckets when a test sets one: { limit, resetAfter (seconds), used, since }.
  const buckets = new Map();
  const bucket = (route) => {
    const b = buckets.get(route);
    if (b && Date.now() - b.since >= b.resetAfter * 1000) { b.used = 0; b.since = Date.now(); }
    return b;
  };
  const codes = new Map(); // code -> { scope, redirectUri, expires, grant }
  const accessTokens = new Map(); // token -> { scope, grant, expires }
  const refreshTokens = new Map(); // token -> { scope, grant }
  const revokedGrants = new Set();
  const requests = [];
  const failures = []; // queued { endpoint, kind, status?, delayMs? }
  let accessTtl = ACCESS_TTL_S; // seconds; tests shorten it to exercise expiry

  function send(res, status, body, headers = {}) {
    const isJson = typeof body !== 'string';
    res.writeHead(status, {
      'content-type': isJson ? 'application/json' : 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      ...headers,
    });
    res.end(isJson ? JSON.stringify(body) : body);
  }

  function redirect(res, location) {
    res.writeHead(302, { location, 'cache-control': 'no-store' });
    res.end();
  }

  // An injected failure for this endpoint, answered as Discord answers it.
  async function injected(endpoint, res) {
    const i = failures.findIndex((f) => f.endpoint === endpoint || f.endpoint === '*');
    if (i < 0) return false;
    const [f] = failures.splice(i, 1);
    if (f.delayMs) await new Promise((r) => setTimeout(r, f.delayMs));
    switch (f.kind) {
      case 'delay':
        return false; // only slow: answer normally afterwards
      case 'rate_limit': {
        const retryAfter = f.retryAfter ?? 1.5;
        send(res, 429, { message: 'You are being rate limited.', retry_after: retryAfter, global: false },
          { 'retry-after': String(Math.ceil(retryAfter)), 'x-ratelimit-scope': 'user' });
        return true;
      }
      case 'server_error':
        send(res, f.status ?? 502, '<html><body>502 Bad Gateway</body></html>');
        return true;
      case 'invalid_grant':
        send(res, 400, { error: 'invalid_grant', error_description: 'Invalid "code" in request.' });
        return true;
      case 'invalid_client':
        send(res, 401, { error: 'invalid_client' });
        return true;
      case 'unauthorized':
        send(res, 401, { message: '401: Unauthorized', code: 0 });
        return true;
      case 'hang':
        return 'hang'; // never answers; the caller's timeout must fire
      case 'malformed':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"access_token": "trunc');
        return true;
      case 'no_id':
        send(res, 200, { username: 'someone', global_name: null });
        return true;
      default:
        send(res, f.status ?? 500, { message: `stand-in failure ${f.kind}`, code: 0 });
        return true;
    }
  }

  // Client authentication as Discord accepts it: HTTP Basic, or client_id/client_secret in the body.
  function clientAuthenticated(req, form) {
    const auth = req.headers.authorization ?? '';
    let id = form.get('client_id');
    let secret = form.get('client_secret');
    if (auth.toLowerCase().startsWith('basic ')) {
      const decoded = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8');
      const sep = decoded.indexOf(':');
      if (sep < 0) return false;
      id = decodeURIComponent(decoded.slice(0, sep));
      secret = decodeURIComponent(decoded.slice(sep + 1));
    }
    return id != null && secret != null && safeEqual(id, cfg.clientId) && safeEqual(secret, cfg.clientSecret);
  }

  function bearer(req) {
    const auth = req.headers.authorization ?? '';
    if (!auth.startsWith('Bearer ')) return null;
    const entry = accessTokens.get(auth.slice(7).trim());
    if (!entry || revokedGrants.has(entry.grant) || entry.expires < Date.now()) return null;
    return entry;
  }

  function issueTokens(scope, grant, userId) {
    const access = token();
    const refresh = token();
    accessTokens.set(access, { scope, grant, userId, expires: Date.now() + accessTtl * 1000 });
    refreshTokens.set(refresh, { scope, grant, userId });
    return { access_token: access, token_type: 'Bearer', expires_in: accessTtl, refresh_token: refresh, scope: scope.join(' ') };
  }

  function authorizeRequest(params) {
    if (params.get('client_id') !== cfg.clientId) return { error: 'Unknown application (client_id).' };
    if (params.get('response_type') !== 'code') return { error: 'response_type must be "code".' };
    const redirectUri = params.get('redirect_uri');
    if (!redirectUri) return { error: 'redirect_uri is required.' };
    if (cfg.redirectUris && !cfg.redirectUris.includes(redirectUri)) return { error: 'Invalid OAuth2 redirect_uri' };
    let target;
    try { target = new URL(redirectUri); } catch { return { error: 'Invalid OAuth2 redirect_uri' }; }
    const scope = (params.get('scope') ?? '').split(/[ +]/).filter(Boolean);
    if (scope.length === 0 || scope.some((s) => !SCOPES.has(s))) return { error: 'Invalid scope.' };
    return { target, scope, redirectUri, state: params.get('state') };
  }

  function approve(res, a) {
    const code = token();
    codes.set(code, { scope: a.scope, redirectUri: a.redirectUri, expires: Date.now() + CODE_TTL_MS, grant: token(), userId: user.id });
    a.target.searchParams.set('code', code);
    if (a.state != null) a.target.searchParams.set('state', a.state);
    redirect(res, a.target.toString());
  }

  function deny(res, a) {
    a.target.searchParams.set('error', 'access_denied');
    a.target.searchParams.set('error_description', 'The resource owner or authorization server denied the request');
    if (a.state != null) a.target.searchParams.set('state', a.state);
    redirect(res, a.target.toString());
  }

  function authorizePage(query, a) {
    const hidden = [...query].map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`).join('');
    return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Discord stand-in: authorize</title><style>body{font:16px system-ui,sans-serif;background:#313338;color:#f2f3f5;display:grid;place-items:center;min-height:100vh;margin:0}
.c{background:#2b2d31;padding:2rem;border-radius:8px;max-width:26rem}button{font:inherit;padding:.6rem 1.2rem;border-radius:4px;border:0;margin-right:.5rem;cursor:pointer}
.a{background:#5865f2;color:#fff}.d{background:#4e5058;color:#fff}small{color:#b5bac1}</style></head><body><main class="c">
<h1>Discord stand-in</h1><p>This is a local stand-in for Discord, not Discord. Approving logs you in as
<strong>${escapeHtml(user.global_name ?? user.username)}</strong> (@${escapeHtml(user.username)}).</p>
<p><small>Scopes: ${escapeHtml(a.scope.join(', '))}</small></p>
<form method="post" action="/oauth2/authorize">${hidden}
<button class="a" name="decision" value="approve" autofocus>Authorize</button><button class="d" name="decision" value="deny">Cancel</button></form>
</main></body></html>`;
  }

  async function readBody(req) {
    const chunks = [];
    let size = 0;
    for await (const chunk of req) {
      size += chunk.length;
      if (size > MAX_BODY) throw new Error('body too large');
      chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  async function handle(req, res) {
    const url = new URL(req.url, 'http://127.0.0.1');
    const raw = req.method === 'GET' || req.method === 'HEAD' ? '' : await readBody(req);
    const isForm = (req.headers['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded');
    const form = new URLSearchParams(isForm ? raw : '');
    const path = url.pathname;

    if (path.startsWith('/_standin/')) return control(req, res, path, raw);
    requests.push({ method: req.method, path, query: Object.fromEntries(url.searchParams), headers: { ...req.headers }, body: raw, form: Object.fromEntries(form) });
    cfg.log(`${req.method} ${path}`);

    if (path === '/oauth2/authorize' && (req.method === 'GET' || req.method === 'POST')) {
      const params = req.method === 'GET' ? url.searchParams : form;
      const a = authorizeRequest(params);
      if (a.error) return send(res, 400, `<!doctype html><title>Discord stand-in</title><h1>Invalid OAuth2 request</h1><p>${escapeHtml(a.error)}</p>`);
      if ((await injected('authorize', res)) !== false) return;
      if (req.method === 'POST') return params.get('decision') === 'approve' ? approve(res, a) : deny(res, a);
      if (params.get('prompt') === 'none' || !cfg.page) return approve(res, a);
      return send(res, 200, authorizePage(url.searchParams, a));
    }

    if (path === '/api/oauth2/token' && req.method === 'POST') {
      const pending = await injected('token', res);
      if (pending === 'hang') return;
      if (pending) return;
      // Discord accepts only form bodies here.
      if (!isForm) return send(res, 400, { error: 'invalid_request', error_description: 'Request body must be application/x-www-form-urlencoded' });
      if (!clientAuthenticated(req, form)) return send(res, 401, { error: 'invalid_client' });
      const grantType = form.get('grant_type');
      if (grantType === 'authorization_code') {
        const code = form.get('code');
        const entry = code ? codes.get(code) : undefined;
        if (!entry || entry.expires < Date.now()) {
          return send(res, 400, { error: 'invalid_grant', error_description: 'Invalid "code" in request.' });
        }
        codes.delete(code); // single use, even when the rest of the request is wrong
        if (form.get('redirect_uri') !== entry.redirectUri) {
          return send(res, 400, { error: 'invalid_grant', error_description: 'Invalid "redirect_uri" in request.' });
        }
        return send(res, 200, issueTokens(entry.scope, entry.grant, entry.userId));
      }
      if (grantType === 'refresh_token') {
        const rt = form.get('refresh_token');
        const entry = rt ? refreshTokens.get(rt) : undefined;
        if (!entry || revokedGrants.has(entry.grant)) return send(res, 400, { error: 'invalid_grant' });
        refreshTokens.delete(rt);
        return send(res, 200, issueTokens(entry.scope, entry.grant, entry.userId));
      }
      return send(res, 400, { error: 'unsupported_grant_type' });
    }

    if (path === '/api/oauth2/token/revoke' && req.method === 'POST') {
      const pending = await injected('revoke', res);
      if (pending === 'hang' || pending) return;
      if (!isForm) return send(res, 400, { error: 'invalid_request' });
      if (!clientAuthenticated(req, form)) return send(res, 401, { error: 'invalid_client' });
      const t = form.get('token') ?? '';
      const entry = accessTokens.get(t) ?? refreshTokens.get(t);
      // As Discord does: revoking any one token ends the user's whole authorization of the
      // application, so every token of every login of that user stops working.
      if (entry) {
        for (const e of [...accessTokens.values(), ...refreshTokens.values(), ...codes.values()]) {
          if (e.userId === entry.userId) revokedGrants.add(e.grant);
        }
      }
      return send(res, 200, {});
    }

    if (path === '/api/v10/users/@me' && req.method === 'GET') {
      const pending = await injected('me', res);
      if (pending === 'hang' || pending) return;
      const entry = bearer(req);
      if (!entry) return send(res, 401, { message: '401: Unauthorized', code: 0 });
      const { email, verified, ...rest } = user;
      return send(res, 200, entry.scope.includes('email') ? { ...rest, email, verified } : rest);
    }

    if (path === '/api/v10/users/@me/guilds' && req.method === 'GET') {
      const pending = await injected('guilds', res);
      if (pending === 'hang' || pending) return;
      const entry = bearer(req);
      if (!entry) return send(res, 401, { message: '401: Unauthorized', code: 0 });
      if (!entry.scope.includes('guilds')) return send(res, 403, { message: 'Missing Access', code: 50001 });
      // Discord's per-route bucket headers; past the limit, a 429 (Discord's "Rate Limits").
      const b = bucket('guilds');
      if (b) {
        const headers = { 'x-ratelimit-limit': String(b.limit), 'x-ratelimit-remaining': String(Math.max(0, b.limit - b.used - 1)), 'x-ratelimit-reset-after': b.resetAfter.toFixed(3), 'x-ratelimit-bucket': 'guilds-bucket' };
        if (b.used >= b.limit) {
          res.writeHead(429, { 'content-type': 'application/json', ...headers, 'x-ratelimit-remaining': '0', 'x-ratelimit-scope': 'user', 'retry-after': String(Math.ceil(b.resetAfter)) });
          return res.end(JSON.stringify({ message: 'You are being rate limited.', retry_after: b.resetAfter, global: false }));
        }
        b.used += 1;
        res.writeHead(200, { 'content-type': 'application/json', ...headers });
        return res.end(JSON.stringify(guilds));
      }
      return send(res, 200, guilds);
    }

    return send(res, 404, { message: '404: Not Found', code: 0 });
  }

  function control(req, res, path, raw) {
    let body = {};
    try { body = raw ? JSON.parse(raw) : {}; } catch { return send(res, 400, { error: 'bad json' }); }
    if (path === '/_standin/requests' && req.method === 'GET') return send(res, 200, requests);
    if (path === '/_standin/fail' && req.method === 'POST') { handle_.fail(body.endpoint, body.kind, body); return send(res, 200, { queued: failures.length }); }
    if (path === '/_standin/user' && req.method === 'POST') { handle_.setUser(body); return send(res, 200, user); }
    if (path === '/_standin/reset' && req.method === 'POST') { handle_.reset(); return send(res, 200, {}); }
    return send(res, 404, { error: 'unknown control path' });
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e) => {
      if (!res.headersSent) send(res, 400, { message: String(e.message ?? e), code: 0 });
      else res.destroy();
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const { port } = server.address();

  // The application's webhook signing key, as Discord holds it (Ed25519); the Worker gets the
  // public half as DISCORD_PUBLIC_KEY.
  const events = generateKeyPairSync('ed25519');
  const publicKey = Buffer.from(events.publicKey.export({ format: 'jwk' }).x, 'base64url').toString('hex');
  /** Posts a webhook event to `url` as Discord does: JSON, signed with Ed25519 over the
   *  timestamp and the body. `tamper` changes what is sent: { timestamp, signature, body }. */
  async function sendEvent(url, payload, tamper = {}) {
    const body = JSON.stringify(payload);
    const timestamp = String(tamper.timestamp ?? Math.floor(Date.now() / 1000));
    const signature = tamper.signature ?? sign(null, Buffer.from(timestamp + body), events.privateKey).toString('hex');
    const headers = { 'content-type': 'application/json', 'user-agent': 'Discord-Webhook/1.0 (https://discord.com)' };
    if (tamper.signature !== null) headers['x-signature-ed25519'] = signature;
    headers['x-signature-timestamp'] = timestamp;
    return fetch(url, { method: 'POST', headers, body: tamper.body ?? body });
  }

  const handle_ = {
    url: `http://127.0.0.1:${port}`,
    /** DISCORD_PUBLIC_KEY for the Worker: the hex public key of the events signing key. */
    publicKey,
    sendEvent,
    /** The PING Discord sends when the Webhook Events URL is set. */
    ping: (url) => sendEvent(url, { version: 1, application_id: cfg.clientId, type: 0 }),
    /** APPLICATION_DEAUTHORIZED: the person removed the application in Discord's settings. */
    deauthorize: (url, userId = user.id, tamper = {}) => sendEvent(url, {
      version: 1, application_id: cfg.clientId, type: 1,
      event: { type: 'APPLICATION_DEAUTHORIZED', timestamp: new Date().toISOString(), data: { user: { ...DEFAULT_USER, id: userId } } },
    }, tamper),
    port,
    clientId: cfg.clientId,
    clientSecret: cfg.clientSecret,
    requests,
    get user() { return user; },
    /** Queues one failure for `endpoint` (authorize|token|revoke|me|guilds|*): kind is
     *  rate_limit | server_error | invalid_grant | invalid_client | unauthorized | hang | delay |
     *  malformed (200, truncated JSON) | no_id (200, a user without an id). */
    fail(endpoint, kind, extra = {}) { failures.push({ endpoint, kind, ...extra }); },
    setUser(u) { user = { ...DEFAULT_USER, ...u }; },
    /** A rate-limit bucket for `route` ('guilds'): `limit` requests per `resetAfter` seconds,
     *  announced in X-RateLimit-* headers, then 429s. */
    setBucket(route, limit, resetAfter) { buckets.set(route, { limit, resetAfter, used: 0, since: Date.now() }); },
    /** The servers the user is a member of from now on (a kick: leave one out). */
    setGuilds(list) { guilds = list; },
    guilds: GUILDS,
    /** Lifetime in seconds of access tokens issued from now on (0: already expired). */
    setAccessTtl(seconds) { accessTtl = seconds; },
    /** Tokens issued so far that are still usable (not revoked). */
    liveGrants() { return new Set([...accessTokens.values()].map((e) => e.grant).filter((g) => !revokedGrants.has(g))); },
    reset() { accessTtl = ACCESS_TTL_S; requests.length = 0; failures.length = 0; codes.clear(); accessTokens.clear(); refreshTokens.clear(); revokedGrants.clear(); user = { ...DEFAULT_USER, ...(options.user ?? {}) }; guilds = GUILDS; buckets.clear(); },
    close() {
      server.closeAllConnections?.();
      return new Promise((r) => server.close(() => r()));
    },
  };
  return handle_;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const portArg = args.indexOf('--port');
  const port = portArg >= 0 ? Number(args[portArg + 1]) : 8788;
  const s = await startStandin({ port, page: args.includes('--page'), log: (l) => console.log(`[discord stand-in] ${l}`) });
  console.log(`[discord stand-in] listening on ${s.url} (client_id ${s.clientId})`);
  const stop = () => s.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
