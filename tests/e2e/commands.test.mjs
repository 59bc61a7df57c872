// The README's other commands, run as a user runs them: `npm run size` and the bundle that
// `npm run deploy` would upload (`wrangler deploy --dry-run`, which needs no account).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT } from '../support/worker.mjs';
import { packageBin } from '../../scripts/lib.mjs';

test('npm run size reports raw and gzip size of the upload', () => {
  const r = spawnSync('npm', ['run', '--silent', 'size'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const total = r.stdout.match(/^total\s+([\d.]+) KiB raw\s+([\d.]+) KiB gzip/m);
  assert.ok(total, r.stdout);
  assert.ok(Number(total[2]) < Number(total[1]), 'gzip is smaller than raw');
  assert.match(r.stdout, /build\/index_bg\.wasm/);
});

test('wrangler deploy --dry-run accepts wrangler.toml and the built Worker', () => {
  const out = mkdtempSync(path.join(tmpdir(), 'dry-run-'));
  try {
    const r = spawnSync(process.execPath, [packageBin('wrangler'), 'deploy', '--dry-run', '--outdir', out], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
    });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /Total Upload: [\d.]+ KiB \/ gzip: [\d.]+ KiB/);
    assert.match(r.stdout, /env\.OAUTH_KV/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
