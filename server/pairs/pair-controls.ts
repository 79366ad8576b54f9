/**
 * The control plane of every pair the process trades: one PairControl per pair, the shared migration
 * controller (its emergency-stop flag spans pairs), the circuit breakers, the trading gate (halt and
 * maintenance stop new orders on every pair) and the performance monitor the ramp gates read. Each
 * operator operation of the runbook is one method here that leaves every pair consistent (books in
 * line with migration + breaker) when it returns; adapters parse, call, and render. Logic only.
 */
import type { CircuitBreakers } from './circuit-breaker.ts';
import { ValidationError } from './errors.ts';
import type { MigrationController, RampDecision, RampGates, RampStatus } from './migration-controller.ts';
import type { BookImplementation } from '../core/order-book.ts';
import type { Clock } from '../ports/clock.ts';
import { OrderBookManager, type BookObserver, type BookRole, type OrderBookManagerOptions } from './order-book-manager.ts';
import { PairControl } from './pair-control.ts';
import type { PerformanceMonitor } from './performance-monitor.ts';
import type { TradingGate } from './trading-gate.ts';

export interface PairControlsOptions {
  migration: MigrationController;
  breakers: CircuitBreakers;
  gate: TradingGate;
  /**
   * The Performance Monitor: every pair's book commands and errors are recorded in it (the hooks of
   * `add`), and the ramp gates read its `perPair()` rows.
   */
  monitor: Pick<PerformanceMonitor, 'perPair' | 'recordCommand' | 'recordError'>;
  /** Time for the managers' latencies (monotonic) and the breakers. */
  clock: Clock;
}

/** The books of a pair, as `add` builds its manager (routing, breaker, clock and observer come from the control plane). */
export type PairBooksOptions = Omit<OrderBookManagerOptions, 'routing' | 'breaker' | 'clock' | 'observer'>;

/** What the adapter adds to a pair's monitor hooks (metrics, logs); called after the monitor has recorded. */
export interface PairControlSink {
  /** One book applied one command; `accepted`: the served book accepted a new order (see BookObserver). Hot path: keep it O(1). */
  onBookCommand(pair: string, implementation: BookImplementation, role: BookRole, latencyNs: number, ok: boolean, accepted: boolean): void;
  /** A trip, fallback, rebuild or reset of the pair's books, with what was done. */
  onManagerEvent(pair: string, event: string, detail: string): void;
  /** A breaker trip that counts as an error (every reason but `operator`), with its reason. */
  onTripError(pair: string, reason: string): void;
}

/** What `resetAll` did: the pairs whose breaker closed, and those whose rebuilt book did not match. */
export interface ResetAllResult {
  reset: string[];
  refused: string[];
}

export class PairControls {
  readonly migration: MigrationController;
  readonly breakers: CircuitBreakers;
  readonly gate: TradingGate;
  private readonly monitor: PairControlsOptions['monitor'];
  private readonly clock: Clock;
  private readonly byPair = new Map<string, PairControl>();

  constructor(o: PairControlsOptions) {
    this.migration = o.migration;
    this.breakers = o.breakers;
    this.gate = o.gate;
    this.monitor = o.monitor;
    this.clock = o.clock;
  }

  /**
   * Builds and takes control of a pair's order-book manager: routed by the migration controller and guarded
   * by the pair's breaker (a new pair is added to both, in the initial state and closed), its commands and
   * errors recorded in the monitor, then handed to `sink`.
   */
  add(books: PairBooksOptions, sink: PairControlSink): PairControl {
    const pair = books.instrument.symbol;
    if (this.byPair.has(pair)) throw new ValidationError('pair', `pair "${pair}" is already controlled`);
    this.migration.addPair(pair);
    const breaker = this.breakers.add(pair);
    const manager = new OrderBookManager({ ...books, routing: this.migration, breaker, clock: this.clock, observer: this.hooks(sink) });
    const control = new PairControl(manager, this.migration, breaker);
    this.byPair.set(pair, control);
    return control;
  }

  /**
   * The monitor hooks of a pair's manager, the one place a command's figures are recorded: every book
   * command into the monitor (a failed one also as a `book_error`, an accepted new order as an order), every trip but an operator's as a `breaker_trip` error (an operator opening breakers —
   * activate-all, a drill, a mitigation — is an action, not an error: it must not raise the error rate the
   * runbook alerts on); then the sink.
   */
  private hooks(sink: PairControlSink): BookObserver {
    const monitor = this.monitor;
    return {
      onBookCommand(p: string, impl: BookImplementation, role: BookRole, latencyNs: number, ok: boolean, accepted: boolean, atMs: number): void {
        monitor.recordCommand(p, impl, role, latencyNs, ok, accepted, atMs);
        if (!ok) monitor.recordError(p, 'book_error', `${impl}_${role}`);
        sink.onBookCommand(p, impl, role, latencyNs, ok, accepted);
      },
      onManagerEvent(p: string, event: string, detail: string): void {
        sink.onManagerEvent(p, event, detail);
        if (event !== 'fallback') return;
        const reason = detail.slice(0, Math.max(0, detail.indexOf(':'))) || 'unknown';
        if (reason === 'operator') return;
        monitor.recordError(p, 'breaker_trip', reason);
        sink.onTripError(p, reason);
      },
    };
  }

