/**
 * Per-pair rollout of the adaptive book: state, percentage, automatic ramp
 * with health gates, stop-all, emergency stop, deterministic routing. Logic only: the clock is passed in, the
 * adapter calls `tick` on its own timer, and every transition is recorded with its reason.
 *
 * States and percentages (the percentage is the share of the pair's commands whose *adaptive* result is served):
 * | state        | %      | books                 | how it is reached                                         |
 * |--------------|--------|-----------------------|-----------------------------------------------------------|
 * | legacy_only  | 0      | legacy                | initial (default)                                         |
 * | shadow       | 0      | both, legacy primary  | setPercentage 0; initial if `initialState: 'shadow'`      |
 * | canary       | 1–99   | both                  | setPercentage, ramp steps                                 |
 * | full         | 100    | both, adaptive primary| setPercentage 100, last ramp step                         |
 * | completed    | 100    | adaptive (legacy gone)| complete() from full, or autoComplete after the last hold |
 * | rolled_back  | 0      | both, legacy primary  | rollback(), a failed ramp gate, leaving completed at 0 %  |
 * | stopped      | 0      | both, legacy primary  | emergencyStop()                                           |
 *
 * Runbook contract: `GET /admin/migration/status` is `status()` (jq reads `.current_percentage`, `.pair`);
 * `GET /admin/migration/summary` is `summary()`; `POST percentage {"pair":"all","percentage":0}` is
 * `setPercentage('all', 0, ...)`; `stop-all` is `stopAll`; `emergency-stop` is `emergencyStop`.
 *
 * The breaker is not consulted here: an open breaker overrides routing in the order-book manager (legacy alone),
 * and reaches a ramp as its `breakerOpen` gate.
 */
import type { Clock } from '../ports/clock.ts';
import { ValidationError } from './errors.ts';

export type MigrationState = 'legacy_only' | 'shadow' | 'canary' | 'full' | 'completed' | 'rolled_back' | 'stopped';

export const MIGRATION_STATES: readonly MigrationState[] = Object.freeze(['legacy_only', 'shadow', 'canary', 'full', 'completed', 'rolled_back', 'stopped']);

/** What made a transition happen, beside the free-text reason. */
export type TransitionCause =
  | 'manual'
  | 'ramp_start'
  | 'ramp_resume'
  | 'ramp_advance'
  | 'ramp_finished'
  | 'gate_failed'
  | 'stop_all'
  | 'emergency_stop'
  | 'complete'
  | 'rollback'
  | 'pair_added'
  | 'restored';

/** A pair's health as the adapter measures it, handed to `evaluate`/`tick`. */
export interface RampGates {
  /** Adaptive/legacy mismatches since the current step started (`ramp.step_started_at`). Gate: must be 0. */
  mismatches: number;
  /** p95 latency of the pair's served path in milliseconds. Gate: ≤ `p95BudgetMs`. */
  p95Ms: number;
  /** Share of the pair's commands that failed, 0–1. Gate: < `maxErrorRate`. */
  errorRate: number;
  /** Whether the pair's circuit breaker is open. Gate: must be closed. */
  breakerOpen: boolean;
}

export type GateName = 'breaker' | 'mismatches' | 'error_rate' | 'p95';

export interface MigrationControllerOptions {
  /**
   * Percentages of the automatic ramp: strictly increasing whole numbers in 1–100, ending at 100. Fewer steps
   * reach 100 % sooner; smaller first steps expose fewer commands to a bad adaptive book.
   * @default [1, 5, 25, 50, 100]
   */
  rampSteps?: readonly number[];
  /**
   * How long the ramp holds each step with all gates passing before it advances, in milliseconds.
   * @default 600000 (10 min)
   */
  holdMs?: number;
  /**
   * The p95 gate: a ramp rolls back when the pair's p95 is above this many milliseconds (runbook: > 20 ms is DEGRADED).
   * @default 20
   */
  p95BudgetMs?: number;
  /**
   * The error-rate gate: a ramp rolls back when the pair's error rate is at or above this share (runbook: 0.01).
   * @default 0.01
   */
  maxErrorRate?: number;
  /**
   * When true, a ramp that held its last step (100 %) with passing gates completes the pair (legacy retired);
   * when false it stops at `full` and an operator calls `complete`.
   * @default false
   */
  autoComplete?: boolean;
  /**
   * State of a pair when it is added: `legacy_only` (no adaptive book) or `shadow` (adaptive book shadowing at 0 %).
   * @default 'legacy_only'
   */
  initialState?: 'legacy_only' | 'shadow';
  /**
   * Transitions kept per pair (oldest dropped first).
   * @default 100
   */
  historyLimitPerPair?: number;
}

