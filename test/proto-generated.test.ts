// The committed ts-proto output must be what `npm run proto:gen` makes from proto/ right now.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const committed = join(root, 'server/adapters/grpc/generated');

function listFiles(dir: string): string[] {
  const walk = (d: string): string[] =>
    readdirSync(d).flatMap((name) => {
      const path = join(d, name);
      return statSync(path).isDirectory() ? walk(path) : [path];
    });
  return walk(dir)
    .map((p) => relative(dir, p))
    .sort();
}

describe('generated gRPC code', () => {
  const fresh = mkdtempSync(join(tmpdir(), 'proto-gen-'));
  afterAll(() => rmSync(fresh, { recursive: true, force: true }));

  it('is up to date with proto/ (run `npm run proto:gen` and commit if this fails)', () => {
    execFileSync(process.execPath, [join(root, 'scripts/proto-gen.mjs'), fresh], { cwd: root, stdio: 'pipe' });
    const files = listFiles(fresh);
    expect(files.length).toBeGreaterThan(0);
    expect(listFiles(committed)).toEqual(files);
    for (const file of files) {
      expect(readFileSync(join(committed, file), 'utf8'), `${file} is stale`).toBe(readFileSync(join(fresh, file), 'utf8'));
    }
  });
});
