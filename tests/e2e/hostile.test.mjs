// The hostile-input suite: requests an attacker (a malicious client, a page in the person's
// browser, anyone on the network) would send, each with the exact status and error the
// protocol defines. None may produce a 5xx; after the whole table the Worker still serves a
// normal login, so no input aborted the wasm instance. The threat each group answers is in
// SECURITY.md.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { startWithStandin, TEST_SECRET_KEY } from '../support/worker.mjs';
import { DEFAULT_USER } from '../support/discord-standin.mjs';
import { CALLBACK, Jar, browse, consentForm, login, pkcePair, registerClient } from '../support/oauth.mjs';

const b64 = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const derive = (secret, purpose) => createHmac('sha256', secret).update(`mcp-oauth-worker/v1/${purpose}`).digest();
const ACCESS_KEY = derive(TEST_SECRET_KEY, 'oauth/access-token');

/** An HS256 JWT signed with `key` (the server's own derived key unless told otherwise). */
function jwt(claims, { key = ACCESS_KEY, header = { alg: 'HS256', typ: 'at+jwt' } } = {}) {
  const head = `${b64(header)}.${b64(claims)}`;
  return `${head}.${createHmac('sha256', key).update(head).digest('base64url')}`;
}

const JSON_ACCEPT = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/** Every case: one request and what must come back. */
const cases = [];
const add = (group, name, req, expect) => cases.push({ group, name, req, expect });

