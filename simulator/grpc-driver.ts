/**
 * The simulator over gRPC against any running service: one API key and session per agent (created
 * through the admin API, or given), one OrderFlow stream per agent, the top of each book polled, and an
 * open-loop sender: command slot i is due at i / rate seconds after the start whatever the server does,
 * and its ack latency is measured from that intended time (no coordinated omission). Every answer goes
 * into the ledger by client order id. Bounded: in-flight commands (beyond it slots are skipped and
 * counted as not sent), the run's duration, and the wait for in-flight answers at stop.
 *
 * Against a cluster (several replicas, docs/cluster.md: `cluster` given) each agent's stream goes to the
 * replica owning its pair, as the RoutingClient's map (from /admin/cluster/status) says; when answers
 * come back UNAVAILABLE the map is read again and agents whose pair moved reconnect to the new owner
 * (their in-flight commands count as not answered, as with any broken stream). Logins go to any replica
 * (the session store, Redis, is shared).
 *
 * Setup problems (unreachable target or admin API, unknown pair, a refused API key, bad options) throw
 * SimulationSetupError with one line naming the cause; the CLI turns that into exit code 2.
 */
import { credentials, Metadata, status as GrpcStatus, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import { performance } from 'node:perf_hooks';
import { InstrumentsServiceClient } from '../server/adapters/grpc/generated/trading/v1/instruments.ts';
import { MarketDataServiceClient } from '../server/adapters/grpc/generated/trading/v1/market_data.ts';
import { OrdersServiceClient, type OrderFlowRequest, type OrderFlowResponse } from '../server/adapters/grpc/generated/trading/v1/orders.ts';
import { SessionServiceClient } from '../server/adapters/grpc/generated/trading/v1/sessions.ts';
import type { Instrument } from '../server/core/instrument.ts';
import type { Side as SideT } from '../server/core/types.ts';
import type { Agent } from './agents/agent.ts';
import { LedgerRecorder } from './ledger.ts';
import { SimulationSetupError } from './setup-error.ts';
import { Population } from './population.ts';
import { RunStatistics, type SimulationReport } from './report.ts';
import { isClosed, type SimCommand, type SimResult } from './sim-types.ts';
import { instrumentFromWire, PairCodec } from './wire-codec.ts';
import { RoutingClient } from './routing-client.ts';

export type { SimulationReport } from './report.ts';
export type { LedgerEntry, Ledger } from './ledger.ts';
export { SimulationSetupError } from './setup-error.ts';

export interface ApiKey {
  /** The account the key belongs to (informational; the session's account is what Login answers). */
  account?: string;
  keyId: string;
  secret: string;
}

export interface GrpcSimulationOptions {
  /** host:port of the gRPC service. */
  target: string;
  /** Base URL of the admin API, to create one API key per agent, e.g. http://127.0.0.1:8080. Unused when `apiKeys` is given. */
  adminUrl: string;
  /** Bearer token for the admin API, if it requires one. @default none */
  adminToken?: string;
  seed: number;
  /** Offered commands per second, all agents together. */
  ratePerSecond: number;
  pairs: string[];
  /** Run length; undefined runs until stop(). @default undefined */
  durationMs?: number;
  /** Prefix of every client order id (at most 40 characters). @default derived from the seed and the start time, so two runs never collide */
  clientOrderIdPrefix?: string;
  /** Keys to log in with instead of creating them (at least one per agent; see `agentCount`). @default created through the admin API */
  apiKeys?: ApiKey[];
  /** Account names of created keys are `<accountPrefix><pair>-<kind>-<n>`. @default "sim<seed>-" */
  accountPrefix?: string;
  /** Agents per kind and pair are multiplied by this. @default max(1, ceil(rate / pairs / 2500)), so no account nears the default 1000/s rate limit */
  scale?: number;
  /** Commands sent and not yet answered, at most; slots beyond it are skipped (counted as notSent). @default 20000 */
  maxInFlight?: number;
  /** How long stop() waits for in-flight answers. @default 5000 */
  drainTimeoutMs?: number;
  /** After the last answer, how long stop() keeps listening for order events still on their way. @default 250 */
  settleMs?: number;
  /** Deadline of each setup call (ListInstruments, Login, admin requests). @default 5000 */
  setupTimeoutMs?: number;
  /** How often the market is sampled for spread/depth and the picture. @default 100 */
  sampleEveryMs?: number;
  /**
   * Several replicas (cluster mode): every replica's gRPC host:port and admin URL; each agent trades at
   * the owner of its pair. `target` / `adminUrl` are used for setup. @default one service
   */
  cluster?: { targets: readonly string[]; adminUrls: readonly string[] };
}

export interface SimulationProgress {
  elapsedMs: number;
  sent: number;
  acknowledged: number;
  /** Answered with an error. */
  failed: number;
  /** Sent, the stream broke before an answer. */
  noAnswer: number;
  /** Slots skipped: the agent's stream was down or maxInFlight was reached. */
  notSent: number;
  inFlight: number;
  errorsByCode: Record<string, number>;
  trades: number;
  /** Acknowledged orders in the ledger. */
  ledgerOrders: number;
  connectedAgents: number;
  agents: number;
  ackLatencyP99Ms: number;
}

export interface SimulationHandle {
  progress(): SimulationProgress;
  /** Stops sending, waits for in-flight answers (bounded by drainTimeoutMs), closes the streams, returns the report. */
  stop(): Promise<SimulationReport>;
  /** Resolves when durationMs has elapsed and the run has drained (or after stop()). */
  done: Promise<SimulationReport>;
}

/** Agents a run will have for these options (one API key each, when keys are given). */
export function agentCount(pairs: number, scale: number): number {
  return pairs * 11 * scale;
}

export function defaultScale(ratePerSecond: number, pairs: number): number {
  return Math.max(1, Math.ceil(ratePerSecond / Math.max(1, pairs) / 2500));
}

const CODE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(GrpcStatus).filter(([, v]) => typeof v === 'number').map(([k, v]) => [v as number, k]));
export function codeName(code: number): string {
  return CODE_NAMES[code] ?? `CODE_${code}`;
}

