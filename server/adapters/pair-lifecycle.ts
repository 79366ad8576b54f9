/**
 * The ONE place a pair comes into and goes out of the service, in order, so nobody has to remember the
 * steps. `attach` builds everything a pair needs: its books under the control plane (migration state,
 * breaker, monitor hooks; the chaos fault switch in front of the adaptive book), the TradingPair, its
 * metric series at 0 and the trade subscription that feeds the monitor and `trading_trades_total`.
 * `detach` undoes all of it, in reverse: the pair stops being served (lookups answer NOT_FOUND, its
 * market-data streams end, account streams drop it), its journal attachment, snapshot bookkeeping and
 * saved control state are forgotten, the trade subscription ends, the control plane forgets its migration
 * state, breaker and halt, and its monitor rows and metric series are removed — nothing of it stays.
 * Journal recovery of a pair (start-up, or listing at runtime) is the caller's: see instrument-catalog.ts.
 */
import { BOOK_IMPLEMENTATIONS } from '../core/book-implementations.ts';
import { CommandKind, type Command } from '../core/commands.ts';
import type { EventSink } from '../core/events.ts';
import type { Instrument } from '../core/instrument.ts';
import type { BookImplementation, Outcome } from '../core/order-book.ts';
import { FaultSwitch, FaultyBook } from '../pairs/faulty-book.ts';
import type { BookRole, OrderBookManager } from '../pairs/order-book-manager.ts';
import type { PairControlSink } from '../pairs/pair-controls.ts';
import type { PerformanceMonitor } from '../pairs/performance-monitor.ts';
import type { ServingBook } from '../pairs/serving-book.ts';
import type { TradingPair } from '../pairs/trading-pair.ts';
import type { TradingPairs } from '../pairs/trading-pairs.ts';
import type { CommandRefusals } from './chaos/command-refusals.ts';
import type { CommandDurability } from './durability/command-durability.ts';
import type { PairControlPersistence } from './durability/pair-control-persistence.ts';
import type { PairSnapshotter } from './durability/pair-recovery.ts';
import type { Logger } from './grpc/call-context.ts';
import type { LoggedPairControls } from './logging/control-transition-log.ts';
import type { TradingMetrics } from './metrics/trading-metrics.ts';
import type { Tracing } from './tracing/tracing.ts';
import { context as otelContext, trace as otelTrace } from '@opentelemetry/api';

/** CommandKind value → name, for span attributes. */
const COMMAND_NAMES: Record<number, string> = Object.fromEntries(Object.entries(CommandKind).map(([k, v]) => [v, k]));

export interface PairLifecycleOptions {
  control: LoggedPairControls;
  monitor: PerformanceMonitor;
  metrics: TradingMetrics;
  tracing: Tracing;
  logger: Logger;
  /** The 'slow' fault of a chaos drill (occupies the thread like a slow book). */
  busyWait: (ms: number) => void;
}

/** What the service builds after the pairs (journal, snapshots, saved control state, chaos); absent in-memory. */
export interface PairLifecycleLateParts {
  durability?: CommandDurability;
  snapshotter?: PairSnapshotter;
  controlState?: PairControlPersistence;
  refusals?: CommandRefusals;
}

export class PairLifecycle {
  /** Each pair's chaos fault switch (in front of its adaptive book). */
  readonly faults = new Map<string, FaultSwitch>();
  /** Each pair's order-book manager (owned by its PairControl). */
  readonly managers = new Map<string, OrderBookManager>();
  private readonly tradeSubscriptions = new Map<string, () => void>();
  private pairs: TradingPairs | undefined;
  private late: PairLifecycleLateParts = {};

  constructor(private readonly o: PairLifecycleOptions) {}

  /** Binds the pairs (built with `createBook`) and, once built, the journal-side parts. */
  bind(pairs: TradingPairs): void {
    this.pairs = pairs;
  }

  bindLate(parts: PairLifecycleLateParts): void {
    this.late = parts;
  }

  /**
   * Brings a pair into the service at construction (start-up recovery, before gRPC serves, restores its
   * journal and attaches it to the durability layer).
   */
  attach(instrument: Instrument): TradingPair {
    return this.serve(this.prepare(instrument));
  }

  /**
   * Brings a pair into the running service: built, then `recover` restores it (its journal: empty for a
   * new symbol) while nobody can reach it, then it is served. When `recover` throws, nothing of the pair stays.
   */
  async attachRecovered(instrument: Instrument, recover: (pair: TradingPair) => Promise<void>): Promise<TradingPair> {
    const pair = this.prepare(instrument);
    const manager = this.managers.get(instrument.symbol)!;
    try {
      manager.beginReplay();
      try {
        await recover(pair);
      } finally {
        manager.endReplay();
      }
      manager.endStartup();
    } catch (err) {
      this.late.durability?.detach(pair);
      this.unprepare(instrument.symbol);
      throw err;
    }
    return this.serve(pair);
  }

