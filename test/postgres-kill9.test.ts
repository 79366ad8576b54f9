/**
 * Durability of acknowledged appends across `kill -9`: a child process appends as fast as it can
 * and prints every sequence whose append() resolved; it is killed with SIGKILL mid-stream. Every
 * printed (acknowledged) sequence must be in the journal, and the journal must be gap-free.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestSchema, LOCAL_TEST_DATABASE_URL, type TestSchema } from '../server/adapters/postgres/test-schema.ts';
import { openPostgresPersistence } from '../server/adapters/postgres/postgres-persistence.ts';

const url = process.env['DATABASE_URL'] ?? LOCAL_TEST_DATABASE_URL;
const root = join(import.meta.dirname, '..');
let schema: TestSchema;

beforeAll(async () => {
  schema = await createTestSchema(url, 'ts_kill9');
});
afterAll(async () => {
  await schema?.drop();
});

const CHILD = `
import { openPostgresPersistence } from ${JSON.stringify(join(root, 'server/adapters/postgres/postgres-persistence.ts'))};
import { newOrderEntry } from ${JSON.stringify(join(root, 'server/adapters/postgres/journal-fixtures.ts'))};
const db = await openPostgresPersistence({ connectionString: process.env.TEST_URL, options: process.env.TEST_OPTIONS });
process.stdout.write('ready\\n');
let seq = 0;
// Keep up to 64 appends in flight, like pairs that do not wait for each other's acks.
const inFlight = new Set();
for (;;) {
  while (inFlight.size < 64) {
    const s = ++seq;
    const p = db.journal.append([newOrderEntry('KILLUSD', s)]).then(() => process.stdout.write(s + '\\n'));
    inFlight.add(p);
    p.finally(() => inFlight.delete(p));
  }
  await Promise.race(inFlight);
}
`;

describe('journal durability across kill -9', () => {
  it('keeps every acknowledged append and no gap', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], {
      cwd: root,
      env: { ...process.env, TEST_URL: url, TEST_OPTIONS: schema.options },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const acked = out.split('\n').filter((l) => /^\d+$/.test(l)).length;
        if (acked >= 2000) resolve();
      });
      child.on('exit', (code) => reject(new Error(`child exited early (${code}): ${err}`)));
    });
    child.kill('SIGKILL');
    await exited;

    const acked = out
      .split('\n')
      .filter((l) => /^\d+$/.test(l))
      .map(Number);
    expect(acked.length).toBeGreaterThanOrEqual(2000);
    const db = await openPostgresPersistence({ connectionString: url, options: schema.options });
    try {
      const stored: number[] = [];
      for await (const batch of db.recovery.entriesAfter('KILLUSD', 0, 5000)) stored.push(...batch.map((r) => r.sequence)); // throws on a gap
      expect(stored.length).toBeGreaterThanOrEqual(Math.max(...acked));
      const set = new Set(stored);
      expect(acked.filter((s) => !set.has(s))).toEqual([]);
    } finally {
      await db.close();
    }
  });
});
