// Builds dist/: the client's TypeScript with its types stripped (Node's own stripper, no
// compiler needed), `.ts` imports rewritten to `.js`. Types are published from src/.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import { join } from 'node:path';

const root = import.meta.dirname;
const out = process.argv[2] ?? join(root, 'dist');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
for (const file of readdirSync(join(root, 'src'))) {
  if (!file.endsWith('.ts')) continue;
  const js = stripTypeScriptTypes(readFileSync(join(root, 'src', file), 'utf8'), { mode: 'strip' }).replace(/(from\s+['"]\.[^'"]*)\.ts(['"])/g, '$1.js$2');
  writeFileSync(join(out, file.replace(/\.ts$/, '.js')), js);
}
console.log(`tally-client: built ${out}`);