describe('hostile input', () => {
  let both;
  let w;
  let good; // a real login: client, tokens
  before(async () => {
    both = await startWithStandin();
    w = both.worker;
    good = await login(w.url, { scope: 'mcp profile' });
  });
  after(() => both?.close());

  function claims(extra = {}) {
    const now = Math.floor(Date.now() / 1000);
    return {
      iss: w.url, aud: `${w.url}/mcp`, sub: DEFAULT_USER.id, client_id: good.client.client_id, scope: 'mcp profile',
      jti: 'j', gid: 'AAAAAAAAAAAAAAAAAAAAAA', discord: { id: DEFAULT_USER.id, username: 'nelly' },
      iat: now, nbf: now, exp: now + 600, ...extra,
    };
  }

  async function send({ method = 'GET', path, headers = {}, body }) {
    const res = await fetch(`${w.url}${path}`, { method, headers, body, redirect: 'manual' });
    const text = await res.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* HTML or empty */ }
    return { res, text, json };
  }

  const mcpBody = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { message: 'x' } } });
  const bearer = (token) => ({ method: 'POST', path: '/mcp', headers: { ...JSON_ACCEPT, 'mcp-protocol-version': '2025-11-25', authorization: `Bearer ${token}` }, body: mcpBody });
  const invalidToken = (description) => ({ status: 401, error: 'invalid_token', description, challenge: /error="invalid_token"/ });

  test('the table', async () => {
    // ---- Access tokens (forged, altered, expired, for someone else) ----------------------
    const t = 'access tokens';
    add(t, 'alg none', () => bearer(`${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(claims())}.`), invalidToken('The access token signature is invalid'));
    add(t, 'alg none with a signature', () => bearer(jwt(claims(), { header: { alg: 'none' } })), invalidToken('The access token signature is invalid'));
    add(t, 'HS512 header over an HS256 signature', () => bearer(jwt(claims(), { header: { alg: 'HS512' } })), invalidToken('The access token signature is invalid'));
    add(t, 'RS256 header', () => bearer(jwt(claims(), { header: { alg: 'RS256' } })), invalidToken('The access token signature is invalid'));
    add(t, 'signed with another SECRET_KEY', () => bearer(jwt(claims(), { key: derive('another-secret-key-0123456789-abcdefghijk', 'oauth/access-token') })), invalidToken('The access token signature is invalid'));
    add(t, 'signed with the raw SECRET_KEY, not the derived key', () => bearer(jwt(claims(), { key: TEST_SECRET_KEY })), invalidToken('The access token signature is invalid'));
    add(t, 'signed with the key of another purpose', () => bearer(jwt(claims(), { key: derive(TEST_SECRET_KEY, 'oauth/refresh-token') })), invalidToken('The access token signature is invalid'));
    add(t, 'claims altered after signing', () => {
      const [h, , s] = good.tokens.access_token.split('.');
      return bearer(`${h}.${b64(claims({ sub: '1' }))}.${s}`);
    }, invalidToken('The access token signature is invalid'));
    add(t, 'signature stripped', () => bearer(good.tokens.access_token.split('.').slice(0, 2).join('.') + '.'), invalidToken('The access token signature is invalid'));
    add(t, 'expired', () => bearer(jwt(claims({ iat: 1, nbf: 1, exp: 2 }))), invalidToken('The access token has expired'));
    add(t, 'expired 10 s ago (leeway is 5 s)', () => { const n = Math.floor(Date.now() / 1000); return bearer(jwt(claims({ iat: n - 100, nbf: n - 100, exp: n - 10 }))); }, invalidToken('The access token has expired'));
    add(t, 'not yet valid', () => { const n = Math.floor(Date.now() / 1000); return bearer(jwt(claims({ nbf: n + 3600 }))); }, invalidToken('The access token is not valid yet'));
    add(t, 'issued in the future', () => { const n = Math.floor(Date.now() / 1000); return bearer(jwt(claims({ iat: n + 3600 }))); }, invalidToken('The access token is not valid yet'));
    add(t, 'no exp', () => { const c = claims(); delete c.exp; return bearer(jwt(c)); }, invalidToken('The access token is malformed'));
    add(t, 'wrong audience', () => bearer(jwt(claims({ aud: 'https://other.example/mcp' }))), invalidToken('The access token is for another resource'));
    add(t, 'audience of the base URL', () => bearer(jwt(claims({ aud: w.url }))), invalidToken('The access token is for another resource'));
    add(t, 'wrong issuer', () => bearer(jwt(claims({ iss: 'https://evil.example' }))), invalidToken('The access token was issued by another server'));
    add(t, 'claims of the wrong types', () => bearer(jwt(claims({ scope: ['mcp'] }))), invalidToken('The access token is malformed'));
    add(t, 'missing grant id', () => { const c = claims(); delete c.gid; return bearer(jwt(c)); }, invalidToken('The access token is malformed'));
    add(t, 'garbage', () => bearer('garbage'), invalidToken('The access token is malformed'));
    add(t, 'two dots only', () => bearer('..'), invalidToken('The access token is malformed'));
    add(t, 'three segments of junk', () => bearer('a.b.c'), invalidToken('The access token is malformed'));
    add(t, 'non-ASCII', () => ({ ...bearer('x'), headers: { ...bearer('x').headers, authorization: 'Bearer %E2%98%83.%E2%98%83.%E2%98%83' } }), invalidToken('The access token is malformed'));
    add(t, '16 KB token', () => bearer('A'.repeat(16_000)), invalidToken('The access token is malformed'));
    add(t, 'a refresh token used as an access token', () => bearer(good.tokens.refresh_token), invalidToken('The access token is malformed'));
    add(t, 'Basic scheme', () => ({ ...bearer('x'), headers: { ...bearer('x').headers, authorization: 'Basic dXNlcjpwYXNz' } }), invalidToken('Use the Bearer scheme'));
    add(t, 'Bearer without a token', () => ({ ...bearer('x'), headers: { ...bearer('x').headers, authorization: 'Bearer' } }), invalidToken('Use the Bearer scheme'));
    add(t, 'Bearer and spaces only', () => ({ ...bearer('x'), headers: { ...bearer('x').headers, authorization: 'Bearer    ' } }), invalidToken('Use the Bearer scheme'));
    add(t, 'no Authorization header', () => { const r = bearer('x'); delete r.headers.authorization; return r; }, { status: 401, error: 'invalid_request', challenge: /resource_metadata=/ });
    add(t, 'token in the query string is not read', () => { const r = bearer('x'); delete r.headers.authorization; return { ...r, path: `/mcp?access_token=${good.tokens.access_token}` }; }, { status: 401, error: 'invalid_request' });

    // ---- Registration: redirect URIs and metadata --------------------------------------
    const r = 'registration';
    const reg = (meta) => () => ({ method: 'POST', path: '/register', headers: { 'content-type': 'application/json' }, body: typeof meta === 'string' ? meta : JSON.stringify({ token_endpoint_auth_method: 'none', ...meta }) });
    const badRedirect = { status: 400, error: 'invalid_redirect_uri' };
    for (const uri of [
      'javascript:alert(1)', 'JavaScript:alert(1)', 'data:text/html,<script>alert(1)</script>', 'file:///etc/passwd',
      'vbscript:msgbox(1)', 'about:blank', 'blob:https://a.example/x', 'ftp://a.example/cb', 'http://evil.example/cb',
      'http://127.0.0.1.evil.example/cb', 'https://user@a.example/cb', 'https://user:pw@a.example/cb', 'https://a.example/cb#frag',
      'https://a.example/cb#', '/relative/cb', 'cb', '', ' https://a.example/cb', 'https://a.example/c b', 'https://a.example/cb\r\nX: y',
      `https://a.example/${'x'.repeat(2100)}`, 'https://', 'https:///cb', 'ws://a.example/cb', 'mailto:a@a.example',
    ]) {
      add(r, `redirect URI ${JSON.stringify(uri).slice(0, 60)}`, reg({ redirect_uris: [uri] }), badRedirect);
    }
    add(r, 'no redirect URIs', reg({ redirect_uris: [] }), badRedirect);
    add(r, 'redirect URIs not a list', reg({ redirect_uris: 'https://a.example/cb' }), { status: 400, error: 'invalid_client_metadata' });
    add(r, 'eleven redirect URIs', reg({ redirect_uris: Array.from({ length: 11 }, (_, i) => `https://a.example/${i}`) }), badRedirect);
    add(r, 'client_name with control characters', reg({ redirect_uris: [CALLBACK], client_name: 'a\u0000b' }), { status: 400, error: 'invalid_client_metadata' });
    add(r, 'client_name with CRLF', reg({ redirect_uris: [CALLBACK], client_name: 'a\r\nSet-Cookie: x=1' }), { status: 400, error: 'invalid_client_metadata' });
    add(r, 'client_name of 10 000 characters', reg({ redirect_uris: [CALLBACK], client_name: 'x'.repeat(10_000) }), { status: 400, error: 'invalid_client_metadata' });
    add(r, 'client_name not a string', reg({ redirect_uris: [CALLBACK], client_name: { html: '<b>' } }), { status: 400, error: 'invalid_client_metadata' });
    add(r, 'client_uri javascript:', reg({ redirect_uris: [CALLBACK], client_uri: 'javascript:alert(1)' }), { status: 400, error: 'invalid_client_metadata' });
    add(r, 'client_uri http', reg({ redirect_uris: [CALLBACK], client_uri: 'http://a.example' }), { status: 400, error: 'invalid_client_metadata' });
    add(r, 'unsupported grant type', reg({ redirect_uris: [CALLBACK], grant_types: ['client_credentials'] }), { status: 400, error: 'invalid_client_metadata' });
    add(r, 'implicit response type', reg({ redirect_uris: [CALLBACK], response_types: ['token'] }), { status: 400, error: 'invalid_client_metadata' });
    add(r, 'unknown auth method', reg({ redirect_uris: [CALLBACK], token_endpoint_auth_method: 'private_key_jwt' }), { status: 400, error: 'invalid_client_metadata' });
    add(r, 'a JSON array', reg('[]'), { status: 400, error: 'invalid_client_metadata' });
    add(r, 'truncated JSON', reg('{"redirect_uris": ["https://a.ex'), { status: 400, error: 'invalid_client_metadata' });
    add(r, 'not JSON at all', reg('redirect_uris=https://a.example/cb'), { status: 400, error: 'invalid_client_metadata' });
    add(r, 'form content type', () => ({ ...reg({ redirect_uris: [CALLBACK] })(), headers: FORM }), { status: 400, error: 'invalid_client_metadata' });
    add(r, 'a body over 1 MiB', reg({ redirect_uris: [CALLBACK], pad: 'x'.repeat(1_100_000) }), { status: 413, error: 'invalid_client_metadata' });
    add(r, 'a body of 70 KB (over the 64 KiB OAuth limit)', reg({ redirect_uris: [CALLBACK], pad: 'x'.repeat(70_000) }), { status: 413, error: 'invalid_client_metadata' });
    add(r, 'deeply nested JSON', reg(`{"redirect_uris":["${CALLBACK}"],"x":${'['.repeat(5000)}${']'.repeat(5000)}}`), { status: 400, error: 'invalid_client_metadata' });

    // ---- Authorization requests ---------------------------------------------------------
    const a = 'authorize';
    const authz = (extra, drop = []) => () => {
      const { challenge } = pkcePair();
      const q = { response_type: 'code', client_id: good.client.client_id, redirect_uri: CALLBACK, code_challenge: challenge, code_challenge_method: 'S256', state: 'st', ...extra };
      for (const k of drop) delete q[k];
      return { path: `/authorize?${new URLSearchParams(q)}`, headers: { accept: 'text/html' } };
    };
    const page = (title) => ({ status: 400, html: title, noLocation: true });
    // A registered client's redirect URI was vetted by nobody: errors are a page with a link
    // back, never an automatic redirect (RFC 9700 §4.11.2).
    const back = (error) => ({ status: 400, html: 'Invalid request from the application', noLocation: true, link: { error, state: 'st', iss: true } });
    add(a, 'no client_id', authz({}, ['client_id']), page('Unknown application'));
    add(a, 'forged client_id', authz({ client_id: 'mcpc1.eyJyIjpbImh0dHBzOi8vZXZpbC5leGFtcGxlL2NiIl19.AAAAAAAAAAAAAAAAAAAAAA' }), page('Unknown application'));
    add(a, 'client_id with its signature cut', authz({ client_id: good.client.client_id.slice(0, -4) }), page('Unknown application'));
    add(a, 'client_id of 20 KB', authz({ client_id: `mcpc1.${'A'.repeat(20_000)}.x` }), page('Unknown application'));
    for (const uri of ['https://evil.example/cb', 'http://127.0.0.1:9/callback/../evil', 'http://127.0.0.1:9/callbackx', 'http://127.0.0.1:9/callback?x=1', 'http://127.0.0.1:9/callback#x', 'http://localhost:9/callback', 'http://127.0.0.1@evil.example:9/callback', 'http://127.0.0.1:9/Callback', 'http://127.0.0.1:9/callback%2F..%2Fevil', 'javascript://127.0.0.1:9/callback']) {
      add(a, `redirect_uri ${uri}`, authz({ redirect_uri: uri }), page('Invalid redirect URI'));
    }
    add(a, 'a parameter twice', () => ({ path: `${authz({})().path}&state=again`, headers: { accept: 'text/html' } }), page('Invalid request'));
    add(a, 'state over 512 characters', authz({ state: 's'.repeat(600) }), page('Invalid request'));
    add(a, 'no PKCE challenge', authz({}, ['code_challenge', 'code_challenge_method']), back('invalid_request'));
    add(a, 'PKCE plain', authz({ code_challenge_method: 'plain' }), back('invalid_request'));
    add(a, 'PKCE method missing', authz({}, ['code_challenge_method']), back('invalid_request'));
    add(a, 'PKCE challenge too short', authz({ code_challenge: 'abc' }), back('invalid_request'));
    add(a, 'PKCE challenge with bad characters', authz({ code_challenge: '!'.repeat(43) }), back('invalid_request'));
    add(a, 'response_type token', authz({ response_type: 'token' }), back('unsupported_response_type'));
    add(a, 'no response_type', authz({}, ['response_type']), back('unsupported_response_type'));
    add(a, 'unknown scope is left out, not repeated on a page', authz({ scope: 'mcp admin\u202Ecall +1-555-0100' }), { status: 200, noBody: /555-0100/ });
    add(a, 'resource of another server', authz({ resource: 'https://evil.example/mcp' }), back('invalid_target'));
    add(a, 'resource with another path', authz({ resource: `${'http://127.0.0.1:1'}/mcp` }), back('invalid_target'));
    add(a, 'state with CRLF is carried encoded, never as a header', authz({ state: 'st\r\nSet-Cookie: pwned=1' }), { status: 200, noSetCookie: /pwned/ });

    // ---- Consent form (CSRF, stale, foreign) ---------------------------------------------
    const c = 'consent';
    let consent; // { fields, cookie }
    const decide = (fields, headers = {}) => () => ({ method: 'POST', path: '/authorize', headers: { ...FORM, 'sec-fetch-site': 'same-origin', accept: 'text/html', ...headers }, body: new URLSearchParams(fields).toString() });
    add(c, 'no CSRF token', () => decide({ request: consent.fields.request, decision: 'approve' }, { cookie: consent.cookie })(), { status: 403, html: 'Request refused' });
    add(c, 'wrong CSRF token', () => decide({ ...consent.fields, csrf: 'A'.repeat(22), decision: 'approve' }, { cookie: consent.cookie })(), { status: 403, html: 'Request refused' });
    add(c, 'no CSRF cookie', () => decide({ ...consent.fields, decision: 'approve' })(), { status: 403, html: 'Request refused' });
    add(c, 'CSRF cookie of another client', () => decide({ ...consent.fields, decision: 'approve' }, { cookie: consent.otherCookie })(), { status: 403, html: 'Request refused' });
    add(c, 'cross-site post', () => decide({ ...consent.fields, decision: 'approve' }, { cookie: consent.cookie, 'sec-fetch-site': 'cross-site' })(), { status: 403, html: 'Request refused' });
    add(c, 'same-site (another subdomain) post', () => decide({ ...consent.fields, decision: 'approve' }, { cookie: consent.cookie, 'sec-fetch-site': 'same-site' })(), { status: 403, html: 'Request refused' });
    add(c, 'tampered request', () => decide({ ...consent.fields, request: `${consent.fields.request.slice(0, -3)}AAA`, decision: 'approve' }, { cookie: consent.cookie })(), { status: 400, html: 'This page has expired' });
    add(c, 'no request', () => decide({ csrf: consent.fields.csrf, decision: 'approve' }, { cookie: consent.cookie })(), { status: 400, html: 'This page has expired' });
    add(c, 'a form over 64 KiB', () => ({ ...decide({ ...consent.fields, decision: 'approve' }, { cookie: consent.cookie })(), body: `${new URLSearchParams({ ...consent.fields, decision: 'approve' })}&pad=${'x'.repeat(70_000)}` }), { status: 413, html: 'Request too large' });
    add(c, 'a field twice', () => ({ ...decide({ ...consent.fields, decision: 'approve' }, { cookie: consent.cookie })(), body: `${new URLSearchParams({ ...consent.fields, decision: 'approve' })}&decision=deny` }), { status: 400, html: 'Invalid request' });

    // ---- The Discord callback ---------------------------------------------------------------
    const d = 'callback';
    add(d, 'no login cookie', () => ({ path: '/redirect?code=x&state=y', headers: { accept: 'text/html' } }), { status: 400, html: 'Login expired' });
    add(d, 'state of another login', () => ({ path: '/redirect?code=x&state=forged', headers: { accept: 'text/html', cookie: consent.pendingCookie } }), { status: 400, html: 'Login refused' });
    add(d, 'forged login cookie', () => ({ path: '/redirect?code=x&state=y', headers: { accept: 'text/html', cookie: '__Host-pending=AAAA' } }), { status: 400, html: 'Login expired' });

    // ---- Token endpoint ---------------------------------------------------------------------
    const k = 'token';
    const tok = (fields, headers = FORM) => () => ({ method: 'POST', path: '/token', headers, body: new URLSearchParams(fields).toString() });
    const cid = () => good.client.client_id;
    add(k, 'no client', tok({ grant_type: 'authorization_code', code: 'x' }), { status: 401, error: 'invalid_client' });
    add(k, 'unknown client', tok({ client_id: 'nobody', grant_type: 'authorization_code', code: 'x' }), { status: 401, error: 'invalid_client' });
    add(k, 'garbage code', () => tok({ client_id: cid(), grant_type: 'authorization_code', code: 'garbage', code_verifier: 'v'.repeat(43) })(), { status: 400, error: 'invalid_grant' });
    add(k, 'no code', () => tok({ client_id: cid(), grant_type: 'authorization_code' })(), { status: 400, error: 'invalid_request' });
    add(k, 'no grant_type', () => tok({ client_id: cid() })(), { status: 400, error: 'invalid_request' });
    add(k, 'client_credentials', () => tok({ client_id: cid(), grant_type: 'client_credentials' })(), { status: 400, error: 'unsupported_grant_type' });
    add(k, 'password grant', () => tok({ client_id: cid(), grant_type: 'password', username: 'a', password: 'b' })(), { status: 400, error: 'unsupported_grant_type' });
    add(k, 'JSON body', () => ({ method: 'POST', path: '/token', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_id: cid(), grant_type: 'refresh_token' }) }), { status: 400, error: 'invalid_request' });
    add(k, 'no content type', () => ({ method: 'POST', path: '/token', headers: {}, body: 'grant_type=refresh_token' }), { status: 400, error: 'invalid_request' });
    add(k, 'a parameter twice', () => ({ ...tok({})(), body: `client_id=${encodeURIComponent(cid())}&grant_type=refresh_token&grant_type=authorization_code` }), { status: 400, error: 'invalid_request' });
    add(k, 'client_id differs between header and body', () => tok({ client_id: cid(), grant_type: 'refresh_token' }, { ...FORM, authorization: `Basic ${Buffer.from('other:x').toString('base64')}` })(), { status: 401, error: 'invalid_client' });
    add(k, 'malformed Basic', () => tok({ grant_type: 'refresh_token' }, { ...FORM, authorization: 'Basic !!!' })(), { status: 401, error: 'invalid_client' });
    add(k, 'Basic without a colon', () => tok({ grant_type: 'refresh_token' }, { ...FORM, authorization: `Basic ${Buffer.from('nocolon').toString('base64')}` })(), { status: 401, error: 'invalid_client' });
    add(k, 'garbage refresh token', () => tok({ client_id: cid(), grant_type: 'refresh_token', refresh_token: 'garbage' })(), { status: 400, error: 'invalid_grant' });
    add(k, 'forged refresh token', () => tok({ client_id: cid(), grant_type: 'refresh_token', refresh_token: `mcpr1.${DEFAULT_USER.id}.AAAAAAAAAAAAAAAAAAAAAA.0.${b64('x'.repeat(32))}` })(), { status: 400, error: 'invalid_grant' });
    add(k, 'refresh token with a generation bumped', () => tok({ client_id: cid(), grant_type: 'refresh_token', refresh_token: good.tokens.refresh_token.replace(/\.0\./, '.1.') })(), { status: 400, error: 'invalid_grant' });
    add(k, 'an access token as refresh token', () => tok({ client_id: cid(), grant_type: 'refresh_token', refresh_token: good.tokens.access_token })(), { status: 400, error: 'invalid_grant' });
    add(k, 'no refresh_token', () => tok({ client_id: cid(), grant_type: 'refresh_token' })(), { status: 400, error: 'invalid_request' });
    add(k, 'refresh for another resource', () => tok({ client_id: cid(), grant_type: 'refresh_token', refresh_token: good.tokens.refresh_token, resource: 'https://evil.example/mcp' })(), { status: 400, error: 'invalid_grant' });
    add(k, 'a body over 1 MiB', () => ({ ...tok({})(), body: `client_id=${'x'.repeat(1_100_000)}` }), { status: 413, error: 'invalid_request' });
    add(k, 'a body of 70 KB', () => ({ ...tok({})(), body: `client_id=${'x'.repeat(70_000)}` }), { status: 413, error: 'invalid_request' });

    // ---- Revocation and introspection -----------------------------------------------------
    const v = 'revoke and introspect';
    add(v, 'revoke without a client', () => ({ method: 'POST', path: '/revoke', headers: FORM, body: 'token=x' }), { status: 401, error: 'invalid_client' });
    add(v, 'revoke without a token', () => ({ method: 'POST', path: '/revoke', headers: FORM, body: `client_id=${encodeURIComponent(cid())}` }), { status: 400, error: 'invalid_request' });
    add(v, 'revoke a forged token', () => ({ method: 'POST', path: '/revoke', headers: FORM, body: `client_id=${encodeURIComponent(cid())}&token=mcpr1.1.AAAAAAAAAAAAAAAAAAAAAA.0.x` }), { status: 200, empty: true });
    add(v, 'revoke with JSON', () => ({ method: 'POST', path: '/revoke', headers: { 'content-type': 'application/json' }, body: '{}' }), { status: 400, error: 'invalid_request' });
    add(v, 'introspect as a public client', () => ({ method: 'POST', path: '/introspect', headers: FORM, body: `client_id=${encodeURIComponent(cid())}&token=${good.tokens.access_token}` }), { status: 401, error: 'invalid_client' });
    add(v, 'introspect without a client', () => ({ method: 'POST', path: '/introspect', headers: FORM, body: 'token=x' }), { status: 401, error: 'invalid_client' });

    // ---- JSON-RPC on /mcp ---------------------------------------------------------------------
    const j = 'json-rpc';
    const rpc = (body, headers = {}) => () => ({ method: 'POST', path: '/mcp', headers: { ...JSON_ACCEPT, 'mcp-protocol-version': '2025-11-25', authorization: `Bearer ${good.tokens.access_token}`, ...headers }, body });
    const rpcError = (status, code) => ({ status, rpc: code });
    add(j, 'empty body', rpc(''), rpcError(400, -32700));
    add(j, 'truncated', rpc('{"jsonrpc":"2.0","id":1,"method":"pi'), rpcError(400, -32700));
    add(j, 'trailing garbage', rpc('{"jsonrpc":"2.0","id":1,"method":"ping"} x'), rpcError(400, -32700));
    add(j, 'nested 100 000 deep', rpc(`${'['.repeat(100_000)}${']'.repeat(100_000)}`), rpcError(400, -32700));
    add(j, 'nested objects 10 000 deep in params', rpc(`{"jsonrpc":"2.0","id":1,"method":"ping","params":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`), rpcError(400, -32700));
    add(j, 'invalid UTF-8', () => ({ ...rpc('')(), body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) }), rpcError(400, -32700));
    add(j, 'a number', rpc('42'), rpcError(400, -32600));
    add(j, 'a string', rpc('"ping"'), rpcError(400, -32600));
    add(j, 'null', rpc('null'), rpcError(400, -32600));
    add(j, 'jsonrpc 1.0', rpc('{"jsonrpc":"1.0","id":1,"method":"ping"}'), rpcError(400, -32600));
    add(j, 'no jsonrpc', rpc('{"id":1,"method":"ping"}'), rpcError(400, -32600));
    add(j, 'method a number', rpc('{"jsonrpc":"2.0","id":1,"method":7}'), rpcError(400, -32600));
    add(j, 'id an object', rpc('{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}'), rpcError(400, -32600));
    add(j, 'id an array', rpc('{"jsonrpc":"2.0","id":[1],"method":"ping"}'), rpcError(400, -32600));
    add(j, 'id a float', rpc('{"jsonrpc":"2.0","id":1.5,"method":"ping"}'), rpcError(400, -32600));
    add(j, 'params an array (valid JSON-RPC, not MCP)', rpc('{"jsonrpc":"2.0","id":1,"method":"ping","params":[1]}'), rpcError(400, -32602));
    add(j, 'params a string', rpc('{"jsonrpc":"2.0","id":1,"method":"tools/list","params":"x"}'), rpcError(400, -32600));
    add(j, 'unknown method', rpc('{"jsonrpc":"2.0","id":1,"method":"admin/shutdown"}'), rpcError(200, -32601));
    add(j, 'method with a NUL', rpc('{"jsonrpc":"2.0","id":1,"method":"tools/li\\u0000st"}'), rpcError(200, -32601));
    add(j, 'tools/call without a name', rpc('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}'), rpcError(200, -32602));
    add(j, 'tools/call of an unknown tool', rpc('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"rm -rf"}}'), rpcError(200, -32602));
    add(j, 'arguments an array', rpc('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":[]}}'), rpcError(200, -32602));
    add(j, 'arguments of the wrong type', rpc('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"a":"1","b":2}}}'), { status: 200, toolError: /argument `a`/ });
    add(j, 'a batch in 2025-11-25', rpc('[{"jsonrpc":"2.0","id":1,"method":"ping"}]'), rpcError(400, -32600));
    add(j, 'an empty batch in 2025-03-26', rpc('[]', { 'mcp-protocol-version': '2025-03-26' }), rpcError(400, -32600));
    add(j, 'a batch of 33 in 2025-03-26', rpc(JSON.stringify(Array.from({ length: 33 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'ping' }))), { 'mcp-protocol-version': '2025-03-26' }), rpcError(400, -32600));
    add(j, 'an unknown protocol version', rpc('{"jsonrpc":"2.0","id":1,"method":"ping"}', { 'mcp-protocol-version': '1999-01-01' }), rpcError(400, -32600));
    add(j, 'a body over 1 MiB', rpc(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { message: 'x'.repeat(1_100_000) } } })), rpcError(413, -32600));
    add(j, 'text/plain', rpc('{"jsonrpc":"2.0","id":1,"method":"ping"}', { 'content-type': 'text/plain' }), rpcError(415, -32600));
    add(j, 'form content type', rpc('{"jsonrpc":"2.0","id":1,"method":"ping"}', { 'content-type': 'application/x-www-form-urlencoded' }), rpcError(415, -32600));
    add(j, 'Accept text/html only', rpc('{"jsonrpc":"2.0","id":1,"method":"ping"}', { accept: 'text/html' }), rpcError(406, -32600));
    add(j, 'a foreign Origin', rpc('{"jsonrpc":"2.0","id":1,"method":"ping"}', { origin: 'https://evil.example' }), { status: 403 });
    add(j, 'Origin null', rpc('{"jsonrpc":"2.0","id":1,"method":"ping"}', { origin: 'null' }), { status: 403 });
    add(j, 'a forged session id', rpc('{"jsonrpc":"2.0","id":1,"method":"ping"}', { 'mcp-session-id': 'forged' }), rpcError(404, -32600));

    // ---- Wrong methods on every route ---------------------------------------------------------
    const m = 'methods';
    const routes = {
      '/': 'GET, HEAD, POST, OPTIONS', '/mcp': 'POST, OPTIONS', '/health': 'GET, HEAD, OPTIONS',
      '/.well-known/oauth-protected-resource': 'GET, HEAD, OPTIONS', '/.well-known/oauth-protected-resource/mcp': 'GET, HEAD, OPTIONS',
      '/.well-known/oauth-authorization-server': 'GET, HEAD, OPTIONS', '/register': 'POST, OPTIONS', '/authorize': 'GET, HEAD, POST, OPTIONS',
      '/redirect': 'GET, HEAD, OPTIONS', '/token': 'POST, OPTIONS', '/revoke': 'POST, OPTIONS', '/introspect': 'POST, OPTIONS',
    };
    for (const [path, allow] of Object.entries(routes)) {
      const wrong = ['PUT', 'DELETE', 'PATCH', 'GET', 'POST'].filter((x) => !allow.includes(x)).slice(0, 2);
      for (const method of wrong) {
        add(m, `${method} ${path}`, () => ({ method, path, headers: { accept: 'application/json' } }), { status: 405, error: 'method_not_allowed', allow });
      }
    }
    add(m, 'unknown path', () => ({ path: '/admin', headers: { accept: 'application/json' } }), { status: 404, error: 'not_found' });
    add(m, 'path traversal', () => ({ path: '/%2e%2e/%2e%2e/etc/passwd', headers: { accept: 'application/json' } }), { status: 404, error: 'not_found' });
    add(m, 'a PROPFIND request', () => ({ method: 'PROPFIND', path: '/token', headers: { accept: 'application/json' } }), { status: 405, error: 'method_not_allowed' });

    // Collect the consent fixtures the consent and callback cases need: a real consent page.
    const jar = new Jar();
    const { challenge } = pkcePair();
    const q = new URLSearchParams({ response_type: 'code', client_id: good.client.client_id, redirect_uri: CALLBACK, code_challenge: challenge, code_challenge_method: 'S256', state: 'st' });
    const res = await fetch(`${w.url}/authorize?${q}`, { headers: { accept: 'text/html' } });
    jar.store(w.url, res);
    const other = await registerClient(w.url);
    const q2 = new URLSearchParams({ ...Object.fromEntries(q), client_id: other.client_id });
    const res2 = await fetch(`${w.url}/authorize?${q2}`, { headers: { accept: 'text/html' } });
    const otherCsrf = res2.headers.getSetCookie()[0].split(';')[0];
    await res2.text();
    const approve = await fetch(`${w.url}/authorize?${q}`, { headers: { accept: 'text/html' } });
    const form = consentForm(await approve.text());
    const cookie = approve.headers.getSetCookie()[0].split(';')[0];
    const approved = await fetch(`${w.url}/authorize`, { method: 'POST', redirect: 'manual', headers: { ...FORM, 'sec-fetch-site': 'same-origin', cookie }, body: new URLSearchParams({ ...form.fields, decision: 'approve' }) });
    const pendingCookie = approved.headers.getSetCookie().find((s) => s.startsWith('__Host-pending=')).split(';')[0];
    await res.text();
    consent = { fields: form.fields, cookie, otherCookie: otherCsrf, pendingCookie };

    assert.ok(cases.length >= 150, `${cases.length} cases`);
    const failures = [];
    for (const cse of cases) {
      const req = cse.req();
      // A failed exchange names its case (and why: reset, refused…), not just "fetch failed".
      const { res: out, text, json } = await send(req).catch((e) => {
        throw new Error(`[${cse.group}] ${cse.name}: ${req.method ?? 'GET'} ${req.path.slice(0, 120)}: ${e.message} (${e.cause?.code ?? e.cause?.message ?? 'no cause'})`);
      });
      const e = cse.expect;
      const why = [];
      if (out.status >= 500) why.push(`5xx: ${out.status}`);
      if (out.status !== e.status) why.push(`status ${out.status}, expected ${e.status}`);
      if (e.error && json?.error !== e.error) why.push(`error ${json?.error}, expected ${e.error}`);
      if (e.error && !json?.error_description && e.error !== 'method_not_allowed' && e.error !== 'not_found') why.push('no error_description');
      if (e.error && ['/token', '/register', '/revoke', '/introspect'].includes(req.path) && out.headers.get('cache-control') !== 'no-store') why.push('no Cache-Control: no-store');
      if (e.description && json?.error_description !== e.description) why.push(`description ${json?.error_description}`);
      if (e.challenge && !e.challenge.test(out.headers.get('www-authenticate') ?? '')) why.push(`challenge ${out.headers.get('www-authenticate')}`);
      if (e.rpc !== undefined && json?.error?.code !== e.rpc) why.push(`rpc code ${json?.error?.code}, expected ${e.rpc}`);
      if (e.allow && out.headers.get('allow') !== e.allow) why.push(`allow ${out.headers.get('allow')}`);
      if (e.html && !(out.headers.get('content-type') ?? '').startsWith('text/html')) why.push('not HTML');
      if (e.html && !text.includes(e.html)) why.push(`page lacks "${e.html}"`);
      if (e.noLocation && out.headers.get('location')) why.push(`redirected to ${out.headers.get('location')}`);
      if (e.empty && text !== '') why.push(`body ${text.slice(0, 80)}`);
      if (e.toolError && !(json?.result?.isError && e.toolError.test(json.result.content[0].text))) why.push(`tool result ${text.slice(0, 120)}`);
      if (e.noSetCookie && (out.headers.getSetCookie().some((s) => e.noSetCookie.test(s)))) why.push('a header was injected');
      if (e.noBody && e.noBody.test(text)) why.push(`the page repeats the request: ${text.match(e.noBody)[0]}`);
      if (e.link) {
        const href = text.match(/<a href="([^"]+)">return to the application/)?.[1]?.replace(/&amp;/g, '&');
        const u = href ? new URL(href) : null;
        if (!u || !href.startsWith(CALLBACK)) why.push(`link ${href}`);
        else {
          if (u.searchParams.get('error') !== e.link.error) why.push(`link error ${u.searchParams.get('error')}`);
          if (u.searchParams.get('state') !== e.link.state) why.push('state not in the link');
          if (e.link.iss && u.searchParams.get('iss') !== w.url) why.push('no iss in the link');
        }
      }
      if (e.location) {
        const loc = out.headers.get('location');
        const u = loc ? new URL(loc) : null;
        if (!u || !loc.startsWith(CALLBACK)) why.push(`location ${loc}`);
        else {
          if (u.searchParams.get('error') !== e.location.error) why.push(`location error ${u.searchParams.get('error')}`);
          if (u.searchParams.get('state') !== e.location.state) why.push('state not echoed');
          if (e.location.iss && u.searchParams.get('iss') !== w.url) why.push('no iss');
        }
      }
      if (why.length) failures.push(`[${cse.group}] ${cse.name}: ${why.join('; ')}`);
    }
    assert.deepEqual(failures, [], `${failures.length} of ${cases.length} cases failed`);

    // Nothing above aborted the instance: a whole login still works.
    const after = await login(w.url);
    assert.ok(after.tokens.access_token);
    console.log(`# hostile cases: ${cases.length}`);
  });
});
