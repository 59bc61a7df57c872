// `npm run size`: raw and gzip size of what `wrangler deploy` would upload (the build/ bundle).

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './lib.mjs';

export function bundleSizes(dir = path.join(ROOT, 'build')) {
  const files = readdirSync(dir, { recursive: true })
    .map((f) => path.join(dir, String(f)))
    .filter((f) => statSync(f).isFile() && /\.(js|mjs|wasm)$/.test(f));
  return files.map((f) => {
    const data = readFileSync(f);
    return { file: path.relative(ROOT, f), raw: data.length, gzip: gzipSync(data, { level: 9 }).length };
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  let rows;
  try {
    rows = bundleSizes();
  } catch {
    console.error('No build/ yet: run npm run build first.');
    process.exit(1);
  }
  const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
  for (const r of rows) console.log(`${r.file.padEnd(28)} ${kb(r.raw).padStart(11)} raw ${kb(r.gzip).padStart(11)} gzip`);
  const raw = rows.reduce((a, r) => a + r.raw, 0);
  const gz = rows.reduce((a, r) => a + r.gzip, 0);
  console.log(`${'total'.padEnd(28)} ${kb(raw).padStart(11)} raw ${kb(gz).padStart(11)} gzip   (free plan limit: 3 MiB gzip)`);
}
