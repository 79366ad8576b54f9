/**
 * The per-pair control plane (server/pairs/pair-control.ts, pair-controls.ts) is the only code that brings a
 * pair's books in line with its migration and breaker state: no adapter (or any other module) calls
 * `reconcile()` on a manager, and nothing outside server/pairs changes migration or breaker state
 * directly (they read it). Checked by scanning the sources, like test/architecture.test.ts.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
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

/** Lines of code (comments skipped) matching `pattern`, as `file:line: text`. */
function offenders(files: string[], pattern: RegExp): string[] {
  return files.flatMap((f) =>
    readFileSync(f, 'utf8')
      .split('\n')
      .map((line, i) => ({ line, i }))
      .filter(({ line }) => !line.trim().startsWith('*') && !line.trim().startsWith('//') && pattern.test(line))
      .map(({ line, i }) => `${relative(root, f)}:${i + 1}: ${line.trim()}`),
  );
}

const all = () => ['server', 'simulator', 'chaos', 'loadtest'].flatMap((d) => {
  try {
    return sourceFiles(join(root, d));
  } catch {
    return [];
  }
});

describe('control plane boundary', () => {
  it('only the control plane (and the manager itself) calls reconcile()', () => {
    const allowed = new Set(['server/pairs/order-book-manager.ts', 'server/pairs/pair-control.ts']);
    expect(offenders(all().filter((f) => !allowed.has(relative(root, f))), /\.reconcile\(/)).toEqual([]);
  });

  it('outside server/pairs nothing changes migration, breaker or book state except through the control plane', () => {
    const outside = all().filter((f) => !relative(root, f).startsWith('server/pairs/'));
    const writes = /\b(migration|breakers?|manager|gate)\s*\??\.\s*(setPercentage|startRamp|resumeRamp|complete|rollback|stopAll|emergencyStop|activateAll|resetAll|trip|reset|resetBreaker|restoreState|restoreRamp|haltTrading|resumeTrading|enableMaintenance|disableMaintenance)\(/;
    expect(offenders(outside, writes)).toEqual([]);
  });
});
