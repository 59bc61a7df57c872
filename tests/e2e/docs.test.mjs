// The documents' links between each other cannot rot: every relative link in README.md,
// SECURITY.md and docs/*.md names a file that exists and, with a `#fragment`, a heading in it
// (GitHub's slugs). Also what the second security review asked to be written down (finding 8).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../support/worker.mjs';

const FILES = ['README.md', 'SECURITY.md', ...readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading) {
  return heading.trim().toLowerCase().replace(/`/g, '').replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
}

function anchors(file) {
  const text = readFileSync(path.join(ROOT, file), 'utf8').replace(/```[\s\S]*?```/g, '');
  return new Set([...text.matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) => slug(m[1])));
}

test('every relative link between the documents reaches its file and heading', () => {
  const broken = [];
  for (const file of FILES) {
    const text = readFileSync(path.join(ROOT, file), 'utf8').replace(/```[\s\S]*?```/g, '');
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/i.test(target)) continue;
      const [where, fragment] = target.split('#');
      const resolved = where ? path.normalize(path.join(path.dirname(file), where)) : file;
      if (!existsSync(path.join(ROOT, resolved))) { broken.push(`${file}: ${target} (no such file)`); continue; }
      if (fragment && resolved.endsWith('.md') && !anchors(resolved).has(fragment)) broken.push(`${file}: ${target} (no such heading)`);
    }
  }
  assert.deepEqual(broken, []);
});

test('the daily request budget anyone can spend, and the WAF rule against it, are written down', () => {
  const plan = readFileSync(path.join(ROOT, 'docs', 'free-plan.md'), 'utf8');
  assert.match(plan, /## Anyone can spend the daily requests/);
  assert.match(plan, /WAF → Rate limiting rules/);
  assert.match(readFileSync(path.join(ROOT, 'SECURITY.md'), 'utf8'), /free-plan\.md#anyone-can-spend-the-daily-requests/);
});
