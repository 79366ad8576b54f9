/**
 * The load side of `npm run bench:grpc`: a seeded, realistic order flow and the drivers that push it
 * through a generated grpc-js client: closed-loop unary, SubmitOrderBatch and OrderFlow stream
 * throughput, and open-loop latency measured from each call's intended send time (HdrHistogram), so a
 * stalled server shows up as latency instead of silently lowering the send rate (coordinated omission).
 *
 * Every response is checked: transport and call errors, item errors, result counts and correlation ids
 * are counted, never ignored. The only expected failure is a cancel that finds its order already closed
 * (NOT_FOUND, reject reason 2001): the flow cancels by client order id without tracking fills, as a
 * client that has not yet seen the fill would.
 *
 * The flow does not depend on responses, so the no-op server and the service receive exactly the same
 * messages for the same seed and tag.
 */
import { Metadata, credentials, status as GrpcStatus, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import * as hdr from 'hdr-histogram-js';
import type {
  CancelOrderRequest,
  CommandResult,
  OrderCommand,
  OrderFlowRequest,
  OrderFlowResponse,
  OrdersServiceClient,
  SubmitOrderRequest,
} from '../server/adapters/grpc/generated/trading/v1/orders.ts';
import { SessionServiceClient } from '../server/adapters/grpc/generated/trading/v1/sessions.ts';
import { OrderStatus, OrderType, Side, StpMode, TimeInForce, type ItemError, type Order, type OrderEvent } from '../server/adapters/grpc/generated/trading/v1/types.ts';
import { Random } from '../simulator/random.ts';

// ---- the order flow ------------------------------------------------------------------------------------

export interface BenchAccount {
  name: string;
  stp: StpMode;
  metadata: Metadata;
}

function account(name: string, stp: StpMode): BenchAccount {
  const metadata = new Metadata();
  metadata.set('x-account-id', name);
  return { name, stp, metadata };
}

/** Four market makers and four traders, with the self-trade prevention modes spread over them. */
export const BENCH_ACCOUNTS: readonly BenchAccount[] = [
  account('bench-mm-1', StpMode.STP_MODE_NONE),
  account('bench-mm-2', StpMode.STP_MODE_CANCEL_MAKER),
  account('bench-mm-3', StpMode.STP_MODE_DECREMENT_AND_CANCEL),
  account('bench-mm-4', StpMode.STP_MODE_CANCEL_TAKER),
  account('bench-trader-1', StpMode.STP_MODE_UNSPECIFIED),
  account('bench-trader-2', StpMode.STP_MODE_CANCEL_BOTH),
  account('bench-trader-3', StpMode.STP_MODE_NONE),
  account('bench-trader-4', StpMode.STP_MODE_CANCEL_TAKER),
];

export const PAIR = 'BTCUSDT';
/** 65,000.00 in 0.01 ticks; resting bids sit below it and asks above, so resting orders never cross. */
const MID_TICKS = 6_500_000;
/** Passive orders rest 1..PASSIVE_WINDOW ticks from the mid, skewed towards it. */
const PASSIVE_WINDOW = 50;
const QTY_SCALES = [10, 10, 100, 100, 100, 1_000] as const;

export type FlowCommand =
  | { kind: 'submit'; account: number; req: SubmitOrderRequest }
  | { kind: 'cancel'; account: number; req: CancelOrderRequest };

export interface FlowOptions {
  /** Distinguishes client order ids of separate runs against the same server (they must stay unique). */
  tag: string;
  seed: number;
  /**
   * With cancels (unary, OrderFlow): 45 % resting limits (some post-only), 12 % crossing IOC/FOK limits,
   * 3 % market orders, 40 % cancels of an earlier resting order. Without (SubmitOrderBatch carries only
   * new orders): 50 % resting, 45 % crossing limits reaching as deep as the resting ones with twice their
   * size, 5 % market; takers then consume more than makers add, which keeps the book bounded.
   */
  cancels: boolean;
  /** Resting orders tracked per account; at the cap every new command is a cancel. @default 300 */
  maxTrackedPerAccount?: number;
  /** Indexes into BENCH_ACCOUNTS this flow uses (one client process of several takes a share). @default all */
  accounts?: readonly number[];
}

/**
 * Seeded generator of BTCUSDT order commands around a fixed mid. Each account's resting orders are
 * tracked by client order id (not by fills: responses do not feed back), so the book stays bounded by
 * accounts × maxTrackedPerAccount resting orders.
 */
export class OrderFlowGenerator {
  private readonly rng: Random;
  private readonly tracked: string[][];
  private readonly cap: number;
  private counter = 0;
  /** The BENCH_ACCOUNTS indexes this flow sends for. */
  readonly accounts: readonly number[];

  constructor(private readonly options: FlowOptions) {
    this.rng = new Random(options.seed);
    this.tracked = BENCH_ACCOUNTS.map(() => []);
    this.cap = options.maxTrackedPerAccount ?? 300;
    this.accounts = options.accounts ?? BENCH_ACCOUNTS.map((_, i) => i);
    if (this.accounts.length === 0 || this.accounts.some((a) => BENCH_ACCOUNTS[a] === undefined)) throw new Error(`accounts must be indexes of BENCH_ACCOUNTS, got ${JSON.stringify(this.accounts)}`);
  }

  pickAccount(): number {
    return this.accounts[this.rng.nextInt(this.accounts.length)]!;
  }

  next(acct: number): FlowCommand {
    const rng = this.rng;
    const open = this.tracked[acct]!;
    const roll = rng.nextInt(100);
    if (this.options.cancels && open.length > 0 && (roll < 40 || open.length >= this.cap)) {
      // Swap-remove a random tracked order.
      const i = rng.nextInt(open.length);
      const cid = open[i]!;
      open[i] = open[open.length - 1]!;
      open.pop();
      return { kind: 'cancel', account: acct, req: { pair: PAIR, order: { $case: 'clientOrderId', value: cid } } };
    }
    const side = rng.nextInt(2) === 0 ? Side.SIDE_BUY : Side.SIDE_SELL;
    const buy = side === Side.SIDE_BUY;
    const cid = `${this.options.tag}-${(++this.counter).toString(36)}`;
    const stpMode = BENCH_ACCOUNTS[acct]!.stp;
    const restingShare = this.options.cancels ? 85 : 50; // of the non-cancel rolls (40..99 with cancels)
    const crossingEnd = this.options.cancels ? 97 : 95;
    if (roll < restingShare) {
      const d = 1 + Math.floor(PASSIVE_WINDOW * rng.nextFloat() ** 2);
      open.push(cid);
      return {
        kind: 'submit',
        account: acct,
        req: {
          pair: PAIR,
          clientOrderId: cid,
          side,
          type: OrderType.ORDER_TYPE_LIMIT,
          timeInForce: TimeInForce.TIME_IN_FORCE_GTC,
          price: priceText(buy ? MID_TICKS - d : MID_TICKS + d),
          quantity: lotsText(this.quantity()),
          postOnly: rng.nextInt(10) === 0,
          stpMode,
        },
      };
    }
    const takerQty = this.options.cancels ? this.quantity() : 2 * this.quantity();
    if (roll < crossingEnd) {
      const reach = this.options.cancels ? 1 + rng.nextInt(10) : 1 + Math.floor(PASSIVE_WINDOW * rng.nextFloat() ** 2);
      return {
        kind: 'submit',
        account: acct,
        req: {
          pair: PAIR,
          clientOrderId: cid,
          side,
          type: OrderType.ORDER_TYPE_LIMIT,
          timeInForce: rng.nextInt(4) === 0 ? TimeInForce.TIME_IN_FORCE_FOK : TimeInForce.TIME_IN_FORCE_IOC,
          price: priceText(buy ? MID_TICKS + reach : MID_TICKS - reach),
          quantity: lotsText(takerQty),
          postOnly: false,
          stpMode,
        },
      };
    }
    return {
      kind: 'submit',
      account: acct,
      req: {
        pair: PAIR,
        clientOrderId: cid,
        side,
        type: OrderType.ORDER_TYPE_MARKET,
        timeInForce: TimeInForce.TIME_IN_FORCE_UNSPECIFIED,
        price: '',
        quantity: lotsText(takerQty),
        postOnly: false,
        stpMode,
      },
    };
  }

  /** 0.00010 to 0.09000 BTC, small sizes more common. */
  private quantity(): number {
    return (1 + this.rng.nextInt(9)) * QTY_SCALES[this.rng.nextInt(QTY_SCALES.length)]!;
  }
}

function priceText(ticks: number): string {
  return `${Math.floor(ticks / 100)}.${String(ticks % 100).padStart(2, '0')}`;
}
function lotsText(lots: number): string {
  return `${Math.floor(lots / 100_000)}.${String(lots % 100_000).padStart(5, '0')}`;
}

/**
 * Sessions as a real client opens them: an API key per bench account through the admin API
 * (POST /admin/accounts/{account}/api-keys), then SessionService.Login. Returns each account's bearer token.
 */
export async function loginBenchAccounts(target: string, admin: string, adminToken: string | undefined): Promise<string[]> {
  const sessions = new SessionServiceClient(target, credentials.createInsecure());
  try {
    const tokens: string[] = [];
    for (const account of BENCH_ACCOUNTS) {
      const res = await fetch(`${admin}/admin/accounts/${encodeURIComponent(account.name)}/api-keys`, {
        method: 'POST',
        headers: adminToken ? { authorization: `Bearer ${adminToken}` } : {},
        signal: AbortSignal.timeout(10_000),
      });
      if (res.status !== 201) throw new Error(`creating an API key for ${account.name} at ${admin} answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
      const key = (await res.json()) as { keyId: string; secret: string };
      tokens.push(
        await new Promise<string>((resolve, reject) =>
          sessions.login({ apiKeyId: key.keyId, apiKeySecret: key.secret }, (err: ServiceError | null, r) => (err ? reject(new Error(`Login of ${account.name} failed: ${err.message}`)) : resolve(r.token))),
        ),
      );
    }
    return tokens;
  } finally {
    sessions.close();
  }
}

/** Every bench account's calls carry its token from here on (`authorization: Bearer <token>`). */
export function useSessionTokens(tokens: readonly string[]): void {
  BENCH_ACCOUNTS.forEach((account, i) => {
    const token = tokens[i];
    if (token === undefined) throw new Error(`no session token for ${account.name}`);
    account.metadata.set('authorization', `Bearer ${token}`);
  });
}

// ---- response checking -----------------------------------------------------------------------------------

/** What came back, counted. `unexpected` must stay empty for a figure to mean anything. */
export class ResponseTally {
  /** Orders (or cancels) answered without a call or item error. */
  ok = 0;
  /** Cancels of an order that had already closed: NOT_FOUND / 2001, a normal outcome of this flow. */
  cancelNotFound = 0;
  /** Everything else that failed, by "kind:code[/reason]"; the benchmark prints these. */
  readonly unexpected: Record<string, number> = {};
  /** Order statuses in results (NEW, FILLED, CANCELLED, ...). */
  readonly statuses: Record<string, number> = {};
  /** Order events delivered with results, by type. */
  readonly events: Record<string, number> = {};
  /** OrderFlow messages that carried only events pushed for orders filled by others. */
  pushedMessages = 0;
  /** Events in those pushed messages, by type (also counted in `events`). */
  readonly pushedEvents: Record<string, number> = {};
  /** Response messages received: unary and batch responses, OrderFlow messages (with results or pushed). */
  responseMessages = 0;
  /** Commands answered, by kind (ok, NOT_FOUND and unexpected alike). */
  readonly answered: Record<FlowCommand['kind'], number> = { submit: 0, cancel: 0 };

  error(what: string): void {
    this.unexpected[what] = (this.unexpected[what] ?? 0) + 1;
  }

  get unexpectedCount(): number {
    let n = 0;
    for (const v of Object.values(this.unexpected)) n += v;
    return n;
  }

  callError(kind: FlowCommand['kind'], err: ServiceError): void {
    this.answered[kind]++;
    if (kind === 'cancel' && err.code === GrpcStatus.NOT_FOUND) this.cancelNotFound++;
    else this.error(`${kind}:${GrpcStatus[err.code] ?? err.code}${err.details ? ` (${err.details.slice(0, 60)})` : ''}`);
  }

  itemError(kind: FlowCommand['kind'], e: ItemError): void {
    this.answered[kind]++;
    if (kind === 'cancel' && e.code === GrpcStatus.NOT_FOUND && e.rejectReason === 2001) this.cancelNotFound++;
    // The message's start (digits folded) tells refusals apart: a rate limit from a queue limit, say.
    else this.error(`${kind}:${GrpcStatus[e.code] ?? e.code}/${e.rejectReason}${e.field ? ` ${e.field}` : ''} (${e.message.slice(0, 60).replace(/\d+/g, 'N')})`);
  }

  /** An answered command without an error; `counted` when itemError already counted it (a REJECTED order). */
  order(o: Order | undefined, kind: FlowCommand['kind'], counted = false): void {
    if (!counted) this.answered[kind]++;
    if (o === undefined) {
      this.error(`${kind}:no order in response`);
      return;
    }
    this.ok++;
    const s = OrderStatus[o.status] ?? String(o.status);
    this.statuses[s] = (this.statuses[s] ?? 0) + 1;
  }

  eventList(events: readonly OrderEvent[], pushed = false): void {
    for (const e of events) {
      const t = e.event?.$case ?? 'none';
      this.events[t] = (this.events[t] ?? 0) + 1;
      if (pushed) this.pushedEvents[t] = (this.pushedEvents[t] ?? 0) + 1;
    }
  }
}

/** A ResponseTally's counts as plain data (what a client process sends its parent), and their sum. */
export interface TallyCounts {
  ok: number;
  cancelNotFound: number;
  unexpected: Record<string, number>;
  statuses: Record<string, number>;
  events: Record<string, number>;
  pushedMessages: number;
  pushedEvents: Record<string, number>;
  responseMessages: number;
  answered: Record<FlowCommand['kind'], number>;
}

export function countsOf(t: ResponseTally): TallyCounts {
  return {
    ok: t.ok,
    cancelNotFound: t.cancelNotFound,
    unexpected: { ...t.unexpected },
    statuses: { ...t.statuses },
    events: { ...t.events },
    pushedMessages: t.pushedMessages,
    pushedEvents: { ...t.pushedEvents },
    responseMessages: t.responseMessages,
    answered: { ...t.answered },
  };
}

export function sumCounts(all: readonly TallyCounts[]): TallyCounts {
  const add = (into: Record<string, number>, from: Record<string, number>): void => {
    for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
  };
  const sum: TallyCounts = { ok: 0, cancelNotFound: 0, unexpected: {}, statuses: {}, events: {}, pushedMessages: 0, pushedEvents: {}, responseMessages: 0, answered: { submit: 0, cancel: 0 } };
  for (const c of all) {
    sum.ok += c.ok;
    sum.cancelNotFound += c.cancelNotFound;
    sum.pushedMessages += c.pushedMessages;
    sum.responseMessages += c.responseMessages;
    add(sum.unexpected, c.unexpected);
    add(sum.statuses, c.statuses);
    add(sum.events, c.events);
    add(sum.pushedEvents, c.pushedEvents);
    add(sum.answered, c.answered);
  }
  return sum;
}

export const unexpectedCount = (c: TallyCounts): number => Object.values(c.unexpected).reduce((a, b) => a + b, 0);

// ---- measurement results ------------------------------------------------------------------------------

export interface ThroughputResult {
  seconds: number;
  calls: number;
  /** Commands (orders and cancels) answered within the window. */
  orders: number;
  ordersPerSec: number;
  callsPerSec: number;
  tally: ResponseTally;
}

export interface LatencyResult {
  targetPerSec: number;
  /** Calls (or stream messages) scheduled in the window. */
  scheduled: number;
  completed: number;
  achievedPerSec: number;
  /** Microseconds from the intended send time to the response. */
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
  /** How late the client itself sent, on average (timer granularity, its own CPU); included in the figures above. */
  meanSendLagUs: number;
  tally: ResponseTally;
}

function newHistogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
}

function latencyFrom(h: hdr.Histogram, targetPerSec: number, scheduled: number, seconds: number, lagSumUs: number, tally: ResponseTally): LatencyResult {
  return {
    targetPerSec,
    scheduled,
    completed: h.totalCount,
    achievedPerSec: h.totalCount / seconds,
    p50: h.getValueAtPercentile(50),
    p90: h.getValueAtPercentile(90),
    p95: h.getValueAtPercentile(95),
    p99: h.getValueAtPercentile(99),
    p999: h.getValueAtPercentile(99.9),
    max: h.maxValue,
    mean: Math.round(h.mean),
    meanSendLagUs: scheduled === 0 ? 0 : Math.round(lagSumUs / scheduled),
    tally,
  };
}

const nowUs = (): number => performance.now() * 1000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Waits for `run` to resolve, but no longer than the window plus a grace: a server that stops answering
 * must end the measurement with an error count, not hang the benchmark.
 */
async function bounded(seconds: number, tally: ResponseTally, what: string, run: (resolve: () => void) => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    new Promise<false>((resolve) => run(() => resolve(false))),
    new Promise<true>((resolve) => {
      timer = setTimeout(() => resolve(true), seconds * 1000 + 30_000);
    }),
  ]);
  clearTimeout(timer);
  if (timedOut) tally.error(`${what}: responses still missing 30 s after the window`);
}

/**
 * Cancels every resting order of the bench accounts (CancelAllOrders, both sides), so each measurement
 * starts from the same, small book whatever earlier runs left. Not timed; returns the orders cancelled.
 */
export async function cancelAllBenchOrders(client: OrdersServiceClient): Promise<number> {
  const counts = await Promise.all(
    BENCH_ACCOUNTS.map(
      (a) =>
        new Promise<number>((resolve, reject) => {
          client.cancelAllOrders({ pair: PAIR, side: Side.SIDE_UNSPECIFIED }, a.metadata, (err, res) => (err ? reject(err) : resolve(res.orders.length)));
        }),
    ),
  );
  return counts.reduce((s, n) => s + n, 0);
}

// ---- unary ----------------------------------------------------------------------------------------------

/** Sends one command as its unary call; `done` gets the error (already tallied) or null. */
export function sendUnary(client: OrdersServiceClient, cmd: FlowCommand, tally: ResponseTally, done: () => void): void {
  const md = BENCH_ACCOUNTS[cmd.account]!.metadata;
  if (cmd.kind === 'submit') {
    client.submitOrder(cmd.req, md, (err, res) => {
      tally.responseMessages++;
      if (err) tally.callError('submit', err);
      else {
        tally.order(res.order, 'submit');
        tally.eventList(res.events);
      }
      done();
    });
  } else {
    client.cancelOrder(cmd.req, md, (err, res) => {
      tally.responseMessages++;
      if (err) tally.callError('cancel', err);
      else {
        tally.order(res.order, 'cancel');
        tally.eventList(res.events);
      }
      done();
    });
  }
}

/** `concurrency` calls always in flight (closed loop) for `seconds`; counts what completes inside the window. */
export async function unaryThroughput(client: OrdersServiceClient, flow: OrderFlowGenerator, concurrency: number, seconds: number): Promise<ThroughputResult> {
  const tally = new ResponseTally();
  const start = performance.now();
  const end = start + seconds * 1000;
  let completed = 0;
  let inFlight = 0;
  await bounded(seconds, tally, 'unary', (resolve) => {
    const launch = (): void => {
      inFlight++;
      sendUnary(client, flow.next(flow.pickAccount()), tally, () => {
        inFlight--;
        if (performance.now() < end) {
          completed++;
          launch();
        } else if (inFlight === 0) resolve();
      });
    };
    for (let i = 0; i < concurrency; i++) launch();
  });
  const secs = seconds;
  return { seconds: secs, calls: completed, orders: completed, ordersPerSec: completed / secs, callsPerSec: completed / secs, tally };
}

/**
 * Open loop: call i is due at start + i / rate whatever happened to earlier calls; latency is response
 * time minus due time. A 1 ms timer sends everything due; in-flight calls are not capped.
 */
export async function unaryLatency(client: OrdersServiceClient, flow: OrderFlowGenerator, ratePerSec: number, seconds: number): Promise<LatencyResult> {
  const tally = new ResponseTally();
  const h = newHistogram();
  const total = Math.max(1, Math.floor(ratePerSec * seconds));
  const intervalUs = 1e6 / ratePerSec;
  const t0 = nowUs();
  let sent = 0;
  let answered = 0;
  let lagSumUs = 0;
  await bounded(seconds, tally, 'unary latency', (resolve) => {
    const tick = (): void => {
      const now = nowUs();
      while (sent < total && t0 + sent * intervalUs <= now) {
        const due = t0 + sent * intervalUs;
        lagSumUs += nowUs() - due;
        sent++;
        sendUnary(client, flow.next(flow.pickAccount()), tally, () => {
          h.recordValue(Math.max(1, Math.round(nowUs() - due)));
          if (++answered === total) resolve();
        });
      }
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
  return latencyFrom(h, ratePerSec, total, seconds, lagSumUs, tally);
}

// ---- SubmitOrderBatch -------------------------------------------------------------------------------------

export async function batchThroughput(
  client: OrdersServiceClient,
  flow: OrderFlowGenerator,
  batchSize: number,
  concurrency: number,
  seconds: number,
): Promise<ThroughputResult> {
  const tally = new ResponseTally();
  const end = performance.now() + seconds * 1000;
  let calls = 0;
  let orders = 0;
  let inFlight = 0;
  let nextAccount = 0;
  await bounded(seconds, tally, 'batch', (resolve) => {
    const launch = (): void => {
      const acct = flow.accounts[nextAccount++ % flow.accounts.length]!;
      const items: SubmitOrderRequest[] = [];
      for (let i = 0; i < batchSize; i++) {
        const cmd = flow.next(acct);
        if (cmd.kind !== 'submit') throw new Error('batch flow must not generate cancels');
        items.push(cmd.req);
      }
      inFlight++;
      client.submitOrderBatch({ orders: items }, BENCH_ACCOUNTS[acct]!.metadata, (err, res) => {
        inFlight--;
        const inWindow = performance.now() < end;
        tally.responseMessages++;
        if (err) tally.callError('submit', err);
        else {
          if (res.results.length !== items.length) tally.error(`batch:${res.results.length} results for ${items.length} orders`);
          for (const r of res.results) {
            if (r.error !== undefined) tally.itemError('submit', r.error);
            else tally.order(r.order, 'submit');
            tally.eventList(r.events);
          }
          if (inWindow) {
            calls++;
            orders += res.results.length;
          }
        }
        if (inWindow) launch();
        else if (inFlight === 0) resolve();
      });
    };
    for (let i = 0; i < concurrency; i++) launch();
  });
  return { seconds, calls, orders, ordersPerSec: orders / seconds, callsPerSec: calls / seconds, tally };
}

// ---- OrderFlow stream -----------------------------------------------------------------------------------

export interface PendingBatch {
  firstCorrelationId: string;
  kinds: FlowCommand['kind'][];
  dueUs: number;
}

/**
 * One OrderFlow stream of one account. Batches are answered in order with one message each; messages
 * without results carry events of this account's orders filled by others and are only counted.
 */
export class FlowStream {
  private readonly call: ClientDuplexStream<OrderFlowRequest, OrderFlowResponse>;
  private readonly pending: PendingBatch[] = [];
  private head = 0;
  private correlation = 0;
  readonly closed: Promise<void>;
  onAnswer: (batch: PendingBatch, results: number) => void = () => {};

  constructor(
    client: OrdersServiceClient,
    private readonly acct: number,
    private readonly tally: ResponseTally,
  ) {
    this.call = client.orderFlow(BENCH_ACCOUNTS[acct]!.metadata);
    this.closed = new Promise((resolve) => {
      this.call.on('status', (s: { code: number; details: string }) => {
        if (s.code !== GrpcStatus.OK) tally.error(`stream ended:${GrpcStatus[s.code] ?? s.code} ${s.details}`);
        resolve();
      });
    });
    this.call.on('error', () => {}); // reported through 'status'
    this.call.on('data', (res: OrderFlowResponse) => this.receive(res));
  }

  get inFlight(): number {
    return this.pending.length - this.head;
  }

  send(flow: OrderFlowGenerator, size: number, dueUs: number): void {
    const commands: OrderCommand[] = [];
    const kinds: FlowCommand['kind'][] = [];
    const prefix = `${this.acct}.`;
    let first = '';
    for (let i = 0; i < size; i++) {
      const cmd = flow.next(this.acct);
      const correlationId = prefix + (++this.correlation).toString(36);
      if (i === 0) first = correlationId;
      kinds.push(cmd.kind);
      commands.push({ correlationId, command: cmd.kind === 'submit' ? { $case: 'submit', value: cmd.req } : { $case: 'cancel', value: cmd.req } });
    }
    this.pending.push({ firstCorrelationId: first, kinds, dueUs });
    this.call.write({ commands });
  }

  private receive(res: OrderFlowResponse): void {
    const results: CommandResult[] = [];
    const events: OrderEvent[] = [];
    for (const m of res.messages) {
      if (m.message?.$case === 'result') results.push(m.message.value);
      else if (m.message?.$case === 'event') events.push(m.message.value);
    }
    this.tally.responseMessages++;
    this.tally.eventList(events, results.length === 0);
    if (results.length === 0) {
      this.tally.pushedMessages++;
      return;
    }
    const batch = this.pending[this.head];
    if (batch === undefined) {
      this.tally.error('stream:results for no pending batch');
      return;
    }
    this.pending[this.head++] = undefined as unknown as PendingBatch;
    if (this.head > 1024) {
      this.pending.splice(0, this.head);
      this.head = 0;
    }
    if (results.length !== batch.kinds.length) this.tally.error(`stream:${results.length} results for ${batch.kinds.length} commands`);
    if (results[0]!.correlationId !== batch.firstCorrelationId) this.tally.error('stream:correlation id out of order');
    for (let i = 0; i < results.length; i++) {
      const r = results[i]!;
      const kind = batch.kinds[i] ?? 'submit';
      if (r.error !== undefined) {
        this.tally.itemError(kind, r.error);
        if (r.order !== undefined && kind === 'submit') this.tally.order(r.order, kind, true); // REJECTED orders
      } else this.tally.order(r.order, kind);
    }
    this.onAnswer(batch, results.length);
  }

  async end(): Promise<void> {
    this.call.end();
    await Promise.race([this.closed, sleep(5_000)]);
  }
}

/** `streams` OrderFlow streams (one account of the flow's each, round-robin), each keeping `window` batches of `batchSize` in flight. */
export async function streamThroughput(
  client: OrdersServiceClient,
  flow: OrderFlowGenerator,
  batchSize: number,
  streams: number,
  window: number,
  seconds: number,
): Promise<ThroughputResult> {
  const tally = new ResponseTally();
  const end = performance.now() + seconds * 1000;
  let calls = 0;
  let orders = 0;
  const all = Array.from({ length: streams }, (_, i) => new FlowStream(client, flow.accounts[i % flow.accounts.length]!, tally));
  await bounded(seconds, tally, 'stream', (resolve) => {
    let live = streams;
    for (const s of all) {
      s.onAnswer = (_batch, results) => {
        if (performance.now() < end) {
          calls++;
          orders += results;
          s.send(flow, batchSize, 0);
        } else if (s.inFlight === 0 && --live === 0) resolve();
      };
      for (let i = 0; i < window; i++) s.send(flow, batchSize, 0);
    }
  });
  await Promise.all(all.map((s) => s.end()));
  return { seconds, calls, orders, ordersPerSec: orders / seconds, callsPerSec: calls / seconds, tally };
}

/** Open loop over `streams` streams: batch i is due at start + i / rate, sent round-robin; latency per batch. */
export async function streamLatency(
  client: OrdersServiceClient,
  flow: OrderFlowGenerator,
  batchSize: number,
  streams: number,
  batchesPerSec: number,
  seconds: number,
): Promise<LatencyResult> {
  const tally = new ResponseTally();
  const h = newHistogram();
  const total = Math.max(1, Math.floor(batchesPerSec * seconds));
  const intervalUs = 1e6 / batchesPerSec;
  const all = Array.from({ length: streams }, (_, i) => new FlowStream(client, flow.accounts[i % flow.accounts.length]!, tally));
  let answered = 0;
  let lagSumUs = 0;
  await bounded(seconds, tally, 'stream latency', (resolve) => {
    for (const s of all) {
      s.onAnswer = (batch) => {
        h.recordValue(Math.max(1, Math.round(nowUs() - batch.dueUs)));
        if (++answered === total) resolve();
      };
    }
    const t0 = nowUs();
    let sent = 0;
    const tick = (): void => {
      const now = nowUs();
      while (sent < total && t0 + sent * intervalUs <= now) {
        const due = t0 + sent * intervalUs;
        lagSumUs += nowUs() - due;
        all[sent % streams]!.send(flow, batchSize, due);
        sent++;
      }
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
  await Promise.all(all.map((s) => s.end()));
  return latencyFrom(h, batchesPerSec, total, seconds, lagSumUs, tally);
}
