/**
 * The control plane of one pair: its order-book manager, its migration state (in the shared
 * MigrationController), its circuit breaker and the monitor rows its ramp gates are judged on. Every
 * operator operation is a method that leaves the pair consistent by itself — the manager keeps exactly
 * the books the migration state and the breaker call for when the method returns — so no caller ever
 * reconciles. Operations on every pair at once (and the trading gate) live in `PairControls`
 * (pair-controls.ts). Logic only: time from the injected Clock, no I/O.
 */
import type { PairStateDocument } from '../ports/pair-state-store.ts';
import type { BreakerStatus, CircuitBreaker, TripReason } from './circuit-breaker.ts';
import type { MigrationController, PairMigrationStatus, RampGates, RampStatus } from './migration-controller.ts';
import type { OrderBookManager } from './order-book-manager.ts';
import { pairControlState, restorePairControlState } from './pair-control-state.ts';
import type { PairLatencyRow } from './monitor-reports.ts';

/** The books a pair keeps now (the `books` field of `POST /admin/circuit-breaker/reset/PAIR`). */
export interface PairBooks {
  implementation: string;
  legacy: boolean;
  adaptive: boolean;
  pendingShadow: number;
}

export class PairControl {
  readonly pair: string;

  constructor(
    readonly manager: OrderBookManager,
    private readonly migration: MigrationController,
    readonly breaker: CircuitBreaker,
  ) {
    this.pair = manager.pair;
  }

  // ---- reads --------------------------------------------------------------------------------------------

  status(): PairMigrationStatus {
    return this.migration.statusOf(this.pair);
  }

  breakerStatus(): BreakerStatus {
    return this.breaker.status();
  }

  books(): PairBooks {
    return { implementation: this.manager.implementation, ...this.manager.books };
  }

  // ---- operator operations (each leaves the books in line with migration + breaker) -----------------------

  /** Sets this pair's adaptive share (0–100); returns whether it changed (see MigrationController.setPercentage). */
  setPercentage(percentage: number, reason: string): boolean {
    const changed = this.migration.setPercentage(this.pair, percentage, reason).length > 0;
    this.sync();
    return changed;
  }

  /** Starts a ramp (default steps when `steps` is undefined); refused on a completed pair. */
  startRamp(steps: readonly number[] | undefined, reason: string): RampStatus {
    const ramp = steps === undefined ? this.migration.startRamp(this.pair, undefined, reason) : this.migration.startRamp(this.pair, steps, reason);
    this.sync();
    return ramp;
  }

  /** Retires the legacy book of a pair at full (100 %); any other state is refused. */
  complete(reason: string): void {
    this.migration.complete(this.pair, reason);
    this.sync();
  }

  /** Back to 0 % on the legacy book (rebuilt first if the pair was completed); false for a legacy-only pair. */
  rollback(reason: string): boolean {
    const done = this.migration.rollback(this.pair, reason).length > 0;
    this.sync();
    return done;
  }

  /** Opens the breaker (if closed) and continues on the legacy book alone; returns whether this call opened it. */
  trip(reason: TripReason, detail: string): boolean {
    const opened = !this.breaker.isOpen;
    this.manager.trip(reason, detail);
    return opened;
  }

  /**
   * Closes the breaker after rebuilding the adaptive book from the true state and checking the state
   * hashes; false (breaker stays open, nothing changed) if the rebuilt book does not match.
   */
  reset(by: string): boolean {
    const ok = this.manager.resetBreaker(by);
    this.sync();
    return ok;
  }

  // ---- ramp gates -----------------------------------------------------------------------------------------

  /**
   * This pair's health as its running ramp is judged on: divergence trips since the current step started,
   * the adaptive served p95, the served error rate of the last minute (from the monitor's `rows`) and
   * whether the breaker is open. Undefined when no ramp runs (none, or frozen).
   */
  rampGates(rows: readonly PairLatencyRow[]): RampGates | undefined {
    const s = this.status();
    if (!s.ramp.active || s.ramp.frozen) return undefined;
    const since = s.ramp.step_started_at;
    const mismatches = this.breaker.history().filter((e) => e.event === 'open' && e.reason === 'divergence' && (since === null || e.at >= since)).length;
    const mine = rows.filter((r) => r.pair === this.pair && r.role === 'served');
    const commands = mine.reduce((a, r) => a + r.commands, 0);
    const errors = mine.reduce((a, r) => a + r.errors, 0);
    return {
      mismatches,
      p95Ms: mine.find((r) => r.impl === 'adaptive')?.latency_p95_ms ?? 0,
      errorRate: commands === 0 ? 0 : errors / commands,
      breakerOpen: this.breaker.isOpen,
    };
  }

  // ---- persistence (the document the PairStateStore keeps) ------------------------------------------------

  /** The control state a restart must keep, as the stored document. */
  state(): PairStateDocument {
    return pairControlState(this.pair, this.migration, this.breaker);
  }

  /** Applies a stored document at start-up; returns what was restored (for the log) or undefined. */
  restore(doc: PairStateDocument): string | undefined {
    try {
      return restorePairControlState(this.pair, doc, this.migration, this.breaker);
    } finally {
      this.sync();
    }
  }

  /**
   * Brings the books in line with the migration state and the breaker. Every operation above ends with
   * it; PairControls calls it after operations that change several pairs at once. Cheap when nothing changed.
   */
  sync(): void {
    this.manager.reconcile();
  }
}
