/**
 * The simulator in-process: the same agents against TradingPair (and so the real books) with a
 * virtual clock. Command slot i happens at virtual time floor(i × 1000 / rate) ms; nothing reads the
 * wall clock or an unseeded random, so the same seed gives the same commands and the same events, bit
 * for bit (commandHash / eventHash prove it). Synchronous: one call runs the whole simulation.
 *
 * Acks are immediate in virtual time, so this driver measures no latency (the gRPC driver does).
 */
import { createHash, type Hash } from 'node:crypto';
import { BOOK_IMPLEMENTATIONS } from '../server/core/book-implementations.ts';
import { DEFAULT_INSTRUMENTS, compileInstrument, type Instrument } from '../server/core/instrument.ts';
import type { Rejection } from '../server/core/order-book.ts';
import type { BookImplementation } from '../server/core/order-book.ts';
import { type AccountId } from '../server/core/types.ts';
import type { OrderRecord } from '../server/pairs/order-registry.ts';
import { singleBook } from '../server/pairs/serving-book.ts';
import { TradingPair, type CommandResult, type MarketDataDelta, type OrderEvent } from '../server/pairs/trading-pair.ts';
import { ManualClock } from '../server/ports/clock.ts';
import type { Agent } from './agents/agent.ts';
import { SimulationSetupError } from './setup-error.ts';
import { LedgerRecorder } from './ledger.ts';
import { Population } from './population.ts';
import { RunStatistics, type SimulationReport } from './report.ts';
import type { SimCommand, SimOrderEvent, SimOrderState, SimResult, SimTrade } from './sim-types.ts';

export interface InProcessSimulationOptions {
  seed: number;
  /** @default ["BTCUSDT", "ETHUSDT"] */
  pairs?: string[];
  /** Virtual commands per second (sets how fast virtual time passes per command). @default 5000 */
  ratePerSecond?: number;
  /** Virtual run length; the run stops at `commands` or `durationMs`, whichever comes first. @default 60000 */
  durationMs?: number;
  /** Command slots at most. @default unlimited */
  commands?: number;
  /** @default "legacy" */
  book?: BookImplementation;
  /** Keep the ledger (costs decimal formatting per order). @default true */
  ledger?: boolean;
  /** Hash the command and event streams. @default true */
  hash?: boolean;
  /** Keep every command (pair, account, command) for replay. @default false */
  recordCommands?: boolean;
  /** Record the agents' inputs (turns with the market view, results, events, trades) for replayTrace. @default false */
  trace?: boolean;
  /** Virtual sampling interval of spread/depth. @default 100 */
  sampleEveryMs?: number;
  /** Agents per kind and pair multiplied by this. @default 1 */
  scale?: number;
  /** @default "s<seed>" */
  clientOrderIdPrefix?: string;
  /** Instruments to trade (instead of the built-in ones). */
  instruments?: readonly Instrument[];
}

export interface RecordedCommand {
  pair: string;
  account: AccountId;
  command: SimCommand;
}

export interface InProcessSimulationResult {
  report: SimulationReport;
  /** SHA-256 of every command in order (empty when hashing is off). */
  commandHash: string;
  /** SHA-256 of every order event and market-data delta in order. */
  eventHash: string;
  commands: number;
  events: number;
  /** Results by gRPC code name. */
  codes: Record<string, number>;
  recorded?: RecordedCommand[];
  trace?: TraceOp[];
  /** The pairs at the end (for inspection by tests). */
  pairs: Map<string, TradingPair>;
  agents: readonly Agent[];
}

const EPOCH_MS = 1_700_000_000_000;

/**
 * What the agents saw, in order: a turn (virtual time, best bid/ask of every pair, and the commands
 * it produced), a result or order event for agent `agent` (index in Population.agents), a public trade.
 */
export type TraceOp =
  | { op: 'turn'; nowMs: number; best: (number | undefined)[]; commands: SimCommand[] }
  | { op: 'result'; agent: number; result: SimResult }
  | { op: 'event'; agent: number; event: SimOrderEvent }
  | { op: 'trade'; trade: SimTrade };

/** The gRPC code a book rejection maps to (the service's table: 1xxx/11xx invalid, 2001 not found, 2002 exists, 3xxx precondition). */
export function rejectionCode(r: Rejection): string {
  if ((r.code as number) === 2001) return 'NOT_FOUND';
  if (r.code === 2002) return 'ALREADY_EXISTS';
  if (r.code >= 3000) return 'FAILED_PRECONDITION';
  return 'INVALID_ARGUMENT';
}

function state(pair: string, o: OrderRecord): SimOrderState {
  return { pair, clientOrderId: o.clientOrderId, orderId: String(o.orderId), side: o.side, price: o.price, quantity: o.quantity, filled: o.filled, remaining: o.remaining, status: o.status, lastSequence: o.lastSequence };
}

