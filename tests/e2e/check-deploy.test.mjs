// `npm run check-deploy` against the repo's wrangler.toml and temp copies of it, with a stand-in
// for `wrangler secret list` (Cloudflare is out of reach here). No build needed.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT } from '../support/worker.mjs';

const SCRIPT = path.join(ROOT, 'scripts', 'check-deploy.mjs');
const REPO_TOML = readFileSync(path.join(ROOT, 'wrangler.toml'), 'utf8');
const PLACEHOLDER = '0'.repeat(32);
const KV_ID = '3f6c1e0d2b9a48c7a5e4d3c2b1a09f8e';
const REQUIRED = 'DISCORD_CLIENT_ID,DISCORD_CLIENT_SECRET,SECRET_KEY';
const baseUrlFix = (file) => `Fix: set DISCORD_BASE_URL = "https://discord.com" under [vars] in ${file}, or delete the line (that is the default)`;

const tmp = mkdtempSync(path.join(tmpdir(), 'check-deploy-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

// Answers like `wrangler secret list --format json`, from STANDIN_SECRETS, or fails with
// STANDIN_STDERR; logs its arguments to STANDIN_LOG.
const WRANGLER = path.join(tmp, 'wrangler.mjs');
writeFileSync(WRANGLER, `#!${process.execPath}
import { appendFileSync } from 'node:fs';
if (process.env.STANDIN_LOG) appendFileSync(process.env.STANDIN_LOG, JSON.stringify(process.argv.slice(2)) + '\\n');
if (process.env.STANDIN_STDERR) {
  process.stderr.write(process.env.STANDIN_STDERR);
  process.exit(1);
}
const names = process.env.STANDIN_SECRETS.split(',').filter(Boolean);
console.log(JSON.stringify(names.map((name) => ({ name, type: 'secret_text' })), null, '  '));
`);
chmodSync(WRANGLER, 0o755);

let files = 0;
/** A copy of the repo's wrangler.toml with a real-looking KV id and `vars` as its [vars] lines. */
function config(vars = 'DISCORD_BASE_URL = "https://discord.com"', edit = (text) => text) {
  const text = REPO_TOML.replace(`id = "${PLACEHOLDER}"`, `id = "${KV_ID}"`).replace(/^DISCORD_BASE_URL = .*$/m, vars);
  const file = path.join(tmp, `wrangler-${++files}.toml`);
  writeFileSync(file, edit(text));
  return file;
}

function check(args, env = {}) {
  const r = spawnSync(process.execPath, [SCRIPT, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, WRANGLER_BIN: WRANGLER, STANDIN_SECRETS: REQUIRED, ...env },
  });
  const lines = r.stdout.split('\n');
  return {
    status: r.status,
    out: r.stdout + r.stderr,
    errors: lines.filter((l) => l.startsWith('✗ ')),
    warnings: lines.filter((l) => l.startsWith('! ')),
    last: lines.filter(Boolean).at(-1),
  };
}

/** Checks a copy with these [vars] lines, without the secrets step. */
function checkVars(vars) {
  const file = config(vars);
  return { file, ...check(['--config', file, '--offline']) };
}

function assertOnlyError(r, expected) {
  assert.equal(r.status, 1, r.out);
  assert.equal(r.errors.length, 1, r.out);
  if (typeof expected === 'string') assert.equal(r.errors[0], expected);
  else assert.match(r.errors[0], expected);
  assert.match(r.last, /1 problem to fix before deploying\.$/);
}

test("the repo's wrangler.toml fails on the placeholder KV id alone", () => {
  const log = path.join(tmp, 'repo.log');
  const r = check([], { STANDIN_LOG: log });
  assertOnlyError(r, `✗ [[kv_namespaces]] OAUTH_KV still has the placeholder id ${PLACEHOLDER}. Fix: npx wrangler kv namespace create OAUTH_KV, then paste the id it prints into id = "…" under [[kv_namespaces]] in wrangler.toml`);
  assert.deepEqual(r.warnings, [], r.out);
  assert.deepEqual(JSON.parse(readFileSync(log, 'utf8')), ['secret', 'list', '--format', 'json', '--config', path.join(ROOT, 'wrangler.toml')]);
});

test('a complete configuration is ready to deploy', () => {
  const file = config();
  const log = path.join(tmp, 'complete.log');
  const r = check(['--config', file], { STANDIN_LOG: log, STANDIN_SECRETS: `${REQUIRED},OAUTH_CLIENTS` });
  assert.equal(r.status, 0, r.out);
  assert.deepEqual([r.errors, r.warnings], [[], []], r.out);
  assert.match(r.out, new RegExp(`^✓ OAUTH_KV is bound to KV namespace ${KV_ID}$`, 'm'));
  assert.match(r.out, /^✓ secrets set: DISCORD_CLIENT_ID, DISCORD_CLIENT_SECRET, SECRET_KEY, OAUTH_CLIENTS$/m);
  assert.match(r.last, /Ready to deploy: npm run deploy$/);
  assert.deepEqual(JSON.parse(readFileSync(log, 'utf8')), ['secret', 'list', '--format', 'json', '--config', file]);
});

test('wrangler.toml must parse, build first and point main at build/index.js', () => {
  const broken = path.join(tmp, 'broken.toml');
  writeFileSync(broken, 'name = "x"\nmain = \n');
  assertOnlyError(check(['--config', broken]), /^✗ .*broken\.toml is not valid TOML: .* at line 2, column \d+\. Fix: correct line 2 of /);
  assertOnlyError(check(['--config', path.join(tmp, 'absent.toml')]), /^✗ cannot read .*absent\.toml \(ENOENT\)\. Fix: /);

  const file = config(undefined, (t) => t.replace('main = "build/index.js"', 'main = "src/index.js"'));
  assertOnlyError(check(['--config', file, '--offline']), `✗ main is "src/index.js", but the build writes build/index.js. Fix: set main = "build/index.js" in ${file}`);
  const noBuild = config(undefined, (t) => t.replace(/^\[build\]\n(.+\n)+/m, ''));
  assertOnlyError(check(['--config', noBuild, '--offline']), `✗ [build] command is missing, so wrangler deploy would not build the Worker. Fix: add [build] with command = "node scripts/build.mjs" to ${noBuild}`);
  assert.equal(check(['--config', config(undefined, (t) => t.replace('"build/index.js"', '"./build/index.js"')), '--offline']).status, 0);
});

test('the OAUTH_KV binding needs a real namespace id', () => {
  const badId = config(undefined, (t) => t.replace(KV_ID, 'abc123'));
  assertOnlyError(check(['--config', badId, '--offline']), /^✗ \[\[kv_namespaces\]\] OAUTH_KV id "abc123" is not 32 hex characters\. Fix: npx wrangler kv namespace create OAUTH_KV, /);
  const none = config(undefined, (t) => t.replace('binding = "OAUTH_KV"', 'binding = "OTHER_KV"'));
  assertOnlyError(check(['--config', none, '--offline']), /^✗ no \[\[kv_namespaces\]\] entry with binding = "OAUTH_KV"\. Fix: npx wrangler kv namespace create OAUTH_KV, /);
});

test('DISCORD_BASE_URL must not point at a loopback or private address', () => {
  const cases = {
    'http://127.0.0.1:8788': '127.0.0.1',
    'https://localhost:8788': 'localhost',
    'https://app.localhost.': 'app.localhost.',
    'https://[::1]:9': '[::1]',
    'https://0.0.0.0': '0.0.0.0',
    'https://127.1': '127.0.0.1',
    'https://10.0.0.5': '10.0.0.5',
    'https://172.20.0.1': '172.20.0.1',
    'https://192.168.1.10': '192.168.1.10',
    'https://169.254.169.254': '169.254.169.254',
    'https://[::ffff:127.0.0.1]': '[::ffff:7f00:1]',
    'https://[fd12::1]': '[fd12::1]',
  };
  for (const [url, host] of Object.entries(cases)) {
    const r = checkVars(`DISCORD_BASE_URL = "${url}"`);
    assertOnlyError(r, `✗ DISCORD_BASE_URL points at ${host}, a loopback or private address the deployed Worker cannot reach. ${baseUrlFix(r.file)}`);
  }
  for (const url of ['https://proxy.example/discord/', 'https://172.32.0.1', 'https://100.128.0.1']) {
    assert.equal(checkVars(`DISCORD_BASE_URL = "${url}"`).status, 0, url);
  }
});

test('DISCORD_BASE_URL must be https, with no credentials, query or fragment', () => {
  const cases = {
    'http://discord.com': 'must be https, not http',
    'ftp://discord.com': 'must be https, not ftp',
    'discord.com': 'is not an absolute URL',
    'https://user:pw@discord.com': 'must not contain credentials',
    'https://discord.com/?': 'must not have a query or fragment',
    'https://discord.com/#f': 'must not have a query or fragment',
  };
  for (const [url, why] of Object.entries(cases)) {
    const r = checkVars(`DISCORD_BASE_URL = "${url}"`);
    assertOnlyError(r, `✗ DISCORD_BASE_URL ${why}. ${baseUrlFix(r.file)}`);
  }
});

test('LOCAL_ONLY must be off in the deployed vars', () => {
  for (const on of ['"true"', '" yes "', '"1"', 'true']) {
    assertOnlyError(checkVars(`LOCAL_ONLY = ${on}`), /^✗ LOCAL_ONLY is on: the deployed Worker would refuse every request not addressed to a loopback host\. Fix: delete LOCAL_ONLY from \[vars\] in /);
  }
  // The Worker's own rule: only true, 1 and yes turn a flag on.
  for (const off of ['"false"', '"TRUE"', '""']) assert.equal(checkVars(`LOCAL_ONLY = ${off}`).status, 0, off);
});

test('secrets in [vars] are refused, each with its secret put command', () => {
  const names = ['DISCORD_CLIENT_ID', 'DISCORD_CLIENT_SECRET', 'SECRET_KEY', 'SECRET_KEY_PREVIOUS', 'OAUTH_CLIENTS'];
  const file = config(names.map((n) => `${n} = "value"`).join('\n'));
  const r = check(['--config', file, '--offline']);
  assert.equal(r.status, 1, r.out);
  assert.deepEqual(r.errors, names.map((n) => `✗ ${n} is in [vars], which are uploaded and shown in plain text. Fix: delete it from [vars] in ${file}, then npx wrangler secret put ${n}`));
  assert.doesNotMatch(r.out, /value/);
  assert.match(r.last, /5 problems to fix before deploying\.$/);
});

test('token lifetimes follow the bounds of src/rules/config.rs and must be strings', () => {
  const bad = [
    ['ACCESS_TOKEN_TTL', '"59"', 60, 86400],
    ['ACCESS_TOKEN_TTL', '"86401"', 60, 86400],
    ['ACCESS_TOKEN_TTL', '"1h"', 60, 86400],
    ['ACCESS_TOKEN_TTL', '"3600.5"', 60, 86400],
    ['REFRESH_TOKEN_TTL', '"3599"', 3600, 7776000],
    ['REFRESH_TOKEN_TTL', '"7776001"', 3600, 7776000],
  ];
  for (const [name, value, min, max] of bad) {
    assertOnlyError(checkVars(`${name} = ${value}`), new RegExp(`^✗ ${name} must be a whole number of seconds from ${min} to ${max}\\. Fix: set ${name} = "\\d+" under \\[vars\\] in `));
  }
  for (const good of ['ACCESS_TOKEN_TTL = " 60 "', 'ACCESS_TOKEN_TTL = "+86400"', 'REFRESH_TOKEN_TTL = "7776000"', 'ACCESS_TOKEN_TTL = ""']) {
    assert.equal(checkVars(good).status, 0, good);
  }
  // Wrangler uploads a TOML number as JSON, which the Worker does not read as a variable.
  const file = config('ACCESS_TOKEN_TTL = 600');
  assertOnlyError(check(['--config', file, '--offline']), `✗ ACCESS_TOKEN_TTL is not a quoted string in [vars], so the Worker would ignore it. Fix: write it in quotes in ${file}: ACCESS_TOKEN_TTL = "600"`);
});

test('access lists and origins follow the rules of src/rules/config.rs', () => {
  assertOnlyError(checkVars('ALLOWED_DISCORD_USERS = "80351110224678912,nelly"'), /^✗ ALLOWED_DISCORD_USERS must be comma-separated Discord ids \(digits\)\. Fix: /);
  assertOnlyError(checkVars('ALLOWED_DISCORD_GUILDS = "1,x"'), /^✗ ALLOWED_DISCORD_GUILDS must be/);
  assertOnlyError(checkVars('ALLOWED_ORIGINS = "https://ok.example,*"'), /^✗ ALLOWED_ORIGINS must be comma-separated origins/);
  assertOnlyError(checkVars('ALLOWED_ORIGINS = "https://ok.example/"'), /^✗ ALLOWED_ORIGINS must be/);
  const good = 'ALLOWED_DISCORD_USERS = " 80351110224678912 ,123"\nALLOWED_DISCORD_GUILDS = "1000000000000000002"\nALLOWED_ORIGINS = "https://a.example, http://localhost:6274"';
  assert.equal(checkVars(good).status, 0);
});

test('an unknown var is a warning naming every variable the Worker reads', () => {
  const r = checkVars('DISCORD_BASE_ULR = "https://discord.com"\nACCESS_TOKEN_TTL = "600"');
  assert.equal(r.status, 0, r.out);
  assert.deepEqual(r.errors, []);
  // The known names are exactly the non-secret names src/rules/config.rs reads.
  const source = readFileSync(path.join(ROOT, 'src', 'rules', 'config.rs'), 'utf8');
  const read = [...source.matchAll(/(?:non_empty|flag|id_list|seconds)\(\s*"([A-Z_]+)"/g)].map((m) => m[1]);
  const secrets = ['DISCORD_CLIENT_ID', 'DISCORD_CLIENT_SECRET', 'SECRET_KEY', 'SECRET_KEY_PREVIOUS', 'OAUTH_CLIENTS'];
  const known = [...new Set(read)].filter((n) => !secrets.includes(n));
  const warning = r.warnings[0].match(/^! \[vars\] DISCORD_BASE_ULR is not read by the Worker \(a typo\?\); it reads (.+)$/);
  assert.ok(warning, r.out);
  assert.deepEqual(warning[1].split(', ').sort(), known.sort());
  assert.deepEqual(r.warnings.slice(1), ['! secrets not checked (--offline)']);
  assert.match(r.last, /Ready to deploy: npm run deploy$/);
});

test('each missing secret is an error with the command that sets it', () => {
  const r = check(['--config', config()], { STANDIN_SECRETS: 'DISCORD_CLIENT_ID,SECRET_KEY_PREVIOUS' });
  assert.equal(r.status, 1, r.out);
  assert.deepEqual(r.errors, [
    "✗ secret DISCORD_CLIENT_SECRET is not set. Fix: npx wrangler secret put DISCORD_CLIENT_SECRET (from your Discord application's OAuth2 page)",
    '✗ secret SECRET_KEY is not set. Fix: openssl rand -base64 48 | npx wrangler secret put SECRET_KEY (a new random key)',
  ]);
  assert.match(r.out, /^✓ secrets set: DISCORD_CLIENT_ID, SECRET_KEY_PREVIOUS$/m);
  assert.match(r.last, /2 problems to fix before deploying\.$/);
});

test('a Worker not deployed yet has all its secrets missing', () => {
  const stderr = '\n\x1b[31m✘ [ERROR]\x1b[0m Worker "mcp-oauth-worker" not found.\n\nIf this is a new Worker, run `wrangler deploy` first to create it.\n';
  const r = check(['--config', config()], { STANDIN_STDERR: stderr });
  assert.equal(r.status, 1, r.out);
  assert.deepEqual(r.errors.map((l) => l.split('. Fix')[0]), REQUIRED.split(',').map((n) => `✗ secret ${n} is not set`));
  assert.deepEqual(r.warnings, ['! Worker "mcp-oauth-worker" not found, so it has no secrets yet']);
});

test('wrangler failing stops the deploy, with a hint that names the real cause', () => {
  const stderr = '\n\x1b[31m✘ \x1b[41;31m[\x1b[41;97mERROR\x1b[41;31m]\x1b[0m \x1b[1mYou are not authenticated. Please run `wrangler login`.\x1b[0m\n\nmore detail\n';
  const r = check(['--config', config()], { STANDIN_STDERR: stderr });
  assert.equal(r.status, 1, r.out);
  assert.deepEqual(r.errors, ['✗ secrets not checked, wrangler secret list failed: You are not authenticated. Please run `wrangler login`. Fix: log in with npx wrangler login (or set CLOUDFLARE_API_TOKEN), then check again']);
  assert.match(r.last, /1 problem to fix before deploying\.$/);

  const dns = check(['--config', config()], { STANDIN_STDERR: '✘ [ERROR] A request to the Cloudflare API failed.\n\ngetaddrinfo ENOTFOUND api.cloudflare.com\n' });
  assert.equal(dns.status, 1, dns.out);
  assert.match(dns.errors[0], /Fix: Cloudflare's API could not be reached \(a network or DNS failure, not your login\)/, dns.out);

  const missing = check(['--config', config()], { WRANGLER_BIN: path.join(tmp, 'no-such-wrangler') });
  assert.equal(missing.status, 1, missing.out);
  assert.match(missing.errors[0], /^✗ secrets not checked, wrangler secret list failed: .*ENOENT\. Fix: wrangler is not installed here/);
});

test('--offline does not run wrangler', () => {
  const log = path.join(tmp, 'offline.log');
  const r = check(['--config', config(), '--offline'], { STANDIN_LOG: log, STANDIN_SECRETS: '' });
  assert.equal(r.status, 0, r.out);
  assert.deepEqual(r.warnings, ['! secrets not checked (--offline)']);
  assert.equal(existsSync(log), false, 'wrangler was run');
});
