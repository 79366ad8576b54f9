/**
 * Issue 7 item 1, the event loop: a delta fanned out to many streams is handed to grpc-js in slices
 * (stream-pacer.ts), so other work runs between them. With an injected clock (each message "costs"
 * 0.1 ms) the pacer is seen to stop a turn once its slice is used, let other callbacks run, then go
 * on where it stopped — streams taking turns, each in its own order. (End to end, paced streams that
 * never read are ended at their byte bound: test/hostile-streams.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { StreamPacer, type PacedSource } from '../server/adapters/grpc/stream-pacer.ts';

describe('fan-out in slices', () => {
  it('3 streams × 40 messages at 0.1 ms each, 4 ms slices: a turn ends after its slice, other callbacks run, streams resume in order, round robin', async () => {
    let now = 0;
    const pacer = new StreamPacer(4, () => now);
    const log: string[] = [];
    const source = (name: string, n: number): PacedSource => {
      let sent = 0;
      return {
        pass(max) {
          for (let i = 0; i < max && sent < n; i++) {
            log.push(`${name}${sent++}`);
            now += 0.1;
          }
          return sent < n;
        },
      };
    };
    const sources = [source('a', 40), source('b', 40), source('c', 40)];
    for (const s of sources) pacer.wake(s);
    pacer.wake(sources[0]!); // woken twice: still one turn per round
    setImmediate(() => log.push('other'));
    while (log.filter((x) => x !== 'other').length < 120) await new Promise((r) => setImmediate(r));
    // First turn: 16 of each (4.8 ms ≥ 4 ms), then the other callback, then the rest.
    expect(log.indexOf('other')).toBe(48);
    expect(log.slice(0, 48)).toEqual([...['a', 'b', 'c'].flatMap((n) => Array.from({ length: 16 }, (_, i) => `${n}${i}`))]);
    for (const n of ['a', 'b', 'c']) expect(log.filter((x) => x.startsWith(n))).toEqual(Array.from({ length: 40 }, (_, i) => `${n}${i}`));
    expect(pacer.slicesYielded).toBeGreaterThanOrEqual(1);
  });

  it('a source may name its own quantum (a feed reader: many small frames in one write); others get 16', async () => {
    let now = 0;
    const pacer = new StreamPacer(4, () => now);
    const maxes: Record<string, number[]> = { big: [], plain: [] };
    const source = (name: 'big' | 'plain', quantum?: number): PacedSource => {
      let left = 2;
      return {
        quantum,
        pass(max) {
          maxes[name]!.push(max);
          now += 0.1;
          return --left > 0;
        },
      };
    };
    pacer.wake(source('big', 256));
    pacer.wake(source('plain'));
    while (maxes['big']!.length + maxes['plain']!.length < 4) await new Promise((r) => setImmediate(r));
    expect(maxes).toEqual({ big: [256, 256], plain: [16, 16] });
  });

  it('a source whose pass throws is dropped; the others still get their turns', async () => {
    let now = 0;
    const pacer = new StreamPacer(4, () => now);
    let good = 0;
    pacer.wake({
      pass: () => {
        throw new Error('write after end');
      },
    });
    pacer.wake({
      pass: () => {
        good++;
        now += 1;
        return good < 10;
      },
    });
    while (good < 10) await new Promise((r) => setImmediate(r));
    expect(pacer.sourcesFailed).toBe(1);
  });

  it('a forgotten source gets no more turns', async () => {
    let now = 0;
    const pacer = new StreamPacer(4, () => now);
    let passes = 0;
    const s: PacedSource = {
      pass: () => {
        passes++;
        now += 1;
        return true;
      },
    };
    pacer.wake(s);
    await new Promise((r) => setImmediate(r));
    pacer.forget(s);
    const seen = passes;
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(seen).toBeGreaterThan(0);
    expect(passes).toBe(seen);
  });
});
