/**
 * The per-pair control state a restart must keep — migration state and percentage, breaker open with its
 * reason — as the JSON document the PairStateStore port stores, and back. Logic only: the adapter loads
 * and saves the documents.
 */
import type { PairStateDocument } from '../ports/pair-state-store.ts';
import { TRIP_REASONS, type CircuitBreaker, type TripReason } from './circuit-breaker.ts';
import { MIGRATION_STATES, type MigrationController, type MigrationState } from './migration-controller.ts';

/** The document of one pair now. */
export function pairControlState(pair: string, migration: MigrationController, breaker: CircuitBreaker): PairStateDocument {
  const b = breaker.status();
  const ramp = migration.statusOf(pair).ramp;
  return {
    version: 1,
    migration: {
      state: migration.stateOf(pair),
      percentage: migration.percentageOf(pair),
      // A ramp in progress (absent in documents written before ramps were kept: no ramp restored).
      ramp: ramp.active ? { steps: [...ramp.steps], frozen: ramp.frozen } : null,
    },
    breaker: { open: b.open, reason: b.reason, detail: b.detail },
  };
}

/**
 * Applies a stored document to a pair at start-up (before it serves). Returns what was restored, for the log;
 * a document this version cannot read is ignored (returns undefined) rather than guessed at.
 */
export function restorePairControlState(pair: string, doc: PairStateDocument, migration: MigrationController, breaker: CircuitBreaker): string | undefined {
  const m = doc['migration'];
  const b = doc['breaker'];
  if (doc['version'] !== 1 || m === null || typeof m !== 'object' || Array.isArray(m) || b === null || typeof b !== 'object' || Array.isArray(b)) return undefined;
  const state = m['state'];
  const percentage = m['percentage'];
  const done: string[] = [];
  if (typeof state === 'string' && (MIGRATION_STATES as readonly string[]).includes(state) && typeof percentage === 'number') {
    migration.restoreState(pair, state as MigrationState, percentage, 'restored after restart');
    done.push(`migration ${state} ${percentage} %`);
    const ramp = m['ramp'];
    if (ramp !== null && typeof ramp === 'object' && !Array.isArray(ramp) && Array.isArray(ramp['steps']) && typeof ramp['frozen'] === 'boolean') {
      migration.restoreRamp(pair, ramp['steps'] as number[], ramp['frozen']);
      done.push(ramp['frozen'] ? 'ramp paused (continue with POST /admin/migration/ramp)' : 'ramp resumed (hold restarts)');
    }
  }
  const reason = b['reason'];
  if (b['open'] === true && typeof reason === 'string' && (TRIP_REASONS as readonly string[]).includes(reason)) {
    breaker.trip(reason as TripReason, `restored after restart: ${typeof b['detail'] === 'string' ? b['detail'] : ''}`);
    done.push(`breaker open (${reason})`);
  }
  return done.length > 0 ? done.join(', ') : undefined;
}
