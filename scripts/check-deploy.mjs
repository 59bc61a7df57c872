// `npm run check-deploy` (and the first step of `npm run deploy`): checks wrangler.toml and the
// Worker's secrets before `wrangler deploy`, naming the command or edit that fixes each problem,
// so nothing goes out with the placeholder KV id, the local Discord stand-in or a missing secret.
// Exit code 1 if anything must be fixed; warnings alone do not fail.
//
// Options: --config PATH (default: wrangler.toml at the repo root), --offline (skip the secrets,
// which only Cloudflare can list). WRANGLER_BIN replaces node_modules/.bin/wrangler.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parse } from 'smol-toml';
import { ROOT, packageBin, say } from './lib.mjs';

// Names as `Config::load` in src/rules/config.rs reads them.
const REQUIRED_SECRETS = ['DISCORD_CLIENT_ID', 'DISCORD_CLIENT_SECRET', 'SECRET_KEY'];
const SECRETS = [...REQUIRED_SECRETS, 'SECRET_KEY_PREVIOUS', 'OAUTH_CLIENTS'];
const KV_BINDING = 'OAUTH_KV';
const KV_PLACEHOLDER = '0'.repeat(32);
const DEFAULT_DISCORD_BASE_URL = 'https://discord.com';

let options;
try {
  options = parseArgs({ options: { config: { type: 'string' }, offline: { type: 'boolean' } } }).values;
} catch (e) {
  console.error(`${e.message}\nUsage: node scripts/check-deploy.mjs [--config PATH] [--offline]`);
  process.exit(1);
}
const file = path.resolve(options.config ?? path.join(ROOT, 'wrangler.toml'));
const relative = path.relative(process.cwd(), file);
const shown = relative.startsWith('..') ? file : relative;

// The rules of `Config::load` in src/rules/config.rs for each [vars] entry (given trimmed and non-blank,
// since a blank value counts as unset there), stricter where only a deployed Worker is concerned.
const VARS = {
  DISCORD_BASE_URL: {
    problem: discordBaseProblem,
    fix: `set DISCORD_BASE_URL = "${DEFAULT_DISCORD_BASE_URL}" under [vars] in ${shown}, or delete the line (that is the default)`,
  },
  LOCAL_ONLY: {
    problem: (v) => isFlagOn(v) && 'is on: the deployed Worker would refuse every request not addressed to a loopback host',
    fix: `delete LOCAL_ONLY from [vars] in ${shown} (npm start sets it for local runs)`,
  },
  DISABLE_REGISTRATION: { problem: () => null },
  DISABLE_METADATA_DOCUMENTS: { problem: () => null },
  DISCORD_PUBLIC_KEY: {
    problem: (v) => !/^[0-9a-fA-F]{64}$/.test(v.trim()) && 'is not a public key: 64 hex digits',
    fix: `copy the Public Key from the application's General Information page in the Discord developer portal into DISCORD_PUBLIC_KEY under [vars] in ${shown}, or delete the line`,
  },
  PRIVATE_KEY_JWT: {
    problem: (v) => !/^(true|1|yes|false|0|no|off)$/.test(v.trim()) && 'must be true or false (it is on unless false, 0, no or off)',
    fix: `set PRIVATE_KEY_JWT = "false" under [vars] in ${shown} to switch it off, or delete the line (on is the default)`,
  },
  ACCESS_TOKEN_TTL: {
    problem: (v) => secondsProblem(v, 60, 86_400),
    fix: `set ACCESS_TOKEN_TTL = "3600" under [vars] in ${shown}, or another number from 60 to 86400`,
  },
  REFRESH_TOKEN_TTL: {
    problem: (v) => secondsProblem(v, 3600, 7_776_000),
    fix: `set REFRESH_TOKEN_TTL = "2592000" under [vars] in ${shown}, or another number from 3600 to 7776000`,
  },
  REFRESH_REUSE_WINDOW: {
    problem: (v) => secondsProblem(v, 0, 86_400),
    fix: `set REFRESH_REUSE_WINDOW = "300" under [vars] in ${shown}, or another number from 0 to 86400`,
  },
  ALLOWED_ORIGINS: {
    problem: originsProblem,
    fix: `list exact origins under [vars] in ${shown}, e.g. ALLOWED_ORIGINS = "https://app.example,https://other.example"`,
  },
  ALLOWED_DISCORD_USERS: {
    problem: idsProblem,
    fix: `list Discord user ids under [vars] in ${shown}, e.g. ALLOWED_DISCORD_USERS = "80351110224678912,123456789012345678"`,
  },
  ALLOWED_DISCORD_GUILDS: {
    problem: idsProblem,
    fix: `list Discord server ids under [vars] in ${shown}, e.g. ALLOWED_DISCORD_GUILDS = "1000000000000000002"`,
  },
};

