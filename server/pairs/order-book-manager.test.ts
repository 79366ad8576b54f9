/**
 * The order-book manager with the real migration controller, circuit breaker and both books; faults come
 * through FaultyBook, the seam the chaos drills use. The reference for "nothing lost or duplicated" is
 * a plain legacy book fed the same commands: what the manager serves must equal what it emits, event for
 * event, and the manager's true state must equal the reference state after every trip.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AdaptiveBook } from '../core/adaptive-book/adaptive-book.ts';
import type { Command } from '../core/commands.ts';
import { RecordingSink } from '../core/events.ts';
import { LegacyBook } from '../core/legacy-book/legacy-book.ts';
import { hashBookState } from '../core/state-hash.ts';
import { ManualClock } from '../ports/clock.ts';
import { CircuitBreakers } from './circuit-breaker.ts';
import { FaultSwitch, FaultyBook, type Fault } from './faulty-book.ts';
import { MigrationController } from './migration-controller.ts';
import { OrderBookManager, type OrderBookManagerOptions } from './order-book-manager.ts';
import { TEST_INSTRUMENT, limit, cancel, market } from '../../test/support/book-fixtures.ts';
import { commandSequence } from '../../test/support/command-arbitraries.ts';
import { propertyParameters } from '../../test/support/property-parameters.ts';

const PAIR = TEST_INSTRUMENT.symbol;

function setup(opts: { initial?: 'legacy_only' | 'shadow'; minSamples?: number } = {}) {
  const clock = new ManualClock();
  const migration = new MigrationController([PAIR, 'OTHER'], clock, { initialState: opts.initial ?? 'shadow' });
  const breakers = new CircuitBreakers([PAIR, 'OTHER'], clock, { latencyBudgetMs: 5, minSamples: opts.minSamples ?? 5 });
  const faults = new FaultSwitch();
  const managerEvents: string[] = [];
  const manager = new OrderBookManager({
    instrument: TEST_INSTRUMENT,
    legacyFactory: (i) => new LegacyBook(i),
    adaptiveFactory: (i) => new FaultyBook(new AdaptiveBook(i), faults, (ms) => clock.advanceMs(ms)),
    routing: migration,
    breaker: breakers.get(PAIR),
    clock,
    auditEveryCommands: 50,
    observer: { onBookCommand() {}, onManagerEvent: (_p, event, detail) => managerEvents.push(`${event}: ${detail}`) },
  });
  const reference = new LegacyBook(TEST_INSTRUMENT);
  const served = new RecordingSink();
  const expected = new RecordingSink();
  /** Applies to the manager and the reference; drains the shadow like the adapter does after replying. */
  const run = (cmds: Command[], drain = true) => {
    for (const c of cmds) {
      manager.apply(c, served);
      reference.apply(c, expected);
      if (drain) manager.drainShadow();
    }
  };
  const trueHash = () => {
    const copy = new LegacyBook(TEST_INSTRUMENT);
    copy.load(manager.restingOrders());
    return hashBookState(copy);
  };
  return { clock, migration, breakers, breaker: breakers.get(PAIR), faults, manager, reference, served, expected, run, trueHash, managerEvents };
}

/** A manager on plain books (no faults) in the shadow state, at `percentage`, with the options a test adds. */
function plainManager(extra: Pick<OrderBookManagerOptions, 'observer' | 'scheduleShadowDrain'>, percentage = 0) {
  const clock = new ManualClock();
  const migration = new MigrationController([PAIR], clock, { initialState: 'shadow' });
  if (percentage > 0) migration.setPercentage(PAIR, percentage, 'test');
  const breakers = new CircuitBreakers([PAIR], clock);
  const breaker = breakers.get(PAIR);
  const manager = new OrderBookManager({
    instrument: TEST_INSTRUMENT,
    legacyFactory: (i) => new LegacyBook(i),
    adaptiveFactory: (i) => new AdaptiveBook(i),
    routing: migration,
    breaker,
    clock,
    ...extra,
  });
  return { clock, breaker, manager };
}

const book = (n: number): Command[] => [
  limit(n + 1, 'sell', 101, 5, { account: 2 }),
  limit(n + 2, 'sell', 102, 5, { account: 3 }),
  limit(n + 3, 'buy', 99, 5, { account: 2 }),
  limit(n + 4, 'buy', 98, 5, { account: 3 }),
];
const trades = (n: number): Command[] => [limit(n + 1, 'buy', 101, 2, { account: 1 }), market(n + 2, 'sell', 3, { account: 1 }), cancel(n - 1, 3)];

