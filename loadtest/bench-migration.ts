/**
 * Migration benchmark: what dual-run costs, what 0 % takes off the served path, and how fast a faulty adaptive
 * book is fenced off. In-process, with the real LegacyBook, AdaptiveBook, MigrationController, CircuitBreaker
 * and OrderBookManager on the real clock; faults come through FaultyBook, the seam the chaos drills use.
 *
 *   npm run bench:migration
 *   BENCH_SEED (1), BENCH_REPS (5)
 *   BENCH_SHALLOW_COMMANDS (100000), BENCH_LATENCY_COMMANDS (10000)
 *   BENCH_DEEP_COMMANDS (0 = skip; e.g. 20000), BENCH_DEEP_LATENCY_COMMANDS (5000)
 *   BENCH_SLOW_EVERY_NTH (10), BENCH_SLOW_DELAY_US (1000)
 *
 * The deep workload is opt-in: every rep needs a fresh pair, and building a 200,000-order legacy book takes ~2 s
 * (its `load()` is far slower still), so deep adds minutes; the default run stays under ~2 minutes.
 *
 * 1. Dual-run cost: commands/s of a plain legacy book, a plain adaptive book, the manager in legacy_only and at
 *    0/50/100 %, with the shadow drained after every command and after batches (the adapter drains after the
 *    replies are out). Ratios against the same run's plain legacy book (today's served path) and adaptive book.
 * 2. Served-path latency with a slow adaptive book (busy wait every Nth adaptive command, breaker budget too high
 *    to trip): the time of `manager.apply` alone per command (what a client waits for), shadow drained after,
 *    at 0/50/100 % against a legacy-only manager. The runbook's high-latency mitigation is "percentage 0".
 * 3. Trip time: throw / diverge / slow-over-budget set at a known command at 0/50/100 %; commands and µs until
 *    the breaker is open and until the manager holds no adaptive book (served by legacy alone).
 *
 * Prints figures and ratios, writes bench-results/migration-latest.json and appends one line to
 * bench-results/migration-history.jsonl. It never fails on time; it exits non-zero only if a
 * manager serves different events than a plain legacy book fed the same commands, or a fault leaves the pair in a
 * state other than the reference state (correctness, not timing).
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AdaptiveBook } from '../server/core/adaptive-book/adaptive-book.ts';
import type { Command } from '../server/core/commands.ts';
import type { EventSink } from '../server/core/events.ts';
import type { Instrument } from '../server/core/instrument.ts';
import { LegacyBook } from '../server/core/legacy-book/legacy-book.ts';
import type { OrderBook } from '../server/core/order-book.ts';
import type { CancelReason, RejectCode } from '../server/core/reasons.ts';
import { hashBookState } from '../server/core/state-hash.ts';
import type { AccountId, Lots, OrderId, PriceTicks, Side } from '../server/core/types.ts';
import { CircuitBreaker, type CircuitBreakerOptions, compileCircuitBreakerOptions } from '../server/pairs/circuit-breaker.ts';
import { FaultSwitch, FaultyBook, type Fault, type FaultKind } from '../server/pairs/faulty-book.ts';
import { LatencyHistogram } from '../server/pairs/latency-histogram.ts';
import { MigrationController } from '../server/pairs/migration-controller.ts';
import { OrderBookManager } from '../server/pairs/order-book-manager.ts';
import { PairControl } from '../server/pairs/pair-control.ts';
import type { Clock } from '../server/ports/clock.ts';
import { deepWorkload, shallowWorkload, type Workload } from '../simulator/workloads.ts';
import { fullGc, gitCommit, envInt } from './bench-support.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS_DIR = join(ROOT, 'bench-results');

// --- configuration (read once, here: this file is an entry point) ----------------------------------------


const CONFIG = {
  seed: envInt('BENCH_SEED', 1),
  reps: envInt('BENCH_REPS', 5),
  shallowCommands: envInt('BENCH_SHALLOW_COMMANDS', 100_000),
  // Opt-in (see the header): the legacy book is ~20x slower on the deep book and each rep rebuilds it.
  deepCommands: envInt('BENCH_DEEP_COMMANDS', 0, 0),
  /** Shadow drained after this many commands in the "batched" variants (the adapter drains after replies). */
  batch: 100,
  latencyCommands: envInt('BENCH_LATENCY_COMMANDS', 10_000),
  deepLatencyCommands: envInt('BENCH_DEEP_LATENCY_COMMANDS', 5_000),
  slowEveryNth: envInt('BENCH_SLOW_EVERY_NTH', 10),
  slowDelayUs: envInt('BENCH_SLOW_DELAY_US', 1_000),
  /** Commands a pair served before the fault, so the breaker's latency window holds real traffic. */
  tripWarmupCommands: 1_000,
  /** A pair that has not tripped after this many faulty commands is reported as "did not trip". */
  tripMaxCommands: 20_000,
  tripReps: 3,
  /** 'slow' fault of the trip test: twice the default budget, on every adaptive command. */
  tripSlowDelayMs: 10,
};