export interface CompiledMigrationControllerOptions {
  readonly rampSteps: readonly number[];
  readonly holdMs: number;
  readonly p95BudgetMs: number;
  readonly maxErrorRate: number;
  readonly autoComplete: boolean;
  readonly initialState: 'legacy_only' | 'shadow';
  readonly historyLimitPerPair: number;
}

export const DEFAULT_RAMP_STEPS: readonly number[] = Object.freeze([1, 5, 25, 50, 100]);
export const DEFAULT_HOLD_MS = 10 * 60 * 1000;
export const DEFAULT_P95_BUDGET_MS = 20;
export const DEFAULT_MAX_ERROR_RATE = 0.01;
export const DEFAULT_HISTORY_LIMIT_PER_PAIR = 100;

/** Validates ramp steps; `field` is how the caller named them (`rampSteps` in options, `steps` in startRamp). */
export function compileRampSteps(steps: unknown, field: string): readonly number[] {
  if (!Array.isArray(steps) || steps.length === 0) throw new ValidationError(field, 'must be a non-empty array of percentages');
  let prev = 0;
  for (const s of steps) {
    if (typeof s !== 'number' || !Number.isInteger(s) || s < 1 || s > 100) throw new ValidationError(field, `every step must be a whole number in 1–100, got ${String(s)}`);
    if (s <= prev) throw new ValidationError(field, `steps must be strictly increasing, got ${prev} then ${s}`);
    prev = s;
  }
  if (prev !== 100) throw new ValidationError(field, `must end at 100, ends at ${prev}`);
  return Object.freeze([...(steps as number[])]);
}

/** Validates once and fills defaults; throws a ValidationError naming the first bad field. */
export function compileMigrationControllerOptions(raw: MigrationControllerOptions = {}): CompiledMigrationControllerOptions {
  const r = raw as Record<string, unknown>;
  const known = new Set(['rampSteps', 'holdMs', 'p95BudgetMs', 'maxErrorRate', 'autoComplete', 'initialState', 'historyLimitPerPair']);
  for (const key of Object.keys(r)) if (!known.has(key)) throw new ValidationError(key, 'is not a migration controller option');
  const rampSteps = r.rampSteps === undefined ? DEFAULT_RAMP_STEPS : compileRampSteps(r.rampSteps, 'rampSteps');
  const holdMs = r.holdMs ?? DEFAULT_HOLD_MS;
  if (typeof holdMs !== 'number' || !Number.isSafeInteger(holdMs) || holdMs <= 0) throw new ValidationError('holdMs', `must be a positive whole number of milliseconds, got ${String(holdMs)}`);
  const p95BudgetMs = r.p95BudgetMs ?? DEFAULT_P95_BUDGET_MS;
  if (typeof p95BudgetMs !== 'number' || !Number.isFinite(p95BudgetMs) || p95BudgetMs <= 0)
    throw new ValidationError('p95BudgetMs', `must be a positive number of milliseconds, got ${String(p95BudgetMs)}`);
  const maxErrorRate = r.maxErrorRate ?? DEFAULT_MAX_ERROR_RATE;
  if (typeof maxErrorRate !== 'number' || !(maxErrorRate > 0 && maxErrorRate <= 1)) throw new ValidationError('maxErrorRate', `must be in (0, 1], got ${String(maxErrorRate)}`);
  const autoComplete = r.autoComplete ?? false;
  if (typeof autoComplete !== 'boolean') throw new ValidationError('autoComplete', `must be a boolean, got ${String(autoComplete)}`);
  const initialState = r.initialState ?? 'legacy_only';
  if (initialState !== 'legacy_only' && initialState !== 'shadow') throw new ValidationError('initialState', `must be 'legacy_only' or 'shadow', got ${String(initialState)}`);
  const historyLimitPerPair = r.historyLimitPerPair ?? DEFAULT_HISTORY_LIMIT_PER_PAIR;
  if (typeof historyLimitPerPair !== 'number' || !Number.isSafeInteger(historyLimitPerPair) || historyLimitPerPair <= 0)
    throw new ValidationError('historyLimitPerPair', `must be a positive whole number, got ${String(historyLimitPerPair)}`);
  return Object.freeze({ rampSteps, holdMs, p95BudgetMs, maxErrorRate, autoComplete, initialState, historyLimitPerPair });
}