// `flag` in `Config::load`.
function isFlagOn(v) {
  return ['true', '1', 'yes'].includes(v);
}

// `Config::load` parses an i64 (an optional sign, then digits) and checks the inclusive range.
function secondsProblem(v, min, max) {
  const n = /^[+-]?\d+$/.test(v) ? Number(v) : NaN;
  return !(n >= min && n <= max) && `must be a whole number of seconds from ${min} to ${max}`;
}

// `parse_origins` in src/rules/config.rs: each entry must be exactly its own origin.
function originsProblem(v) {
  const isOrigin = (entry) => {
    try {
      const url = new URL(entry);
      return ['http:', 'https:'].includes(url.protocol) && url.origin === entry;
    } catch {
      return false;
    }
  };
  const entries = v.split(',').map((e) => e.trim()).filter(Boolean);
  return !entries.every(isOrigin) && 'must be comma-separated origins such as https://app.example (no path, no *)';
}

// `id_list` in `Config::load` with `discord::is_snowflake`.
function idsProblem(v) {
  const ids = v.split(',').map((e) => e.trim()).filter(Boolean);
  return !ids.every((id) => /^\d{1,24}$/.test(id)) && 'must be comma-separated Discord ids (digits)';
}

// `parse_discord_base` in src/rules/config.rs minus its exception for http on loopback: the deployed
// Worker sends the Discord client secret there, and a local stand-in is out of its reach.
function discordBaseProblem(v) {
  let url;
  try {
    url = new URL(v);
  } catch {
    return 'is not an absolute URL';
  }
  if (isLocalHost(url.hostname)) return `points at ${url.hostname}, a loopback or private address the deployed Worker cannot reach`;
  if (url.protocol !== 'https:') return `must be https, not ${url.protocol.slice(0, -1)}`;
  if (url.username || url.password) return 'must not contain credentials';
  if (/[?#]/.test(v)) return 'must not have a query or fragment';
  return null;
}

// `hostname` comes normalized by the URL parser: IPv4 in dotted decimal, IPv6 compressed and
// bracketed, an IPv4-mapped IPv6 address as ::ffff: and two hex groups.
function isLocalHost(hostname) {
  const host = hostname.replace(/\.$/, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  const mapped = host.match(/^\[::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})\]$/);
  const v4 = mapped
    ? mapped.slice(1).flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 255])
    : host.match(/^(\d+)\.(\d+)\.(\d+)\.(\d+)$/)?.slice(1).map(Number);
  if (v4) {
    const [a, b] = v4;
    return a === 0 || a === 10 || a === 127 || (a === 100 && b >= 64 && b < 128) || (a === 169 && b === 254)
      || (a === 172 && b >= 16 && b < 32) || (a === 192 && b === 168);
  }
  // Unspecified, loopback, unique local (fc00::/7), link-local (fe80::/10).
  return /^\[(::1?|f[cd][0-9a-f]{2}:.*|fe[89ab][0-9a-f]:.*)\]$/.test(host);
}

