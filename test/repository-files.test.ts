/**
 * The repository stands on its own (issue 13, item 7): every Markdown file a source file, script, test or
 * document cites is in the repository, the LICENSE that package.json names is there, and no test pins the
 * service's default ports (issue 13, item 3: tests use free ports, so a user's running `npm start` on
 * 8080/50051 cannot break `npm test`).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const SKIP = new Set(['node_modules', 'dist', 'data', '.git', 'bench-results', 'coverage', '.scratch']);

function files(dir: string, ext: RegExp, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name)) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) files(p, ext, out);
    else if (ext.test(name)) out.push(p);
  }
  return out;
}

describe('the repository cites only files it contains', () => {
  it('every cited *.md exists (relative to the repository root, docs/, or the citing file)', () => {
    const missing: string[] = [];
    for (const file of files(ROOT, /\.(ts|mjs|sh|sql|md|proto)$/)) {
      const text = readFileSync(file, 'utf8');
      // (not a method call such as `this.md()`)
      for (const m of text.matchAll(/(?<![\w/.-])((?:[\w-]+\/)*[\w-]+\.md)\b(?!\s*\()/g)) {
        const cited = m[1]!;
        const candidates = [join(ROOT, cited), join(ROOT, 'docs', cited), join(file, '..', cited)];
        if (!candidates.some((c) => existsSync(c))) missing.push(`${relative(ROOT, file)} cites ${cited}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('has the LICENSE package.json names (Apache-2.0, full text)', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { license: string };
    expect(pkg.license).toBe('Apache-2.0');
    const license = readFileSync(join(ROOT, 'LICENSE'), 'utf8');
    expect(license).toMatch(/Apache License\s+Version 2\.0, January 2004/);
    expect(license).toMatch(/END OF TERMS AND CONDITIONS/);
    expect(license).toMatch(/9\. Accepting Warranty or Additional Liability\./);
  });
});

describe('tests use free ports', () => {
  it('no test binds or connects to the default ports 8080 / 50051 (asserting the defaults is fine)', () => {
    // A use of the port: an env value, a listen() or a host:port address. Not: a title, a comment, an expectation.
    const use = /(PORT['"]?\s*[:=]\s*['"`]?(8080|50051)\b)|(listen\(\s*(8080|50051)\b)|((127\.0\.0\.1|localhost|0\.0\.0\.0):(8080|50051)\b)/;
    const offenders: string[] = [];
    for (const file of files(ROOT, /\.test\.ts$/)) {
      if (file === import.meta.filename) continue;
      readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
        if (!use.test(line) || /\bexpect\(/.test(line) || /^\s*(\/\/|\*)/.test(line)) return;
        offenders.push(`${relative(ROOT, file)}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(offenders).toEqual([]);
  });

  it('every test that spawns the service gives it GRPC_PORT and ADMIN_PORT 0', () => {
    const offenders: string[] = [];
    for (const file of files(ROOT, /\.test\.ts$/)) {
      const text = readFileSync(file, 'utf8');
      if (!/spawn\([^)]*server\/main\.ts/.test(text)) continue;
      if (!/GRPC_PORT: '0'/.test(text) || !/ADMIN_PORT: '0'/.test(text)) offenders.push(relative(ROOT, file));
    }
    expect(offenders).toEqual([]);
  });
});
