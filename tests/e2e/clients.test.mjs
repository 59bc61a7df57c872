// The clients people use, each replayed as it really connects: its discovery path, its Client
// ID Metadata Document (exactly as published) or its registration body, its authorization
// parameters, its token authentication (ChatGPT signs real RS256 assertions with a key this
// test makes and serves as its key set), a tool call, and two refreshes the way it refreshes
// (two at once for Claude). Sources: each client's documentation, source or a public capture,
// as collected in docs/clients.md; "inferred" there marks a field no source states. The
// documents' hosts (claude.ai, chatgpt.com, vscode.dev) are answered by this test through
// Miniflare's outbound interception, never by the network.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes, randomUUID, sign } from 'node:crypto';
import { Response } from 'miniflare';
import { completeBindings, startWorker } from '../support/worker.mjs';
import { DEFAULT_USER, startStandin } from '../support/discord-standin.mjs';
import { browse, mcpCall, pkcePair } from '../support/oauth.mjs';

// Published documents, byte for byte as their clients serve them (docs/clients.md).
const CLAUDE_DOC = {"client_id":"https://claude.ai/oauth/mcp-oauth-client-metadata","client_name":"Claude","client_uri":"https://claude.ai","redirect_uris":["https://claude.ai/api/mcp/auth_callback"],"grant_types":["authorization_code","refresh_token","urn:ietf:params:oauth:grant-type:jwt-bearer"],"response_types":["code"],"token_endpoint_auth_method":"none"};
const CHATGPT_DOC = {"client_id":"https://chatgpt.com/oauth/client.json","client_uri":"https://chatgpt.com/","redirect_uris":["https://chatgpt.com/connector_platform_oauth_redirect"],"token_endpoint_auth_method":"private_key_jwt","token_endpoint_auth_methods_supported":["none","private_key_jwt"],"grant_types":["authorization_code","refresh_token"],"response_types":["code"],"client_name":"ChatGPT","logo_uri":"https://persistent.oaistatic.com/sonic/misc/openai-logo.png","token_endpoint_auth_signing_alg":"RS256","jwks_uri":"https://chatgpt.com/oauth/jwks.json"};
const VSCODE_DOC = {"client_name":"Visual Studio Code","grant_types":["authorization_code","refresh_token","urn:ietf:params:oauth:grant-type:device_code"],"response_types":["code"],"token_endpoint_auth_method":"none","application_type":"native","client_id":"https://vscode.dev/oauth/client-metadata.json","client_uri":"https://vscode.dev/product","redirect_uris":["http://127.0.0.1:33418/","https://vscode.dev/redirect"]};
// Published redirect URIs and auth method; the other fields are inferred (docs/clients.md).
const CLAUDE_CODE_DOC = { client_id: 'https://claude.ai/oauth/claude-code-client-metadata', client_name: 'Claude Code', redirect_uris: ['http://localhost/callback', 'http://127.0.0.1/callback'], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none' };
const CODEX_DOC = { client_id: 'https://chatgpt.com/oauth/codex/client.json', client_name: 'Codex', redirect_uris: ['http://127.0.0.1/callback', 'http://localhost/callback'], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none' };
// The per-connector document ChatGPT uses with servers without RFC 9207 `iss`: the stable one
// without `token_endpoint_auth_methods_supported`, under a connector id.
const CONNECTOR = 'c0nn3ct0r';
const CHATGPT_CONNECTOR_DOC = (({ token_endpoint_auth_methods_supported, ...rest }) => ({ ...rest, client_id: `https://chatgpt.com/oauth/${CONNECTOR}/client.json`, redirect_uris: [`https://chatgpt.com/connector/oauth/${CONNECTOR}`] }))(CHATGPT_DOC);

const JWKS_URL = 'https://chatgpt.com/oauth/jwks.json';
const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/** ChatGPT's signing key: RS256, published in its key set under `kid`. */
function rsaKey(kid) {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid, privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' } };
}

/** An RFC 7523 client assertion, as ChatGPT sends it. */
function assertion(key, clientId, aud, over = {}) {
  const now = Math.floor(Date.now() / 1000);
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const header = { alg: 'RS256', typ: 'JWT', kid: key.kid, ...(over.header ?? {}) };
  const claims = { iss: clientId, sub: clientId, aud, iat: now, exp: now + 300, jti: randomUUID(), ...(over.claims ?? {}) };
  const signed = `${b64(header)}.${b64(claims)}`;
  return `${signed}.${sign('sha256', Buffer.from(signed), key.privateKey).toString('base64url')}`;
}

/** The hosts the Worker may fetch from: documents and key sets by URL, with hit counts. */
function clientHosts() {
  const served = new Map();
  const hits = new Map();
  const outbound = async (request) => {
    const url = request.url;
    if (!/^https:\/\/(claude\.ai|chatgpt\.com|vscode\.dev|down\.example|slow\.example)\//.test(url)) return undefined;
    hits.set(url, (hits.get(url) ?? 0) + 1);
    const answer = served.get(url);
    if (typeof answer === 'function') return answer();
    if (!answer) return new Response('not found', { status: 404 });
    return new Response(JSON.stringify(answer), { status: 200, headers: { 'content-type': 'application/json', 'cache-control': 'max-age=600' } });
  };
  return { served, hits, outbound };
}

/** What every client does first: an unauthenticated MCP request, then the metadata it points to. */
async function discover(base) {
  const init = { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'replay', version: '1' } } };
  const r = await fetch(`${base}/mcp`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(init) });
  assert.equal(r.status, 401);
  const challenge = r.headers.get('www-authenticate');
  const prmUrl = challenge.match(/resource_metadata="([^"]+)"/)[1];
  const scope = challenge.match(/scope="([^"]*)"/)?.[1];
  const prm = await (await fetch(prmUrl)).json();
  assert.equal(prm.resource, `${base}/mcp`, 'Claude, Claude Code and ChatGPT check the resource exactly');
  const issuer = prm.authorization_servers[0];
  const as = await (await fetch(`${issuer}/.well-known/oauth-authorization-server`)).json();
  assert.equal(as.issuer, issuer, 'ChatGPT and Codex compare the issuer exactly');
  return { scope, prm, as, issuer };
}

