// Fails when package-lock.json holds a package bound to one OS or CPU that is not optional:
// `npm ci` refuses such a package (EBADPLATFORM) on every other platform, so setup, npm start
// and deploy would fail there before doing anything. Run by CI and by tests/e2e/platform.test.mjs.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './lib.mjs';

/** Lockfile entries restricted by `os` or `cpu` that npm would install as hard dependencies. */
export function platformBound(lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8'))) {
  return Object.entries(lock.packages ?? {})
    .filter(([key, p]) => key && !p.optional && (p.os || p.cpu))
    .map(([key, p]) => `${key.split('node_modules/').pop()} (os: ${p.os ?? 'any'}, cpu: ${p.cpu ?? 'any'})`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const bound = platformBound();
  if (bound.length) {
    console.error(`package-lock.json has hard dependencies bound to one platform (make them optionalDependencies): ${bound.join(', ')}`);
    process.exit(1);
  }
  console.log('package-lock.json: no platform-bound hard dependency.');
}