export interface RampStatus {
  /** A ramp is in progress (started, not finished, not rolled back); it may be frozen. */
  active: boolean;
  /** Held where it is (stop-all, emergency stop, manual percentage) until resumeRamp or startRamp. */
  frozen: boolean;
  steps: readonly number[];
  /** Index in `steps` of the step the pair is at (-1: below the first step); null before any ramp. */
  step_index: number | null;
  step_started_at: string | null;
  /** When the next step may be taken if the gates pass; null unless the ramp is running. */
  next_step_at: string | null;
}

export interface PairMigrationStatus {
  pair: string;
  state: MigrationState;
  current_percentage: number;
  /** Where the pair is heading: the ramp's last step while a ramp is active, else the current percentage. */
  target_percentage: number;
  ramp: RampStatus;
  last_reason: string;
  updated_at: string;
}

export interface MigrationSummary {
  total_pairs: number;
  by_state: Record<MigrationState, number>;
  /** Mean current percentage over all pairs (completed counts 100), two decimals. */
  average_percentage: number;
  /** Pairs whose every command is served by the adaptive book: state full or completed. */
  fully_migrated: number;
  /** Ramps running (active and not frozen). */
  active_ramps: number;
  frozen_ramps: number;
  emergency_stopped: boolean;
  pairs: PairMigrationStatus[];
}

export interface MigrationHistoryEntry {
  at: string;
  cause: TransitionCause;
  reason: string;
  from_state: MigrationState;
  to_state: MigrationState;
  from_percentage: number;
  to_percentage: number;
}

export type RampAction = 'idle' | 'holding' | 'advanced' | 'finished' | 'completed' | 'rolled_back';

/** What one evaluation did to a pair. */
export interface RampDecision {
  pair: string;
  action: RampAction;
  percentage: number;
  state: MigrationState;
  failed_gate: GateName | null;
  reason: string | null;
}

interface Ramp {
  active: boolean;
  frozen: boolean;
  steps: readonly number[];
  stepIndex: number | null;
  stepStartedAtMs: number | null;
  nextStepAtMs: number | null;
}

interface TransitionRecord {
  readonly atMs: number;
  readonly cause: TransitionCause;
  readonly reason: string;
  readonly fromState: MigrationState;
  readonly toState: MigrationState;
  readonly fromPercentage: number;
  readonly toPercentage: number;
}

interface PairMigration {
  readonly pair: string;
  state: MigrationState;
  percentage: number;
  readonly ramp: Ramp;
  lastReason: string;
  updatedAtMs: number;
  readonly history: TransitionRecord[];
}

/** A requested change; fields left out stay as they are. */
interface Change {
  state?: MigrationState;
  percentage?: number;
  ramp?: Partial<Ramp>;
}

/**
 * Which state may follow which (besides staying). Leaving `completed` revives the legacy book (the manager rebuilds
 * it), so only an explicit percentage below 100 or a rollback may do it; `legacy_only` is left only by choosing a
 * percentage or starting a ramp, never by stop or rollback (there is nothing to stop).
 */
const ALLOWED: Readonly<Record<MigrationState, readonly MigrationState[]>> = {
  legacy_only: ['shadow', 'canary', 'full'],
  shadow: ['canary', 'full', 'rolled_back', 'stopped'],
  canary: ['shadow', 'full', 'rolled_back', 'stopped'],
  full: ['shadow', 'canary', 'completed', 'rolled_back', 'stopped'],
  completed: ['canary', 'rolled_back'],
  rolled_back: ['shadow', 'canary', 'full', 'stopped'],
  stopped: ['shadow', 'canary', 'full', 'rolled_back'],
};

/** The state a chosen percentage means while migrating. */
function stateForPercentage(pct: number): MigrationState {
  return pct === 0 ? 'shadow' : pct === 100 ? 'full' : 'canary';
}

/** States in which a percentage must keep its band (checked on every transition). */
function percentageFits(state: MigrationState, pct: number): boolean {
  switch (state) {
    case 'legacy_only':
    case 'shadow':
    case 'rolled_back':
    case 'stopped':
      return pct === 0;
    case 'canary':
      return pct >= 1 && pct <= 99;
    case 'full':
    case 'completed':
      return pct === 100;
  }
}

/**
 * Routing scramble: x ↦ (37·x + 11) mod 100 is a bijection on 0–99 (37 is coprime with 100), so any 100
 * consecutive command sequence numbers hit each value once and exactly `pct` of them route to the adaptive book,
 * while the adaptive ones are spread through the hundred instead of coming as one block.
 */
const ROUTE_MULTIPLIER = 37;
const ROUTE_OFFSET = 11;

