import fc from 'fast-check';
import { threadId } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { canonicalJson, sha256Hex } from './canonical-json.ts';
import { jsonChecksumOffLoop } from './json-checksum.ts';

describe('jsonChecksumOffLoop', () => {
  it('gives sha256 of the canonical JSON of the parsed text, computed on another thread', async () => {
    // JSON texts as PostgreSQL returns a JSONB payload: keys in its own order, with spaces.
    const jsonbLike = (value: unknown): string => JSON.stringify(value, null, 1);
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (value) => {
        const text = jsonbLike(value);
        const r = await jsonChecksumOffLoop(text);
        expect(r.checksum).toBe(sha256Hex(canonicalJson(JSON.parse(text))));
        expect(r.threadId).not.toBe(threadId);
      }),
      { numRuns: 10 },
    );
    const orders = Array.from({ length: 20_000 }, (_, i) => ({ status: 'new', orderId: i + 1, account: `a${i % 7}`, price: 6_500_000 + i, quantity: 1 + (i % 100), postOnly: i % 3 === 0 }));
    const snapshot = { sequence: 42, pair: 'BTCUSDT', orders, closedOrders: orders.slice(0, 5000), takenAtMs: 1_700_000_000_000 };
    expect((await jsonChecksumOffLoop(jsonbLike(snapshot))).checksum).toBe(sha256Hex(canonicalJson(snapshot)));
  });

  it('reads UTF-8 bytes as the text they hold, a SharedArrayBuffer view included (what saveSnapshot hands it)', async () => {
    const text = JSON.stringify({ pair: 'ÉTH/€', orders: [{ clientOrderId: '😀 "q"', price: 7 }], b: 2, a: 1 });
    const utf8 = Buffer.from(text);
    const shared = Buffer.from(new SharedArrayBuffer(utf8.length + 3), 3); // at an offset in its buffer
    shared.set(utf8);
    const expected = sha256Hex(canonicalJson(JSON.parse(text)));
    expect((await jsonChecksumOffLoop(shared)).checksum).toBe(expected);
    expect((await jsonChecksumOffLoop(utf8)).checksum).toBe(expected);
  });

  it('rejects a text that is not JSON, naming the failure, and goes on answering', async () => {
    await expect(jsonChecksumOffLoop('{"orders": [')).rejects.toThrow(/snapshot checksum: .*JSON/);
    expect((await jsonChecksumOffLoop('{"b":1,"a":2}')).checksum).toBe(sha256Hex('{"a":2,"b":1}'));
  });

  it('answers calls in flight together each with its own text, all on one worker thread', async () => {
    const texts = Array.from({ length: 12 }, (_, i) => JSON.stringify({ n: i, list: Array.from({ length: i * 500 }, (_, j) => ({ j })) }));
    const replies = await Promise.all(texts.map((t) => jsonChecksumOffLoop(t)));
    expect(replies.map((r) => r.checksum)).toEqual(texts.map((t) => sha256Hex(canonicalJson(JSON.parse(t)))));
    expect(new Set(replies.map((r) => r.threadId)).size).toBe(1);
  });
});
