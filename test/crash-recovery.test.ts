// Crash recovery with a real kill: the real service process (server/main.ts) on the real PostgreSQL
// (a fresh schema), driven through gRPC by several accounts at once (pipelined OrderFlow streams and
// SubmitOrderBatch calls, every order with a client order id), is killed with SIGKILL at a random
// moment, restarted, and checked — several rounds, the load resuming on the recovered state each time:
// - every acknowledged order, fill and cancel is there (GetOrder by client order id, the orders table);
// - every order whose ack never arrived has a definite fate the client can read (found or NOT_FOUND);
// - nothing is applied twice (no client order id twice, fills add up to every order's filled quantity);
// - the recovered books, open orders and order states equal a replay of the journal from scratch
//   through a fresh LegacyBook, and the orders table (the projection) agrees with that replay.
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, describe, expect, it } from 'vitest';
import { orderToWire, snapshotToWire } from '../server/adapters/grpc/codec.ts';
import { MarketDataServiceClient } from '../server/adapters/grpc/generated/trading/v1/market_data.ts';
import { OrdersServiceClient, type OrderCommand, type OrderFlowResponse } from '../server/adapters/grpc/generated/trading/v1/orders.ts';
import { OrderStatus, type Order } from '../server/adapters/grpc/generated/trading/v1/types.ts';
import type { PostgresPersistence } from '../server/adapters/postgres/postgres-persistence.ts';
import type { TestSchema } from '../server/adapters/postgres/test-schema.ts';
import { BOOK_IMPLEMENTATIONS } from '../server/core/book-implementations.ts';
import type { Command } from '../server/core/commands.ts';
import { DEFAULT_INSTRUMENTS, compileInstrument } from '../server/core/instrument.ts';
import { AccountIds } from '../server/pairs/account-ids.ts';
import { singleBook } from '../server/pairs/serving-book.ts';
import { TradingPair } from '../server/pairs/trading-pair.ts';
import { ManualClock } from '../server/ports/clock.ts';
import { limitOrder } from './grpc-harness.ts';
import { openTestPersistence, TEST_DATABASE_URL, testSchema } from './support/service-database.ts';

const ROOT = resolve(import.meta.dirname, '..');
const ROUNDS = Number(process.env['CRASH_ROUNDS'] ?? 4);
const PAIR = 'BTCUSDT';
const INSTRUMENT = compileInstrument(DEFAULT_INSTRUMENTS.find((i) => i.symbol === PAIR)!);
const FLOW_ACCOUNTS = ['flow-a', 'flow-b', 'flow-c'];
const BATCH_ACCOUNT = 'batch-d';
const ACCOUNTS = [...FLOW_ACCOUNTS, BATCH_ACCOUNT];

