// `npm test`: setup, native unit tests, the wasm build, a short run of every fuzz target, then
// the end-to-end tests against the built Worker under workerd. Extra arguments are passed to `node --test` (e.g. a file name).

import { readdirSync } from 'node:fs';
import path from 'node:path';
import { ROOT, run, say, seconds } from './lib.mjs';
import { build } from './build.mjs';
import { setup } from './setup.mjs';
import { fuzz } from './fuzz.mjs';

const start = Date.now();
try {
  await setup({ forTests: true });
  await build({ skipSetup: true });
  await build({ features: ['conformance'], outDir: 'build-conformance', skipSetup: true });
  say('Native unit tests (cargo test, default and conformance features)…');
  await run('cargo', ['test', '--quiet']);
  await run('cargo', ['test', '--quiet', '--features', 'conformance']);
  const extra = process.argv.slice(2);
  // A short run of every fuzz target (the long one is `npm run fuzz`); skipped when only some
  // end-to-end files were asked for.
  if (!extra.length) await fuzz(Number(process.env.FUZZ_SECONDS ?? 5));
  const files = extra.length
    ? extra
    : readdirSync(path.join(ROOT, 'tests', 'e2e')).filter((f) => f.endsWith('.test.mjs')).sort().map((f) => path.join('tests', 'e2e', f));
  say(`End-to-end tests under workerd (${files.length} files)…`);
  await run(process.execPath, ['--test', '--test-concurrency=1', ...files], {
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
  });
  say(`All tests passed in ${seconds(start)}.`);
} catch (e) {
  console.error(`\n${e.message}`);
  process.exit(1);
}