let problems = 0;
const ok = (msg) => console.log(`✓ ${msg}`);
const warn = (msg) => console.log(`! ${msg}`);
function fail(msg, fix) {
  problems++;
  console.log(`✗ ${msg}. Fix: ${fix}`);
}

function finish() {
  console.log('');
  say(problems ? `${problems} problem${problems === 1 ? '' : 's'} to fix before deploying.` : 'Ready to deploy: npm run deploy');
  process.exit(problems ? 1 : 0);
}

function readConfig() {
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    fail(`cannot read ${shown} (${e.code ?? e.message})`, 'run this from the repository root, or pass --config PATH');
    return null;
  }
  try {
    return parse(text);
  } catch (e) {
    fail(`${shown} is not valid TOML: ${e.message.split('\n')[0]} at line ${e.line}, column ${e.column}`,
      `correct line ${e.line} of ${shown}`);
    return null;
  }
}

function checkBuild(config) {
  const main = typeof config.main === 'string' ? path.posix.normalize(config.main) : null;
  if (main === 'build/index.js') ok('main = build/index.js');
  else {
    const now = config.main === undefined ? 'not set' : JSON.stringify(config.main);
    fail(`main is ${now}, but the build writes build/index.js`, `set main = "build/index.js" in ${shown}`);
  }
  const command = config.build?.command;
  if (typeof command === 'string' && command.trim()) ok(`[build] command = ${command}`);
  else {
    fail('[build] command is missing, so wrangler deploy would not build the Worker',
      `add [build] with command = "node scripts/build.mjs" to ${shown}`);
  }
}

function checkKv(config) {
  const entries = Array.isArray(config.kv_namespaces) ? config.kv_namespaces : [];
  const kv = entries.find((ns) => ns?.binding === KV_BINDING);
  const create = `npx wrangler kv namespace create ${KV_BINDING}, then paste the id it prints into id = "…" under [[kv_namespaces]] in ${shown}`;
  if (!kv) {
    fail(`no [[kv_namespaces]] entry with binding = "${KV_BINDING}"`,
      `npx wrangler kv namespace create ${KV_BINDING}, then add [[kv_namespaces]] with binding = "${KV_BINDING}" and id = "<the id it prints>" to ${shown}`);
  } else if (kv.id === KV_PLACEHOLDER) {
    fail(`[[kv_namespaces]] ${KV_BINDING} still has the placeholder id ${KV_PLACEHOLDER}`, create);
  } else if (!/^[0-9a-f]{32}$/i.test(String(kv.id ?? ''))) {
    const why = kv.id === undefined ? 'has no id' : `id ${JSON.stringify(kv.id)} is not 32 hex characters`;
    fail(`[[kv_namespaces]] ${KV_BINDING} ${why}`, create);
  } else {
    ok(`${KV_BINDING} is bound to KV namespace ${kv.id}`);
  }
}

function checkVars(config) {
  const vars = config.vars ?? {};
  if (!('DISCORD_BASE_URL' in vars)) ok(`DISCORD_BASE_URL is not set: the Worker uses ${DEFAULT_DISCORD_BASE_URL}`);
  for (const [name, value] of Object.entries(vars)) {
    const text = (Array.isArray(value) ? value.join(',') : String(value)).trim();
    const rule = VARS[name];
    const problem = rule && text && rule.problem(text);
    if (SECRETS.includes(name)) {
      fail(`${name} is in [vars], which are uploaded and shown in plain text`,
        `delete it from [vars] in ${shown}, then npx wrangler secret put ${name}`);
    } else if (!rule) {
      warn(`[vars] ${name} is not read by the Worker (a typo?); it reads ${Object.keys(VARS).join(', ')}`);
    } else if (problem) {
      fail(`${name} ${problem}`, rule.fix);
    } else if (typeof value !== 'string') {
      // Wrangler uploads a TOML number, boolean or array as a JSON binding, which `env.var`
      // (src/runtime/mod.rs) does not read: the Worker would silently use its default.
      fail(`${name} is not a quoted string in [vars], so the Worker would ignore it`,
        `write it in quotes in ${shown}: ${name} = ${JSON.stringify(text)}`);
    } else {
      ok(`${name} = ${JSON.stringify(value)}`);
    }
  }
}

