// What `npm run build` ships: the wasm without its names section (Rust function names, about
// 47 KiB of the gzip'd upload), every other section intact.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../../scripts/lib.mjs';
import { wasmSections, withoutNames } from '../../scripts/build.mjs';

/** A custom section: id 0, size, then its name, then the payload (all sizes here < 128). */
function custom(name, payload) {
  const body = Buffer.concat([Buffer.from([name.length]), Buffer.from(name), Buffer.from(payload)]);
  return Buffer.concat([Buffer.from([0, body.length]), body]);
}

const customNames = (wasm) => wasmSections(wasm).filter((s) => s.id === 0).map((s) => s.custom);

// That what remains is a valid module, workerd shows in every other test (Node's own
// WebAssembly may lack features the build enables, so it is not asked).
test('the deployed wasm has no names section', () => {
  const wasm = readFileSync(path.join(ROOT, 'build', 'index_bg.wasm'));
  assert.ok(!customNames(wasm).includes('name'), `custom sections: ${customNames(wasm)}`);
  assert.ok(customNames(wasm).length > 0, 'other custom sections are still read');
});

test('dropping the names section removes exactly that section', () => {
  const wasm = readFileSync(path.join(ROOT, 'build', 'index_bg.wasm'));
  const named = Buffer.concat([wasm, custom('name', [1, 2, 3]), custom('keep', [4, 5])]);
  assert.deepEqual(customNames(named).slice(-2), ['name', 'keep']);
  const stripped = withoutNames(named);
  assert.deepEqual(stripped, Buffer.concat([wasm, custom('keep', [4, 5])]));
  assert.deepEqual(withoutNames(wasm), wasm, 'nothing to drop: unchanged');
});