/** Throughput and latency runs must not trip: GC pauses on a busy machine exceed the 5 ms default. */
const NO_TRIP_BREAKER: CircuitBreakerOptions = { latencyBudgetMs: 1_000 };
/** The trip test uses the breaker as deployed (defaults): budget 5 ms, window 10 s in 1 s buckets, 50 samples. */
const TRIP_BREAKER: CircuitBreakerOptions = {};

const CLOCK: Clock = { nowMs: () => Date.now(), monotonicNs: () => process.hrtime.bigint() };


/**
 * A real busy wait: the delay occupies the thread as a slow book would. performance.now() returns a double, so
 * the loop allocates nothing (a loop on hrtime.bigint() makes tens of thousands of BigInts per ms, and the
 * scavenges they cause would land on the served path and be blamed on the routing).
 */
function busyWaitMs(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

// --- the counting sink (served events: counted and folded into a checksum) -------------------------------

class CountingSink implements EventSink {
  events = 0;
  checksum = 0;
  private mix(x: number): void {
    this.events++;
    this.checksum = Math.imul(this.checksum ^ x, 0x01000193) >>> 0;
  }
  accepted(orderId: OrderId, _a: AccountId, _s: Side, _p: PriceTicks, quantity: Lots): void {
    this.mix(orderId ^ quantity);
  }
  rejected(orderId: OrderId, _a: AccountId, code: RejectCode, _f: string, _r: string): void {
    this.mix(orderId ^ (code << 3));
  }
  fill(maker: OrderId, _ma: AccountId, taker: OrderId, _ta: AccountId, _ts: Side, price: PriceTicks, quantity: Lots, makerRemaining: Lots, _tr: Lots): void {
    this.mix(maker ^ (taker << 7) ^ price ^ (quantity << 3) ^ makerRemaining);
  }
  cancelled(orderId: OrderId, _a: AccountId, _s: Side, price: PriceTicks, quantity: Lots, reason: CancelReason): void {
    this.mix(orderId ^ price ^ (quantity << 2) ^ reason);
  }
  replaced(orderId: OrderId, _a: AccountId, _s: Side, price: PriceTicks, quantity: Lots, kept: boolean): void {
    this.mix(orderId ^ price ^ quantity ^ (kept ? 1 : 0));
  }
  level(side: Side, price: PriceTicks, quantity: Lots, orderCount: number): void {
    this.mix(price ^ (quantity << 1) ^ (orderCount << 20) ^ side);
  }
  get digest(): string {
    return `${this.events}/${this.checksum.toString(16).padStart(8, '0')}`;
  }
}

// --- building pairs -----------------------------------------------------------------------------------------

interface Pair {
  manager: OrderBookManager;
  breaker: CircuitBreaker;
  migration: MigrationController;
  faults: FaultSwitch;
}

/**
 * A manager whose books already hold the workload's setup: applied through the manager in legacy_only (one book),
 * then the percentage set through the pair's control plane, which builds the adaptive book from the legacy resting orders
 * (as the service does when an operator starts a migration). All untimed.
 * `pct` null keeps the pair legacy_only (the manager serving one book).
 */
function buildPair(w: Workload, pct: number | null, breakerOptions: CircuitBreakerOptions, delay: (ms: number) => void = busyWaitMs): Pair {
  const pair = w.instrument.symbol;
  const migration = new MigrationController([pair], CLOCK, { initialState: 'legacy_only' });
  const breaker = new CircuitBreaker(pair, CLOCK, breakerOptions);
  const faults = new FaultSwitch();
  const manager = new OrderBookManager({
    instrument: w.instrument,
    legacyFactory: (i: Instrument) => new LegacyBook(i),
    adaptiveFactory: (i: Instrument) => new FaultyBook(new AdaptiveBook(i), faults, delay),
    routing: migration,
    breaker,
    clock: CLOCK,
  });
  const sink = new CountingSink();
  for (const c of w.setup) manager.apply(c, sink);
  if (pct !== null) new PairControl(manager, migration, breaker).setPercentage(pct, 'bench'); // builds the adaptive book
  return { manager, breaker, migration, faults };
}

function freshBook(kind: 'legacy' | 'adaptive', w: Workload): OrderBook {
  const book = kind === 'legacy' ? new LegacyBook(w.instrument) : new AdaptiveBook(w.instrument);
  const sink = new CountingSink();
  for (const c of w.setup) book.apply(c, sink);
  return book;
}

// --- 1. throughput ------------------------------------------------------------------------------------------

/** The timed loops, small and separate so V8 optimises them. */
function applyBook(book: OrderBook, cmds: readonly Command[], n: number, sink: EventSink): void {
  for (let i = 0; i < n; i++) book.apply(cmds[i]!, sink);
}
function applyManager(m: OrderBookManager, cmds: readonly Command[], n: number, sink: EventSink, drainEvery: number): void {
  for (let i = 0; i < n; i++) {
    m.apply(cmds[i]!, sink);
    if ((i + 1) % drainEvery === 0) m.drainShadow();
  }
  m.drainShadow(); // the full cost: the shadow is in step when the clock stops
}

interface Variant {
  name: string;
  /** null: a plain book; otherwise the manager at this percentage (null pct inside = legacy_only). */
  kind: 'legacy' | 'adaptive' | 'manager';
  pct: number | null;
  drainEvery: number;
}

interface ThroughputResult {
  workload: string;
  variant: string;
  commands: number;
  ratesPerSec: number[];
  medianPerSec: number;
  vsLegacy: number;
  vsAdaptive: number;
  /** Served events of this variant equal the plain legacy book's (count/checksum). */
  servedDigest: string;
  eventsMatchLegacy: boolean;
  breakerOpenAfter: boolean;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function throughputVariants(): Variant[] {
  const v: Variant[] = [
    { name: 'legacy book', kind: 'legacy', pct: null, drainEvery: 1 },
    { name: 'adaptive book', kind: 'adaptive', pct: null, drainEvery: 1 },
    { name: 'manager legacy_only', kind: 'manager', pct: null, drainEvery: 1 },
  ];
  for (const pct of [0, 50, 100]) {
    v.push({ name: `manager ${pct}% drain/1`, kind: 'manager', pct, drainEvery: 1 });
    v.push({ name: `manager ${pct}% drain/${CONFIG.batch}`, kind: 'manager', pct, drainEvery: CONFIG.batch });
  }
  return v;
}

/** One timed pass; returns commands/s and the served digest. */
function timeVariant(v: Variant, w: Workload, n: number): { rate: number; digest: string; breakerOpen: boolean } {
  const sink = new CountingSink();
  if (v.kind === 'manager') {
    const p = buildPair(w, v.pct, NO_TRIP_BREAKER);
    fullGc();
    const t0 = process.hrtime.bigint();
    applyManager(p.manager, w.commands, n, sink, v.drainEvery);
    const ns = Number(process.hrtime.bigint() - t0);
    return { rate: n / (ns / 1e9), digest: sink.digest, breakerOpen: p.breaker.isOpen };
  }
  const book = freshBook(v.kind, w);
  fullGc();
  const t0 = process.hrtime.bigint();
  applyBook(book, w.commands, n, sink);
  const ns = Number(process.hrtime.bigint() - t0);
  return { rate: n / (ns / 1e9), digest: sink.digest, breakerOpen: false };
}

function measureThroughput(w: Workload, n: number): ThroughputResult[] {
  const variants = throughputVariants();
  // Warm-up: every variant once on a prefix, so each code path is optimised before any rep counts.
  const warmN = Math.min(n, 20_000);
  for (const v of variants) timeVariant(v, w, warmN);
  // Reps interleaved (round robin), so a change in machine load hits every variant alike.
  const rates = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  const digests = new Map<string, string>();
  const opened = new Map<string, boolean>();
  for (let r = 0; r < CONFIG.reps; r++) {
    for (const v of variants) {
      const res = timeVariant(v, w, n);
      rates.get(v.name)!.push(res.rate);
      digests.set(v.name, res.digest);
      opened.set(v.name, (opened.get(v.name) ?? false) || res.breakerOpen);
    }
    process.stderr.write(`  throughput ${w.name} rep ${r + 1}/${CONFIG.reps}: ${variants.map((v) => `${v.name} ${fmtRate(rates.get(v.name)![r]!)}`).join(', ')}\n`);
  }
  const legacyMedian = median(rates.get('legacy book')!);
  const adaptiveMedian = median(rates.get('adaptive book')!);
  const legacyDigest = digests.get('legacy book')!;
  return variants.map((v) => {
    const rs = rates.get(v.name)!;
    const m = median(rs);
    return {
      workload: w.name,
      variant: v.name,
      commands: n,
      ratesPerSec: rs.map(Math.round),
      medianPerSec: Math.round(m),
      vsLegacy: round(m / legacyMedian, 3),
      vsAdaptive: round(m / adaptiveMedian, 3),
      servedDigest: digests.get(v.name)!,
      eventsMatchLegacy: digests.get(v.name) === legacyDigest,
      breakerOpenAfter: opened.get(v.name)!,
    };
  });
}

// --- 2. served-path latency with a slow adaptive book -------------------------------------------------------

interface LatencyFigures {
  count: number;
  p50Us: number;
  p95Us: number;
  p99Us: number;
  p999Us: number;
  maxUs: number;
  meanUs: number;
}

interface LatencyResult {
  workload: string;
  variant: string;
  pct: number | null;
  drainEvery: number;
  /** Time of manager.apply per command: what the client waits for. */
  served: LatencyFigures;
  /** Time of each drainShadow call that had work (off the served path; the adapter runs it after replying). */
  shadowDrain: LatencyFigures;
  /** Served p95 / legacy-only served p95 of the same run. */
  p95VsLegacyOnly: number;
  p99VsLegacyOnly: number;
  /** Served p95 / the legacy-only pair that burns the same CPU between commands (the fair control for 0 %). */
  p95VsBurnControl: number;
  wallMs: number;
  breakerOpenAfter: boolean;
  eventsMatchLegacy: boolean;
}

function figures(h: LatencyHistogram): LatencyFigures {
  const us = (ns: number) => round(ns / 1000, 2);
  return {
    count: h.count,
    p50Us: h.count ? us(h.percentileNs(50)) : 0,
    p95Us: h.count ? us(h.percentileNs(95)) : 0,
    p99Us: h.count ? us(h.percentileNs(99)) : 0,
    p999Us: h.count ? us(h.percentileNs(99.9)) : 0,
    maxUs: us(h.maxNs),
    meanUs: h.count ? us(h.meanNs) : 0,
  };
}

/**
 * Per-command timing of apply only, commands [from, to); the drain runs after the clock stopped, as the adapter
 * runs it after replying. hrtime.bigint() around each command costs ~0.1 µs and is in every variant alike.
 */
function timedLatencyLoop(
  m: OrderBookManager,
  cmds: readonly Command[],
  from: number,
  to: number,
  sink: EventSink,
  drainEvery: number,
  burnEvery: number,
  served: LatencyHistogram,
  drain: LatencyHistogram,
): void {
  for (let i = from; i < to; i++) {
    const t0 = process.hrtime.bigint();
    m.apply(cmds[i]!, sink);
    const t1 = process.hrtime.bigint();
    served.record(Number(t1 - t0));
    if ((i + 1) % drainEvery === 0 && m.books.pendingShadow > 0) {
      m.drainShadow();
      drain.record(Number(process.hrtime.bigint() - t1));
    }
    if (burnEvery > 0 && (i + 1) % burnEvery === 0) busyWaitMs(CONFIG.slowDelayUs / 1000);
  }
}

/** Commands per turn when the latency variants take turns (a multiple of the batch, so no drain is cut short). */
const LATENCY_CHUNK = 500;

function measureLatency(w: Workload, n: number, legacyDigest: (n: number) => string): LatencyResult[] {
  const slow: Fault = { kind: 'slow', everyNth: CONFIG.slowEveryNth, delayMs: CONFIG.slowDelayUs / 1000 };
  const variants: { name: string; pct: number | null; drainEvery: number; slow: boolean; burnEvery: number }[] = [
    { name: 'legacy_only (baseline)', pct: null, drainEvery: 1, slow: false, burnEvery: 0 },
    // Controls. Dual-run bookkeeping on the served path (record, replay, queue) without any slowness; and the
    // legacy-only pair with the same CPU burnt between commands, off the path: on a shared machine a thread that
    // burns 1 ms is more often switched out and comes back to cold caches, which shows on the next command
    // whatever the routing. At 0 % the served figures should match this control, not the idle baseline.
    { name: '0% healthy adaptive, drain/1', pct: 0, drainEvery: 1, slow: false, burnEvery: 0 },
    { name: `legacy_only + same busy wait between commands`, pct: null, drainEvery: 1, slow: false, burnEvery: CONFIG.slowEveryNth },
  ];
  for (const drainEvery of [1, CONFIG.batch]) for (const pct of [0, 50, 100]) variants.push({ name: `${pct}% slow adaptive, drain/${drainEvery}`, pct, drainEvery, slow: true, burnEvery: 0 });

  // Every variant gets its own pair; they take turns of LATENCY_CHUNK commands, so a change in machine load
  // (other processes, a busy neighbour) falls on all of them alike instead of on whichever ran last.
  const run = (count: number) => {
    const runs = variants.map((v) => {
      const p = buildPair(w, v.pct, NO_TRIP_BREAKER);
      if (v.slow) p.faults.set(slow);
      return { v, p, sink: new CountingSink(), served: new LatencyHistogram(), drain: new LatencyHistogram(), ns: 0 };
    });
    fullGc();
    for (let from = 0; from < count; from += LATENCY_CHUNK) {
      const to = Math.min(count, from + LATENCY_CHUNK);
      for (const r of runs) {
        const t0 = process.hrtime.bigint();
        timedLatencyLoop(r.p.manager, w.commands, from, to, r.sink, r.v.drainEvery, r.v.burnEvery, r.served, r.drain);
        r.ns += Number(process.hrtime.bigint() - t0);
      }
    }
    for (const r of runs) r.p.manager.drainShadow();
    return runs;
  };
  run(Math.min(n, 2_000)); // warm-up

  const expected = legacyDigest(n);
  const runs = run(n);
  const base = figures(runs[0]!.served);
  const control = figures(runs.find((r) => r.v.burnEvery > 0)!.served);
  return runs.map((r) => {
    const served = figures(r.served);
    process.stderr.write(`  latency ${w.name} ${r.v.name}: served p50 ${served.p50Us} µs p95 ${served.p95Us} µs p99 ${served.p99Us} µs max ${served.maxUs} µs\n`);
    return {
      workload: w.name,
      variant: r.v.name,
      pct: r.v.pct,
      drainEvery: r.v.drainEvery,
      served,
      shadowDrain: figures(r.drain),
      p95VsLegacyOnly: round(served.p95Us / base.p95Us, 2),
      p99VsLegacyOnly: round(served.p99Us / base.p99Us, 2),
      p95VsBurnControl: round(served.p95Us / control.p95Us, 2),
      wallMs: Math.round(r.ns / 1e6),
      breakerOpenAfter: r.p.breaker.isOpen,
      eventsMatchLegacy: r.sink.digest === expected,
    };
  });
}

// --- 3. trip time -------------------------------------------------------------------------------------------

interface TripResult {
  fault: FaultKind;
  pct: number;
  faultDetail: string;
  expectedReason: string;
  reason: string | null;
  /** Samples in the breaker's latency window when the fault was set (decides how many slow commands trip it). */
  windowSamplesAtFault: number;
  /** Commands applied after the fault was set until the breaker was open (inclusive); null: did not trip. */
  commandsToOpen: number | null;
  usToOpen: number | null;
  /** ... until the manager held no adaptive book (the pair served by legacy alone). */
  commandsToLegacyAlone: number | null;
  usToLegacyAlone: number | null;
  /** For 'slow': the fewest over-budget samples that make the window's p95 exceed the budget, given its content. */
  predictedSlowCommands: number | null;
  /** After the trip and 200 more commands, the served state equals a plain legacy book fed the same commands. */
  stateMatchesReference: boolean;
  reps: number;
}

/** Smallest k with N+k >= minSamples and (N+k) - k < ceil(0.95 (N+k)): k over-budget samples on top of N fast ones. */
function predictSlowTrip(n: number, minSamples: number): number {
  for (let k = 1; ; k++) {
    const total = n + k;
    if (total >= minSamples && total - k < Math.floor((95 * total + 99) / 100)) return k;
  }
}

function measureTrips(w: Workload): TripResult[] {
  const compiled = compileCircuitBreakerOptions(TRIP_BREAKER);
  const faults: { kind: FaultKind; fault: Fault; reason: string; detail: string }[] = [
    { kind: 'throw', fault: { kind: 'throw', everyNth: 1 }, reason: 'adaptive_error', detail: 'throws on every adaptive command' },
    { kind: 'diverge', fault: { kind: 'diverge', everyNth: 1 }, reason: 'divergence', detail: 'level quantities off by one lot on every adaptive command' },
    {
      kind: 'slow',
      fault: { kind: 'slow', everyNth: 1, delayMs: CONFIG.tripSlowDelayMs },
      reason: 'latency',
      detail: `busy wait ${CONFIG.tripSlowDelayMs} ms on every adaptive command (budget ${compiled.latencyBudgetMs} ms)`,
    },
  ];
  const warm = CONFIG.tripWarmupCommands;
  const results: TripResult[] = [];
  for (const f of faults) {
    for (const pct of [0, 50, 100]) {
      const usOpen: number[] = [];
      const usAlone: number[] = [];
      let cOpen: number | null = null;
      let cAlone: number | null = null;
      let reason: string | null = null;
      let windowSamples = 0;
      let stateOk = true;
      for (let r = 0; r < CONFIG.tripReps; r++) {
        const p = buildPair(w, pct, TRIP_BREAKER);
        const reference = freshBook('legacy', w);
        const sink = new CountingSink();
        const refSink = new CountingSink();
        let i = 0;
        const step = () => {
          const c = w.commands[i++]!;
          p.manager.apply(c, sink);
          p.manager.drainShadow(); // the adapter drains after each reply
          reference.apply(c, refSink);
        };
        while (i < warm) step();
        windowSamples = p.breaker.latencyWindow().samples;
        const t0 = process.hrtime.bigint();
        p.faults.set(f.fault);
        const faultAt = i;
        let openAt: number | null = null;
        let aloneAt: number | null = null;
        while (i - faultAt < CONFIG.tripMaxCommands && i < w.commands.length) {
          step();
          const now = process.hrtime.bigint();
          if (openAt === null && p.breaker.isOpen) {
            openAt = i - faultAt;
            usOpen.push(Number(now - t0) / 1000);
          }
          if (!p.manager.books.adaptive) {
            aloneAt = i - faultAt;
            usAlone.push(Number(now - t0) / 1000);
            break;
          }
        }
        cOpen = openAt;
        cAlone = aloneAt;
        reason = p.breaker.status().reason;
        // Trading goes on after the trip; the served state must be the reference state.
        p.faults.clear();
        for (let k = 0; k < 200 && i < w.commands.length; k++) step();
        const copy = new LegacyBook(w.instrument);
        copy.load(p.manager.restingOrders());
        if (hashBookState(copy) !== hashBookState(reference)) stateOk = false;
      }
      results.push({
        fault: f.kind,
        pct,
        faultDetail: f.detail,
        expectedReason: f.reason,
        reason,
        windowSamplesAtFault: windowSamples,
        commandsToOpen: cOpen,
        usToOpen: usOpen.length ? round(median(usOpen), 1) : null,
        commandsToLegacyAlone: cAlone,
        usToLegacyAlone: usAlone.length ? round(median(usAlone), 1) : null,
        predictedSlowCommands: f.kind === 'slow' ? predictSlowTrip(windowSamples, compiled.minSamples) : null,
        stateMatchesReference: stateOk,
        reps: CONFIG.tripReps,
      });
      process.stderr.write(`  trip ${f.kind} at ${pct}%: open after ${cOpen} commands, legacy alone after ${cAlone}\n`);
    }
  }
  return results;
}

// --- formatting ------------------------------------------------------------------------------------------------

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
function fmtRate(x: number): string {
  return x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : `${(x / 1e3).toFixed(0)}k`;
}
function fmtInt(x: number): string {
  return x.toLocaleString('en-US');
}
function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}


// --- main -------------------------------------------------------------------------------------------------------

function main(): void {
  const cpu = cpus()[0]?.model ?? 'unknown';
  const loadAtStart = loadavg();
  console.log(`bench:migration  node ${process.version}  ${cpu} ×${cpus().length}  commit ${gitCommit(ROOT, ['server/core', 'server/pairs', 'simulator', 'loadtest/bench-migration.ts'])}`);
  console.log(`load average at start ${loadAtStart.map((x) => x.toFixed(2)).join(' ')} on ${cpus().length} CPUs${loadAtStart[0]! > cpus().length - 1 ? '  (busy machine: expect noisy figures)' : ''}`);
  console.log(`seed ${CONFIG.seed}, ${CONFIG.reps} interleaved reps after a warm-up, real clock (Date.now / process.hrtime.bigint)\n`);
  const t0 = Date.now();

  const workloads: { w: Workload; n: number; latencyN: number }[] = [
    { w: shallowWorkload({ seed: CONFIG.seed, commands: Math.max(CONFIG.shallowCommands, CONFIG.latencyCommands, CONFIG.tripWarmupCommands + CONFIG.tripMaxCommands) }), n: CONFIG.shallowCommands, latencyN: CONFIG.latencyCommands },
  ];
  if (CONFIG.deepCommands > 0) {
    workloads.push({ w: deepWorkload({ seed: CONFIG.seed, commands: Math.max(CONFIG.deepCommands, CONFIG.deepLatencyCommands) }), n: CONFIG.deepCommands, latencyN: CONFIG.deepLatencyCommands });
  }
  for (const { w } of workloads) console.log(`workload ${w.name}: ${fmtInt(w.setup.length)} setup orders, ${fmtInt(w.commands.length)} commands generated (untimed)`);
  console.log();

  const throughput: ThroughputResult[] = [];
  const latency: LatencyResult[] = [];
  const phases: Record<string, number> = { generate: (Date.now() - t0) / 1000 };
  for (const { w, n, latencyN } of workloads) {
    const tThroughput = Date.now();
    throughput.push(...measureThroughput(w, n));
    phases[`${w.name}.throughput`] = (Date.now() - tThroughput) / 1000;
    const tLatency = Date.now();
    // The latency runs use a prefix of the same stream; their served events must equal the legacy book's.
    const digestCache = new Map<number, string>();
    const legacyDigest = (count: number) => {
      let d = digestCache.get(count);
      if (d === undefined) {
        const sink = new CountingSink();
        applyBook(freshBook('legacy', w), w.commands, count, sink);
        d = sink.digest;
        digestCache.set(count, d);
      }
      return d;
    };
    latency.push(...measureLatency(w, latencyN, legacyDigest));
    phases[`${w.name}.latency`] = (Date.now() - tLatency) / 1000;
  }
  const tTrips = Date.now();
  const trips = measureTrips(workloads[0]!.w);
  phases.trips = (Date.now() - tTrips) / 1000;

  // --- report ---
  console.log('\n1. dual-run cost (commands/s, median; each rep a fresh pair with the setup applied untimed; drain/N = shadow drained after every N commands, final drain timed)');
  console.log(
    table(
      ['workload', 'variant', 'commands', 'median cmds/s', 'vs legacy book', 'vs adaptive book', 'served = legacy'],
      throughput.map((r) => [r.workload, r.variant, fmtInt(r.commands), fmtInt(r.medianPerSec), `${r.vsLegacy.toFixed(2)}×`, `${r.vsAdaptive.toFixed(2)}×`, r.eventsMatchLegacy ? 'yes' : 'NO']),
    ),
  );

  console.log(
    `\n2. served-path latency (µs, time of manager.apply only; adaptive book slowed by a ${CONFIG.slowDelayUs} µs busy wait every ${CONFIG.slowEveryNth}th adaptive command; breaker budget ${NO_TRIP_BREAKER.latencyBudgetMs} ms so it never trips)`,
  );
  console.log(
    table(
      ['workload', 'variant', 'p50', 'p95', 'p99', 'p99.9', 'max', 'p95 vs legacy_only', 'p99 vs legacy_only', 'p95 vs burn control', 'drain p95', 'busy ms'],
      latency.map((r) => [
        r.workload,
        r.variant,
        r.served.p50Us.toFixed(1),
        r.served.p95Us.toFixed(1),
        r.served.p99Us.toFixed(1),
        r.served.p999Us.toFixed(1),
        r.served.maxUs.toFixed(0),
        `${r.p95VsLegacyOnly.toFixed(2)}×`,
        `${r.p99VsLegacyOnly.toFixed(2)}×`,
        `${r.p95VsBurnControl.toFixed(2)}×`,
        r.shadowDrain.count ? r.shadowDrain.p95Us.toFixed(1) : '-',
        fmtInt(r.wallMs),
      ]),
    ),
  );

  const tb = compileCircuitBreakerOptions(TRIP_BREAKER);
  console.log(
    `\n3. trip time (shallow; breaker as deployed: budget ${tb.latencyBudgetMs} ms, window ${tb.latencyWindowMs} ms in ${tb.latencyBucketMs} ms buckets, minSamples ${tb.minSamples}; ` +
      `${CONFIG.tripWarmupCommands} healthy commands first, shadow drained after every command; median of ${CONFIG.tripReps} reps)`,
  );
  console.log(
    table(
      ['fault', 'at', 'reason', 'cmds to open', 'µs to open', 'cmds to legacy alone', 'µs to legacy alone', 'window samples at fault', 'predicted (slow)', 'state = reference'],
      trips.map((t) => [
        t.fault,
        `${t.pct}%`,
        t.reason ?? 'none',
        t.commandsToOpen === null ? 'did not trip' : String(t.commandsToOpen),
        t.usToOpen === null ? '-' : t.usToOpen.toFixed(1),
        t.commandsToLegacyAlone === null ? '-' : String(t.commandsToLegacyAlone),
        t.usToLegacyAlone === null ? '-' : t.usToLegacyAlone.toFixed(1),
        String(t.windowSamplesAtFault),
        t.predictedSlowCommands === null ? '-' : String(t.predictedSlowCommands),
        t.stateMatchesReference ? 'yes' : 'NO',
      ]),
    ),
  );
  console.log(
    '   A shadow fault (0 %, and the shadow half of 50 %) is found in drainShadow after the reply went out; the breaker opens there and the\n' +
      '   manager drops the adaptive book at the start of the next command (reconcile), hence one command more to "legacy alone".\n' +
      '   A slow adaptive book trips when the window holds >= minSamples samples and more than 5 % of them are over budget, so the\n' +
      '   commands needed grow with the healthy traffic already in the window (predicted column), and the time is that count × the delay.',
  );

  // Headline figures.
  const tp = (wl: string, v: string) => throughput.find((r) => r.workload === wl && r.variant === v);
  const lat = (wl: string, v: string) => latency.find((r) => r.workload === wl && r.variant === v);
  console.log('\nheadlines');
  for (const { w } of workloads) {
    const d0 = tp(w.name, 'manager 0% drain/1');
    const d0b = tp(w.name, `manager 0% drain/${CONFIG.batch}`);
    const d100 = tp(w.name, 'manager 100% drain/1');
    if (d0 && d0b && d100) {
      console.log(`  ${w.name}: dual-run at 0 % runs at ${d0.vsLegacy.toFixed(2)}× the plain legacy book (drain/1), ${d0b.vsLegacy.toFixed(2)}× (drain/${CONFIG.batch}); at 100 % ${d100.vsAdaptive.toFixed(2)}× the plain adaptive book`);
    }
    const l0 = lat(w.name, '0% slow adaptive, drain/1');
    const l100 = lat(w.name, '100% slow adaptive, drain/1');
    const h0 = lat(w.name, '0% healthy adaptive, drain/1');
    const base = lat(w.name, 'legacy_only (baseline)');
    if (l0 && l100 && base && h0) {
      console.log(
        `  ${w.name}: slow adaptive book, served p95 ${l100.served.p95Us.toFixed(1)} µs at 100 % → ${l0.served.p95Us.toFixed(1)} µs at 0 % ` +
          `(${l0.p95VsLegacyOnly.toFixed(2)}× idle legacy_only ${base.served.p95Us.toFixed(1)} µs, ${l0.p95VsBurnControl.toFixed(2)}× legacy_only burning the same CPU between commands; ` +
          `healthy adaptive at 0 % ${h0.served.p95Us.toFixed(1)} µs); ` +
          `p99 ${l100.served.p99Us.toFixed(1)} → ${l0.served.p99Us.toFixed(1)} µs; max ${l100.served.maxUs.toFixed(0)} → ${l0.served.maxUs.toFixed(0)} µs`,
      );
    }
  }

  // --- correctness (not timing) ---
  const problems: string[] = [];
  for (const r of throughput) {
    if (!r.eventsMatchLegacy) problems.push(`throughput ${r.workload} ${r.variant}: served ${r.servedDigest}, plain legacy book ${tp(r.workload, 'legacy book')!.servedDigest}`);
  }
  for (const r of latency) if (!r.eventsMatchLegacy) problems.push(`latency ${r.workload} ${r.variant}: served events differ from the plain legacy book`);
  for (const t of trips) {
    if (!t.stateMatchesReference) problems.push(`trip ${t.fault} at ${t.pct}%: served state differs from the reference after the trip`);
    if (t.reason !== t.expectedReason) problems.push(`trip ${t.fault} at ${t.pct}%: breaker reason ${t.reason}, expected ${t.expectedReason}`);
  }
  const notes: string[] = [];
  for (const r of [...throughput, ...latency]) if (r.breakerOpenAfter) notes.push(`${r.workload} ${r.variant}: breaker opened during a no-fault run (latency budget ${NO_TRIP_BREAKER.latencyBudgetMs} ms exceeded?)`);

  // --- files ---
  const loadAtEnd = loadavg();
  console.log(`\nload average at end ${loadAtEnd.map((x) => x.toFixed(2)).join(' ')} on ${cpus().length} CPUs`);
  if (Math.max(loadAtStart[0]!, loadAtEnd[0]!) > cpus().length - 1) {
    console.log(`note: other work competed for the CPU (load ${loadAtStart[0]!.toFixed(1)} → ${loadAtEnd[0]!.toFixed(1)}); ratios from interleaved reps are steadier than absolute figures.`);
  }
  for (const n of notes) console.log(`note: ${n}`);
  const commit = gitCommit(ROOT, ['server/core', 'server/pairs', 'simulator', 'loadtest/bench-migration.ts']);
  const date = new Date().toISOString();
  const report = {
    date,
    commit,
    node: process.version,
    cpu,
    cpus: cpus().length,
    loadAverage: { start: loadAtStart, end: loadAtEnd },
    config: {
      ...CONFIG,
      throughputBreaker: compileCircuitBreakerOptions(NO_TRIP_BREAKER),
      tripBreaker: tb,
      auditEveryCommands: 10_000,
      clock: 'real (Date.now, process.hrtime.bigint)',
    },
    workloads: workloads.map(({ w, n, latencyN }) => ({ name: w.name, seed: w.seed, setupOrders: w.setup.length, throughputCommands: n, latencyCommands: latencyN })),
    throughput,
    latency,
    trips,
    correct: problems.length === 0,
    problems,
    notes,
    phaseSeconds: phases,
    elapsedSeconds: Math.round((Date.now() - t0) / 1000),
  };
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, 'migration-latest.json'), JSON.stringify(report, null, 2) + '\n');
  const summary: Record<string, unknown> = {
    date,
    commit,
    node: process.version,
    cpu,
    seed: CONFIG.seed,
    loadAverage: [round(loadAtStart[0]!, 2), round(loadAtEnd[0]!, 2)],
    correct: problems.length === 0,
  };
  for (const r of throughput) summary[`${r.workload}.${r.variant}.vsLegacy`] = r.vsLegacy;
  for (const r of latency) summary[`${r.workload}.${r.variant}.p95Us`] = r.served.p95Us;
  for (const t of trips) summary[`trip.${t.fault}.${t.pct}.commandsToLegacyAlone`] = t.commandsToLegacyAlone;
  appendFileSync(join(RESULTS_DIR, 'migration-history.jsonl'), JSON.stringify(summary) + '\n');
  console.log(`phases (s): ${Object.entries(phases).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}`);
  console.log(`\nwrote bench-results/migration-latest.json and appended to bench-results/migration-history.jsonl (${report.elapsedSeconds} s in all)`);

  if (problems.length > 0) {
    console.error(`\nCORRECTNESS FAILURE (not a timing result):\n  ${problems.join('\n  ')}`);
    process.exitCode = 1;
  }
}

main();
