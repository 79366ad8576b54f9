import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CancelReason } from '../core/reasons.ts';
import { OrderType, Side, StpMode, TimeInForce, type AccountId } from '../core/types.ts';
import { OrderRegistry, type NewOrderFields } from './order-registry.ts';

const ACCOUNTS = [1, 2, 3] as AccountId[];
const CLIENT_IDS = ['', 'a', 'b', 'c'];

type Op =
  | { kind: 'new'; account: number; clientId: number; quantity: number }
  | { kind: 'fill'; pick: number; quantity: number }
  | { kind: 'cancel'; pick: number }
  | { kind: 'replace'; pick: number; quantity: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('new' as const), account: fc.nat(ACCOUNTS.length - 1), clientId: fc.nat(CLIENT_IDS.length - 1), quantity: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant('fill' as const), pick: fc.nat(), quantity: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('replace' as const), pick: fc.nat(), quantity: fc.integer({ min: 1, max: 4 }) }),
);

const fields = (orderId: number, account: AccountId, clientOrderId: string, quantity: number): NewOrderFields => ({
  orderId,
  account,
  clientOrderId,
  side: Side.Buy,
  type: OrderType.Limit,
  tif: TimeInForce.GTC,
  postOnly: false,
  stp: StpMode.CancelTaker,
  price: 100,
  quantity,
});

/** Everything a query can read, for every account and client order id of the test. */
function lookups(r: OrderRegistry): unknown {
  return ACCOUNTS.map((a) => ({
    open: r.listOpen(a).map((o) => o.orderId),
    openCount: r.openCountOf(a),
    closedCount: r.closedCountOf(a),
    forgotten: CLIENT_IDS.map((c) => r.mayHaveForgotten(a, c)),
    byClientId: CLIENT_IDS.map((c) => [r.isClientOrderIdUsed(a, c), r.findByClientOrderId(a, c)?.orderId]),
  }));
}

/**
 * Applies `ops` to `registries` alike, as a pair would (trimClosed between commands). A new order's
 * client order id is dropped when `oracle` says it is in use, as submit refuses one in use.
 */
function runner(oracle: OrderRegistry, registries: readonly OrderRegistry[]): (ops: readonly Op[]) => void {
  let nextId = 0;
  const open: number[] = [];
  let sequence = 0;
  return (ops) => {
  for (const o of ops) {
    for (const r of registries) r.trimClosed();
    sequence++;
    if (o.kind === 'new') {
      const account = ACCOUNTS[o.account]!;
      let clientOrderId = CLIENT_IDS[o.clientId]!;
      if (clientOrderId !== '' && oracle.isClientOrderIdUsed(account, clientOrderId)) clientOrderId = '';
      const id = ++nextId;
      for (const r of registries) r.accepted(fields(id, account, clientOrderId, o.quantity), sequence, sequence);
      open.push(id);
      continue;
    }
    if (open.length === 0) continue;
    const i = o.pick % open.length;
    const id = open[i]!;
    const remaining = oracle.find(id)!.remaining;
    let closes = false;
    for (const r of registries) {
      if (o.kind === 'fill') {
        const q = Math.min(o.quantity, remaining);
        r.filled(id, q, remaining - q, sequence, sequence);
        closes = remaining - q === 0;
      } else if (o.kind === 'cancel') {
        r.cancelled(id, remaining, CancelReason.UserRequested, sequence, sequence);
        closes = true;
      } else {
        r.replaced(id, 101, o.quantity, sequence, sequence);
      }
    }
    if (closes) open.splice(i, 1);
  }
  for (const r of registries) r.trimClosed();
  };
}