describe('OrderBookManager routing', () => {
  it('legacy_only keeps no adaptive book at all', () => {
    const s = setup({ initial: 'legacy_only' });
    s.run(book(0));
    expect(s.manager.books).toEqual({ legacy: true, adaptive: false, pendingShadow: 0 });
    expect(s.served.events).toEqual(s.expected.events);
  });

  it('at 0 % the adaptive book only shadows: it lags until drained, then matches the legacy state', () => {
    const s = setup();
    s.run(book(0), false);
    expect(s.manager.books).toEqual({ legacy: true, adaptive: true, pendingShadow: 4 });
    s.manager.drainShadow();
    const hashes = s.manager.stateHashes();
    expect(hashes.adaptive).toBe(hashes.legacy);
    expect(s.served.events).toEqual(s.expected.events);
    expect(s.breaker.isOpen).toBe(false);
  });

  it('asks the adapter to drain the shadow once per lag, after the served result', () => {
    const scheduled: (() => void)[] = [];
    const { manager } = plainManager({ scheduleShadowDrain: (drain) => scheduled.push(drain) });
    const sink = new RecordingSink();
    for (const c of book(0)) manager.apply(c, sink);
    expect(scheduled).toHaveLength(1);
    expect(manager.books.pendingShadow).toBe(4);
    scheduled[0]!();
    expect(manager.books.pendingShadow).toBe(0);
    manager.apply(limit(9, 'buy', 90, 1), sink);
    expect(scheduled).toHaveLength(2);
  });

  it('reads the wall clock once per command and once per shadow drain, and hands that reading to every figure of it', () => {
    const seen: string[] = [];
    // Percentage 100: the adaptive book serves, so the breaker's window is fed too (served adaptive latencies).
    const { clock, breaker, manager } = plainManager({ observer: { onBookCommand: (_p, impl, role, _ns, _ok, _accepted, atMs) => seen.push(`${impl} ${role} ${atMs}`) } }, 100);
    let reads = 0;
    const nowMs = clock.nowMs.bind(clock);
    clock.nowMs = () => (reads++, nowMs());
    const sink = new RecordingSink();
    const t0 = nowMs();
    for (const c of book(0)) {
      manager.apply(c, sink);
      clock.advanceMs(1);
    }
    expect(reads).toBe(4);
    manager.drainShadow();
    expect(reads).toBe(5);
    expect(seen).toEqual([
      ...[0, 1, 2, 3].map((i) => `adaptive served ${t0 + i}`),
      ...[0, 1, 2, 3].map(() => `legacy shadow ${t0 + 4}`),
    ]);
    expect(breaker.latencyWindow().samples).toBe(4);
  });

  it('serves exactly the reference events and keeps both books in step at any percentage, with or without draining', () => {
    fc.assert(
      fc.property(commandSequence(80), fc.integer({ min: 0, max: 100 }), fc.boolean(), (commands, pct, drain) => {
        const s = setup();
        s.migration.setPercentage(PAIR, pct, 'test');
        s.run(commands, drain);
        expect(s.served.events).toEqual(s.expected.events);
        expect(s.breaker.isOpen).toBe(false);
        const h = s.manager.stateHashes();
        expect(h.adaptive).toBe(h.legacy);
        expect(h.legacy).toBe(s.reference.stateHash());
      }),
      propertyParameters(100),
    );
  });
});

describe('OrderBookManager start-up replay on one book', () => {
  it('replays on the legacy book alone, then builds the adaptive book from it; both in step, no fallback', () => {
    fc.assert(
      fc.property(commandSequence(80), fc.integer({ min: 0, max: 100 }), (commands, pct) => {
        const s = setup();
        s.migration.setPercentage(PAIR, pct, 'test');
        s.manager.beginReplay();
        s.run(commands, false);
        expect(s.manager.books).toEqual({ legacy: true, adaptive: false, pendingShadow: 0 });
        s.manager.endReplay();
        expect(s.manager.books.adaptive).toBe(true);
        expect(s.served.events).toEqual(s.expected.events);
        const h = s.manager.stateHashes();
        expect(h.adaptive).toBe(h.legacy);
        expect(h.legacy).toBe(s.reference.stateHash());
        expect(s.breaker.isOpen).toBe(false);
        expect(s.managerEvents.filter((e) => e.startsWith('fallback'))).toEqual([]);
      }),
      propertyParameters(50),
    );
  });
});