  /**
   * Gives up control of a pair (delisted): its migration state, breaker and halt are forgotten. The
   * caller stops routing commands to its manager first (the pair is out of TradingPairs).
   */
  remove(pair: string): void {
    this.get(pair);
    this.byPair.delete(pair);
    this.migration.removePair(pair);
    this.breakers.remove(pair);
    this.gate.resumePair(pair);
  }

  has(pair: string): boolean {
    return this.byPair.has(pair);
  }

  /** The control of a known pair; an unknown pair is a ValidationError naming the known ones. */
  get(pair: string): PairControl {
    const c = this.byPair.get(pair);
    if (c === undefined) throw new ValidationError('pair', `unknown pair "${pair}"; known: ${this.pairs().join(', ')}`);
    return c;
  }

  /** Pair symbols, in the order they were added. */
  pairs(): string[] {
    return [...this.byPair.keys()];
  }

  values(): IterableIterator<PairControl> {
    return this.byPair.values();
  }

  get size(): number {
    return this.byPair.size;
  }

  // ---- migration (`pair` may be 'all' where the runbook allows it) ----------------------------------------

  /** Sets the adaptive share of one pair or of every migrating pair ('all'); returns the pairs changed. */
  setPercentage(pair: string, percentage: number, reason: string): string[] {
    return this.synced(() => this.migration.setPercentage(pair, percentage, reason));
  }

  startRamp(pair: string, steps: readonly number[] | undefined, reason: string): RampStatus {
    return this.synced(() => this.get(pair).startRamp(steps, reason));
  }

  complete(pair: string, reason: string): void {
    this.synced(() => this.get(pair).complete(reason));
  }

  /** Rolls back one pair or every migrating pair ('all'); returns the pairs rolled back. */
  rollback(pair: string, reason: string): string[] {
    return this.synced(() => this.migration.rollback(pair, reason));
  }

  /** Freezes every running ramp where it is (no book changes); returns the pairs frozen. */
  stopAll(reason: string): string[] {
    return this.synced(() => this.migration.stopAll(reason));
  }

  /** Every migrating pair to 0 % on the legacy book at once; returns the pairs stopped. */
  emergencyStop(reason: string): string[] {
    return this.synced(() => this.migration.emergencyStop(reason));
  }

  // ---- circuit breakers -------------------------------------------------------------------------------------

  /** Opens every closed breaker (reason `operator`): every pair continues on the legacy book alone. */
  activateAll(detail: string): string[] {
    return this.synced(() => this.breakers.activateAll(detail));
  }

  /** Closes one pair's breaker after rebuilding and verifying its adaptive book; false if refused. */
  reset(pair: string, by: string): boolean {
    return this.synced(() => this.get(pair).reset(by));
  }

  /** `reset` on every pair whose breaker is open. */
  resetAll(by: string): ResetAllResult {
    return this.synced(() => {
      const out: ResetAllResult = { reset: [], refused: [] };
      for (const pair of this.breakers.openPairs()) (this.get(pair).reset(by) ? out.reset : out.refused).push(pair);
      return out;
    });
  }

  // ---- trading gate (every pair) ------------------------------------------------------------------------------

  halt(by: string, reason: string): boolean {
    return this.gate.haltTrading(by, reason);
  }

  resume(): boolean {
    return this.gate.resumeTrading();
  }

  /** Halts new orders and replaces of one pair (cancels still work); `since` restores a halt kept across a restart. */
  haltPair(pair: string, by: string, reason: string, since?: string): boolean {
    return this.gate.haltPair(this.get(pair).pair, by, reason, since);
  }

  resumePair(pair: string): boolean {
    return this.gate.resumePair(this.get(pair).pair);
  }

  enableMaintenance(by: string, reason: string): boolean {
    return this.gate.enableMaintenance(by, reason);
  }

  disableMaintenance(): boolean {
    return this.gate.disableMaintenance();
  }

  // ---- automatic ramp ---------------------------------------------------------------------------------------

  /** The gates of every pair with a running ramp, judged now. */
  rampGates(): Map<string, RampGates> {
    const gates = new Map<string, RampGates>();
    let rows: ReturnType<PerformanceMonitor['perPair']> | undefined;
    for (const control of this.byPair.values()) {
      const s = control.status();
      if (!s.ramp.active || s.ramp.frozen) continue;
      rows ??= this.monitor.perPair();
      gates.set(control.pair, control.rampGates(rows)!);
    }
    return gates;
  }

  /**
   * One evaluation of every running ramp against its pair's measured health: advances, finishes or rolls
   * back each, and brings the books of every pair that moved in line. Returns the decisions (none when no
   * ramp runs).
   */
  tickRamps(): RampDecision[] {
    const gates = this.rampGates();
    if (gates.size === 0) return [];
    const decisions = this.migration.tick(gates);
    for (const d of decisions) if (d.action !== 'idle' && d.action !== 'holding') this.byPair.get(d.pair)?.sync();
    return decisions;
  }

  /** Runs an operation, then brings every pair in line, also when the operation threw after a partial change. */
  private synced<T>(run: () => T): T {
    try {
      return run();
    } finally {
      for (const c of this.byPair.values()) c.sync();
    }
  }
}