/** The JSON-RPC result of a response, sent as JSON or as one SSE event. */
async function rpcResult(res) {
  const text = await res.text();
  const json = text.startsWith('{') ? text : text.split('\n').find((l) => l.startsWith('data:')).slice(5);
  return JSON.parse(json).result;
}

const form = (fields) => ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(Object.entries(fields).filter(([, v]) => v !== undefined)) });

/**
 * One client, as it connects: `c.document` (a metadata document) or `c.registration` (a DCR
 * body); `c.redirect` (the redirect URI it uses at run time); `c.scope(discovery)`;
 * `c.resource` (sent on authorize and token); `c.auth(fields, discovery)` adds its token
 * authentication; `c.refreshScope` / `c.refreshResource` (what its refresh sends).
 */
async function connect(w, c) {
  const d = await discover(w.url);
  let clientId;
  let secret;
  if (c.document) {
    assert.equal(d.as.client_id_metadata_document_supported, true, `${c.name} chooses its metadata document`);
    assert.ok(d.as.token_endpoint_auth_methods_supported.includes('none'), 'claude.ai uses CIMD only when none is listed');
    clientId = c.document.client_id;
  } else {
    const r = await fetch(d.as.registration_endpoint, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(c.registration) });
    assert.equal(r.status, 201, `${c.name} registers`);
    ({ client_id: clientId, client_secret: secret } = await r.json());
  }
  const { verifier, challenge } = pkcePair();
  const state = randomBytes(12).toString('base64url');
  const scope = c.scope(d);
  const q = new URLSearchParams({ response_type: 'code', client_id: clientId, redirect_uri: c.redirect, code_challenge: challenge, code_challenge_method: 'S256', state });
  if (scope !== undefined) q.set('scope', scope);
  if (c.resource !== false) q.set('resource', `${w.url}/mcp`);
  const seen = await browse(`${d.as.authorization_endpoint}?${q}`, { stopAt: c.redirect });
  assert.ok(seen.url.startsWith(c.redirect), `${c.name} is sent back to ${c.redirect}, not ${seen.url} (${seen.pages.at(-1)?.html?.match(/<h1>([^<]*)/)?.[1]})`);
  const back = new URL(seen.url);
  assert.equal(back.searchParams.get('state'), state);
  assert.equal(back.searchParams.get('iss'), d.issuer, 'RFC 9207: Codex and ChatGPT validate iss');
  const tokenFields = { grant_type: 'authorization_code', code: back.searchParams.get('code'), redirect_uri: c.redirect, code_verifier: verifier, client_id: clientId, resource: c.resource === false ? undefined : `${w.url}/mcp` };
  const t = await fetch(d.as.token_endpoint, form(c.auth ? c.auth(tokenFields, d, secret) : tokenFields));
  const tokens = await t.json();
  assert.equal(t.status, 200, `${c.name} redeems its code: ${JSON.stringify(tokens)}`);
  assert.equal(tokens.token_type, 'Bearer');
  assert.ok(tokens.refresh_token, 'a refresh token, whether or not offline_access was asked for');
  const call = await mcpCall(w.url, tokens.access_token, 'whoami');
  assert.equal(call.status, 200);
  assert.equal((await rpcResult(call)).structuredContent.id, DEFAULT_USER.id, `${c.name} calls a tool as the person who logged in`);
  const refresh = (rt) => {
    const fields = { grant_type: 'refresh_token', refresh_token: rt, client_id: clientId, scope: c.refreshScope, resource: c.refreshResource === false ? undefined : `${w.url}/mcp` };
    return fetch(d.as.token_endpoint, form(c.auth ? c.auth(fields, d, secret) : fields));
  };
  return { d, clientId, secret, tokens, refresh };
}

