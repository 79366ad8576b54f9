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
import type { OrderBookManager } from './order-book-manager.ts';
import { PairControl } from './pair-control.ts';
import type { PerformanceMonitor } from './performance-monitor.ts';
import type { TradingGate } from './trading-gate.ts';

export interface PairControlsOptions {
  migration: MigrationController;
  breakers: CircuitBreakers;
  gate: TradingGate;
  /** Where the ramp gates' latencies and error rates come from (`perPair()` rows). */
  monitor: Pick<PerformanceMonitor, 'perPair'>;
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
  private readonly monitor: Pick<PerformanceMonitor, 'perPair'>;
  private readonly byPair = new Map<string, PairControl>();

  constructor(o: PairControlsOptions) {
    this.migration = o.migration;
    this.breakers = o.breakers;
    this.gate = o.gate;
    this.monitor = o.monitor;
  }

  /** Takes control of a pair's manager (its breaker must be in `breakers`, its pair in `migration`). */
  add(manager: OrderBookManager): PairControl {
    if (this.byPair.has(manager.pair)) throw new ValidationError('pair', `pair "${manager.pair}" is already controlled`);
    const control = new PairControl(manager, this.migration, this.breakers.get(manager.pair));
    this.byPair.set(manager.pair, control);
    return control;
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
