/**
 * Dependencies point inward: core imports only core; pairs only core and ports; nothing
 * imports the composition root. Checked by scanning import specifiers, cheaper than review.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...sourceFiles(full));
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) out.push(full);
  }
  return out;
}

/** Import specifiers of a file, resolved to project-relative paths when relative. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+['"]([^'"]+)['"]/g), ...text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]!);
  return specs.map((s) => (s.startsWith('.') ? relative(root, resolve(dirname(file), s)) : s));
}

function violations(folder: string, allowed: (spec: string) => boolean): string[] {
  return sourceFiles(join(root, folder)).flatMap((f) => importsOf(f).filter((s) => !allowed(s)).map((s) => `${relative(root, f)} imports ${s}`));
}

/** Globals that would make the inside non-deterministic or let it do I/O. */
const FORBIDDEN_GLOBALS = /\b(Date\.now|new Date\(\)|Math\.random|setTimeout|setInterval|setImmediate|process\.|performance\.now|require\()/;

describe('architecture: dependencies point inward', () => {
  it('server/core imports only server/core', () => {
    expect(violations('server/core', (s) => s.startsWith('server/core/'))).toEqual([]);
  });

  it('server/pairs imports only server/core, server/pairs and server/ports', () => {
    expect(violations('server/pairs', (s) => /^server\/(core|pairs|ports)\//.test(s))).toEqual([]);
  });

  it('server/core and server/pairs use no clock, randomness, timers or process state of their own', () => {
    const offenders = [...sourceFiles(join(root, 'server/core')), ...sourceFiles(join(root, 'server/pairs'))].filter((f) =>
      readFileSync(f, 'utf8')
        .split('\n')
        .some((line) => !line.trim().startsWith('*') && !line.trim().startsWith('//') && FORBIDDEN_GLOBALS.test(line)),
    );
    expect(offenders.map((f) => relative(root, f))).toEqual([]);
  });

  it('nothing imports the composition root', () => {
    const all = ['server', 'simulator', 'chaos', 'loadtest'].flatMap((d) => {
      try {
        return sourceFiles(join(root, d));
      } catch {
        return [];
      }
    });
    const importers = all.filter((f) => importsOf(f).some((s) => s === 'server/main.ts' || s === 'server/main.js' || s === 'server/main'));
    expect(importers.map((f) => relative(root, f))).toEqual([]);
  });
});
