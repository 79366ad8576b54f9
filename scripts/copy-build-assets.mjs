// After `tsc -p tsconfig.build.json`: copies the files the compiled server reads at run time next to
// it, in the same layout as the sources (SQL migrations, .proto files for server reflection).
import { cpSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const assets = [
  { from: 'server/adapters/postgres/migrations', filter: (p) => !p.includes('.') || p.endsWith('.sql') },
  { from: 'proto', filter: (p) => !/\.[a-z]+$/.test(p) || p.endsWith('.proto') },
];
for (const { from, filter } of assets) {
  const to = join(root, 'dist', from);
  rmSync(to, { recursive: true, force: true });
  cpSync(join(root, from), to, { recursive: true, filter: (src) => filter(src.slice(join(root, from).length)) });
}
