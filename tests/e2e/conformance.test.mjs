// @modelcontextprotocol/conformance (server suite) against the conformance build of the Worker
// (build-conformance/, cargo feature `conformance`), once per spec revision it scores.
// Results land in test-results/conformance/<revision>/ and a per-scenario summary is printed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { ROOT, completeBindings, startWorker } from '../support/worker.mjs';
import { node22 } from '../../scripts/lib.mjs';

const NODE22 = node22();
const CLI = path.join(ROOT, 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js');

function runSuite(args) {
  return new Promise((resolve) => {
    const child = spawn(NODE22, [CLI, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
    let out = '';
    child.stdout.on('data', (b) => { out += b; });
    child.stderr.on('data', (b) => { out += b; });
    child.on('exit', (code) => resolve({ code, out }));
  });
}

/** Per scenario: passed, or the ids of its failed checks. */
function summarize(dir) {
  const rows = [];
  for (const run of readdirSync(dir).sort()) {
    const file = path.join(dir, run, 'checks.json');
    if (!existsSync(file)) continue;
    const scenario = run.replace(/^server-/, '').replace(/-\d{4}-\d\d-\d\dT.*$/, '');
    const checks = JSON.parse(readFileSync(file, 'utf8'));
    const failed = checks.filter((c) => c.status === 'FAILURE').map((c) => c.id);
    const warned = checks.filter((c) => c.status === 'WARNING').map((c) => c.id);
    rows.push({ scenario, passed: failed.length === 0, failed, warned, checks: checks.length });
  }
  return rows;
}

for (const revision of ['2025-11-25', '2026-07-28']) {
  test(`conformance suite, spec revision ${revision}`, { timeout: 600_000 }, async () => {
    const w = await startWorker({ buildDir: 'build-conformance', bindings: completeBindings('https://discord.com', { LOCAL_ONLY: 'true' }) });
    const outDir = path.join(ROOT, 'test-results', 'conformance', revision);
    rmSync(outDir, { recursive: true, force: true });
    mkdirSync(outDir, { recursive: true });
    try {
      const expected = path.join(ROOT, 'tests', 'conformance', `expected-failures-${revision}.yaml`);
      const args = ['server', '--url', `${w.url}/mcp`, '--requirements', revision, '-o', outDir];
      if (existsSync(expected)) args.push('--expected-failures', expected);
      const { code, out } = await runSuite(args);
      writeFileSync(path.join(outDir, 'output.txt'), out);
      const rows = summarize(outDir);
      const lines = rows.map((r) => `${r.passed ? 'PASS' : 'FAIL'}  ${r.scenario}${r.failed.length ? `  (failed: ${r.failed.join(', ')})` : ''}`);
      const passed = rows.filter((r) => r.passed).length;
      const summary = `conformance ${revision}: ${passed}/${rows.length} scenarios passed\n${lines.join('\n')}\n`;
      writeFileSync(path.join(outDir, 'summary.txt'), summary);
      console.log(summary);
      assert.ok(rows.length > 0, `the suite ran no scenario:\n${out.slice(-3000)}`);
      assert.equal(code, 0, `conformance ${revision} failed beyond the expected failures:\n${out.slice(-6000)}`);
    } finally {
      await w.close();
    }
  });
}