/** mulberry32: the seed is printed, so a failing run replays the same client decisions. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const SEED = Number(process.env['CRASH_SEED'] ?? Date.now() % 1_000_000);

function md(account: string): Metadata {
  const m = new Metadata();
  m.set('x-account-id', account);
  return m;
}

// ---- the service process ----

interface Proc {
  child: ChildProcess;
  grpc: string;
  admin: string;
  output: string[];
}

let schema: TestSchema;

async function startProcess(): Promise<Proc> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: TEST_DATABASE_URL,
      DATABASE_SCHEMA: schema.name,
      GRPC_HOST: '127.0.0.1',
      GRPC_PORT: '0',
      ADMIN_HOST: '127.0.0.1',
      ADMIN_PORT: '0',
      AUTH_MODE: 'header',
      RATE_LIMIT_PER_SECOND: '10000000', // the session store's limits are not what this test is about
      RATE_LIMIT_BURST: '1000000000',
      PERSISTENCE: 'postgres',
      // Idempotency records outlive a process in Redis (.ci/run sets REDIS_URL): scope them to this
      // campaign's database, or a client order id remembered by an earlier run answers with that run's order.
      REDIS_PREFIX: `${schema.name}:`,
      SNAPSHOT_EVERY_COMMANDS: '700', // snapshots happen mid-run: recovery starts from one plus the journal after it
      SNAPSHOT_INTERVAL_MS: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const ports = await new Promise<{ grpc: string; admin: string }>((resolvePorts, reject) => {
    const timer = setTimeout(() => reject(new Error(`service did not start within 60 s:\n${output.join('')}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output.push(chunk.toString());
      const m = /listening for gRPC on (127\.0\.0\.1:\d+); admin HTTP on (http:\/\/127\.0\.0\.1:\d+)/.exec(output.join(''));
      if (m) {
        clearTimeout(timer);
        resolvePorts({ grpc: m[1]!, admin: m[2]! });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (c: Buffer) => output.push(c.toString()));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`service exited (${code ?? signal}) before listening:\n${output.join('')}`));
    });
  });
  return { child, output, ...ports };
}

async function kill9(p: Proc): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  const exited = new Promise((r) => p.child.once('exit', r));
  p.child.kill('SIGKILL');
  await exited;
}

// ---- the client side's knowledge ----

interface Submitted {
  account: string;
  cid: string;
  /** Ack received: the order id the service gave (undefined: no ack, fate unknown to the client). */
  ackedOrderId?: string;
  /** The engine refused it (acked as a rejection: it created no order). */
  refused?: boolean;
  /** A cancel of it was acknowledged. */
  cancelAcked?: boolean;
  /** Unacknowledged and found absent after a restart: it must never appear later. */
  absentAfterRound?: number;
  /** Unacknowledged, and its fate read after a restart (found with an id, or absent). */
  fateRead?: 'found' | 'absent';
}

const submitted = new Map<string, Submitted>();
let acks = 0;
let unknownFates = 0;

/** One account's pipelined OrderFlow: batches of mixed commands, up to 3 messages in flight. */
function driveFlow(address: string, account: string, round: number, rnd: () => number): { stop: () => Promise<void> } {
  const client = new OrdersServiceClient(address, credentials.createInsecure());
  const stream = client.orderFlow(md(account));
  let stopped = false;
  let inFlight = 0;
  let n = 0;
  /** correlation id → what the command was. */
  const pending = new Map<string, { kind: 'submit' | 'cancel' | 'replace'; cid: string }>();
  const openCids = (): string[] => [...submitted.values()].filter((s) => s.account === account && s.ackedOrderId !== undefined && !s.cancelAcked).map((s) => s.cid);

  const sendOne = (): void => {
    const commands: OrderCommand[] = [];
    for (let i = 0; i < 10; i++) {
      const r = rnd();
      const open = openCids();
      const corr = `${account}-${round}-${n++}`;
      if (r < 0.7 || open.length === 0) {
        const cid = `${account}-r${round}-${n}`;
        submitted.set(cid, { account, cid });
        const side = rnd() < 0.5 ? 'buy' : 'sell';
        const price = (side === 'buy' ? 95 + Math.floor(rnd() * 60) / 10 : 98.5 + Math.floor(rnd() * 60) / 10).toFixed(2);
        const qty = (0.001 * (1 + Math.floor(rnd() * 50))).toFixed(5);
        commands.push({ correlationId: corr, command: { $case: 'submit', value: limitOrder(side, price, qty, { pair: PAIR, clientOrderId: cid }) } });
        pending.set(corr, { kind: 'submit', cid });
      } else {
        const cid = open[Math.floor(rnd() * open.length)]!;
        if (r < 0.9) {
          commands.push({ correlationId: corr, command: { $case: 'cancel', value: { pair: PAIR, order: { $case: 'clientOrderId', value: cid } } } });
          pending.set(corr, { kind: 'cancel', cid });
        } else {
          commands.push({ correlationId: corr, command: { $case: 'replace', value: { pair: PAIR, order: { $case: 'clientOrderId', value: cid }, price: (96 + Math.floor(rnd() * 80) / 10).toFixed(2), quantity: '' } } });
          pending.set(corr, { kind: 'replace', cid });
        }
      }
    }
    inFlight++;
    stream.write({ commands });
  };
  const fill = (): void => {
    while (!stopped && inFlight < 3) sendOne();
  };
  stream.on('data', (r: OrderFlowResponse) => {
    let results = 0;
    for (const m of r.messages) {
      if (m.message?.$case !== 'result') continue;
      results++;
      const res = m.message.value;
      const p = pending.get(res.correlationId);
      if (p === undefined) continue;
      pending.delete(res.correlationId);
      const s = submitted.get(p.cid)!;
      if (res.error !== undefined && res.error.code === status.UNAVAILABLE) continue; // not acknowledged
      acks++;
      if (p.kind === 'submit') {
        if (res.error === undefined) s.ackedOrderId = res.order!.orderId;
        else s.refused = true;
      } else if (p.kind === 'cancel' && res.error === undefined) {
        s.cancelAcked = true;
      }
    }
    if (results > 0) {
      inFlight--;
      fill();
    }
  });
  const ended = new Promise<void>((r) => {
    stream.on('error', () => r());
    stream.on('end', () => r());
  });
  fill();
  return {
    stop: async () => {
      stopped = true;
      await Promise.race([ended, new Promise((r) => setTimeout(r, 2_000))]);
      client.close();
    },
  };
}

