// README "Add your own tool", followed to the letter in a copy of the project: its one Rust block
// is pasted at the end of src/tools.rs and its constant added to TOOLS, exactly as the README
// says. The copy must pass `npm run lint` (rustfmt, clippy with -D warnings), build with
// worker-build, and serve the new tool through /mcp after a login. The README and the code can
// then never drift apart.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT, buildEnv, run, workerBuildBin } from '../../scripts/lib.mjs';
import { completeBindings, startWorker } from '../support/worker.mjs';
import { startStandin } from '../support/discord-standin.mjs';
import { login } from '../support/oauth.mjs';
import { definedTools } from '../support/tools.mjs';

const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

/** The README section's Rust block, its constant and its tool name. */
function readmeTool(readme = README) {
  const section = readme.split(/^## /m).find((s) => s.startsWith('Add your own tool'));
  assert.ok(section, 'README has a section "## Add your own tool"');
  const blocks = [...section.matchAll(/```rust\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert.equal(blocks.length, 1, 'the section has exactly one Rust block');
  const constant = blocks[0].match(/pub const (\w+): Tool = Tool \{/)?.[1];
  const name = blocks[0].match(/name: "([^"]+)"/)?.[1];
  assert.ok(constant && name, 'the block defines a `pub const NAME: Tool` with a name');
  assert.match(section, new RegExp(`add \`${constant}\` to`), 'the section says where to list the constant');
  return { code: blocks[0], constant, name };
}

test('the README tool example: pasted as told, it lints clean, builds, and answers through /mcp', { timeout: 900_000 }, async () => {
  const { code, constant, name } = readmeTool();
  const copy = mkdtempSync(path.join(tmpdir(), 'readme-tool-'));
  let standin;
  let worker;
  try {
    for (const f of ['src', 'benches', 'Cargo.toml', 'Cargo.lock', 'rustfmt.toml', 'package.json', 'wrangler.toml']) {
      cpSync(path.join(ROOT, f), path.join(copy, f), { recursive: true });
    }
    // "Paste it at the end of src/tools.rs and add the constant to TOOLS in the same file."
    const tools = path.join(copy, 'src', 'tools.rs');
    const before = readFileSync(tools, 'utf8');
    const listed = before.replace(/(pub const TOOLS: &\[Tool\] = &\[[^\]]*?)(,?\s*)\];/, (_, items) => `${items}, ${constant}];`);
    assert.notEqual(listed, before, 'TOOLS was found and extended');
    writeFileSync(tools, `${listed.trimEnd()}\n\n${code}`);
    assert.deepEqual(definedTools(tools), [...definedTools(), name]);

    // Compiled dependencies are shared with the project's own target directory.
    const env = { ...buildEnv(), CARGO_TARGET_DIR: path.join(ROOT, 'target') };
    const lint = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts.lint;
    await run('sh', ['-c', lint], { cwd: copy, env });
    await run(workerBuildBin(), ['--release', '--out-dir', 'build'], { cwd: copy, env });

    standin = await startStandin();
    worker = await startWorker({ bindings: completeBindings(standin.url), buildDir: path.join(copy, 'build') });
    const { tokens } = await login(worker.url);
    const mcp = async (method, params) => (await fetch(`${worker.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${tokens.access_token}`, 'mcp-protocol-version': '2025-11-25' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    })).json();
    const list = await mcp('tools/list', {});
    assert.deepEqual(list.result.tools.map((t) => t.name), definedTools(tools));
    const shout = await mcp('tools/call', { name, arguments: { text: 'hello from the readme' } });
    assert.deepEqual(shout.result.structuredContent, { shouted: 'HELLO FROM THE README' }, JSON.stringify(shout));
    const invalid = await mcp('tools/call', { name, arguments: {} });
    assert.equal(invalid.result.isError, true, 'its schema is enforced before the function runs');
  } finally {
    await worker?.close();
    await standin?.close();
    rmSync(copy, { recursive: true, force: true });
  }
});
