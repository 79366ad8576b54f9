/**
 * Order Book Manager (runbook name): one pair's legacy book, adaptive book, or both in dual-run.
 *
 * - Routing: per command the migration percentage decides which book is primary (its events are served);
 *   the other applies the same command as a shadow and its events are compared with what was served.
 * - The shadow runs off the served path: it lags in a queue that `drainShadow()` empties after the
 *   replies are out. A book that lags is brought up to date before it serves again, so at 0 % the
 *   adaptive book never delays a reply and at 100 % the legacy book never does; in between a share of
 *   commands pays for the catch-up.
 * - The served result is the truth. On a trip (adaptive exception, divergence, latency, operator) the
 *   pair continues on the legacy book alone; if adaptive results were served the legacy book is first
 *   brought to exactly that state (replayed, or rebuilt from the adaptive book's resting orders), so no
 *   acknowledged order is lost or applied twice.
 * - The adaptive book re-enters only through `resetBreaker()`, which rebuilds it from the true state
 *   and checks the state hashes before closing the breaker.
 * Logic only: time from the injected Clock, no timers; the adapter schedules `drainShadow()`.
 */
import { CommandKind, type Command } from '../core/commands.ts';
import { EventRecorder } from '../core/event-recorder.ts';
import type { EventSink } from '../core/events.ts';
import type { Instrument } from '../core/instrument.ts';
import type { BookImplementation, DepthLevel, OrderBook, OrderBookFactory, Outcome, RestingOrder } from '../core/order-book.ts';
import { Side } from '../core/types.ts';
import type { Clock } from '../ports/clock.ts';
import type { CircuitBreaker, TripReason } from './circuit-breaker.ts';
import type { ServingBook } from './serving-book.ts';

/** What the manager asks the migration controller (structural, so tests can drive it directly). */
export interface MigrationRouting {
  /** The adaptive book must be kept (every state but legacy-only). */
  usesAdaptive(pair: string): boolean;
  /** The legacy book must be kept (every state but completed). */
  usesLegacy(pair: string): boolean;
  /** Deterministic: is the adaptive book primary for this pair's `commandSeq`-th command? */
  isAdaptivePrimary(pair: string, commandSeq: number): boolean;
}

export type BookRole = 'served' | 'shadow';

/** Where latencies, failures and accepted orders go (the Performance Monitor and metrics, through the control plane). */
export interface BookObserver {
  /**
   * One book applied one command (`ok`: it did not throw). `accepted`: this was the served book and the
   * command a new order it accepted — so an order counts once, however many books applied it. `atMs`: the
   * wall clock when the manager took the command (served) or the shadow drain began, read once for every
   * figure of it (the monitor's slot, the breaker's window) instead of by each.
   */
  onBookCommand(pair: string, implementation: BookImplementation, role: BookRole, latencyNs: number, ok: boolean, accepted: boolean, atMs: number): void;
  /** A trip, fallback or rebuild, with what was done, for logs. */
  onManagerEvent?(pair: string, event: string, detail: string): void;
}

export interface OrderBookManagerOptions {
  instrument: Instrument;
  legacyFactory: OrderBookFactory;
  /** Builds the adaptive book; wrap it (FaultyBook) to inject faults. */
  adaptiveFactory: OrderBookFactory;
  routing: MigrationRouting;
  breaker: CircuitBreaker;
  clock: Clock;
  observer?: BookObserver;
  /**
   * Compare full state hashes every this many dual-run commands (O(resting orders) each time), to catch
   * a divergence that events do not show. 0 disables. @default 10000
   */
  auditEveryCommands?: number;
  /**
   * Called when the shadow starts lagging, with the drain to run once the replies are out (the adapter
   * passes setImmediate). Without it the caller drains explicitly (tests, benchmarks, replay).
   */
  scheduleShadowDrain?: (drain: () => void) => void;
}

const NO_OBSERVER: BookObserver = { onBookCommand() {} };

interface Pending {
  cmd: Command;
  served: EventRecorder;
}