/** SubmitOrderBatch calls, one after another. */
function driveBatches(address: string, account: string, round: number, rnd: () => number): { stop: () => Promise<void> } {
  const client = new OrdersServiceClient(address, credentials.createInsecure());
  let stopped = false;
  let n = 0;
  const loop = (async () => {
    while (!stopped) {
      const cids: string[] = [];
      const orders = Array.from({ length: 20 }, () => {
        const cid = `${account}-r${round}-${n++}`;
        cids.push(cid);
        submitted.set(cid, { account, cid });
        const side = rnd() < 0.5 ? 'buy' : 'sell';
        const price = (side === 'buy' ? 96 + Math.floor(rnd() * 50) / 10 : 99 + Math.floor(rnd() * 50) / 10).toFixed(2);
        return limitOrder(side, price, (0.001 * (1 + Math.floor(rnd() * 30))).toFixed(5), { pair: PAIR, clientOrderId: cid });
      });
      try {
        const res = await new Promise<any>((ok, fail) => client.submitOrderBatch({ orders }, md(account), (e, r) => (e ? fail(e) : ok(r))));
        res.results.forEach((item: any, i: number) => {
          const s = submitted.get(cids[i]!)!;
          if (item.error?.code === status.UNAVAILABLE) return;
          acks++;
          if (item.error === undefined) s.ackedOrderId = item.order.orderId;
          else s.refused = true;
        });
      } catch {
        return; // the process died: these are unacknowledged
      }
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await Promise.race([loop, new Promise((r) => setTimeout(r, 2_000))]);
      client.close();
    },
  };
}

// ---- checks ----

/**
 * Reads are idempotent, so a transport hiccup (UNAVAILABLE, e.g. a connection reset while the new process
 * settles) is retried a few times as any client would; a persistent UNAVAILABLE still fails the test.
 */
async function getOrder(client: OrdersServiceClient, account: string, cid: string): Promise<Order | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      const r = await new Promise<any>((ok, fail) => client.getOrder({ pair: PAIR, order: { $case: 'clientOrderId', value: cid } }, md(account), (e, x) => (e ? fail(e) : ok(x))));
      return r.order;
    } catch (err) {
      const code = (err as ServiceError).code;
      if (code === status.NOT_FOUND) return undefined;
      if (code !== status.UNAVAILABLE || attempt >= 5) throw err;
      await new Promise((r) => setTimeout(r, 100 * attempt));
    }
  }
}

/** A replay of the whole journal from scratch through a fresh LegacyBook (no snapshot involved). */
async function replayFromScratch(db: PostgresPersistence): Promise<{ pair: TradingPair; accounts: AccountIds; entries: number }> {
  const accounts = new AccountIds();
  const pair = new TradingPair({ instrument: INSTRUMENT, createBook: singleBook(BOOK_IMPLEMENTATIONS.legacy), clock: new ManualClock(0), accountName: (id) => accounts.nameOf(id) ?? '' });
  let entries = 0;
  for await (const batch of db.recovery.entriesAfter(PAIR, 0, 10_000)) {
    for (const r of batch) {
      pair.replay(r.sequence, { ...r.command, account: accounts.intern(r.account) } as Command, r.clientOrderId, r.timestampMs);
      entries++;
    }
  }
  return { pair, accounts, entries };
}

