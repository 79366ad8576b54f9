/**
 * What a run measured and how it ended: the counters and samples both drivers feed (RunStatistics), the
 * SimulationReport they turn into (JSON-ready: money as exact decimal strings), and its text summary.
 * Prices and quantities stay integer ticks/lots until formatted; PnL is bigint arithmetic.
 */
import * as hdr from 'hdr-histogram-js';
import { formatDecimal, fromSteps } from '../server/core/decimal.ts';
import type { Instrument } from '../server/core/instrument.ts';
import { Side } from '../server/core/types.ts';
import type { Agent } from './agents/agent.ts';
import type { Ledger } from './ledger.ts';

/** One sample of a pair's market, in ticks/lots; tMs from the run's start. */
export interface MarketSample {
  tMs: number;
  fair: number;
  bid: number | undefined;
  ask: number | undefined;
  bidQty: number;
  askQty: number;
}

export interface TradePoint {
  tMs: number;
  price: number;
  quantity: number;
  takerSide: 'buy' | 'sell';
}

export interface LatencyPoint {
  /** Start of the one-second window, from the run's start. */
  tSec: number;
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface PairSummary {
  pair: string;
  trades: number;
  /** Base quantity traded (exact decimal). */
  volume: string;
  /** Quote notional traded (exact decimal). */
  notional: string;
  /** Best ask − best bid over the samples where both sides existed (price decimal). */
  spread: { p50: string; p95: string; samples: number };
  /** Quantity at the best bid and at the best ask (base decimal). */
  depthAtTouch: { bid: { p50: string; p95: string }; ask: { p50: string; p95: string } };
  fairValue: { start: string; end: string };
  bestBidAtEnd?: string;
  bestAskAtEnd?: string;
}

export interface AgentSummary {
  account: string;
  kind: string;
  pair: string;
  commands: number;
  fills: number;
  /** Signed base position (exact decimal, "-" when short). */
  inventory: string;
  /** Signed quote cash from fills (exact decimal). */
  cash: string;
  /** cash + inventory × final fair value (exact decimal). */
  pnl: string;
  openOrders: number;
}

export interface SimulationReport {
  driver: 'in-process' | 'grpc';
  seed: number;
  pairs: string[];
  target?: string;
  startedAt: string;
  durationMs: number;
  ratePerSecond: number;
  commands: { sent: number; acknowledged: number; failed: number; noAnswer: number; notSent: number; idleSlots: number; byKind: Record<string, number> };
  offeredPerSecond: number;
  acknowledgedPerSecond: number;
  errorsByCode: Record<string, number>;
  ackLatencyMs: { count: number; p50: number; p99: number; p999: number; max: number };
  markets: PairSummary[];
  agents: AgentSummary[];
  timeline: { markets: Record<string, { samples: MarketSample[]; trades: TradePoint[] }>; latency: LatencyPoint[] };
  ledger?: Ledger;
}

/** Bounded series: when full, every other point is dropped and only every 2^k-th new one is kept. */
class Decimated<T> {
  readonly points: T[] = [];
  private stride = 1;
  private seen = 0;
  constructor(private readonly capacity: number) {}
  add(p: T): void {
    if (this.seen++ % this.stride !== 0) return;
    this.points.push(p);
    if (this.points.length >= this.capacity) {
      let w = 0;
      for (let r = 0; r < this.points.length; r += 2) this.points[w++] = this.points[r]!;
      this.points.length = w;
      this.stride *= 2;
    }
  }
}

interface PairStats {
  instrument: Instrument;
  trades: number;
  volumeLots: number;
  notional: bigint;
  /** Part of the notional still small enough for exact number arithmetic. */
  notionalSmall: number;
  spreads: number[];
  bidQty: number[];
  askQty: number[];
  samples: Decimated<MarketSample>;
  tradePoints: Decimated<TradePoint>;
  fairStart: number;
  last: MarketSample | undefined;
}

export class RunStatistics {
  readonly pairs = new Map<string, PairStats>();
  readonly errorsByCode: Record<string, number> = {};
  readonly byKind: Record<string, number> = { submit: 0, cancel: 0, replace: 0 };
  sent = 0;
  acknowledged = 0;
  failed = 0;
  noAnswer = 0;
  notSent = 0;
  /** Slots in which no agent had anything to do (nothing sent, not a refusal). */
  idleSlots = 0;
  private readonly latency = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });
  private second = -1;
  private secondHist = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 2 });
  private readonly latencyPoints: LatencyPoint[] = [];

  constructor(instruments: readonly Instrument[], fairStarts: ReadonlyMap<string, number>) {
    for (const instrument of instruments) {
      this.pairs.set(instrument.symbol, {
        instrument,
        trades: 0,
        volumeLots: 0,
        notional: 0n,
        notionalSmall: 0,
        spreads: [],
        bidQty: [],
        askQty: [],
        samples: new Decimated(2000),
        tradePoints: new Decimated(1500),
        fairStart: fairStarts.get(instrument.symbol) ?? 0,
        last: undefined,
      });
    }
  }

  onSent(kind: string): void {
    this.sent++;
    this.byKind[kind] = (this.byKind[kind] ?? 0) + 1;
  }

  /** A result arrived; `latencyUs` from the command's intended send time, `tMs` from the run's start. */
  onResult(code: string, latencyUs: number, tMs: number): void {
    if (code === 'OK') this.acknowledged++;
    else {
      this.failed++;
      this.errorsByCode[code] = (this.errorsByCode[code] ?? 0) + 1;
    }
    const v = Math.max(1, Math.round(latencyUs));
    this.latency.recordValue(v);
    const sec = Math.floor(tMs / 1000);
    if (sec !== this.second) {
      this.flushSecond();
      this.second = sec;
    }
    this.secondHist.recordValue(v);
  }

  /** A result in virtual time (in-process): counted, no latency. */
  onResultWithoutLatency(code: string): void {
    if (code === 'OK') this.acknowledged++;
    else {
      this.failed++;
      this.errorsByCode[code] = (this.errorsByCode[code] ?? 0) + 1;
    }
  }

  onNoAnswer(): void {
    this.noAnswer++;
    this.errorsByCode.NO_ANSWER = (this.errorsByCode.NO_ANSWER ?? 0) + 1;
  }

  onTrade(pair: string, tMs: number, price: number, quantity: number, takerSide: number): void {
    const s = this.pairs.get(pair);
    if (s === undefined) return;
    s.trades++;
    s.volumeLots += quantity;
    // Exact either way; the bigint product only when the number one would not be exact.
    const n = price * quantity;
    if (Number.isSafeInteger(n)) {
      if (!Number.isSafeInteger(s.notionalSmall + n)) {
        s.notional += BigInt(s.notionalSmall);
        s.notionalSmall = 0;
      }
      s.notionalSmall += n;
    } else s.notional += BigInt(price) * BigInt(quantity);
    s.tradePoints.add({ tMs, price, quantity, takerSide: takerSide === Side.Buy ? 'buy' : 'sell' });
  }

  onSample(pair: string, sample: MarketSample): void {
    const s = this.pairs.get(pair);
    if (s === undefined) return;
    s.last = sample;
    if (sample.bid !== undefined && sample.ask !== undefined) s.spreads.push(sample.ask - sample.bid);
    if (sample.bid !== undefined) s.bidQty.push(sample.bidQty);
    if (sample.ask !== undefined) s.askQty.push(sample.askQty);
    s.samples.add(sample);
  }

  private flushSecond(): void {
    if (this.second >= 0 && this.secondHist.totalCount > 0) {
      this.latencyPoints.push({
        tSec: this.second,
        count: this.secondHist.totalCount,
        p50Ms: this.secondHist.getValueAtPercentile(50) / 1000,
        p99Ms: this.secondHist.getValueAtPercentile(99) / 1000,
        maxMs: this.secondHist.maxValue / 1000,
      });
    }
    this.secondHist.reset();
  }

  get latencyCount(): number {
    return this.latency.totalCount;
  }

  latencyPercentileMs(p: number): number {
    return this.latency.totalCount === 0 ? 0 : this.latency.getValueAtPercentile(p) / 1000;
  }

  build(header: Pick<SimulationReport, 'driver' | 'seed' | 'pairs' | 'target' | 'startedAt' | 'durationMs' | 'ratePerSecond'>, agents: readonly Agent[], finalFair: ReadonlyMap<string, number>, ledger?: Ledger): SimulationReport {
    this.flushSecond();
    const seconds = Math.max(header.durationMs, 1) / 1000;
    const markets: PairSummary[] = [];
    const timeline: SimulationReport['timeline'] = { markets: {}, latency: this.latencyPoints };
    for (const [pair, s] of this.pairs) {
      const price = (t: number) => fromSteps(t, s.instrument.tick);
      const qty = (l: number) => fromSteps(l, s.instrument.lot);
      const spreadSorted = [...s.spreads].sort((a, b) => a - b);
      const bid = [...s.bidQty].sort((a, b) => a - b);
      const ask = [...s.askQty].sort((a, b) => a - b);
      markets.push({
        pair,
        trades: s.trades,
        volume: qty(s.volumeLots),
        notional: product(s.notional + BigInt(s.notionalSmall), s.instrument),
        spread: { p50: price(percentile(spreadSorted, 50)), p95: price(percentile(spreadSorted, 95)), samples: spreadSorted.length },
        depthAtTouch: { bid: { p50: qty(percentile(bid, 50)), p95: qty(percentile(bid, 95)) }, ask: { p50: qty(percentile(ask, 50)), p95: qty(percentile(ask, 95)) } },
        fairValue: { start: price(s.fairStart), end: price(finalFair.get(pair) ?? s.fairStart) },
        ...(s.last?.bid !== undefined ? { bestBidAtEnd: price(s.last.bid) } : {}),
        ...(s.last?.ask !== undefined ? { bestAskAtEnd: price(s.last.ask) } : {}),
      });
      timeline.markets[pair] = { samples: s.samples.points, trades: s.tradePoints.points };
    }
    const agentSummaries: AgentSummary[] = agents.map((a) => {
      const inst = a.instrument;
      const fair = BigInt(finalFair.get(a.pair) ?? 0);
      return {
        account: a.name,
        kind: a.kind,
        pair: a.pair,
        commands: a.commandsSent,
        fills: a.fills,
        inventory: signedSteps(BigInt(a.position), inst.lot.units, inst.lot.scale),
        cash: product(a.cash, inst),
        pnl: product(a.cash + BigInt(a.position) * fair, inst),
        openOrders: a.orders.size,
      };
    });
    return {
      ...header,
      commands: { sent: this.sent, acknowledged: this.acknowledged, failed: this.failed, noAnswer: this.noAnswer, notSent: this.notSent, idleSlots: this.idleSlots, byKind: { ...this.byKind } },
      offeredPerSecond: Math.round(this.sent / seconds),
      acknowledgedPerSecond: Math.round(this.acknowledged / seconds),
      errorsByCode: { ...this.errorsByCode },
      ackLatencyMs: {
        count: this.latency.totalCount,
        p50: this.latencyPercentileMs(50),
        p99: this.latencyPercentileMs(99),
        p999: this.latencyPercentileMs(99.9),
        max: this.latency.totalCount === 0 ? 0 : this.latency.maxValue / 1000,
      },
      markets,
      agents: agentSummaries,
      timeline,
      ...(ledger !== undefined ? { ledger } : {}),
    };
  }
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** A signed count of steps (`units` per step at `scale`) as an exact decimal string. */
function signedSteps(steps: bigint, unitsPerStep: bigint, scale: number): string {
  const negative = steps < 0n;
  const text = formatDecimal({ units: (negative ? -steps : steps) * unitsPerStep, scale });
  return negative ? `-${text}` : text;
}