  /** The pair built under the control plane with its metric series, not yet served. */
  private prepare(instrument: Instrument): TradingPair {
    const pairs = this.bound();
    const symbol = instrument.symbol;
    if (pairs.get(symbol) !== undefined || this.o.control.has(symbol)) throw new Error(`pair ${symbol} is already served`);
    this.o.metrics.addPair(symbol);
    try {
      return pairs.build(instrument); // builds its books through createBook
    } catch (err) {
      this.unprepare(symbol);
      throw err;
    }
  }

  private unprepare(symbol: string): void {
    this.dropControl(symbol);
    this.o.monitor.forgetPair(symbol);
    this.o.metrics.removePair(symbol);
  }

  private serve(pair: TradingPair): TradingPair {
    const symbol = pair.symbol;
    this.bound().serve(pair);
    // Trades as the served book reported them, from the pair's own market-data stream.
    const { unsubscribe } = pair.subscribeMarketData(1, (delta) => {
      if (delta.trades.length === 0) return;
      this.o.monitor.recordTrades(symbol, delta.trades.length);
      this.o.metrics.tradesReported(symbol, delta.trades.length);
    });
    this.tradeSubscriptions.set(symbol, unsubscribe);
    return pair;
  }

  /** Takes a pair out of the service; returns it (undefined when it was not served). */
  detach(symbol: string): TradingPair | undefined {
    const pair = this.bound().remove(symbol);
    if (pair === undefined) return undefined;
    this.late.durability?.detach(pair);
    this.late.snapshotter?.forget(symbol);
    this.late.controlState?.forget(symbol);
    this.late.refusals?.forget(symbol);
    this.tradeSubscriptions.get(symbol)?.();
    this.tradeSubscriptions.delete(symbol);
    this.dropControl(symbol);
    this.o.monitor.forgetPair(symbol);
    this.o.metrics.removePair(symbol);
    this.o.logger.info(`pair ${symbol}: no longer served`, { event: 'pair_detached', pair: symbol });
    return pair;
  }

  /** Ends every pair's trade subscription (the service stopped; the pairs stay readable). */
  close(): void {
    for (const u of this.tradeSubscriptions.values()) u();
    this.tradeSubscriptions.clear();
  }

  /** The ServingBook factory TradingPairs builds each pair's book with: the control plane's manager, traced when tracing is on. */
  readonly createBook = (instrument: Instrument): ServingBook => {
    const { control, metrics, tracing } = this.o;
    const pair = instrument.symbol;
    // One sink per pair: the metrics of each book command (the monitor has recorded it already: PairControls' hooks).
    const sink: PairControlSink = {
      onBookCommand: (p: string, impl: BookImplementation, role: BookRole, latencyNs: number, ok: boolean, accepted: boolean) => {
        metrics.observeCommand(p, impl, role, latencyNs);
        if (accepted) metrics.orderAccepted(p, impl);
        if (!ok) metrics.commandFailed(p, impl, role);
      },
      onManagerEvent: (p, event, detail) => {
        this.o.logger.info(`order-book-manager ${p}: ${event}: ${detail}`, { event: 'order_book_manager', action: event.replace(/-/g, '_'), pair: p });
        // A trip on the hot path surfaces here first (the breaker is open by the time the manager falls back).
        if (event === 'fallback' || event === 'reset') control.transitions.check();
      },
      onTripError: (p) => metrics.error(p, 'breaker_trip'),
    };
    const faults = new FaultSwitch();
    const busyWait = this.o.busyWait;
    const { manager } = control.add(
      {
        instrument,
        legacyFactory: BOOK_IMPLEMENTATIONS.legacy,
        adaptiveFactory: (i) => new FaultyBook(BOOK_IMPLEMENTATIONS.adaptive(i), faults, busyWait),
        scheduleShadowDrain: (drain) => setImmediate(drain),
      },
      sink,
    );
    this.faults.set(pair, faults);
    this.managers.set(pair, manager);
    if (!tracing.enabled) return manager;
    return {
      get implementation() {
        return manager.implementation;
      },
      apply(cmd: Command, out: EventSink): Outcome {
        const span = tracing.tracer.startSpan('pair.apply', { attributes: { 'trading.pair': pair, 'trading.command': COMMAND_NAMES[cmd.kind] ?? String(cmd.kind), 'trading.implementation': manager.implementation } });
        try {
          return otelContext.with(otelTrace.setSpan(otelContext.active(), span), () => manager.apply(cmd, out));
        } finally {
          span.end();
        }
      },
      depth: (side, maxLevels) => manager.depth(side, maxLevels),
      restingOrders: () => manager.restingOrders(),
      load: (orders) => manager.load(orders),
      stateHash: () => manager.stateHash(),
    };
  };

  private dropControl(symbol: string): void {
    if (this.o.control.has(symbol)) this.o.control.remove(symbol);
    this.faults.delete(symbol);
    this.managers.delete(symbol);
  }

  private bound(): TradingPairs {
    if (this.pairs === undefined) throw new Error('PairLifecycle used before bind(pairs)');
    return this.pairs;
  }
}
