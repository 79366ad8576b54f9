/**
 * One structured log line per control-plane transition (issue 10 "migration/breaker transitions with
 * reason"): every breaker open (reason, detail) and reset (the reason it cleared, by whom), every migration
 * state or percentage change (cause, reason, from → to). server/pairs keeps the transitions in its bounded
 * histories and does no I/O; this adapter reads the entries that appeared since its last look and logs
 * each once. The service calls `check()` where changes surface: after every PairControls operation, on
 * every order-book-manager event (a trip on the hot path) and on the ramp tick (catch-all).
 */
import type { CircuitBreakers } from '../../pairs/circuit-breaker.ts';
import type { MigrationController } from '../../pairs/migration-controller.ts';
import { PairControls, type PairControlsOptions, type ResetAllResult } from '../../pairs/pair-controls.ts';
import type { RampDecision, RampStatus } from '../../pairs/migration-controller.ts';
import type { Logger } from '../grpc/call-context.ts';

/** Entries of one pair's history not yet logged: those after the last one logged (kept as JSON). */
function fresh<T>(entries: readonly T[], last: string | undefined): { added: T[]; last: string | undefined } {
  if (entries.length === 0) return { added: [], last };
  const newest = JSON.stringify(entries[entries.length - 1]);
  if (newest === last) return { added: [], last }; // the usual case: one stringify per pair per look
  // Search back from the newest; not found: the last one logged aged out of the bounded history, so every
  // entry now in it is newer.
  let from = 0;
  if (last !== undefined)
    for (let i = entries.length - 2; i >= 0; i--)
      if (JSON.stringify(entries[i]) === last) {
        from = i + 1;
        break;
      }
  return { added: entries.slice(from), last: newest };
}

export class ControlTransitionLog {
  private readonly lastBreaker = new Map<string, string | undefined>();
  private readonly lastMigration = new Map<string, string | undefined>();

  constructor(
    private readonly breakers: Pick<CircuitBreakers, 'history'>,
    private readonly migration: Pick<MigrationController, 'history' | 'status'>,
    private readonly logger: Logger,
  ) {}

  /** Marks everything recorded so far as seen (start-up: pair creation and restored state are logged elsewhere). */
  prime(): void {
    this.scan(false);
  }

  /** Forgets what was seen of a delisted pair (its histories are gone with it). */
  forget(pair: string): void {
    this.lastBreaker.delete(pair);
    this.lastMigration.delete(pair);
  }

  /** Logs every transition recorded since the last call (or `prime`). */
  check(): void {
    this.scan(true);
  }

  private scan(log: boolean): void {
    const byPair = new Map<string, ReturnType<CircuitBreakers['history']>['last_24h']>();
    for (const e of this.breakers.history().last_24h) {
      const list = byPair.get(e.pair) ?? [];
      list.push(e);
      byPair.set(e.pair, list);
    }
    for (const [pair, entries] of byPair) {
      const { added, last } = fresh(entries, this.lastBreaker.get(pair));
      this.lastBreaker.set(pair, last);
      if (!log) continue;
      for (const e of added) {
        if (e.event === 'open')
          (this.logger.warn ?? this.logger.info).call(this.logger, `circuit breaker ${pair} opened: ${e.reason}: ${e.detail}`, {
            event: 'circuit_breaker_opened',
            pair,
            reason: e.reason,
            detail: e.detail,
          });
        else
          this.logger.info(`circuit breaker ${pair} reset (was ${e.reason}) by ${e.by ?? 'unknown'}`, {
            event: 'circuit_breaker_reset',
            pair,
            reason: e.reason,
            detail: e.detail,
            by: e.by,
          });
      }
    }
    for (const s of this.migration.status()) {
      const pair = s.pair;
      const { added, last } = fresh(this.migration.history(pair), this.lastMigration.get(pair));
      this.lastMigration.set(pair, last);
      if (!log) continue;
      for (const e of added)
        this.logger.info(`migration ${pair}: ${e.from_state} ${e.from_percentage} % → ${e.to_state} ${e.to_percentage} % (${e.cause}: ${e.reason})`, {
          event: 'migration_changed',
          pair,
          reason: e.reason,
          cause: e.cause,
          from_state: e.from_state,
          to_state: e.to_state,
          from_percentage: e.from_percentage,
          to_percentage: e.to_percentage,
        });
    }
  }
}

/**
 * PairControls whose every operation ends with a `ControlTransitionLog.check()` (also when it threw after a
 * partial change), and whose activate-all also logs one line naming every pair it opened.
 */
export class LoggedPairControls extends PairControls {
  readonly transitions: ControlTransitionLog;
  private readonly log: Logger;

  constructor(o: PairControlsOptions, logger: Logger) {
    super(o);
    this.log = logger;
    this.transitions = new ControlTransitionLog(o.breakers, o.migration, logger);
  }

  private after<T>(run: () => T): T {
    try {
      return run();
    } finally {
      this.transitions.check();
    }
  }

  override setPercentage(pair: string, percentage: number, reason: string): string[] {
    return this.after(() => super.setPercentage(pair, percentage, reason));
  }
  override startRamp(pair: string, steps: readonly number[] | undefined, reason: string): RampStatus {
    return this.after(() => super.startRamp(pair, steps, reason));
  }
  override complete(pair: string, reason: string): void {
    this.after(() => super.complete(pair, reason));
  }
  override rollback(pair: string, reason: string): string[] {
    return this.after(() => super.rollback(pair, reason));
  }
  override stopAll(reason: string): string[] {
    return this.after(() => super.stopAll(reason));
  }
  override emergencyStop(reason: string): string[] {
    return this.after(() => super.emergencyStop(reason));
  }
  override activateAll(detail: string): string[] {
    const opened = this.after(() => super.activateAll(detail));
    (this.log.warn ?? this.log.info).call(this.log, `circuit breakers activated on every pair: ${opened.length} opened${opened.length > 0 ? ` (${opened.join(', ')})` : ''}: ${detail}`, {
      event: 'circuit_breakers_activate_all',
      pair: 'all',
      reason: 'operator',
      detail,
      pairs: opened,
    });
    return opened;
  }
  override reset(pair: string, by: string): boolean {
    return this.after(() => super.reset(pair, by));
  }
  override resetAll(by: string): ResetAllResult {
    return this.after(() => super.resetAll(by));
  }
  override tickRamps(): RampDecision[] {
    return this.after(() => super.tickRamps());
  }
  override remove(pair: string): void {
    this.transitions.check(); // what happened to the pair before it goes is logged
    super.remove(pair);
    this.transitions.forget(pair);
  }
}
