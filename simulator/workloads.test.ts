import { describe, expect, it } from 'vitest';
import { BOOK_IMPLEMENTATIONS } from '../server/core/book-implementations.ts';
import { CommandKind, type Command } from '../server/core/commands.ts';
import { RecordingSink } from '../server/core/events.ts';
import { LegacyBook } from '../server/core/legacy-book/legacy-book.ts';
import { CancelReason } from '../server/core/reasons.ts';
import { OrderType, Side } from '../server/core/types.ts';
import { BTCUSDT, deepWorkload, restingOrders, shallowWorkload, type Workload } from './workloads.ts';

/** Applies setup and commands to a fresh legacy book and tallies what came out. */
function replay(w: Workload) {
  const book = new LegacyBook(BTCUSDT);
  const sink = new RecordingSink();
  const rejections = new Map<number, number>();
  let fills = 0;
  let kinds = [0, 0, 0, 0];
  const run = (cmds: Command[]) => {
    for (const cmd of cmds) {
      book.apply(cmd, sink);
      kinds[cmd.kind]!++;
      for (const e of sink.take()) {
        if (e.type === 'rejected') rejections.set(e.code, (rejections.get(e.code) ?? 0) + 1);
        if (e.type === 'fill') fills++;
      }
    }
  };
  run(w.setup);
  const setupResting = book.size();
  kinds = [0, 0, 0, 0];
  run(w.commands);
  book.checkInvariants();
  return { book, setupResting, rejections, fills, kinds };
}

describe('workload generators', () => {
  it('shallow: the same seed gives the same commands; another seed gives others', () => {
    const a = shallowWorkload({ seed: 11, commands: 5_000 });
    const b = shallowWorkload({ seed: 11, commands: 5_000 });
    const c = shallowWorkload({ seed: 12, commands: 5_000 });
    expect(b.setup).toEqual(a.setup);
    expect(b.commands).toEqual(a.commands);
    expect(b.stats).toEqual(a.stats);
    expect(c.commands).not.toEqual(a.commands);
  });

  it('deep: the same seed gives the same commands', () => {
    const opts = { seed: 3, commands: 2_000, ordersPerSide: 5_000, levelsPerSide: 1_500 };
    const a = deepWorkload(opts);
    const b = deepWorkload(opts);
    expect(b.setup).toEqual(a.setup);
    expect(b.commands).toEqual(a.commands);
  });

  it('shallow: the legacy book rests every setup order and rejects nothing in the stream', () => {
    const w = shallowWorkload({ seed: 5, commands: 20_000 });
    const r = replay(w);
    expect(r.setupResting).toBe(300);
    // Every cancel and replace names a live order of its own account: no UnknownOrder, no Invalid*, no
    // duplicates; passive post-only orders never cross, so PostOnlyWouldTake does not occur either.
    expect(Object.fromEntries(r.rejections)).toEqual({});
    expect(r.fills).toBeGreaterThan(1_000);
    expect(r.kinds[CommandKind.Cancel]).toBeGreaterThan(4_000);
    expect(r.kinds[CommandKind.Replace]).toBeGreaterThan(500);
    // Stays a shallow book: neither drained nor piled up.
    expect(r.book.size()).toBeGreaterThan(100);
    expect(r.book.size()).toBeLessThan(1_000);
  });

  it('deep: about 10 orders a level over 10,000 levels a side, and no rejections in the stream', () => {
    const w = deepWorkload({ seed: 5, commands: 5_000, ordersPerSide: 20_000, levelsPerSide: 2_000 });
    const r = replay(w);
    expect(r.setupResting).toBe(40_000);
    expect(Object.fromEntries(r.rejections)).toEqual({});
    // The stream trades through and cancels some of it, but the book stays deep.
    expect(r.book.depth(Side.Buy, 10_000).length).toBeGreaterThan(1_600);
    expect(r.book.depth(Side.Sell, 10_000).length).toBeGreaterThan(1_600);

    const full = deepWorkload({ seed: 1, commands: 1 });
    expect(full.setup.length).toBe(200_000);
    const levels = (side: Side) => new Set(full.setup.filter((c) => c.kind === CommandKind.NewOrder && c.side === side).map((c) => (c as { price: number }).price)).size;
    expect(levels(Side.Buy)).toBeGreaterThan(9_990);
    expect(levels(Side.Sell)).toBeGreaterThan(9_990);
  });

  it('the stream exercises every kind: market, IOC sweeps, replaces, cancel-all and self-trade prevention', () => {
    const w = shallowWorkload({ seed: 9, commands: 120_000 });
    const book = new LegacyBook(BTCUSDT);
    const sink = new RecordingSink();
    for (const c of w.setup) book.apply(c, sink);
    sink.take();
    const reasons = new Set<number>();
    for (const c of w.commands) {
      book.apply(c, sink);
      for (const e of sink.take()) if (e.type === 'cancelled') reasons.add(e.reason);
    }
    expect(w.stats.cancelAlls).toBeGreaterThan(0);
    expect(w.commands.some((c) => c.kind === CommandKind.NewOrder && c.type === OrderType.Market)).toBe(true);
    for (const r of [CancelReason.UserRequested, CancelReason.CancelAll, CancelReason.IocRemainder, CancelReason.SelfTradeTaker, CancelReason.SelfTradeMaker, CancelReason.SelfTradeDecrement]) {
      expect(reasons.has(r), `cancel reason ${r}`).toBe(true);
    }
  });

  it('restingOrders never cross and all rest', () => {
    const cmds = restingOrders(10_000);
    const book = new LegacyBook(BTCUSDT);
    const sink = new RecordingSink();
    for (const c of cmds) book.apply(c, sink);
    expect(sink.events.some((e) => e.type === 'fill' || e.type === 'rejected')).toBe(false);
    expect(book.size()).toBe(10_000);
  });

  it.each(Object.keys(BOOK_IMPLEMENTATIONS))('%s book: same events as the legacy book on a small shallow stream', (name) => {
    const w = shallowWorkload({ seed: 21, commands: 3_000 });
    const legacy = new LegacyBook(BTCUSDT);
    const other = BOOK_IMPLEMENTATIONS[name as keyof typeof BOOK_IMPLEMENTATIONS]!(BTCUSDT);
    const a = new RecordingSink();
    const b = new RecordingSink();
    for (const c of [...w.setup, ...w.commands]) {
      legacy.apply(c, a);
      other.apply(c, b);
    }
    expect(b.events).toEqual(a.events);
    expect(other.stateHash()).toBe(legacy.stateHash());
  });
});