export class OrderBookManager implements ServingBook {
  readonly pair: string;
  private legacy: OrderBook | null;
  private adaptive: OrderBook | null = null;
  /** Which book lags behind `pending` (null when both are in step or only one runs). */
  private lagging: 'legacy' | 'adaptive' | null = null;
  private readonly pending: Pending[] = [];
  private readonly recorderPool: EventRecorder[] = [];
  private readonly shadowRecorder = new EventRecorder();
  private commandSeq = 0;
  private sinceAudit = 0;
  /** Start-up replay on one book (see beginReplay). */
  private replayingOneBook = false;
  /**
   * Until endStartup() (or the first command): books built at construction, by restored pair state
   * and after the replay are announced once, at the end, with the size they start from.
   */
  private startingUp = true;
  private adaptiveUnannounced = false;
  private readonly observer: BookObserver;
  private readonly auditEvery: number;
  private readonly drainBound = () => this.drainShadow();

  constructor(private readonly o: OrderBookManagerOptions) {
    this.pair = o.instrument.symbol;
    this.observer = o.observer ?? NO_OBSERVER;
    this.auditEvery = o.auditEveryCommands ?? 10_000;
    this.legacy = o.legacyFactory(o.instrument);
    this.reconcile();
  }

  /** 'legacy', 'adaptive' or 'legacy+adaptive' (dual-run). */
  get implementation(): string {
    if (this.legacy && this.adaptive) return 'legacy+adaptive';
    return this.legacy ? 'legacy' : 'adaptive';
  }

  /** Books currently kept, for status pages and tests. */
  get books(): { legacy: boolean; adaptive: boolean; pendingShadow: number } {
    return { legacy: this.legacy !== null, adaptive: this.adaptive !== null, pendingShadow: this.pending.length };
  }

  /** Start-up is over: announces the adaptive book once if one was built meanwhile. Idempotent. */
  endStartup(): void {
    if (!this.startingUp) return;
    this.startingUp = false;
    this.reconcile();
    if (this.adaptiveUnannounced && this.adaptive !== null) {
      this.observer.onManagerEvent?.(this.pair, 'adaptive-started', `adaptive book built from ${this.adaptive.size()} legacy resting orders`);
    }
    this.adaptiveUnannounced = false;
  }

  apply(cmd: Command, out: EventSink): Outcome {
    if (this.replayingOneBook && (this.legacy === null) !== (this.adaptive === null)) return this.applyReplayed(cmd, out);
    if (this.startingUp && !this.replayingOneBook) this.endStartup();
    this.reconcile();
    const seq = ++this.commandSeq;
    const legacy = this.legacy;
    const adaptive = this.adaptive;
    const atMs = this.o.clock.nowMs();
    if (legacy === null || adaptive === null) {
      // One book: no comparison, nothing recorded.
      const book = (legacy ?? adaptive)!;
      return book === adaptive ? this.applyAdaptiveAlone(book, cmd, out, atMs) : this.timed(book, 'served', cmd, out, atMs);
    }

    const adaptivePrimary = this.o.routing.isAdaptivePrimary(this.pair, seq);
    if (this.lagging === (adaptivePrimary ? 'adaptive' : 'legacy')) {
      this.drainShadow();
      if (this.adaptive === null) return this.apply(cmd, out); // the catch-up tripped the breaker
    }
    const primary = adaptivePrimary ? adaptive : legacy;
    const served = this.recorderPool.pop() ?? new EventRecorder();
    served.clear();
    let outcome: Outcome;
    const start = this.o.clock.monotonicNs();
    try {
      outcome = primary.apply(cmd, served);
    } catch (e) {
      this.recordLatency(primary.implementation, 'served', start, false, false, atMs);
      this.recorderPool.push(served);
      // Only the adaptive book is allowed to fail here: fall back and serve this command from legacy.
      if (!adaptivePrimary) throw e;
      this.fallBack('adaptive_error', `${String((e as Error)?.message ?? e)} on command ${seq}`, { adaptiveTrusted: false });
      return this.apply(cmd, out);
    }
    this.recordLatency(primary.implementation, 'served', start, true, isAcceptedOrder(cmd, outcome), atMs);
    served.replay(out);
    if (this.pending.length === 0) this.o.scheduleShadowDrain?.(this.drainBound);
    this.pending.push({ cmd, served });
    this.lagging = adaptivePrimary ? 'legacy' : 'adaptive';
    if (adaptivePrimary && this.adaptive !== null && this.o.breaker.isOpen) this.fallBack(this.o.breaker.status().reason ?? 'latency', 'breaker opened', { adaptiveTrusted: true });
    return outcome;
  }