describe('OrderRegistry lookups built on first use', () => {
  it('answer exactly as lookups maintained from the start, whenever they are first read', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), fc.nat(120), (ops, readAt) => {
        const options = { maxClosedOrders: 5, maxClosedOrdersPerAccount: 3, forgottenFilterBits: 1024 };
        // eager: read before anything happened, so its lookups are maintained all along (the live path).
        const eager = new OrderRegistry(options);
        expect(lookups(eager)).toEqual(lookups(new OrderRegistry(options)));
        // replayed: never read until the end (a replay from the journal's start).
        const replayed = new OrderRegistry(options);
        // midway: first read after `readAt` commands, then maintained.
        const midway = new OrderRegistry(options);
        const run = runner(eager, [eager, replayed, midway]);
        run(ops.slice(0, readAt));
        lookups(midway);
        run(ops.slice(readAt));
        expect(lookups(replayed)).toEqual(lookups(eager));
        expect(lookups(midway)).toEqual(lookups(eager));
        // A restore from the eager registry's retained orders answers the same too.
        const restored = new OrderRegistry(options);
        const { open, closed } = eager.retained();
        restored.restore(open.map((o) => ({ ...o })), closed.map((o) => ({ ...o })), eager.forgottenState());
        expect(lookups(restored)).toEqual(lookups(eager));
        // Without the filter (a snapshot written before it), every client order id may have been forgotten.
        const unknowing = new OrderRegistry(options);
        unknowing.restore(open.map((o) => ({ ...o })), closed.map((o) => ({ ...o })), undefined);
        const expected = lookups(eager) as { forgotten: boolean[] }[];
        expect(lookups(unknowing)).toEqual(expected.map((a) => ({ ...a, forgotten: CLIENT_IDS.map(() => true) })));
        expect(unknowing.forgottenState()).toBeUndefined();
        // No filter at all (in memory: nothing asks): every id may have been forgotten, nothing to snapshot.
        const filterless = new OrderRegistry({ ...options, forgottenFilterBits: 0 });
        filterless.restore(open.map((o) => ({ ...o })), closed.map((o) => ({ ...o })), eager.forgottenState());
        expect(lookups(filterless)).toEqual(expected.map((a) => ({ ...a, forgotten: CLIENT_IDS.map(() => true) })));
        expect(filterless.forgottenState()).toBeUndefined();
      }),
      { numRuns: 400 },
    );
  });

  it('finds a reused client order id at its newest order once the older one is forgotten', () => {
    const r = new OrderRegistry({ maxClosedOrders: 1, maxClosedOrdersPerAccount: 1 });
    const a = ACCOUNTS[0]!;
    r.accepted(fields(1, a, 'x', 1), 1, 1);
    r.cancelled(1, 1, CancelReason.UserRequested, 2, 2);
    r.trimClosed();
    r.accepted(fields(2, a, '', 1), 3, 3);
    r.cancelled(2, 1, CancelReason.UserRequested, 4, 4);
    r.trimClosed(); // order 1 is forgotten: 'x' is free again
    r.accepted(fields(3, a, 'x', 1), 5, 5);
    expect(r.findByClientOrderId(a, 'x')?.orderId).toBe(3);
    expect(r.listOpen(a).map((o) => o.orderId)).toEqual([3]);
    expect(r.mayHaveForgotten(a, 'x')).toBe(true);
  });

  it('says a client order id may have been forgotten for every evicted order, and not for ids never evicted', () => {
    const r = new OrderRegistry({ maxClosedOrders: 100, maxClosedOrdersPerAccount: 10 });
    const [a, b] = ACCOUNTS as [AccountId, AccountId];
    for (let i = 1; i <= 500; i++) {
      r.accepted(fields(i, a, `a-${i}`, 1), 2 * i, 2 * i);
      r.cancelled(i, 1, CancelReason.UserRequested, 2 * i + 1, 2 * i + 1);
      r.trimClosed();
    }
    // 490 evicted, 10 retained: every evicted id may have been forgotten; the retained ones the registry still finds.
    for (let i = 1; i <= 490; i++) expect(r.mayHaveForgotten(a, `a-${i}`)).toBe(true);
    for (let i = 491; i <= 500; i++) expect(r.findByClientOrderId(a, `a-${i}`)?.orderId).toBe(i);
    let falsePositives = 0;
    for (let i = 1; i <= 1000; i++) if (r.mayHaveForgotten(a, `new-${i}`) || r.mayHaveForgotten(b, `a-${i}`)) falsePositives++;
    expect(falsePositives).toBe(0); // 490 ids in 2^23 bits: a false positive is about 1 in 10^20
  });
});