/** Two refreshes, one after the other; each new access token calls a tool. */
async function refreshTwice(w, session, name) {
  let rt = session.tokens.refresh_token;
  for (const n of [1, 2]) {
    const r = await session.refresh(rt);
    const body = await r.json();
    assert.equal(r.status, 200, `${name} refresh ${n}: ${JSON.stringify(body)}`);
    assert.notEqual(body.refresh_token, rt, 'rotated');
    assert.equal((await mcpCall(w.url, body.access_token, 'whoami')).status, 200);
    rt = body.refresh_token;
  }
}

describe('the clients people use log in as they really are', () => {
  let standin;
  let w;
  const hosts = clientHosts();
  let chatgptKey = rsaKey('chatgpt-1');
  before(async () => {
    standin = await startStandin();
    w = await startWorker({ bindings: completeBindings(standin.url), outbound: hosts.outbound });
    for (const doc of [CLAUDE_DOC, CHATGPT_DOC, VSCODE_DOC, CLAUDE_CODE_DOC, CODEX_DOC, CHATGPT_CONNECTOR_DOC]) hosts.served.set(doc.client_id, doc);
    hosts.served.set(JWKS_URL, { keys: [chatgptKey.jwk] });
  });
  after(async () => { await w?.close(); await standin?.close(); });

  const challengeScope = (d) => d.scope;
  const loopbackPort = () => 20000 + Math.floor(Math.random() * 40000);

  test('claude.ai / Claude Desktop: its published document, the challenge scope, two refreshes at once', async () => {
    const claude = {
      name: 'Claude', document: CLAUDE_DOC, redirect: 'https://claude.ai/api/mcp/auth_callback',
      // The challenge's scope, plus offline_access only when the AS lists it (it does not).
      scope: (d) => (d.as.scopes_supported.includes('offline_access') ? `${d.scope} offline_access` : d.scope),
    };
    const s = await connect(w, claude);
    // Proactive refresh and a refresh on 401 can overlap: both succeed, with one successor.
    const [a, b] = await Promise.all([s.refresh(s.tokens.refresh_token), s.refresh(s.tokens.refresh_token)]);
    const [ja, jb] = [await a.json(), await b.json()];
    assert.deepEqual([a.status, b.status], [200, 200], JSON.stringify([ja, jb]));
    assert.equal(ja.refresh_token, jb.refresh_token, 'the overlapping refresh got the same successor');
    const third = await s.refresh(ja.refresh_token);
    assert.equal(third.status, 200);
    assert.equal((await mcpCall(w.url, (await third.json()).access_token, 'whoami')).status, 200);
    // A dead refresh token gets invalid_grant, which Claude answers with a new login.
    const dead = await s.refresh('mcpr1.garbage');
    assert.deepEqual([dead.status, (await dead.json()).error], [400, 'invalid_grant']);
  });

  test('Claude with offline_access (as seen with a leading space), and its DCR fallback on claude.com', async () => {
    for (const scope of [' offline_access', 'mcp profile offline_access']) {
      const s = await connect(w, { name: `Claude (${JSON.stringify(scope)})`, document: CLAUDE_DOC, redirect: 'https://claude.ai/api/mcp/auth_callback', scope: () => scope });
      assert.equal(s.tokens.scope, 'mcp profile', 'offline_access is accepted, and granted as the refresh token it stands for');
    }
    const fallback = {
      name: 'Claude (DCR)', redirect: 'https://claude.com/api/mcp/auth_callback', scope: challengeScope,
      registration: { client_name: 'Claude', redirect_uris: ['https://claude.ai/api/mcp/auth_callback', 'https://claude.com/api/mcp/auth_callback'], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_post' },
      auth: (fields, d, secret) => ({ ...fields, client_secret: secret }),
    };
    const s = await connect(w, fallback);
    await refreshTwice(w, s, 'Claude (DCR)');
    // An unknown client at /token is 401 invalid_client, which makes claude.ai register again.
    const unknown = await fetch(`${w.url}/token`, form({ grant_type: 'refresh_token', refresh_token: s.tokens.refresh_token, client_id: 'mcpc1.forgotten.x', client_secret: 'x' }));
    assert.deepEqual([unknown.status, (await unknown.json()).error], [401, 'invalid_client']);
  });

  test('Claude Code: its document with portless loopback URIs, an ephemeral port, refresh without scope', async () => {
    const s = await connect(w, { name: 'Claude Code', document: CLAUDE_CODE_DOC, redirect: `http://localhost:${loopbackPort()}/callback`, scope: challengeScope, refreshScope: undefined });
    await refreshTwice(w, s, 'Claude Code');
  });

  test('Codex CLI: its document, 127.0.0.1 with an ephemeral port, iss validated, refresh without resource', async () => {
    const s = await connect(w, { name: 'Codex', document: CODEX_DOC, redirect: `http://127.0.0.1:${loopbackPort()}/callback`, scope: challengeScope, refreshResource: false });
    await refreshTwice(w, s, 'Codex');
  });

  test('VS Code: its published document, redirect on 33418 or another port when that one is busy', async () => {
    for (const port of [33418, 33419]) {
      const s = await connect(w, { name: `VS Code :${port}`, document: VSCODE_DOC, redirect: `http://127.0.0.1:${port}/`, scope: challengeScope });
      await refreshTwice(w, s, 'VS Code');
    }
  });

  test('Cursor: registers three redirect URIs, asks for every scope listed, uses localhost:8787 or its own scheme', async () => {
    const registration = { client_name: 'Cursor', redirect_uris: ['cursor://anysphere.cursor-mcp/oauth/callback', 'https://www.cursor.com/agents/mcp/oauth/callback', 'http://localhost:8787/callback'], token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] };
    for (const redirect of ['http://localhost:8787/callback', 'cursor://anysphere.cursor-mcp/oauth/callback']) {
      const s = await connect(w, { name: `Cursor (${redirect})`, registration, redirect, scope: (d) => d.as.scopes_supported.join(' ') });
      assert.equal(s.tokens.scope, 'mcp profile email guilds');
      await refreshTwice(w, s, 'Cursor');
    }
  });

  test('MCP Inspector 2: DCR as a native app with an empty scope, resource everywhere, refresh without scope', async () => {
    const registration = { redirect_uris: ['http://localhost:6274/oauth/callback'], token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], client_name: 'MCP Inspector', client_uri: 'https://github.com/modelcontextprotocol/inspector', application_type: 'native', scope: '' };
    const s = await connect(w, { name: 'Inspector', registration, redirect: 'http://localhost:6274/oauth/callback', scope: challengeScope });
    await refreshTwice(w, s, 'Inspector');
  });

  test('ChatGPT: its stable document, private_key_jwt with RS256 assertions at the token endpoint, two refreshes', async () => {
    let audience = 'issuer';
    const chatgpt = {
      name: 'ChatGPT', document: CHATGPT_DOC, redirect: 'https://chatgpt.com/connector_platform_oauth_redirect', scope: challengeScope,
      auth: (fields, d) => {
        assert.ok(d.as.token_endpoint_auth_methods_supported.includes('private_key_jwt'));
        assert.ok(d.as.token_endpoint_auth_signing_alg_values_supported.includes('RS256'));
        const aud = audience === 'issuer' ? d.issuer : d.as.token_endpoint;
        return { ...fields, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion(chatgptKey, CHATGPT_DOC.client_id, aud) };
      },
    };
    const s = await connect(w, chatgpt);
    audience = 'token endpoint'; // some servers see this audience: both are accepted
    await refreshTwice(w, s, 'ChatGPT');
    assert.equal(hosts.hits.get(JWKS_URL), 1, 'the key set was fetched once and cached');

    // Without a valid assertion, a private_key_jwt client's grant is worth nothing.
    const bare = await fetch(`${w.url}/token`, form({ grant_type: 'refresh_token', refresh_token: s.tokens.refresh_token, client_id: CHATGPT_DOC.client_id }));
    assert.deepEqual([bare.status, (await bare.json()).error], [401, 'invalid_client']);
    const tries = {
      'another key under the same kid': assertion({ ...rsaKey('chatgpt-1') }, CHATGPT_DOC.client_id, w.url),
      'expired': assertion(chatgptKey, CHATGPT_DOC.client_id, w.url, { claims: { exp: Math.floor(Date.now() / 1000) - 3600 } }),
      'an hour ahead': assertion(chatgptKey, CHATGPT_DOC.client_id, w.url, { claims: { exp: Math.floor(Date.now() / 1000) + 3600 } }),
      'another audience': assertion(chatgptKey, CHATGPT_DOC.client_id, 'https://evil.example'),
      'another issuer': assertion(chatgptKey, CHATGPT_DOC.client_id, w.url, { claims: { iss: 'https://evil.example/c.json' } }),
      'HS256': assertion(chatgptKey, CHATGPT_DOC.client_id, w.url, { header: { alg: 'HS256' } }),
    };
    for (const [why, a] of Object.entries(tries)) {
      const r = await fetch(`${w.url}/token`, form({ grant_type: 'refresh_token', refresh_token: s.tokens.refresh_token, client_id: CHATGPT_DOC.client_id, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: a }));
      assert.deepEqual([r.status, (await r.json()).error], [401, 'invalid_client'], why);
    }
    // The same assertion twice: refused the second time (jti).
    const once = assertion(chatgptKey, CHATGPT_DOC.client_id, w.url);
    const fresh = await connect(w, { ...chatgpt, auth: (f) => ({ ...f, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: once }) });
    const replay = await fresh.refresh(fresh.tokens.refresh_token);
    assert.deepEqual([replay.status, (await replay.json()).error_description], [401, 'this client assertion was already used (jti)']);
  });

  test('ChatGPT rotates its key: an unknown kid fetches the key set once more', { timeout: 20_000 }, async () => {
    const before = hosts.hits.get(JWKS_URL);
    const next = rsaKey('chatgpt-2');
    hosts.served.set(JWKS_URL, { keys: [next.jwk] });
    chatgptKey = next;
    await new Promise((r) => setTimeout(r, 5500)); // the refetch is bounded to one per 5 s
    const s = await connect(w, {
      name: 'ChatGPT (rotated)', document: CHATGPT_DOC, redirect: 'https://chatgpt.com/connector_platform_oauth_redirect', scope: challengeScope,
      auth: (fields, d) => ({ ...fields, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion(chatgptKey, CHATGPT_DOC.client_id, d.issuer) }),
    });
    assert.ok(s.tokens.access_token);
    assert.equal(hosts.hits.get(JWKS_URL), before + 1, 'fetched once more, then cached');
  });

  test('ChatGPT per connector: its document and callback', async () => {
    const s = await connect(w, {
      name: 'ChatGPT (connector)', document: CHATGPT_CONNECTOR_DOC, redirect: `https://chatgpt.com/connector/oauth/${CONNECTOR}`, scope: challengeScope,
      auth: (fields, d) => ({ ...fields, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion(chatgptKey, CHATGPT_CONNECTOR_DOC.client_id, d.issuer) }),
    });
    await refreshTwice(w, s, 'ChatGPT (connector)');
  });

  test('a metadata host that is down or failing is a 502 page naming it; nothing is written to KV', async () => {
    hosts.served.set('https://down.example/client.json', () => new Response('upstream failure', { status: 503 }));
    hosts.served.set('https://slow.example/client.json', () => { throw new Error('connection refused'); });
    for (const [id, host] of [['https://down.example/client.json', 'down.example'], ['https://slow.example/client.json', 'slow.example']]) {
      const q = new URLSearchParams({ response_type: 'code', client_id: id, redirect_uri: 'https://down.example/cb', code_challenge: pkcePair().challenge, code_challenge_method: 'S256' });
      const r = await fetch(`${w.url}/authorize?${q}`, { headers: { accept: 'text/html' } });
      assert.equal(r.status, 502, id);
      const html = await r.text();
      assert.match(html, new RegExp(`metadata at ${host.replace('.', '\\.')} `), 'names the host');
      assert.doesNotMatch(html, /client\.json/, 'but not the URL');
    }
  });
});