  /**
   * Applies the commands the shadow book has not seen yet and compares its events with the served ones.
   * Call it right after the replies went out (the adapter does it with setImmediate).
   */
  drainShadow(): void {
    if (this.lagging === null || this.pending.length === 0) {
      this.lagging = null;
      return;
    }
    const shadowIsAdaptive = this.lagging === 'adaptive';
    const shadow = (shadowIsAdaptive ? this.adaptive : this.legacy)!;
    const rec = this.shadowRecorder;
    const atMs = this.o.clock.nowMs();
    let i = 0;
    for (; i < this.pending.length; i++) {
      const p = this.pending[i]!;
      rec.clear();
      const start = this.o.clock.monotonicNs();
      try {
        shadow.apply(p.cmd, rec);
      } catch (e) {
        this.recordLatency(shadow.implementation, 'shadow', start, false, false, atMs);
        this.releasePending(i);
        // The served (primary) results stand; the failing shadow is dropped or rebuilt.
        if (shadowIsAdaptive) this.fallBack('adaptive_error', `shadow threw: ${String((e as Error)?.message ?? e)}`, { adaptiveTrusted: false });
        else this.rebuildLegacyFromAdaptive(`legacy shadow threw: ${String((e as Error)?.message ?? e)}`);
        return;
      }
      this.recordLatency(shadow.implementation, 'shadow', start, true, false, atMs);
      if (!rec.sameAs(p.served)) {
        const detail = `${shadow.implementation} shadow events differ from the served ${shadowIsAdaptive ? 'legacy' : 'adaptive'} events at command kind ${p.cmd.kind} (position ${rec.firstDifference(p.served)})`;
        this.releasePending(i);
        if (shadowIsAdaptive) this.fallBack('divergence', detail, { adaptiveTrusted: false });
        else this.fallBack('divergence', detail, { adaptiveTrusted: true });
        return;
      }
      this.recorderPool.push(p.served);
    }
    this.pending.length = 0;
    this.lagging = null;
    this.audit(i);
  }

  /** Operator or drill: open the breaker and continue on the legacy book. */
  trip(reason: TripReason, detail: string): void {
    this.o.breaker.trip(reason, detail);
    this.reconcile();
  }

  /**
   * Brings the adaptive book back after a trip: rebuilt from the true state and verified by state hash,
   * then the breaker closes. Returns false (breaker stays open) if the rebuilt book does not match.
   */
  resetBreaker(by: string): boolean {
    if (!this.o.breaker.isOpen) return true;
    const truth = this.legacy!;
    const rebuilt = this.o.adaptiveFactory(this.o.instrument);
    rebuilt.load(restingOrders(truth));
    rebuilt.checkInvariants();
    if (rebuilt.stateHash() !== truth.stateHash()) {
      this.observer.onManagerEvent?.(this.pair, 'reset-refused', 'rebuilt adaptive book does not match the legacy state');
      return false;
    }
    this.o.breaker.reset(by);
    if (this.o.routing.usesAdaptive(this.pair)) {
      this.adaptive = rebuilt;
      this.lagging = null;
    }
    this.observer.onManagerEvent?.(this.pair, 'reset', `adaptive book rebuilt from ${truth.size()} resting orders by ${by}`);
    return true;
  }

  depth(side: Side, maxLevels: number): DepthLevel[] {
    return this.current().depth(side, maxLevels);
  }

  /** The resting orders of the book that holds the served state, per side in priority order. */
  restingOrders(): RestingOrder[] {
    return restingOrders(this.current());
  }

  /**
   * Replaces the state of every kept book with these resting orders (snapshot restore at start-up,
   * before any command). Pending shadow work is dropped: both books start from the same state.
   */
  load(orders: readonly RestingOrder[]): void {
    this.releasePending(0);
    this.lagging = null;
    this.legacy?.load(orders);
    this.adaptive?.load(orders);
  }