const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim().slice(0, 300);
const RECONNECT_MS = 500;
/** Commands generated per timer tick at most, so a long stall's backlog does not freeze the loop. */
const MAX_PER_TICK = 20_000;
const MAX_BATCH = 1000;

interface Pending {
  cmd: SimCommand;
  intendedUs: number;
}

/** One agent's connection: its session, its stream and its commands in flight. */
interface AgentLink {
  agent: Agent;
  index: number;
  key: ApiKey;
  /** The account the service logged the key into. */
  account: string;
  token: string;
  stream: ClientDuplexStream<OrderFlowRequest, OrderFlowResponse> | undefined;
  /** The replica the stream is open to. */
  target: string;
  connected: boolean;
  inFlight: Map<string, Pending>;
  /** Side of each own order not yet seen closed (fill events do not carry it). */
  sides: Map<string, SideT>;
  nextCorrelation: number;
  batch: Pending[];
}

function validate(opts: GrpcSimulationOptions): void {
  if (!/^[^\s:]+:\d{1,5}$/.test(opts.target) && !/^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(opts.target)) throw new SimulationSetupError('target', `--target must be host:port, got ${JSON.stringify(opts.target.slice(0, 60))}`);
  if (!Number.isFinite(opts.ratePerSecond) || opts.ratePerSecond <= 0) throw new SimulationSetupError('rate', `--rate must be a positive number of commands per second, got ${opts.ratePerSecond}`);
  if (opts.ratePerSecond > 1_000_000) throw new SimulationSetupError('rate', `--rate must be at most 1000000, got ${opts.ratePerSecond}`);
  if (!Number.isSafeInteger(opts.seed)) throw new SimulationSetupError('seed', `--seed must be an integer, got ${opts.seed}`);
  if (opts.pairs.length === 0) throw new SimulationSetupError('pairs', '--pairs must name at least one pair');
  if (opts.durationMs !== undefined && (!Number.isFinite(opts.durationMs) || opts.durationMs <= 0)) throw new SimulationSetupError('duration', `--duration must be positive, got ${opts.durationMs} ms`);
  if (opts.clientOrderIdPrefix !== undefined && (opts.clientOrderIdPrefix.length > 40 || !/^[\x21-\x7e]+$/.test(opts.clientOrderIdPrefix))) {
    throw new SimulationSetupError('clientOrderIdPrefix', 'the client order id prefix must be 1-40 printable ASCII characters without spaces');
  }
}