describe('ChatGPT when private_key_jwt is switched off', () => {
  let standin;
  let w;
  const hosts = clientHosts();
  before(async () => {
    standin = await startStandin();
    w = await startWorker({ bindings: completeBindings(standin.url, { PRIVATE_KEY_JWT: 'false' }), outbound: hosts.outbound, countKv: true });
    hosts.served.set(CHATGPT_DOC.client_id, CHATGPT_DOC);
  });
  after(async () => { await w?.close(); await standin?.close(); });

  test('the metadata does not advertise it, and ChatGPT logs in and refreshes with none and PKCE', async () => {
    const chatgpt = {
      name: 'ChatGPT (none)', document: CHATGPT_DOC, redirect: 'https://chatgpt.com/connector_platform_oauth_redirect', scope: (d) => d.scope,
      // ChatGPT authenticates with an assertion only when the server advertises private_key_jwt.
      auth: (fields, d) => (d.as.token_endpoint_auth_methods_supported.includes('private_key_jwt') ? assert.fail('advertised') : fields),
    };
    const s = await connect(w, chatgpt);
    await refreshTwice(w, s, 'ChatGPT (none)');
    assert.equal(hosts.hits.get(JWKS_URL) ?? 0, 0, 'no key set fetched');
    const a = await fetch(`${w.url}/token`, form({ grant_type: 'refresh_token', refresh_token: s.tokens.refresh_token, client_id: CHATGPT_DOC.client_id, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: 'x.y.z' }));
    assert.deepEqual([a.status, (await a.json()).error], [401, 'invalid_client'], 'an assertion is refused, not ignored');
  });

  test('anonymous metadata-document traffic writes nothing to KV', async () => {
    const before = await w.kvOps();
    for (let i = 0; i < 5; i++) {
      const q = new URLSearchParams({ response_type: 'code', client_id: CHATGPT_DOC.client_id, redirect_uri: CHATGPT_DOC.redirect_uris[0], code_challenge: pkcePair().challenge, code_challenge_method: 'S256' });
      assert.equal((await fetch(`${w.url}/authorize?${q}`, { headers: { accept: 'text/html' } })).status, 200);
      await (await fetch(`${w.url}/token`, form({ grant_type: 'authorization_code', code: 'junk', client_id: CHATGPT_DOC.client_id }))).text();
    }
    const after = await w.kvOps();
    assert.equal(after.put - before.put, 0);
  });
});

