// The tool names the server defines, read from the one place it defines them (`TOOLS` in
// src/tools.rs), in order. Tests compare what clients list with this instead of a copy, so
// adding a tool (README "Add your own tool") never breaks them.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './worker.mjs';

export function definedTools(file = path.join(ROOT, 'src', 'tools.rs')) {
  const src = readFileSync(file, 'utf8');
  const list = src.match(/pub const TOOLS: &\[Tool\] = &\[([^\]]*)\];/);
  if (!list) throw new Error(`${file}: no \`pub const TOOLS: &[Tool] = &[...]\``);
  return list[1].split(',').map((c) => c.trim()).filter(Boolean).map((constant) => {
    const def = src.match(new RegExp(`const ${constant}: Tool = Tool \\{\\s*name: (?:"([^"]+)"|(\\w+))`));
    if (!def) throw new Error(`${file}: no \`const ${constant}: Tool = Tool { name: … }\``);
    if (def[1]) return def[1];
    const named = src.match(new RegExp(`const ${def[2]}: &str = "([^"]+)"`));
    if (!named) throw new Error(`${file}: no \`const ${def[2]}: &str\``);
    return named[1];
  });
}