async function verify(proc: Proc, db: PostgresPersistence, round: number): Promise<void> {
  const client = new OrdersServiceClient(proc.grpc, credentials.createInsecure());
  const marketData = new MarketDataServiceClient(proc.grpc, credentials.createInsecure());
  try {
    // 1. Every acknowledged order is there with its id; every acknowledged cancel left it cancelled.
    //    Every unacknowledged one has a definite fate the client can read.
    let found = 0;
    let lost = 0;
    for (const s of submitted.values()) {
      const o = await getOrder(client, s.account, s.cid);
      if (s.ackedOrderId !== undefined) {
        expect(o, `acknowledged order ${s.cid} (id ${s.ackedOrderId}) after round ${round}, seed ${SEED}`).toBeDefined();
        expect(o!.orderId).toBe(s.ackedOrderId);
        if (s.cancelAcked) expect(o!.status, `cancel of ${s.cid} was acknowledged`).toBe(OrderStatus.ORDER_STATUS_CANCELLED);
      } else if (s.absentAfterRound !== undefined) {
        expect(o, `${s.cid} was absent after round ${s.absentAfterRound}; it must never appear (seed ${SEED})`).toBeUndefined();
      } else if (!s.refused) {
        if (o === undefined) {
          lost++;
          s.absentAfterRound = round;
          s.fateRead = 'absent';
        } else {
          found++;
          s.fateRead = 'found';
          s.ackedOrderId = o.orderId; // the client now knows its fate: from here on it counts as known
        }
      }
    }
    unknownFates += found + lost;

    // 2. Nothing twice: one order per client order id; fills add up; the journal is gap-free.
    const dup = await db.pool.query(`SELECT account, client_order_id, count(*) FROM orders WHERE pair = $1 AND client_order_id <> '' GROUP BY 1, 2 HAVING count(*) > 1`, [PAIR]);
    expect(dup.rows).toEqual([]);
    const fills = await db.pool.query(`
      SELECT o.order_id, o.filled_lots::bigint AS filled,
             COALESCE((SELECT sum(quantity_lots) FROM trades t WHERE t.pair = o.pair AND (t.maker_order_id = o.order_id OR t.taker_order_id = o.order_id)), 0)::bigint AS traded
      FROM orders o WHERE o.pair = $1`, [PAIR]);
    const mismatched = fills.rows.filter((r) => r.filled !== r.traded);
    expect(mismatched, 'filled quantity equals the sum of the order\'s trades').toEqual([]);
    const journal = await db.pool.query<{ n: string; max: string }>('SELECT count(*) AS n, max(sequence) AS max FROM journal WHERE pair = $1', [PAIR]);
    expect(journal.rows[0]!.n).toBe(journal.rows[0]!.max);

    // 3. The recovered service equals a replay of the journal from scratch.
    const { pair: replayed, accounts, entries } = await replayFromScratch(db);
    expect(entries).toBe(Number(journal.rows[0]!.n));
    const book = await new Promise<any>((ok, fail) => marketData.getOrderBook({ pair: PAIR, depth: 0 }, (e, r) => (e ? fail(e) : ok(r))));
    expect(book.book).toEqual(snapshotToWire(INSTRUMENT, replayed.snapshot(0)));
    for (const account of ACCOUNTS) {
      const open = await new Promise<any>((ok, fail) => client.listOpenOrders({ pair: PAIR, page: undefined }, md(account), (e, r) => (e ? fail(e) : ok(r))));
      const id = accounts.find(account);
      const expected = id === undefined ? [] : replayed.listOpenOrders(id).map((o) => orderToWire(INSTRUMENT, o));
      expect(open.orders.map((o: Order) => ({ ...o, account: '' })), `open orders of ${account}`).toEqual(expected.map((o) => ({ ...o, account: '' })));
    }
    const status = (await (await fetch(`${proc.admin}/admin/persistence/status`)).json()) as any;
    const pairStatus = status.pairs.find((p: any) => p.pair === PAIR);
    expect(pairStatus.applied_sequence).toBe(entries);
    expect(pairStatus.stopped).toBeNull();

    // 4. The orders table (written in the journal's transactions) agrees with the replay.
    const rows = await db.pool.query<{ order_id: string; account: string; status: string; filled_lots: string; remaining_lots: string }>(
      'SELECT order_id, account, status, filled_lots, remaining_lots FROM orders WHERE pair = $1 AND status <> $2',
      [PAIR, 'rejected'],
    );
    for (const r of rows.rows) {
      const o = replayed.getOrder(accounts.find(r.account)!, Number(r.order_id));
      if (o === undefined) continue; // evicted from the retained closed orders
      expect({ status: r.status, filled: Number(r.filled_lots), remaining: Number(r.remaining_lots) }).toEqual({ status: o.status, filled: o.filled, remaining: o.remaining });
    }
    console.log(
      `crash round ${round} (seed ${SEED}): journal ${entries} commands; recovery ${JSON.stringify(status.recovery.pairs.find((p: any) => p.pair === PAIR))}; ` +
        `${[...submitted.values()].filter((s) => s.ackedOrderId !== undefined).length} orders known, unacked fates: ${found} applied, ${lost} not applied`,
    );
  } finally {
    client.close();
    marketData.close();
  }
}