export function runInProcessSimulation(opts: InProcessSimulationOptions): InProcessSimulationResult {
  const pairNames = opts.pairs ?? ['BTCUSDT', 'ETHUSDT'];
  const known = opts.instruments ?? DEFAULT_INSTRUMENTS.map(compileInstrument);
  const instruments = pairNames.map((p) => {
    const i = known.find((k) => k.symbol === p);
    if (i === undefined) throw new SimulationSetupError('pairs', `unknown pair ${JSON.stringify(p.slice(0, 30))}: the in-process simulator trades ${known.map((k) => k.symbol).join(', ')}`);
    return i;
  });
  const rate = opts.ratePerSecond ?? 5000;
  if (!(rate > 0)) throw new SimulationSetupError('rate', `--rate must be positive, got ${rate}`);
  const durationMs = opts.durationMs ?? 60_000;
  const maxSlots = Math.min(opts.commands ?? Number.POSITIVE_INFINITY, Math.floor((durationMs * rate) / 1000));
  const hashing = opts.hash ?? true;
  const sampleEvery = opts.sampleEveryMs ?? 100;
  const population = new Population({ seed: opts.seed, instruments, scale: opts.scale, clientOrderIdPrefix: opts.clientOrderIdPrefix });
  const agents = population.agents;
  const clock = new ManualClock(EPOCH_MS);
  const factory = BOOK_IMPLEMENTATIONS[opts.book ?? 'legacy'];
  const accountIds = new Map<Agent, AccountId>();
  const agentById = new Map<AccountId, Agent>();
  agents.forEach((a, i) => {
    accountIds.set(a, i + 1);
    agentById.set(i + 1, a);
  });
  const pairs = new Map<string, TradingPair>();
  for (const inst of instruments) pairs.set(inst.symbol, new TradingPair({ instrument: inst, createBook: singleBook(factory), clock, accountName: (id) => agentById.get(id)?.name ?? String(id) }));
  const ledger = (opts.ledger ?? true) ? new LedgerRecorder(new Map(instruments.map((i) => [i.symbol, i]))) : undefined;
  const stats = new RunStatistics(instruments, new Map([...population.fairValues].map(([p, f]) => [p, f.startTicks])));
  const commandHash: Hash | undefined = hashing ? createHash('sha256') : undefined;
  const eventHash: Hash | undefined = hashing ? createHash('sha256') : undefined;
  const codes: Record<string, number> = {};
  const recorded: RecordedCommand[] | undefined = opts.recordCommands ? [] : undefined;
  const trace: TraceOp[] | undefined = opts.trace ? [] : undefined;
  const agentIndex = new Map(agents.map((a, i) => [a, i]));
  let events = 0;
  let nowMs = 0;
  const dirty = new Set<string>();

  // Sides of open orders per agent (fill events do not carry the side).
  const sideOf = new Map<Agent, Map<string, number>>(agents.map((a) => [a, new Map()]));
  for (const agent of agents) {
    const pair = pairs.get(agent.pair)!;
    const sides = sideOf.get(agent)!;
    pair.subscribeAccount(accountIds.get(agent)!, (evs: OrderEvent[]) => {
      for (const e of evs) {
        events++;
        if (eventHash !== undefined) eventHash.update(`${agent.pair}|${JSON.stringify(e)}\n`);
        let ev: SimOrderEvent | undefined;
        if (e.type === 'filled') {
          ev = { type: 'fill', pair: agent.pair, clientOrderId: e.clientOrderId, orderId: String(e.orderId), tradeId: String(e.tradeId), side: (sides.get(e.clientOrderId) ?? 0) as 0 | 1, price: e.price, quantity: e.quantity, remaining: e.remaining, liquidity: e.liquidity, status: e.status, sequence: e.sequence };
        } else if (e.type === 'cancelled') {
          ev = { type: 'cancelled', pair: agent.pair, clientOrderId: e.clientOrderId, orderId: String(e.orderId), remaining: e.remaining, status: e.status, sequence: e.sequence };
        }
        if (ev === undefined) continue;
        trace?.push({ op: 'event', agent: agentIndex.get(agent)!, event: ev });
        agent.onOrderEvent(ev);
        ledger?.onEvent(agent.name, ev);
        if (ev.status === 'filled' || ev.status === 'cancelled') sides.delete(ev.clientOrderId);
      }
    });
  }
  for (const [symbol, pair] of pairs) {
    pair.subscribeMarketData(0, (delta: MarketDataDelta) => {
      events++;
      if (eventHash !== undefined) eventHash.update(`${symbol}|${JSON.stringify(delta)}\n`);
      dirty.add(symbol);
      for (const t of delta.trades) {
        const trade: SimTrade = { pair: symbol, tradeId: String(t.tradeId), price: t.price, quantity: t.quantity, takerSide: t.takerSide };
        trace?.push({ op: 'trade', trade });
        population.addTrade(trade);
        stats.onTrade(symbol, nowMs, t.price, t.quantity, t.takerSide);
      }
    });
  }

  // The best bid/ask are read from the pair only when an agent asks after the book changed (market
  // makers never do): accessors over a per-pair cache.
  for (const [symbol, s] of population.pairs) {
    let bid: number | undefined;
    let ask: number | undefined;
    const refresh = (): void => {
      if (!dirty.has(symbol)) return;
      dirty.delete(symbol);
      const snap = pairs.get(symbol)!.snapshot(1);
      bid = snap.bids[0]?.price;
      ask = snap.asks[0]?.price;
    };
    dirty.add(symbol);
    Object.defineProperty(s, 'bestBid', { get: () => (refresh(), bid), set: (v: number | undefined) => (bid = v), enumerable: true });
    Object.defineProperty(s, 'bestAsk', { get: () => (refresh(), ask), set: (v: number | undefined) => (ask = v), enumerable: true });
  }
  const sample = (tMs: number): void => {
    population.advanceTo(tMs);
    for (const [symbol, pair] of pairs) {
      const snap = pair.snapshot(1);
      const s = population.pairs.get(symbol)!;
      stats.onSample(symbol, { tMs, fair: s.fairValue, bid: snap.bids[0]?.price, ask: snap.asks[0]?.price, bidQty: snap.bids[0]?.quantity ?? 0, askQty: snap.asks[0]?.quantity ?? 0 });
    }
  };

  const execute = (agent: Agent, cmd: SimCommand): void => {
    const pair = pairs.get(cmd.pair)!;
    const account = accountIds.get(agent)!;
    recorded?.push({ pair: cmd.pair, account, command: cmd });
    if (commandHash !== undefined) {
      commandHash.update(
        cmd.kind === 'submit'
          ? `${cmd.pair}|${account}|S|${cmd.clientOrderId}|${cmd.side}|${cmd.type}|${cmd.tif}|${cmd.postOnly ? 1 : 0}|${cmd.price}|${cmd.quantity}\n`
          : cmd.kind === 'cancel'
            ? `${cmd.pair}|${account}|C|${cmd.clientOrderId}\n`
            : `${cmd.pair}|${account}|R|${cmd.clientOrderId}|${cmd.price}|${cmd.quantity}\n`,
      );
    }
    stats.onSent(cmd.kind);
    let res: CommandResult;
    if (cmd.kind === 'submit') {
      sideOf.get(agent)!.set(cmd.clientOrderId, cmd.side);
      res = pair.submit(account, { clientOrderId: cmd.clientOrderId, side: cmd.side, type: cmd.type, tif: cmd.tif, postOnly: cmd.postOnly, price: cmd.price, quantity: cmd.quantity, stp: 1 });
    } else {
      const id = pair.resolveClientOrderId(account, cmd.clientOrderId);
      if (typeof id !== 'number') res = { outcome: id, order: undefined, events: [] };
      else res = cmd.kind === 'cancel' ? pair.cancel(account, id) : pair.replace(account, id, cmd.price, cmd.quantity);
    }
    const code = res.outcome.ok ? 'OK' : rejectionCode(res.outcome);
    codes[code] = (codes[code] ?? 0) + 1;
    const result: SimResult = { command: cmd, code, message: res.outcome.ok ? '' : res.outcome.reason, order: res.order === undefined ? undefined : state(cmd.pair, res.order) };
    trace?.push({ op: 'result', agent: agentIndex.get(agent)!, result });
    agent.onResult(result);
    ledger?.onResult(agent.name, result);
    stats.onResultWithoutLatency(code);
    if (cmd.kind === 'submit' && (res.order === undefined || res.order.remaining === 0)) sideOf.get(agent)!.delete(cmd.clientOrderId);
  };

  const out: SimCommand[] = [];
  let slot = 0;
  let nextSample = 0;
  while (slot < maxSlots) {
    const t = Math.floor((slot * 1000) / rate);
    if (t > nowMs) {
      clock.advanceMs(t - nowMs);
      nowMs = t;
    }
    while (nextSample <= nowMs) {
      sample(nextSample);
      nextSample += sampleEvery;
    }
    out.length = 0;
    const turn: TraceOp | undefined = trace === undefined ? undefined : { op: 'turn', nowMs, best: [...population.pairs.values()].flatMap((s) => [s.bestBid, s.bestAsk]), commands: [] };
    if (turn !== undefined) trace!.push(turn);
    const agent = population.next(nowMs, out);
    if (turn !== undefined && turn.op === 'turn') turn.commands = [...out];
    if (agent === undefined) {
      slot++;
      stats.idleSlots++;
      continue;
    }
    slot += out.length;
    for (const cmd of out) execute(agent, cmd);
  }
  const endMs = Math.floor((slot * 1000) / rate);
  sample(endMs);
  const report = stats.build(
    { driver: 'in-process', seed: opts.seed, pairs: pairNames, startedAt: new Date(EPOCH_MS).toISOString(), durationMs: endMs, ratePerSecond: rate },
    agents,
    new Map([...population.pairs].map(([p, s]) => [p, s.fairValue])),
    ledger?.snapshot(),
  );
  return {
    report,
    commandHash: commandHash?.digest('hex') ?? '',
    eventHash: eventHash?.digest('hex') ?? '',
    commands: stats.sent,
    events,
    codes,
    ...(recorded !== undefined ? { recorded } : {}),
    ...(trace !== undefined ? { trace } : {}),
    pairs,
    agents,
  };
}
