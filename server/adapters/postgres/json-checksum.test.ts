import fc from 'fast-check';
import { threadId } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { canonicalChecksum } from './canonical-checksum.ts';
import { jsonChecksumOffLoop } from './json-checksum.ts';

describe('jsonChecksumOffLoop', () => {
  it('gives the checksum canonicalChecksum gives for the parsed text, computed on another thread', async () => {
    // JSON texts as PostgreSQL returns a JSONB payload: keys in its own order, with spaces.
    const jsonbLike = (value: unknown): string => JSON.stringify(value, null, 1);
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (value) => {
        const text = jsonbLike(value);
        const r = await jsonChecksumOffLoop(text);
        expect(r.checksum).toBe((await canonicalChecksum(JSON.parse(text))).checksum);
        expect(r.threadId).not.toBe(threadId);
      }),
      { numRuns: 10 },
    );
    const orders = Array.from({ length: 20_000 }, (_, i) => ({ status: 'new', orderId: i + 1, account: `a${i % 7}`, price: 6_500_000 + i, quantity: 1 + (i % 100), postOnly: i % 3 === 0 }));
    const snapshot = { sequence: 42, pair: 'BTCUSDT', orders, closedOrders: orders.slice(0, 5000), takenAtMs: 1_700_000_000_000 };
    expect((await jsonChecksumOffLoop(jsonbLike(snapshot))).checksum).toBe((await canonicalChecksum(snapshot)).checksum);
  });

  it('rejects a text that is not JSON, naming the failure', async () => {
    await expect(jsonChecksumOffLoop('{"orders": [')).rejects.toThrow(/snapshot checksum: .*JSON/);
  });
});
