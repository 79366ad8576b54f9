// The per-pair lifecycle in one place: a pair attached at runtime has everything a pair built at start has
// (control, books, breaker, migration state, metric series at 0, trade subscription feeding the monitor),
// and detaching it leaves nothing behind: no series in /metrics, no monitor rows or error entries, no
// control state, no subscriptions on the pair, no account subscription part, no fault switch.
import { describe, expect, it } from 'vitest';
import { compileInstrument } from '../core/instrument.ts';
import { OrderType, Side, StpMode, TimeInForce } from '../core/types.ts';
import type { NewOrderRequest } from '../pairs/trading-pair.ts';
import { loadConfig } from '../config.ts';
import { TradingService } from './trading-service.ts';

const quiet = { info: () => {}, error: () => {} };
const XRP = compileInstrument({ symbol: 'XRPUSDT', baseAsset: 'XRP', quoteAsset: 'USDT', tickSize: '0.0001', lotSize: '0.1', minQuantityLots: 1, maxQuantityLots: 1_000_000, minPriceTicks: 1, maxPriceTicks: 10_000_000, marketProtectionBps: 500 });

const order = (side: Side): NewOrderRequest => ({ side, type: OrderType.Limit, tif: TimeInForce.GTC, postOnly: false, price: 10_000, quantity: 10, stp: StpMode.None, clientOrderId: '' });

function service(): TradingService {
  return new TradingService(loadConfig({ GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', ADMIN_PORT: '0', CHAOS_ENABLED: 'true' }), { logger: quiet });
}

describe('PairLifecycle', () => {
  it('attaches a pair with everything a configured pair has', async () => {
    const s = service();
    const pair = s.lifecycle.attach(XRP);
    expect(s.pairs.get('XRPUSDT')).toBe(pair);
    expect(s.control.has('XRPUSDT')).toBe(true);
    expect(s.migration.pairs()).toContain('XRPUSDT');
    expect(s.breakers.has('XRPUSDT')).toBe(true);
    expect(s.managers.has('XRPUSDT') && s.faults.has('XRPUSDT')).toBe(true);
    expect(s.chaos!.pairs).toContain('XRPUSDT');
    expect(s.instruments.map((i) => i.symbol)).toContain('XRPUSDT');
    const text = await s.metrics.render();
    for (const family of ['trading_trades_total', 'trading_orders_total', 'trading_errors_total', 'trading_command_failures_total', 'trading_command_duration_seconds_count', 'trading_latency_p95', 'trading_circuit_breaker_open', 'trading_migration_percentage', 'trading_pair_halted'])
      expect(text, family).toMatch(new RegExp(`${family}\\{[^}]*pair="XRPUSDT"`));
    // Trades reach the monitor and the counter through the lifecycle's subscription.
    const alice = s.pairs.accounts.intern('alice');
    const bob = s.pairs.accounts.intern('bob');
    expect(pair.submit(alice, order(Side.Sell)).outcome.ok).toBe(true);
    expect(pair.submit(bob, order(Side.Buy)).outcome.ok).toBe(true);
    expect(await s.metrics.render()).toMatch(/trading_trades_total\{pair="XRPUSDT"\} 1/);
    expect(s.monitor.summary().per_pair['XRPUSDT']).toMatchObject({ trades_24h: 1, orders_24h: 2 });
  });

  it('detaches a pair without leaving anything of it', async () => {
    const s = service();
    const pair = s.lifecycle.attach(XRP);
    const events: string[] = [];
    const unsubscribe = s.pairs.subscribeAccount(s.pairs.accounts.intern('alice'), (p) => events.push(p.symbol));
    let removed = 0;
    s.pairs.watchRemoval(pair, () => removed++);
    s.control.haltPair('XRPUSDT', 'test', 'drill');
    s.chaos!.refusals.set('XRPUSDT', 3);
    s.monitor.recordError('XRPUSDT', 'book_error', 'x');
    const alice = s.pairs.accounts.intern('alice');
    pair.submit(alice, order(Side.Sell));
    pair.cancelAll(alice, undefined);
    expect(events).toContain('XRPUSDT');

    expect(s.lifecycle.detach('XRPUSDT')).toBe(pair);
    expect(removed).toBe(1);
    expect(s.pairs.get('XRPUSDT')).toBeUndefined();
    expect(pair.marketDataSubscriberCount).toBe(0); // the trade subscription ended
    expect(s.control.has('XRPUSDT') || s.breakers.has('XRPUSDT') || s.migration.pairs().includes('XRPUSDT')).toBe(false);
    expect(s.managers.has('XRPUSDT') || s.faults.has('XRPUSDT')).toBe(false);
    expect(s.gate.haltedPairs()).toEqual([]);
    expect(s.chaos!.refusals.status()).toEqual([]);
    expect(s.chaos!.pairs).not.toContain('XRPUSDT');
    expect(await s.metrics.render()).not.toMatch(/XRPUSDT/);
    expect(JSON.stringify(s.monitor.summary())).not.toMatch(/XRPUSDT/);
    expect(JSON.stringify(s.monitor.errorsSummary())).not.toMatch(/XRPUSDT/);
    expect(s.monitor.perPair().some((r) => r.pair === 'XRPUSDT')).toBe(false);
    expect(JSON.stringify(s.breakers.history())).not.toMatch(/XRPUSDT/);
    // The account subscription no longer covers it, and covers a pair attached later.
    events.length = 0;
    const again = s.lifecycle.attach(XRP);
    again.submit(alice, order(Side.Sell));
    expect(events).toEqual(['XRPUSDT']);
    expect(pair.openOrderCount).toBe(0);
    unsubscribe();
    expect(s.lifecycle.detach('NOPE')).toBeUndefined();
    expect(() => s.lifecycle.attach(XRP)).toThrow(/already served/);
    expect(s.control.pairs().filter((p) => p === 'XRPUSDT')).toEqual(['XRPUSDT']); // the refused attach changed nothing
  });

  it('attaches a recovered pair only once recovery is done, and nothing of it when recovery throws', async () => {
    const s = service();
    let seenDuring: unknown = 'not called';
    await s.lifecycle.attachRecovered(XRP, async (p) => {
      seenDuring = s.pairs.get(p.symbol);
    });
    expect(seenDuring).toBeUndefined();
    expect(s.pairs.get('XRPUSDT')).toBeDefined();
    s.lifecycle.detach('XRPUSDT');
    await expect(s.lifecycle.attachRecovered(XRP, () => Promise.reject(new Error('journal unreadable')))).rejects.toThrow('journal unreadable');
    expect(s.pairs.get('XRPUSDT') ?? s.managers.get('XRPUSDT')).toBeUndefined();
    expect(s.control.has('XRPUSDT')).toBe(false);
    expect(await s.metrics.render()).not.toMatch(/XRPUSDT/);
  });
});