describe('OrderBookManager breaker trips: the pair continues on legacy, nothing lost or duplicated', () => {
  const trips: [string, Fault, number, string][] = [
    ['an adaptive exception while shadowing (0 %)', { kind: 'throw', everyNth: 3 }, 0, 'adaptive_error'],
    ['an adaptive exception while primary (100 %)', { kind: 'throw', everyNth: 3 }, 100, 'adaptive_error'],
    ['an adaptive exception in canary (50 %)', { kind: 'throw', everyNth: 3 }, 50, 'adaptive_error'],
    ['a divergence while shadowing (0 %)', { kind: 'diverge', everyNth: 4 }, 0, 'divergence'],
    ['a divergence while primary (100 %)', { kind: 'diverge', everyNth: 4 }, 100, 'divergence'],
    ['adaptive latency above budget while shadowing (0 %)', { kind: 'slow', delayMs: 30 }, 0, 'latency'],
    ['adaptive latency above budget while primary (100 %)', { kind: 'slow', delayMs: 30 }, 100, 'latency'],
  ];

  it.each(trips)('%s', (_name, fault, pct, reason) => {
    const s = setup();
    s.migration.setPercentage(PAIR, pct, 'test');
    s.run(book(0));
    s.faults.set(fault);
    s.run([...trades(10), ...book(20), ...trades(30), ...book(40), ...trades(50)]);
    expect(s.breaker.status()).toMatchObject({ open: true, reason });
    expect(s.manager.books.adaptive).toBe(false);
    // Trading continued on the same pair after the trip, and the true state is the reference state.
    s.run([...trades(60), ...book(70)]);
    expect(s.trueHash()).toBe(s.reference.stateHash());
    if (fault.kind === 'throw' || pct === 0) {
      // Served results came from books that were right: they equal the reference event for event.
      expect(s.served.events).toEqual(s.expected.events);
    } else {
      // A faulty primary's served events stand (they were acknowledged); its order outcomes are right,
      // only its reported level quantities were skewed (diverge) or late (slow).
      const orderEvents = (e: { type: string }[]) => e.filter((x) => x.type !== 'level');
      expect(orderEvents(s.served.events)).toEqual(orderEvents(s.expected.events));
    }
  });

  it('an operator activate-all opens every breaker; each pair goes on with its legacy book', () => {
    const s = setup();
    s.migration.setPercentage(PAIR, 100, 'test');
    s.run(book(0), false); // legacy lagging behind served adaptive results
    expect(s.breakers.activateAll('incident drill')).toContain(PAIR);
    s.run(trades(10));
    expect(s.manager.books.adaptive).toBe(false);
    expect(s.served.events).toEqual(s.expected.events);
    expect(s.trueHash()).toBe(s.reference.stateHash());
    expect(s.breakers.get('OTHER').status()).toMatchObject({ open: true, reason: 'operator' });
  });

  it('a trip on one pair leaves the other pair in dual-run', () => {
    const s = setup();
    const clockOther = s.clock;
    const other = new OrderBookManager({
      instrument: { ...TEST_INSTRUMENT, symbol: 'OTHER' },
      legacyFactory: (i) => new LegacyBook(i),
      adaptiveFactory: (i) => new AdaptiveBook(i),
      routing: s.migration,
      breaker: s.breakers.get('OTHER'),
      clock: clockOther,
    });
    s.faults.set({ kind: 'throw' });
    s.run(book(0));
    const sink = new RecordingSink();
    for (const c of book(0)) other.apply(c, sink);
    other.drainShadow();
    expect(s.breaker.isOpen).toBe(true);
    expect(s.breakers.get('OTHER').isOpen).toBe(false);
    expect(other.books).toMatchObject({ legacy: true, adaptive: true });
  });

  it('reset rebuilds the adaptive book from the true state before closing the breaker', () => {
    const s = setup();
    s.migration.setPercentage(PAIR, 50, 'test');
    s.faults.set({ kind: 'throw', everyNth: 2 });
    s.run(book(0));
    expect(s.breaker.isOpen).toBe(true);
    s.faults.clear();
    s.run(trades(10));
    expect(s.manager.resetBreaker('operator')).toBe(true);
    expect(s.breaker.isOpen).toBe(false);
    expect(s.manager.books.adaptive).toBe(true);
    const h = s.manager.stateHashes();
    expect(h.adaptive).toBe(h.legacy);
    s.run([...book(20), ...trades(30)]);
    expect(s.served.events).toEqual(s.expected.events);
    expect(s.breaker.isOpen).toBe(false);
  });
});

describe('OrderBookManager completion and rollback', () => {
  it('completion retires the legacy book; rollback rebuilds it to the true state', () => {
    const s = setup();
    s.migration.setPercentage(PAIR, 100, 'test');
    s.run(book(0));
    s.migration.complete(PAIR);
    s.run(trades(10));
    expect(s.manager.books).toMatchObject({ legacy: false, adaptive: true });
    s.migration.rollback(PAIR, 'test rollback');
    s.run(book(20));
    expect(s.manager.books.legacy).toBe(true);
    expect(s.served.events).toEqual(s.expected.events);
    const h = s.manager.stateHashes();
    expect(h.legacy).toBe(s.reference.stateHash());
  });
});