describe('metadata documents switched off (DISABLE_METADATA_DOCUMENTS)', () => {
  let standin;
  let w;
  const hosts = clientHosts();
  before(async () => {
    standin = await startStandin();
    w = await startWorker({ bindings: completeBindings(standin.url, { DISABLE_METADATA_DOCUMENTS: 'true' }), outbound: hosts.outbound });
    hosts.served.set(CLAUDE_DOC.client_id, CLAUDE_DOC);
  });
  after(async () => { await w?.close(); await standin?.close(); });

  test('not advertised, unknown at /authorize and /token, nothing fetched; Claude falls back to registering', async () => {
    const d = await discover(w.url);
    assert.equal(d.as.client_id_metadata_document_supported, undefined);
    assert.ok(!d.as.token_endpoint_auth_methods_supported.includes('private_key_jwt'));
    const q = new URLSearchParams({ response_type: 'code', client_id: CLAUDE_DOC.client_id, redirect_uri: CLAUDE_DOC.redirect_uris[0], code_challenge: pkcePair().challenge, code_challenge_method: 'S256' });
    const page = await fetch(`${w.url}/authorize?${q}`, { headers: { accept: 'text/html' } });
    assert.equal(page.status, 400);
    assert.match(await page.text(), /Unknown application/);
    const token = await fetch(`${w.url}/token`, form({ grant_type: 'refresh_token', refresh_token: 'x', client_id: CLAUDE_DOC.client_id }));
    assert.deepEqual([token.status, (await token.json()).error], [401, 'invalid_client']);
    assert.equal(hosts.hits.size, 0, 'no document fetched');
    const fallback = {
      name: 'Claude (DCR)', redirect: 'https://claude.ai/api/mcp/auth_callback', scope: (x) => x.scope,
      registration: { client_name: 'Claude', redirect_uris: ['https://claude.ai/api/mcp/auth_callback'], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_post' },
      auth: (fields, _d, secret) => ({ ...fields, client_secret: secret }),
    };
    await refreshTwice(w, await connect(w, fallback), 'Claude (DCR)');
  });
});