export function routingSlot(commandSeq: number): number {
  const x = ((commandSeq % 100) + 100) % 100;
  return (ROUTE_MULTIPLIER * x + ROUTE_OFFSET) % 100;
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

function requireReason(reason: unknown): string {
  if (typeof reason !== 'string' || reason.trim().length === 0) throw new ValidationError('reason', 'must say why (a non-empty string)');
  return reason;
}

function checkPercentage(pct: unknown): number {
  if (typeof pct !== 'number' || !Number.isInteger(pct) || pct < 0 || pct > 100) throw new ValidationError('percentage', `must be a whole number in 0–100, got ${String(pct)}`);
  return pct;
}

/** Migration state of every pair the process serves. Single-writer, like the pairs. */
export class MigrationController {
  private readonly pairsByName = new Map<string, PairMigration>();
  private readonly options: CompiledMigrationControllerOptions;
  private emergencyStopped = false;

  constructor(
    pairs: Iterable<string>,
    private readonly clock: Clock,
    options: MigrationControllerOptions = {},
  ) {
    this.options = compileMigrationControllerOptions(options);
    for (const pair of pairs) this.addPair(pair);
  }

  /** Adds a pair in `initialState`; a known pair is left as it is. */
  addPair(pair: string): void {
    if (typeof pair !== 'string' || pair.length === 0) throw new ValidationError('pair', 'must be a non-empty string');
    if (pair === 'all') throw new ValidationError('pair', '"all" is reserved for every pair');
    if (this.pairsByName.has(pair)) return;
    const now = this.clock.nowMs();
    const state = this.options.initialState;
    this.pairsByName.set(pair, {
      pair,
      state,
      percentage: 0,
      ramp: { active: false, frozen: false, steps: this.options.rampSteps, stepIndex: null, stepStartedAtMs: null, nextStepAtMs: null },
      lastReason: 'pair added',
      updatedAtMs: now,
      history: [{ atMs: now, cause: 'pair_added', reason: 'pair added', fromState: state, toState: state, fromPercentage: 0, toPercentage: 0 }],
    });
  }

  /** Forgets a pair (delisted) with its history; an unknown pair is left alone. */
  removePair(pair: string): void {
    this.pairsByName.delete(pair);
  }

  pairs(): string[] {
    return [...this.pairsByName.keys()];
  }

  /**
   * Puts a pair back in the state and percentage it had before a restart (PairStateStore). The saved state was
   * reached through legal transitions, so ALLOWED is not consulted, only the state's percentage band. A ramp is
   * not resumed by itself: the operator resumes it (resumeRamp) after looking at the restarted service.
   */
  restoreState(pair: string, state: MigrationState, percentage: number, reason: string): void {
    const p = this.pairOf(pair);
    if (!MIGRATION_STATES.includes(state)) throw new ValidationError('state', `must be one of ${MIGRATION_STATES.join(', ')}, got ${String(state)}`);
    const pct = checkPercentage(percentage);
    if (!percentageFits(state, pct)) throw new ValidationError('percentage', `${pct} % does not fit state ${state}`);
    if (p.state === state && p.percentage === pct) return;
    const now = this.clock.nowMs();
    p.history.push({ atMs: now, cause: 'restored', reason: requireReason(reason), fromState: p.state, toState: state, fromPercentage: p.percentage, toPercentage: pct });
    p.state = state;
    p.percentage = pct;
    Object.assign(p.ramp, { active: false, frozen: false, stepIndex: null, stepStartedAtMs: null, nextStepAtMs: null });
    p.lastReason = reason;
    p.updatedAtMs = now;
  }

  /**
   * After restoreState: puts back the ramp the pair had before a restart (PairStateStore). A running
   * ramp runs on from the pair's percentage, its hold restarting now, so the next step still needs a
   * full hold of passing gates measured by this process; a frozen one stays frozen, and its last
   * reason says how to continue (POST /admin/migration/ramp).
   */
  restoreRamp(pair: string, steps: readonly number[], frozen: boolean): void {
    const p = this.pairOf(pair);
    const ladder = compileRampSteps(steps, 'steps');
    if (p.state === 'completed' || p.state === 'stopped') return;
    const now = this.clock.nowMs();
    const reason = frozen
      ? `ramp ${ladder.join('/')} restored paused after restart; continue it with POST /admin/migration/ramp {"pair": "${p.pair}", "steps": [${ladder.join(', ')}]}`
      : `ramp ${ladder.join('/')} resumed after restart at ${p.percentage} %; the hold restarts`;
    this.transition(
      p,
      { ramp: { active: true, frozen, steps: ladder, stepIndex: stepIndexAt(ladder, p.percentage), stepStartedAtMs: now, nextStepAtMs: frozen ? null : now + this.options.holdMs } },
      frozen ? 'restored' : 'ramp_resume',
      reason,
    );
  }

  get isEmergencyStopped(): boolean {
    return this.emergencyStopped;
  }

  // ---- routing (hot path) ---------------------------------------------------------------------------------------

  /**
   * Whether the adaptive book's result is served for this command. Deterministic: the same percentage and sequence
   * number always give the same answer, and exactly `percentage` of any 100 consecutive sequence numbers are
   * adaptive-primary. `completed` is always adaptive; `legacy_only` never. An open breaker overrides this in the
   * manager.
   */
  isAdaptivePrimary(pair: string, commandSeq: number): boolean {
    const p = this.pairOf(pair);
    return p.state === 'completed' || routingSlot(commandSeq) < p.percentage;
  }

  /** The adaptive book must be kept up to date: every state but `legacy_only` (primary or shadow). */
  usesAdaptive(pair: string): boolean {
    return this.pairOf(pair).state !== 'legacy_only';
  }

  /** The legacy book must be kept up to date: every state but `completed` (legacy retired). */
  usesLegacy(pair: string): boolean {
    return this.pairOf(pair).state !== 'completed';
  }

  percentageOf(pair: string): number {
    return this.pairOf(pair).percentage;
  }

  stateOf(pair: string): MigrationState {
    return this.pairOf(pair).state;
  }

  // ---- operator actions --------------------------------------------------------------------------------------

  /**
   * Sets the adaptive share of one pair, or of every migrating pair with `'all'` (pairs in `legacy_only` or
   * `completed` are left alone by `'all'`: starting or undoing a finished migration is done per pair, by name, so
   * the runbook's `{"pair":"all","percentage":0}` latency mitigation neither starts shadowing legacy-only pairs nor
   * revives retired legacy books). The state follows: 0 → shadow, 1–99 → canary, 100 → full.
   *
   * A manual change freezes the pair's ramp (resumeRamp or startRamp continues it) and clears the emergency-stop flag.
   * On a `completed` pair, 100 changes nothing; below 100 the pair leaves `completed` (legacy revived: the manager
   * rebuilds the legacy book from the adaptive one before routing to it): 0 → rolled_back, 1–99 → canary.
   *
   * Input is validated before anything changes. Returns the pairs changed.
   */
  setPercentage(pair: string, percentage: number, reason: string): string[] {
    const pct = checkPercentage(percentage);
    const why = requireReason(reason);
    const targets = this.targets(pair);
    this.emergencyStopped = false;
    const changed: string[] = [];
    for (const p of targets) {
      if (p.state === 'completed') {
        if (pct === 100) continue;
        this.transition(p, { state: pct === 0 ? 'rolled_back' : 'canary', percentage: pct, ramp: { active: false, frozen: false, nextStepAtMs: null } }, 'manual', why);
      } else {
        const ramp: Partial<Ramp> | undefined = p.ramp.active ? { frozen: true, nextStepAtMs: null } : undefined;
        this.transition(p, { state: stateForPercentage(pct), percentage: pct, ...(ramp ? { ramp } : {}) }, 'manual', why);
      }
      changed.push(p.pair);
    }
    return changed;
  }

  /**
   * Starts an automatic ramp on one pair (replacing any ramp it had). A pair below the first step goes to it at
   * once; a pair already at or above it stays where it is and the next step is the first one above its percentage,
   * so starting a ramp never lowers exposure by surprise nor raises it past a step without a hold. Then the pair
   * holds each step for `holdMs` and `evaluate` advances it while the gates pass. Not allowed on `completed`
   * (roll back first). Clears the emergency-stop flag.
   */
  startRamp(pair: string, steps: readonly number[] = this.options.rampSteps, reason = 'ramp started'): RampStatus {
    const p = this.pairOf(pair);
    const ladder = steps === this.options.rampSteps ? steps : compileRampSteps(steps, 'steps');
    const why = requireReason(reason);
    if (p.state === 'completed') throw new ValidationError('pair', `${pair} is completed; roll it back before starting a ramp`);
    this.emergencyStopped = false;
    const now = this.clock.nowMs();
    const pct = Math.max(p.percentage, ladder[0]!);
    this.transition(
      p,
      {
        state: stateForPercentage(pct),
        percentage: pct,
        ramp: { active: true, frozen: false, steps: ladder, stepIndex: stepIndexAt(ladder, pct), stepStartedAtMs: now, nextStepAtMs: now + this.options.holdMs },
      },
      'ramp_start',
      `${why} (steps ${ladder.join(' → ')})`,
    );
    return this.rampStatus(p);
  }

  /**
   * Unfreezes frozen ramps (one pair, or every pair with a frozen ramp with `'all'`). The pair stays at its
   * current percentage, the hold restarts now, and the next step is the first one above that percentage. Clears
   * the emergency-stop flag. Returns the pairs resumed.
   */
  resumeRamp(pair: string, reason: string): string[] {
    const why = requireReason(reason);
    const targets = pair === 'all' ? [...this.pairsByName.values()].filter((p) => p.ramp.active && p.ramp.frozen) : [this.pairOf(pair)];
    for (const p of targets) if (!(p.ramp.active && p.ramp.frozen)) throw new ValidationError('pair', `${p.pair} has no frozen ramp to resume`);
    this.emergencyStopped = false;
    const now = this.clock.nowMs();
    for (const p of targets)
      this.transition(
        p,
        { ramp: { frozen: false, stepIndex: stepIndexAt(p.ramp.steps, p.percentage), stepStartedAtMs: now, nextStepAtMs: now + this.options.holdMs } },
        'ramp_resume',
        why,
      );
    return targets.map((p) => p.pair);
  }

  /** Runbook `stop-all`: freezes every running ramp where it is; percentages and states unchanged. Returns the pairs. */
  stopAll(reason: string): string[] {
    const why = requireReason(reason);
    const frozen: string[] = [];
    for (const p of this.pairsByName.values()) {
      if (!p.ramp.active || p.ramp.frozen) continue;
      this.transition(p, { ramp: { frozen: true, nextStepAtMs: null } }, 'stop_all', why);
      frozen.push(p.pair);
    }
    return frozen;
  }

  /**
   * Runbook `emergency-stop`: every migrating pair to 0 % at once (state `stopped`), ramps frozen, and the
   * `emergency_stopped` flag set until a later manual setPercentage, startRamp or resumeRamp. `legacy_only` pairs
   * have nothing to stop; `completed` pairs have no legacy book to fall back to (undo one with rollback, by name).
   * Returns the pairs stopped.
   */
  emergencyStop(reason: string): string[] {
    const why = requireReason(reason);
    this.emergencyStopped = true;
    const stopped: string[] = [];
    for (const p of this.pairsByName.values()) {
      if (p.state === 'legacy_only' || p.state === 'completed') continue;
      const ramp: Partial<Ramp> = p.ramp.active ? { frozen: true, nextStepAtMs: null } : {};
      this.transition(p, { state: 'stopped', percentage: 0, ramp }, 'emergency_stop', why);
      stopped.push(p.pair);
    }
    return stopped;
  }

  /**
   * Retires the legacy book of a pair at `full` (100 %); any other state is refused. The manager drops the legacy
   * book only after this returns.
   */
  complete(pair: string, reason = 'completed by operator'): void {
    const p = this.pairOf(pair);
    const why = requireReason(reason);
    if (p.state !== 'full') throw new ValidationError('pair', `${pair} is ${p.state} at ${p.percentage} %; only a pair at full (100 %) can be completed`);
    this.transition(p, { state: 'completed', ramp: { active: false, frozen: false, nextStepAtMs: null } }, 'complete', why);
  }

  /**
   * Any state but `legacy_only` → 0 %, `rolled_back`, ramp ended. From `completed` the manager rebuilds the legacy
   * book before routing to it. `'all'` rolls back every migrating pair (not completed ones, as for setPercentage).
   * Returns the pairs rolled back.
   */
  rollback(pair: string, reason: string): string[] {
    const why = requireReason(reason);
    const targets = this.targets(pair);
    const done: string[] = [];
    for (const p of targets) {
      if (p.state === 'legacy_only') continue;
      this.transition(p, { state: 'rolled_back', percentage: 0, ramp: { active: false, frozen: false, nextStepAtMs: null } }, 'rollback', why);
      done.push(p.pair);
    }
    return done;
  }

  // ---- automatic ramp ----------------------------------------------------------------------------------------

  /**
   * Judges one pair's running ramp against its health. A failing gate rolls the pair back at once (0 %,
   * `rolled_back`, ramp ended, reason naming the gate and value), hold or not; otherwise, once the hold has passed,
   * the pair advances one step (or, after the hold at the last step, finishes at `full` or completes with
   * `autoComplete`). Pairs without a running ramp (none, frozen) are left alone: `idle`.
   */
  evaluate(pair: string, gates: RampGates): RampDecision {
    const p = this.pairOf(pair);
    checkGates(gates);
    if (!p.ramp.active || p.ramp.frozen) return decision(p, 'idle', null, null);
    const failed = this.failedGate(gates);
    if (failed !== null) {
      const [gate, why] = failed;
      const reason = `ramp gate ${gate} failed at ${p.percentage} %: ${why}`;
      this.transition(p, { state: 'rolled_back', percentage: 0, ramp: { active: false, frozen: false, nextStepAtMs: null } }, 'gate_failed', reason);
      return decision(p, 'rolled_back', gate, reason);
    }
    const now = this.clock.nowMs();
    if (now < p.ramp.nextStepAtMs!) return decision(p, 'holding', null, null);
    const steps = p.ramp.steps;
    const next = p.ramp.stepIndex! + 1;
    if (next < steps.length) {
      const pct = steps[next]!;
      const reason = `ramp step ${next + 1}/${steps.length}: ${p.percentage} % → ${pct} % after holding with all gates passing`;
      this.transition(p, { state: stateForPercentage(pct), percentage: pct, ramp: { stepIndex: next, stepStartedAtMs: now, nextStepAtMs: now + this.options.holdMs } }, 'ramp_advance', reason);
      return decision(p, 'advanced', null, reason);
    }
    if (this.options.autoComplete) {
      const reason = 'ramp held 100 % with all gates passing; autoComplete retires the legacy book';
      this.transition(p, { state: 'completed', ramp: { active: false, frozen: false, nextStepAtMs: null } }, 'complete', reason);
      return decision(p, 'completed', null, reason);
    }
    const reason = 'ramp held 100 % with all gates passing; finished at full';
    this.transition(p, { ramp: { active: false, frozen: false, nextStepAtMs: null } }, 'ramp_finished', reason);
    return decision(p, 'finished', null, reason);
  }

  /**
   * Evaluates every pair with a running ramp, with the health the adapter measured for it. A running ramp without
   * health in `gatesByPair` is not judged this tick (nothing to judge it on). Returns a decision per judged pair.
   */
  tick(gatesByPair: ReadonlyMap<string, RampGates> | Readonly<Record<string, RampGates>>): RampDecision[] {
    const lookup = (pair: string): RampGates | undefined =>
      gatesByPair instanceof Map ? gatesByPair.get(pair) : Object.hasOwn(gatesByPair, pair) ? (gatesByPair as Record<string, RampGates>)[pair] : undefined;
    const out: RampDecision[] = [];
    for (const p of this.pairsByName.values()) {
      if (!p.ramp.active || p.ramp.frozen) continue;
      const gates = lookup(p.pair);
      if (gates !== undefined) out.push(this.evaluate(p.pair, gates));
    }
    return out;
  }

  // ---- views ---------------------------------------------------------------------------------------------------

  /** Runbook `GET /admin/migration/status`: one entry per pair, in the order pairs were added. */
  status(): PairMigrationStatus[] {
    return [...this.pairsByName.values()].map((p) => this.pairStatus(p));
  }

  statusOf(pair: string): PairMigrationStatus {
    return this.pairStatus(this.pairOf(pair));
  }

  /** Runbook `GET /admin/migration/summary`. */
  summary(): MigrationSummary {
    const by_state = Object.fromEntries(MIGRATION_STATES.map((s) => [s, 0])) as Record<MigrationState, number>;
    let sum = 0;
    let fully = 0;
    let running = 0;
    let frozen = 0;
    for (const p of this.pairsByName.values()) {
      by_state[p.state]++;
      sum += p.percentage;
      if (p.percentage === 100) fully++;
      if (p.ramp.active && !p.ramp.frozen) running++;
      if (p.ramp.active && p.ramp.frozen) frozen++;
    }
    const n = this.pairsByName.size;
    return {
      total_pairs: n,
      by_state,
      average_percentage: n === 0 ? 0 : Math.round((sum / n) * 100) / 100,
      fully_migrated: fully,
      active_ramps: running,
      frozen_ramps: frozen,
      emergency_stopped: this.emergencyStopped,
      pairs: this.status(),
    };
  }

  /** The pair's recorded transitions, oldest first (at most `historyLimitPerPair`). */
  history(pair: string): MigrationHistoryEntry[] {
    return this.pairOf(pair).history.map((r) => ({
      at: iso(r.atMs)!,
      cause: r.cause,
      reason: r.reason,
      from_state: r.fromState,
      to_state: r.toState,
      from_percentage: r.fromPercentage,
      to_percentage: r.toPercentage,
    }));
  }

  // ---- internals -----------------------------------------------------------------------------------------------

  private pairOf(pair: string): PairMigration {
    const p = this.pairsByName.get(pair);
    if (p === undefined) throw new ValidationError('pair', `unknown pair "${pair}"`);
    return p;
  }

  /** One pair by name, or every migrating pair (not legacy_only, not completed) for 'all'. */
  private targets(pair: string): PairMigration[] {
    if (pair === 'all') return [...this.pairsByName.values()].filter((p) => p.state !== 'legacy_only' && p.state !== 'completed');
    return [this.pairOf(pair)];
  }

  private failedGate(g: RampGates): [GateName, string] | null {
    if (g.breakerOpen) return ['breaker', 'circuit breaker open'];
    if (g.mismatches > 0) return ['mismatches', `${g.mismatches} mismatches since the step started (must be 0)`];
    if (g.errorRate >= this.options.maxErrorRate) return ['error_rate', `error rate ${g.errorRate} (must be < ${this.options.maxErrorRate})`];
    if (g.p95Ms > this.options.p95BudgetMs) return ['p95', `p95 ${g.p95Ms} ms (budget ${this.options.p95BudgetMs} ms)`];
    return null;
  }

  /**
   * The one transition function: every change of state, percentage or ramp goes through here, is checked against
   * ALLOWED and the state's percentage band, and is recorded with its cause and reason. A refused transition is a
   * bug in this file (public methods validate first), so it throws a plain Error and changes nothing.
   */
  private transition(p: PairMigration, change: Change, cause: TransitionCause, reason: string): void {
    const toState = change.state ?? p.state;
    const toPct = change.percentage ?? p.percentage;
    if (toState !== p.state && !ALLOWED[p.state].includes(toState)) throw new Error(`migration ${p.pair}: ${p.state} → ${toState} is not a transition (${cause})`);
    if (!percentageFits(toState, toPct)) throw new Error(`migration ${p.pair}: ${toPct} % does not fit state ${toState} (${cause})`);
    const now = this.clock.nowMs();
    const record: TransitionRecord = { atMs: now, cause, reason, fromState: p.state, toState, fromPercentage: p.percentage, toPercentage: toPct };
    p.state = toState;
    p.percentage = toPct;
    if (change.ramp) Object.assign(p.ramp, change.ramp);
    p.lastReason = reason;
    p.updatedAtMs = now;
    p.history.push(record);
    if (p.history.length > this.options.historyLimitPerPair) p.history.splice(0, p.history.length - this.options.historyLimitPerPair);
  }

  private rampStatus(p: PairMigration): RampStatus {
    const r = p.ramp;
    return {
      active: r.active,
      frozen: r.frozen,
      steps: r.steps,
      step_index: r.stepIndex,
      step_started_at: iso(r.stepStartedAtMs),
      next_step_at: iso(r.nextStepAtMs),
    };
  }

  private pairStatus(p: PairMigration): PairMigrationStatus {
    return {
      pair: p.pair,
      state: p.state,
      current_percentage: p.percentage,
      target_percentage: p.ramp.active ? p.ramp.steps[p.ramp.steps.length - 1]! : p.percentage,
      ramp: this.rampStatus(p),
      last_reason: p.lastReason,
      updated_at: iso(p.updatedAtMs)!,
    };
  }
}

/** Index of the highest step at or below `pct`; -1 when `pct` is below the first step. */
function stepIndexAt(steps: readonly number[], pct: number): number {
  let i = -1;
  while (i + 1 < steps.length && steps[i + 1]! <= pct) i++;
  return i;
}

function checkGates(g: RampGates): void {
  if (g === null || typeof g !== 'object') throw new ValidationError('gates', 'must be an object');
  if (typeof g.mismatches !== 'number' || !Number.isSafeInteger(g.mismatches) || g.mismatches < 0)
    throw new ValidationError('gates.mismatches', `must be a non-negative whole number, got ${String(g.mismatches)}`);
  if (typeof g.p95Ms !== 'number' || !Number.isFinite(g.p95Ms) || g.p95Ms < 0) throw new ValidationError('gates.p95Ms', `must be a non-negative finite number, got ${String(g.p95Ms)}`);
  if (typeof g.errorRate !== 'number' || !(g.errorRate >= 0 && g.errorRate <= 1)) throw new ValidationError('gates.errorRate', `must be in [0, 1], got ${String(g.errorRate)}`);
  if (typeof g.breakerOpen !== 'boolean') throw new ValidationError('gates.breakerOpen', `must be a boolean, got ${String(g.breakerOpen)}`);
}

function decision(p: PairMigration, action: RampAction, gate: GateName | null, reason: string | null): RampDecision {
  return { pair: p.pair, action, percentage: p.percentage, state: p.state, failed_gate: gate, reason };
}
