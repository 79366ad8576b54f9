// The in-process simulator is a deterministic function of its seed: the same seed gives the same command
// and event streams bit for bit (both books), different seeds differ; agents obey the pair's rules (no
// INVALID_ARGUMENT, no FAILED_PRECONDITION beyond rare post-only refusals); and the ledger agrees with
// what the pairs hold (every open order's filled quantity and status) and conserves quantity per pair.
import { describe, expect, it } from 'vitest';
import { DEFAULT_INSTRUMENTS, compileInstrument } from '../server/core/instrument.ts';
import { runInProcessSimulation } from './in-process-driver.ts';
import { replayTrace } from './trace-replay.ts';

const run = (seed: number, book: 'legacy' | 'adaptive' = 'legacy') => runInProcessSimulation({ seed, durationMs: 6_000, ratePerSecond: 5_000, book });

describe('in-process simulator', () => {
  const a = run(7);

  it('the same seed gives the same command and event streams, bit for bit', () => {
    const b = run(7);
    expect(a.commands).toBeGreaterThan(25_000);
    expect(a.events).toBeGreaterThan(a.commands);
    expect(b.commandHash).toBe(a.commandHash);
    expect(b.eventHash).toBe(a.eventHash);
    expect(b.report.markets).toEqual(a.report.markets);
    expect(b.report.agents).toEqual(a.report.agents);
  });

  it('agents are pure: a fresh population fed the traced answers reproduces every command (what bench:simulator times)', () => {
    const traced = runInProcessSimulation({ seed: 7, durationMs: 6_000, ratePerSecond: 5_000, trace: true, hash: true });
    expect(traced.commandHash).toBe(a.commandHash);
    const instruments = ['BTCUSDT', 'ETHUSDT'].map((p) => compileInstrument(DEFAULT_INSTRUMENTS.find((s) => s.symbol === p)!));
    let ticks = 0;
    const g = replayTrace({ seed: 7, instruments }, traced.trace!, () => ticks++);
    expect(g.commands).toBe(a.commands);
    expect(g.mismatches).toBe(0);
    // A different seed fed the same answers goes its own way.
    expect(replayTrace({ seed: 8, instruments }, traced.trace!, () => 0).mismatches).toBeGreaterThan(0);
  });

  it('a different seed gives different streams', () => {
    const c = run(8);
    expect(c.commandHash).not.toBe(a.commandHash);
    expect(c.eventHash).not.toBe(a.eventHash);
  });

  it('the adaptive book produces exactly the events of the legacy book for the same seed', () => {
    const d = run(7, 'adaptive');
    expect(d.commandHash).toBe(a.commandHash);
    expect(d.eventHash).toBe(a.eventHash);
  });

  it('every agent kind trades, and no command breaks a tick, lot or band rule', () => {
    expect(a.codes.INVALID_ARGUMENT ?? 0).toBe(0);
    expect(a.codes.ALREADY_EXISTS ?? 0).toBe(0);
    expect(a.codes.OK).toBeGreaterThan(a.commands * 0.95);
    const kinds = new Set(a.agents.filter((x) => x.fills > 0).map((x) => x.kind));
    expect([...kinds].sort()).toEqual(['cancel-storm', 'informed', 'market-maker', 'momentum', 'noise']);
    const k = a.report.commands.byKind;
    expect(k.submit).toBeGreaterThan(0);
    expect(k.cancel).toBeGreaterThan(0);
    expect(k.replace).toBeGreaterThan(0);
    for (const m of a.report.markets) expect(m.trades).toBeGreaterThan(100);
  });

  it('the ledger matches the pairs: open orders, filled quantities, statuses; buys equal sells per pair; each trade seen by both sides', () => {
    const ledger = a.report.ledger!;
    const byAccount = new Map(a.agents.map((ag, i) => [ag.name, i + 1]));
    let open = 0;
    for (const e of ledger.orders) {
      const pair = a.pairs.get(e.pair)!;
      const held = pair.findByClientOrderId(byAccount.get(e.account)!, e.clientOrderId);
      if (e.status === 'new' || e.status === 'partially_filled') {
        open++;
        expect(held, `${e.clientOrderId} open in the ledger`).toBeDefined();
      }
      if (held === undefined) continue; // closed and beyond the retention
      expect(String(held.orderId)).toBe(e.orderId);
      expect(held.status).toBe(e.status);
      expect(pair.instrument.lot.units * BigInt(held.filled)).toBe(BigInt(e.filledQuantity.replace('.', '')));
    }
    expect(open).toBeGreaterThan(0);
    for (const pair of a.pairs.values()) {
      const openHeld = a.agents.filter((ag) => ag.pair === pair.symbol).reduce((n, ag) => n + pair.listOpenOrders(byAccount.get(ag.name)!).length, 0);
      expect(ledger.orders.filter((e) => e.pair === pair.symbol && (e.status === 'new' || e.status === 'partially_filled')).length).toBe(openHeld);
    }
    for (const symbol of a.pairs.keys()) {
      const fills = ledger.fills.filter((f) => f.pair === symbol);
      const sum = (side: string) => fills.filter((f) => f.side === side).reduce((s, f) => s + BigInt(f.quantity.replace('.', '')), 0n);
      expect(sum('buy')).toBe(sum('sell'));
      const perTrade = new Map<string, number>();
      for (const f of fills) perTrade.set(f.tradeId, (perTrade.get(f.tradeId) ?? 0) + 1);
      expect([...perTrade.values()].every((n) => n === 2)).toBe(true);
      expect(perTrade.size).toBe(a.report.markets.find((m) => m.pair === symbol)!.trades);
    }
  });
});
