// The README cannot rot: every `npm run` script it names exists, and every wrangler command
// it tells a person to type is one this project's wrangler knows, with every flag it uses
// (checked against `wrangler … --help`, which needs no account). The commands that run
// locally are run by other tests: npm start (start.test), npm run size and wrangler deploy
// --dry-run (commands.test), npm run check-deploy (check-deploy.test), MCP Inspector
// (start.test, mcp-http.test).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../support/worker.mjs';
import { packageBin } from '../../scripts/lib.mjs';

const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const SCRIPTS = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts;
const WRANGLER = packageBin('wrangler');

/** Commands in inline code and in shell blocks, without trailing comments. */
function commands(prefix) {
  const inline = [...README.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]);
  const blocks = [...README.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1].split('\n'));
  return [...new Set([...inline, ...blocks].map((c) => c.replace(/\s+#.*$/, '').trim()).filter((c) => c.startsWith(prefix)))];
}

test('every npm run script the README names exists', () => {
  const named = commands('npm ').map((c) => c.split(/\s+/)).map((w) => (w[1] === 'run' ? w[2] : w[1]));
  assert.ok(named.length >= 8, named.join(', '));
  for (const name of named) assert.ok(SCRIPTS[name], `package.json has "${name}"`);
});

test('every wrangler command in the README exists with the flags it uses', () => {
  const found = commands('npx wrangler');
  assert.ok(found.length >= 6, found.join('\n'));
  for (const command of found) {
    const words = command.split(/\s+/).slice(2);
    // Subcommands are lower-case words; NAME, OAUTH_KV and <…> are the person's arguments.
    const sub = [];
    for (const w of words) {
      if (!/^[a-z]+$/.test(w)) break;
      sub.push(w);
    }
    const help = spawnSync(process.execPath, [WRANGLER, ...sub, '--help'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, WRANGLER_SEND_METRICS: 'false' } });
    assert.equal(help.status, 0, `${command}: ${help.stderr}`);
    const text = help.stdout + help.stderr;
    assert.match(text, new RegExp(`wrangler ${sub.join(' ')}\\b`), `${command}: a real subcommand`);
    for (const flag of words.filter((w) => w.startsWith('--'))) {
      assert.ok(text.includes(flag), `${command}: wrangler ${sub.join(' ')} knows ${flag}`);
    }
  }
});

test('the MCP Inspector the README suggests is installed with the project', () => {
  assert.ok(commands('npx @modelcontextprotocol/inspector').length > 0);
  assert.ok(existsSync(path.join(ROOT, 'node_modules', '@modelcontextprotocol', 'inspector', 'package.json')));
});