function deadline(ms: number): Date {
  return new Date(Date.now() + ms);
}

async function listInstruments(target: string, timeoutMs: number): Promise<Instrument[]> {
  const client = new InstrumentsServiceClient(target, credentials.createInsecure());
  try {
    const res = await new Promise<{ instruments: Parameters<typeof instrumentFromWire>[0][] }>((resolve, reject) =>
      client.listInstruments({}, new Metadata(), { deadline: deadline(timeoutMs) }, (err, r) => (err ? reject(err) : resolve(r))),
    );
    return res.instruments.map(instrumentFromWire);
  } catch (err) {
    const e = err as ServiceError;
    throw new SimulationSetupError('target', `cannot reach the trading service at ${target}: ${codeName(e.code ?? GrpcStatus.UNKNOWN)} ${oneLine(e.details ?? e.message ?? String(err))}`);
  } finally {
    client.close();
  }
}

async function createApiKey(adminUrl: string, adminToken: string | undefined, account: string, timeoutMs: number): Promise<ApiKey> {
  let res: Response;
  try {
    res = await fetch(`${adminUrl.replace(/\/+$/, '')}/admin/accounts/${encodeURIComponent(account)}/api-keys`, {
      method: 'POST',
      headers: adminToken === undefined ? {} : { authorization: `Bearer ${adminToken}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new SimulationSetupError('admin', `cannot reach the admin API at ${adminUrl} to create API keys: ${oneLine(cause?.code ?? cause?.message ?? (err as Error).message)}`);
  }
  const text = await res.text();
  if (res.status !== 201) throw new SimulationSetupError('admin', `the admin API at ${adminUrl} refused to create an API key for ${account}: HTTP ${res.status} ${oneLine(text).slice(0, 160)}`);
  let body: { keyId?: unknown; secret?: unknown };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new SimulationSetupError('admin', `the admin API at ${adminUrl} answered an API key request with something that is not JSON`);
  }
  if (typeof body.keyId !== 'string' || typeof body.secret !== 'string') throw new SimulationSetupError('admin', `the admin API at ${adminUrl} answered without keyId/secret`);
  return { account, keyId: body.keyId, secret: body.secret };
}

async function login(sessions: SessionServiceClient, key: ApiKey, timeoutMs: number): Promise<{ token: string; account: string }> {
  try {
    return await new Promise((resolve, reject) =>
      sessions.login({ apiKeyId: key.keyId, apiKeySecret: key.secret }, new Metadata(), { deadline: deadline(timeoutMs) }, (err, r) => (err ? reject(err) : resolve(r))),
    );
  } catch (err) {
    const e = err as ServiceError;
    const code = codeName(e.code ?? GrpcStatus.UNKNOWN);
    if (e.code === GrpcStatus.UNAUTHENTICATED || e.code === GrpcStatus.INVALID_ARGUMENT) {
      throw new SimulationSetupError('api-keys', `login with API key ${JSON.stringify(key.keyId.slice(0, 40))}${key.account ? ` (account ${key.account})` : ''} was refused: ${code} ${oneLine(e.details ?? '')}`);
    }
    throw new SimulationSetupError('target', `login failed: ${code} ${oneLine(e.details ?? e.message)}`);
  }
}

/** In parallel, at most `width` at a time, in order. */
async function mapLimited<T, R>(items: readonly T[], width: number, fn: (t: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

export async function startGrpcSimulation(opts: GrpcSimulationOptions): Promise<SimulationHandle> {
  validate(opts);
  const setupTimeoutMs = opts.setupTimeoutMs ?? 5000;
  const available = await listInstruments(opts.target, setupTimeoutMs);
  const byName = new Map(available.map((i) => [i.symbol, i]));
  const instruments = opts.pairs.map((p) => {
    const i = byName.get(p);
    if (i === undefined) throw new SimulationSetupError('pairs', `unknown pair ${JSON.stringify(p.slice(0, 30))}: ${opts.target} trades ${available.map((a) => a.symbol).join(', ') || 'nothing'}`);
    return i;
  });
  const scale = opts.scale ?? defaultScale(opts.ratePerSecond, opts.pairs.length);
  const startedAt = new Date();
  const prefix = opts.clientOrderIdPrefix ?? `s${opts.seed}-${startedAt.getTime().toString(36)}`;
  const population = new Population({ seed: opts.seed, instruments, accountPrefix: opts.accountPrefix ?? `sim${opts.seed}-`, clientOrderIdPrefix: prefix, scale });
  const agents = population.agents;
  if (opts.apiKeys !== undefined && opts.apiKeys.length < agents.length) {
    throw new SimulationSetupError('api-keys', `${agents.length} agents need ${agents.length} API keys, the file has ${opts.apiKeys.length}`);
  }
  const keys = opts.apiKeys?.slice(0, agents.length) ?? (await mapLimited(agents, 8, (a) => createApiKey(opts.adminUrl, opts.adminToken, a.name, setupTimeoutMs)));
  const sessions = new SessionServiceClient(opts.target, credentials.createInsecure());
  let logins: { token: string; account: string }[];
  try {
    logins = await mapLimited(keys, 8, (k) => login(sessions, k, setupTimeoutMs));
  } catch (err) {
    sessions.close();
    throw err;
  }
  const seenAccounts = new Set<string>();
  for (const l of logins) {
    if (seenAccounts.has(l.account)) {
      sessions.close();
      throw new SimulationSetupError('api-keys', `two API keys log into the same account ${l.account}: every agent needs its own account`);
    }
    seenAccounts.add(l.account);
  }

  const codecs = new Map(instruments.map((i) => [i.symbol, new PairCodec(i)]));
  const instrumentMap = new Map(instruments.map((i) => [i.symbol, i]));
  const ledger = new LedgerRecorder(instrumentMap);
  const stats = new RunStatistics(instruments, new Map([...population.fairValues].map(([p, f]) => [p, f.startTicks])));
  // One client per replica; a single service is a cluster of one.
  const router = opts.cluster === undefined ? undefined : new RoutingClient({ targets: opts.cluster.targets, adminUrls: opts.cluster.adminUrls, ...(opts.adminToken !== undefined ? { adminToken: opts.adminToken } : {}) });
  if (router !== undefined && !(await router.refresh())) {
    sessions.close();
    throw new SimulationSetupError('admin', `no admin API of ${opts.cluster!.adminUrls.join(', ')} answered /admin/cluster/status`);
  }
  const ordersClients = new Map<string, OrdersServiceClient>();
  const marketClients = new Map<string, MarketDataServiceClient>();
  const ownerOf = (pair: string): string => router?.ownerOf(pair) ?? opts.target;
  const ordersAt = (t: string): OrdersServiceClient => ordersClients.get(t) ?? ordersClients.set(t, new OrdersServiceClient(t, credentials.createInsecure())).get(t)!;
  const marketDataAt = (t: string): MarketDataServiceClient => marketClients.get(t) ?? marketClients.set(t, new MarketDataServiceClient(t, credentials.createInsecure())).get(t)!;
  /** Cluster: re-reads the owners (at most every RECONNECT_MS) and ends the streams of agents whose pair moved. */
  let rerouting = false;
  const reroute = (): void => {
    if (router === undefined || rerouting || !running) return;
    rerouting = true;
    void router.refresh().finally(() => {
      const t = setTimeout(() => {
        timers.delete(t);
        rerouting = false;
      }, RECONNECT_MS);
      timers.add(t);
      for (const link of links) if (link.stream !== undefined && ownerOf(link.agent.pair) !== link.target) link.stream.cancel();
    });
  };
  const links: AgentLink[] = agents.map((agent, index) => ({
    agent,
    index,
    key: keys[index]!,
    account: logins[index]!.account,
    token: logins[index]!.token,
    stream: undefined,
    target: opts.target,
    connected: false,
    inFlight: new Map(),
    sides: new Map(),
    nextCorrelation: 0,
    batch: [],
  }));
  const linkOf = new Map(links.map((l) => [l.agent, l]));
  const maxInFlight = opts.maxInFlight ?? 20_000;
  const rate = opts.ratePerSecond;
  const totalSlots = opts.durationMs === undefined ? Number.POSITIVE_INFINITY : Math.floor((opts.durationMs * rate) / 1000);
  let running = true;
  let inFlight = 0;
  let slot = 0;
  let trades = 0;
  const timers = new Set<NodeJS.Timeout>();
  let t0 = performance.now();
  const elapsedUs = () => (performance.now() - t0) * 1000;

  const answer = (link: AgentLink, p: Pending, r: SimResult, nowUs: number): void => {
    inFlight--;
    link.agent.onResult(r);
    ledger.onResult(link.account, r);
    stats.onResult(r.code, nowUs - p.intendedUs, nowUs / 1000);
    const c = r.command;
    if (c.kind === 'submit' && (r.code !== 'OK' || r.order === undefined || isClosed(r.order.status))) link.sides.delete(c.clientOrderId);
    else if (r.order !== undefined && isClosed(r.order.status)) link.sides.delete(c.clientOrderId);
  };

  const lose = (link: AgentLink, why: string): void => {
    for (const p of link.inFlight.values()) {
      inFlight--;
      link.agent.onResult({ command: p.cmd, code: 'NO_ANSWER', message: why, order: undefined });
      ledger.onNoAnswer(link.account, p.cmd, why);
      stats.onNoAnswer();
    }
    link.inFlight.clear();
  };

  const onFlow = (link: AgentLink, res: OrderFlowResponse): void => {
    const nowUs = elapsedUs();
    for (const m of res.messages) {
      const msg = m.message;
      if (msg === undefined) continue;
      if (msg.$case === 'event') {
        const e = msg.value;
        const codec = codecs.get(e.pair);
        if (codec === undefined) continue;
        const ev = codec.event(e, link.sides.get(e.clientOrderId));
        if (ev === undefined) continue;
        link.agent.onOrderEvent(ev);
        ledger.onEvent(link.account, ev);
        if (ev.type === 'fill' && ev.liquidity === 'taker') {
          trades++;
          population.addTrade({ pair: ev.pair, tradeId: ev.tradeId, price: ev.price, quantity: ev.quantity, takerSide: ev.side });
          stats.onTrade(ev.pair, nowUs / 1000, ev.price, ev.quantity, ev.side);
        }
        if (isClosed(ev.status)) link.sides.delete(ev.clientOrderId);
        continue;
      }
      const result = msg.value;
      const p = link.inFlight.get(result.correlationId);
      if (p === undefined) continue;
      link.inFlight.delete(result.correlationId);
      const codec = codecs.get(p.cmd.pair)!;
      const code = result.error === undefined ? 'OK' : codeName(result.error.code);
      if (result.error?.code === GrpcStatus.UNAVAILABLE) reroute(); // the pair may have moved
      const order = result.order === undefined ? undefined : codec.order(result.order);
      answer(link, p, { command: p.cmd, code, message: result.error?.message ?? '', order }, nowUs);
    }
  };

  const connect = (link: AgentLink): void => {
    if (!running) return;
    const md = new Metadata();
    md.set('authorization', `Bearer ${link.token}`);
    link.target = ownerOf(link.agent.pair);
    const stream = ordersAt(link.target).orderFlow(md);
    link.stream = stream;
    link.connected = true;
    let ended = false;
    const down = (why: string, code: number | undefined): void => {
      if (ended) return;
      ended = true;
      link.connected = false;
      link.stream = undefined;
      lose(link, why);
      if (!running) return;
      const t = setTimeout(async () => {
        timers.delete(t);
        if (!running) return;
        if (code === GrpcStatus.UNAUTHENTICATED) {
          try {
            const l = await login(sessions, link.key, setupTimeoutMs);
            link.token = l.token;
          } catch {
            // Still refused or unreachable: try again later.
            down2(link);
            return;
          }
        }
        connect(link);
      }, RECONNECT_MS);
      timers.add(t);
    };
    stream.on('data', (res: OrderFlowResponse) => onFlow(link, res));
    stream.on('error', (err: ServiceError) => {
      if (err.code === GrpcStatus.UNAVAILABLE) reroute();
      down(`stream ended: ${codeName(err.code)} ${oneLine(err.details ?? '')}`, err.code);
    });
    stream.on('end', () => down('stream ended by the server', undefined));
  };
  /** Retry a failed re-login after a pause. */
  const down2 = (link: AgentLink): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      if (!running) return;
      login(sessions, link.key, setupTimeoutMs).then(
        (l) => {
          link.token = l.token;
          connect(link);
        },
        () => down2(link),
      );
    }, RECONNECT_MS);
    timers.add(t);
  };

  /**
   * The market view: each pair's top of book polled with GetOrderBook (depth 1) every sampleEveryMs.
   * Not the delta stream: a client that cannot read every delta of a busy book falls behind by seconds
   * (seen at 5000/s on a loaded machine) and then acts on a stale book; a poll is never older than one
   * interval plus its round trip. Trades come from the agents' own taker fills instead (every trade in a
   * simulated pair has one of our agents as taker, so each is counted exactly once).
   */
  const polling = new Set<string>();
  const top = new Map<string, { bid: number | undefined; ask: number | undefined; bidQty: number; askQty: number }>();
  const poll = (): void => {
    for (const i of instruments) {
      const pair = i.symbol;
      if (polling.has(pair)) continue;
      polling.add(pair);
      const codec = codecs.get(pair)!;
      marketDataAt(ownerOf(pair)).getOrderBook({ pair, depth: 1 }, new Metadata(), { deadline: deadline(2000) }, (err, res) => {
        polling.delete(pair);
        if (err || res.book === undefined || !running) return;
        const b = res.book.bids[0];
        const a = res.book.asks[0];
        const t = { bid: b && codec.ticks(b.price), ask: a && codec.ticks(a.price), bidQty: b ? codec.lots(b.quantity) : 0, askQty: a ? codec.lots(a.quantity) : 0 };
        top.set(pair, t);
        const state = population.pairs.get(pair)!;
        state.bestBid = t.bid;
        state.bestAsk = t.ask;
      });
    }
  };

  const flush = (link: AgentLink): void => {
    const batch = link.batch;
    if (batch.length === 0) return;
    link.batch = [];
    for (let from = 0; from < batch.length; from += MAX_BATCH) {
      const part = batch.slice(from, from + MAX_BATCH);
      const commands = part.map((p) => {
        const id = (link.nextCorrelation++).toString(36);
        link.inFlight.set(id, p);
        return codecs.get(p.cmd.pair)!.command(p.cmd, id);
      });
      link.stream!.write({ commands });
    }
  };

  const sendDue = (): void => {
    if (!running) return;
    const nowUs = elapsedUs();
    const due = Math.min(totalSlots, Math.floor((nowUs * rate) / 1e6));
    const dirty = new Set<AgentLink>();
    let generated = 0;
    const out: SimCommand[] = [];
    while (slot < due && generated < MAX_PER_TICK) {
      if (inFlight >= maxInFlight) {
        stats.notSent += due - slot;
        slot = due;
        break;
      }
      const intendedUs = (slot * 1e6) / rate;
      out.length = 0;
      const agent = population.next(Math.floor(intendedUs / 1000), out);
      if (agent === undefined) {
        slot++;
        stats.idleSlots++;
        continue;
      }
      slot += out.length;
      generated += out.length;
      const link = linkOf.get(agent)!;
      for (const cmd of out) {
        if (!link.connected) {
          stats.notSent++;
          link.agent.onResult({ command: cmd, code: 'UNAVAILABLE', message: 'not sent: the stream is down', order: undefined });
          continue;
        }
        if (cmd.kind === 'submit') link.sides.set(cmd.clientOrderId, cmd.side);
        link.batch.push({ cmd, intendedUs });
        inFlight++;
        stats.onSent(cmd.kind);
      }
      dirty.add(link);
    }
    for (const link of dirty) if (link.connected) flush(link);
    if (slot >= totalSlots) void finish();
  };

  const sample = (): void => {
    const tMs = elapsedUs() / 1000;
    population.advanceTo(Math.floor(tMs));
    for (const i of instruments) {
      const t = top.get(i.symbol);
      if (t === undefined) continue;
      stats.onSample(i.symbol, { tMs, fair: population.pairs.get(i.symbol)!.fairValue, bid: t.bid, ask: t.ask, bidQty: t.bidQty, askQty: t.askQty });
    }
    poll();
  };

  let finishing: Promise<SimulationReport> | undefined;
  let resolveDone!: (r: SimulationReport) => void;
  let rejectDone!: (e: unknown) => void;
  const done = new Promise<SimulationReport>((res, rej) => {
    resolveDone = res;
    rejectDone = rej;
  });

  const finish = (): Promise<SimulationReport> => {
    if (finishing !== undefined) return finishing;
    finishing = (async () => {
      const sendEndedUs = Math.min(elapsedUs(), totalSlots === Number.POSITIVE_INFINITY ? elapsedUs() : (totalSlots * 1e6) / rate);
      for (const t of timers) clearInterval(t);
      timers.clear();
      const drainUntil = performance.now() + (opts.drainTimeoutMs ?? 5000);
      while (inFlight > 0 && performance.now() < drainUntil) await new Promise((r) => setTimeout(r, 5));
      // Events of resting orders filled by the last commands travel on the makers' own streams: let them land.
      await new Promise((r) => setTimeout(r, opts.settleMs ?? 250));
      running = false;
      sample();
      for (const link of links) {
        lose(link, 'no answer before the run stopped');
        link.stream?.end();
        link.stream?.cancel();
      }
      for (const c of ordersClients.values()) c.close();
      for (const c of marketClients.values()) c.close();
      router?.close();
      sessions.close();
      const report = stats.build(
        { driver: 'grpc', seed: opts.seed, pairs: opts.pairs, target: opts.target, startedAt: startedAt.toISOString(), durationMs: Math.round(sendEndedUs / 1000), ratePerSecond: rate },
        agents,
        new Map([...population.pairs].map(([p, s]) => [p, s.fairValue])),
        ledger.snapshot(),
      );
      return report;
    })();
    finishing.then(resolveDone, rejectDone);
    return finishing;
  };

  // Start: the market view and the streams first, then the clock.
  poll();
  for (const link of links) connect(link);
  t0 = performance.now();
  const sender = setInterval(sendDue, 1);
  timers.add(sender);
  const sampler = setInterval(sample, opts.sampleEveryMs ?? 100);
  timers.add(sampler);

  return {
    progress: () => ({
      elapsedMs: Math.round(elapsedUs() / 1000),
      sent: stats.sent,
      acknowledged: stats.acknowledged,
      failed: stats.failed,
      noAnswer: stats.noAnswer,
      notSent: stats.notSent,
      inFlight,
      errorsByCode: { ...stats.errorsByCode },
      trades,
      ledgerOrders: ledger.size,
      connectedAgents: links.filter((l) => l.connected).length,
      agents: links.length,
      ackLatencyP99Ms: stats.latencyPercentileMs(99),
    }),
    stop: () => finish(),
    done,
  };
}