/** ticks × lots (signed) as an exact quote amount: tick × lot has the scale of both. */
function product(tickLots: bigint, inst: Instrument): string {
  return signedSteps(tickLots, inst.tick.units * inst.lot.units, inst.tick.scale + inst.lot.scale);
}

/** The human-readable summary printed at the end of a run. */
export function formatSummary(r: SimulationReport): string {
  const lines: string[] = [];
  const c = r.commands;
  lines.push(`simulation ${r.driver}${r.target ? ` → ${r.target}` : ''}: seed ${r.seed}, pairs ${r.pairs.join(',')}, ${(r.durationMs / 1000).toFixed(1)} s at ${r.ratePerSecond}/s offered`);
  lines.push(`commands: ${c.sent} sent (${r.offeredPerSecond}/s; submit ${c.byKind.submit ?? 0}, cancel ${c.byKind.cancel ?? 0}, replace ${c.byKind.replace ?? 0}), ${c.acknowledged} acknowledged (${r.acknowledgedPerSecond}/s), ${c.failed} failed, ${c.noAnswer} unanswered, ${c.notSent} not sent, ${c.idleSlots} idle slots`);
  const errors = Object.entries(r.errorsByCode);
  lines.push(`errors by code: ${errors.length === 0 ? 'none' : errors.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  const l = r.ackLatencyMs;
  if (r.driver === 'in-process') lines.push('ack latency: not measured (virtual clock: every command is answered at once)');
  else lines.push(`ack latency from intended send time (${l.count}): p50 ${l.p50.toFixed(3)} ms, p99 ${l.p99.toFixed(3)} ms, p99.9 ${l.p999.toFixed(3)} ms, max ${l.max.toFixed(3)} ms`);
  for (const m of r.markets) {
    lines.push(
      `${m.pair}: ${m.trades} trades, volume ${m.volume}, notional ${m.notional}; spread p50 ${m.spread.p50} p95 ${m.spread.p95}; depth at touch bid p50 ${m.depthAtTouch.bid.p50} p95 ${m.depthAtTouch.bid.p95}, ask p50 ${m.depthAtTouch.ask.p50} p95 ${m.depthAtTouch.ask.p95}; fair ${m.fairValue.start} → ${m.fairValue.end}`,
    );
  }
  lines.push('agent                              kind           commands    fills        inventory                pnl');
  for (const a of r.agents) {
    lines.push(`${a.account.padEnd(34)} ${a.kind.padEnd(14)} ${String(a.commands).padStart(8)} ${String(a.fills).padStart(8)} ${a.inventory.padStart(16)} ${a.pnl.padStart(18)}`);
  }
  return lines.join('\n');
}