/** Names of the deployed Worker's secrets, or why they could not be listed. */
function listSecrets() {
  // wrangler's own script through this node: node_modules/.bin differs between platforms.
  const [bin, ...pre] = process.env.WRANGLER_BIN ? [process.env.WRANGLER_BIN] : [process.execPath, packageBin('wrangler')];
  // No stdin: without a terminal wrangler fails instead of prompting or opening a browser.
  const r = spawnSync(bin, [...pre, 'secret', 'list', '--format', 'json', '--config', file], {
    cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000,
  });
  if (r.error) return { reason: r.error.code === 'ETIMEDOUT' ? 'wrangler did not answer within 60 s' : r.error.message };
  if (r.status !== 0) {
    const reason = firstLine(r.stderr) || firstLine(r.stdout) || `wrangler exited with ${r.signal ?? r.status}`;
    // A Worker not deployed yet has no secrets; `wrangler secret put` creates it.
    // The whole output, for the cause (a DNS failure shows only on a later line).
    return /^Worker ".*" not found/.test(reason) ? { names: [], note: reason } : { reason, detail: `${r.stderr}\n${r.stdout}` };
  }
  try {
    return { names: JSON.parse(r.stdout).map((s) => s.name) };
  } catch {
    return { reason: 'wrangler secret list did not print a JSON list' };
  }
}

/** What to do about a failed `wrangler secret list`, by its cause. */
export function secretsHint(reason) {
  if (/ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|getaddrinfo|fetch failed|network|did not answer/i.test(reason)) {
    return "Cloudflare's API could not be reached (a network or DNS failure, not your login): check the connection and try again, or check everything else with npm run check-deploy -- --offline";
  }
  if (/ENOENT/.test(reason)) return 'wrangler is not installed here: run npm run setup, then check again';
  if (/authenticat|log ?in|CLOUDFLARE_API_TOKEN|token/i.test(reason)) {
    return 'log in with npx wrangler login (or set CLOUDFLARE_API_TOKEN), then check again';
  }
  return 'run npx wrangler secret list to see why, then check again';
}

function firstLine(text) {
  return (text ?? '').replace(/\x1b\[[0-9;]*m/g, '').split('\n')
    .map((l) => l.replace(/^\s*✘ \[ERROR\]\s*/, '').trim().replace(/\.$/, ''))
    .find(Boolean);
}

function checkSecrets() {
  if (options.offline) return warn('secrets not checked (--offline)');
  const { names, note, reason, detail } = listSecrets();
  if (reason) {
    // A failure, not a warning: `npm run deploy` must not go on to deploy a Worker whose
    // secrets nobody could check. The hint names the cause the reason shows.
    return fail(`secrets not checked, wrangler secret list failed: ${reason}`, secretsHint(`${reason}\n${detail ?? ''}`));
  }
  if (note) warn(`${note}, so it has no secrets yet`);
  for (const name of REQUIRED_SECRETS.filter((n) => !names.includes(n))) {
    fail(`secret ${name} is not set`, name === 'SECRET_KEY'
      ? 'openssl rand -base64 48 | npx wrangler secret put SECRET_KEY (a new random key)'
      : `npx wrangler secret put ${name} (from your Discord application's OAuth2 page)`);
  }
  const set = SECRETS.filter((n) => names.includes(n));
  if (set.length) ok(`secrets set: ${set.join(', ')}`);
}

say(`Checking ${shown} before deploying…`);
const config = readConfig();
if (config) {
  checkBuild(config);
  checkKv(config);
  checkVars(config);
  checkSecrets();
}
finish();