// ---- the test ----

let db: PostgresPersistence;
let proc: Proc | undefined;

/** Every attempt starts from nothing: a fresh schema, no process, no client-side record. */
async function freshCampaign(): Promise<void> {
  if (proc !== undefined) await kill9(proc);
  proc = undefined;
  await db?.close();
  await schema?.drop();
  submitted.clear();
  acks = 0;
  unknownFates = 0;
  schema = await testSchema('ts_crash');
  db = await openTestPersistence(schema);
}

afterAll(async () => {
  if (proc !== undefined) await kill9(proc);
  await db?.close();
  await schema?.drop();
});

describe('kill -9 under load, restart, verify', () => {
  it(`keeps every acknowledged order, fill and cancel across ${ROUNDS} random kills, and recovers exactly`, { timeout: 240_000 }, async () => {
    await freshCampaign();
    const rnd = random(SEED);
    proc = await startProcess();
    for (let round = 1; round <= ROUNDS; round++) {
      const drivers = [
        ...FLOW_ACCOUNTS.map((a, i) => driveFlow(proc!.grpc, a, round, random(SEED * 31 + round * 7 + i))),
        driveBatches(proc.grpc, BATCH_ACCOUNT, round, random(SEED * 17 + round)),
      ];
      const acksBefore = acks;
      // Kill at a random moment once the load is going.
      await new Promise((r) => setTimeout(r, 400 + Math.floor(rnd() * 1_200)));
      await kill9(proc);
      await Promise.all(drivers.map((d) => d.stop()));
      expect(acks - acksBefore, `round ${round} acknowledged something before the kill`).toBeGreaterThan(0);
      proc = await startProcess();
      try {
        await verify(proc, db, round);
      } catch (err) {
        // The service's own words help more than a client-side ECONNRESET.
        const p = proc;
        const state = p.child.exitCode !== null || p.child.signalCode !== null ? `exited (${p.child.exitCode ?? p.child.signalCode})` : 'running';
        throw new Error(`round ${round} (seed ${SEED}) failed; service ${state}; its output:\n${p.output.join('').slice(-4000)}`, { cause: err });
      }
    }
    // Every order whose ack never arrived got a definite fate the client read after a restart (found with
    // its id, or absent for good): none is left undetermined, and each one counted was read exactly so.
    const undetermined = [...submitted.values()].filter((s) => s.ackedOrderId === undefined && !s.refused && s.absentAfterRound === undefined);
    expect(undetermined.map((s) => s.cid)).toEqual([]);
    expect([...submitted.values()].filter((s) => s.fateRead !== undefined)).toHaveLength(unknownFates);
  });
});