  /**
   * Start-up recovery replays the journal into one book only — the legacy book, or the adaptive book of
   * a completed pair — instead of dual-running every journaled command (half the work); `endReplay()`
   * then builds the other book from the replayed one's resting orders, as a reset does. Nothing is
   * compared meanwhile: the journal holds commands whose results were already served.
   */
  beginReplay(): void {
    this.drainShadow();
    this.replayingOneBook = true;
    if (this.legacy !== null && this.adaptive !== null) {
      this.adaptive = null;
      this.lagging = null;
    }
    this.reconcile();
  }

  endReplay(): void {
    this.replayingOneBook = false;
    this.reconcile();
  }

  /** Digest of the book holding the served state. */
  stateHash(): string {
    return this.current().stateHash();
  }

  /** Both books' state hashes once in step (for tests and audits). */
  stateHashes(): { legacy?: string; adaptive?: string } {
    this.drainShadow();
    return { legacy: this.legacy?.stateHash(), adaptive: this.adaptive?.stateHash() };
  }

  /**
   * Makes the kept books match the migration state and the breaker. Cheap when nothing changed. Only the
   * control plane (PairControl) calls it, after each operation; `apply` calls it too, for state changed
   * behind the control plane's back (tests driving the controller directly).
   */
  reconcile(): void {
    const breakerOpen = this.o.breaker.isOpen;
    const wantAdaptive = this.o.routing.usesAdaptive(this.pair) && !breakerOpen && !(this.replayingOneBook && this.o.routing.usesLegacy(this.pair));
    const wantLegacy = this.o.routing.usesLegacy(this.pair) || breakerOpen || !wantAdaptive;
    if (this.legacy === null && wantLegacy) {
      this.legacy = this.o.legacyFactory(this.o.instrument);
      this.legacy.load(restingOrders(this.adaptive!));
      this.observer.onManagerEvent?.(this.pair, 'legacy-rebuilt', `legacy book rebuilt from ${this.legacy.size()} adaptive resting orders`);
    }
    if (this.adaptive !== null && !wantAdaptive) {
      this.fallBack(breakerOpen ? (this.o.breaker.status().reason ?? 'operator') : 'operator', 'adaptive book no longer used', { adaptiveTrusted: true, alreadyTripped: true });
    }
    if (this.adaptive === null && wantAdaptive) {
      this.drainShadow();
      const adaptive = this.o.adaptiveFactory(this.o.instrument);
      adaptive.load(restingOrders(this.legacy!));
      this.adaptive = adaptive;
      if (this.startingUp) this.adaptiveUnannounced = true;
      else this.observer.onManagerEvent?.(this.pair, 'adaptive-started', `adaptive book built from ${adaptive.size()} legacy resting orders`);
    }
    if (this.legacy !== null && !wantLegacy) {
      this.drainShadow();
      if (this.legacy !== null && this.adaptive !== null && this.legacy.stateHash() === this.adaptive.stateHash()) {
        this.legacy = null;
        this.observer.onManagerEvent?.(this.pair, 'legacy-retired', 'migration completed');
      }
    }
  }

  /**
   * Continue on the legacy book alone. `adaptiveTrusted`: the adaptive book's served results (and
   * state) are the truth, so a lagging legacy book is rebuilt from it; otherwise the legacy book
   * replays what it lags behind and its state stands.
   */
  private fallBack(reason: TripReason, detail: string, how: { adaptiveTrusted: boolean; alreadyTripped?: boolean }): void {
    if (!how.alreadyTripped) this.o.breaker.trip(reason, detail);
    if (this.lagging === 'legacy') {
      if (how.adaptiveTrusted) {
        this.rebuildLegacyFromAdaptive(detail);
      } else {
        // The adaptive book failed mid-command: its state is suspect, but every result it served is in
        // `pending`. Replay them into legacy; the served events stay the record.
        const legacy = this.legacy!;
        const scratch = this.shadowRecorder;
        for (const p of this.pending) {
          scratch.clear();
          legacy.apply(p.cmd, scratch);
        }
      }
    }
    this.releasePending(0);
    this.lagging = null;
    this.adaptive = null;
    this.observer.onManagerEvent?.(this.pair, 'fallback', `${reason}: ${detail}`);
  }

  private rebuildLegacyFromAdaptive(detail: string): void {
    const legacy = this.o.legacyFactory(this.o.instrument);
    legacy.load(restingOrders(this.adaptive!));
    this.legacy = legacy;
    this.releasePending(0);
    this.lagging = null;
    this.observer.onManagerEvent?.(this.pair, 'legacy-rebuilt', detail);
  }

  /**
   * Start-up replay fast path: one book, nothing that only matters live (no latency readings, monitor
   * records or breaker latency samples; the books were reconciled in beginReplay()). The command is
   * still counted, so routing after recovery is the same as if it had been applied live.
   */
  private applyReplayed(cmd: Command, out: EventSink): Outcome {
    ++this.commandSeq;
    const legacy = this.legacy;
    if (legacy !== null) return legacy.apply(cmd, out);
    try {
      return this.adaptive!.apply(cmd, out);
    } catch (e) {
      this.o.breaker.trip('adaptive_error', `completed pair: ${String((e as Error)?.message ?? e)}`);
      throw e;
    }
  }

  private applyAdaptiveAlone(book: OrderBook, cmd: Command, out: EventSink, atMs: number): Outcome {
    // Completed migration: no second book to fall back to within the command. A failure here is
    // reported as a bug; the breaker opens and the legacy book is rebuilt from the adaptive state at
    // once, so the pair never sits with an open breaker and no legacy book.
    try {
      return this.timed(book, 'served', cmd, out, atMs);
    } catch (e) {
      this.o.breaker.trip('adaptive_error', `completed pair: ${String((e as Error)?.message ?? e)}`);
      this.reconcile();
      throw e;
    }
  }

  private timed(book: OrderBook, role: BookRole, cmd: Command, out: EventSink, atMs: number): Outcome {
    const start = this.o.clock.monotonicNs();
    try {
      const outcome = book.apply(cmd, out);
      this.recordLatency(book.implementation, role, start, true, role === 'served' && isAcceptedOrder(cmd, outcome), atMs);
      return outcome;
    } catch (e) {
      this.recordLatency(book.implementation, role, start, false, false, atMs);
      throw e;
    }
  }

  private recordLatency(implementation: BookImplementation, role: BookRole, start: bigint, ok: boolean, accepted: boolean, atMs: number): void {
    const ns = Number(this.o.clock.monotonicNs() - start);
    this.observer.onBookCommand(this.pair, implementation, role, ns, ok, accepted, atMs);
    if (implementation === 'adaptive' && ok) this.o.breaker.recordAdaptiveLatency(ns, atMs);
  }

  private audit(commands: number): void {
    if (this.auditEvery <= 0 || this.legacy === null || this.adaptive === null) return;
    this.sinceAudit += commands;
    if (this.sinceAudit < this.auditEvery) return;
    this.sinceAudit = 0;
    const l = this.legacy.stateHash();
    const a = this.adaptive.stateHash();
    if (l !== a) this.fallBack('divergence', `state hash audit: legacy ${l} != adaptive ${a}`, { adaptiveTrusted: false });
  }

  private releasePending(from: number): void {
    for (let i = from; i < this.pending.length; i++) this.recorderPool.push(this.pending[i]!.served);
    this.pending.length = 0;
  }

  /** The book holding the served state right now. */
  private current(): OrderBook {
    if (this.lagging === 'legacy') return this.adaptive!;
    if (this.lagging === 'adaptive') return this.legacy!;
    return (this.legacy ?? this.adaptive)!;
  }
}

function isAcceptedOrder(cmd: Command, outcome: Outcome): boolean {
  return cmd.kind === CommandKind.NewOrder && outcome.ok;
}

function restingOrders(book: OrderBook): RestingOrder[] {
  const orders: RestingOrder[] = [];
  book.forEachOrder(Side.Buy, (o) => orders.push(o));
  book.forEachOrder(Side.Sell, (o) => orders.push(o));
  return orders;
}
