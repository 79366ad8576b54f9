/**
 * fast-check generators of command sequences for the property tests, biased towards the cases that
 * break books: self-trades (three accounts), cancels and replaces of unknown or already filled ids,
 * minimum and huge quantities, prices at and just outside the band edges, invalid fields.
 */
import fc from 'fast-check';
import { CommandKind, type Command } from '../../server/core/commands.ts';
import { OrderType, TimeInForce } from '../../server/core/types.ts';
import { TEST_INSTRUMENT } from './book-fixtures.ts';

const { minPriceTicks: MIN_P, maxPriceTicks: MAX_P, maxQuantityLots: MAX_Q } = TEST_INSTRUMENT;
const MID = 100;

/** Mostly a tight range around the middle (so orders meet), sometimes the band edges or beyond. */
const price = fc.oneof(
  { weight: 20, arbitrary: fc.integer({ min: MID - 6, max: MID + 6 }) },
  { weight: 2, arbitrary: fc.constantFrom(MIN_P, MIN_P + 1, MAX_P - 1, MAX_P) },
  { weight: 1, arbitrary: fc.constantFrom(0, -1, MAX_P + 1, 1.5, Number.NaN) },
);

const quantity = fc.oneof(
  { weight: 20, arbitrary: fc.integer({ min: 1, max: 12 }) },
  { weight: 2, arbitrary: fc.constantFrom(1, MAX_Q, MAX_Q - 1, 500_000) },
  { weight: 1, arbitrary: fc.constantFrom(0, -3, MAX_Q + 1, 2.5) },
);

const account = fc.integer({ min: 1, max: 3 });
/** Whether a cancel or replace comes from the order's owner (mostly) or from another account. */
const owner = fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) });
const side = fc.oneof({ weight: 30, arbitrary: fc.constantFrom(0, 1) }, { weight: 1, arbitrary: fc.constant(2) });
const stp = fc.oneof({ weight: 30, arbitrary: fc.integer({ min: 0, max: 4 }) }, { weight: 1, arbitrary: fc.constant(9) });

/** An order reference: usually an id issued earlier in the sequence (maybe filled or cancelled by now), sometimes unknown. */
const ref = fc.oneof({ weight: 8, arbitrary: fc.nat().map((n) => ({ issued: n })) }, { weight: 1, arbitrary: fc.constantFrom({ raw: 999_999 }, { raw: 0 }, { raw: -5 }) });

type Ref = { issued: number } | { raw: number };

type Abstract =
  | { t: 'limit'; account: number; side: number; price: number; quantity: number; tif: number; postOnly: boolean; stp: number }
  | { t: 'market'; account: number; side: number; quantity: number; tif: number; stp: number; price: number }
  | { t: 'cancel'; ref: Ref; account: number; owner: boolean }
  | { t: 'replace'; ref: Ref; account: number; owner: boolean; price: number; quantity: number; priceDelta: number; keepPrice: boolean }
  | { t: 'cancelAll'; account: number; side: number | undefined }
  | { t: 'duplicate'; ref: Ref };

const abstractCommand: fc.Arbitrary<Abstract> = fc.oneof(
  {
    weight: 36,
    arbitrary: fc.record({
      t: fc.constant('limit' as const),
      account,
      side,
      price,
      quantity,
      tif: fc.oneof({ weight: 60, arbitrary: fc.constant(TimeInForce.GTC) }, { weight: 10, arbitrary: fc.constantFrom(TimeInForce.IOC, TimeInForce.FOK) }, { weight: 1, arbitrary: fc.constant(7) }),
      postOnly: fc.oneof({ weight: 5, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      stp,
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('market' as const),
      account,
      side,
      quantity,
      tif: fc.oneof({ weight: 5, arbitrary: fc.constantFrom(TimeInForce.IOC, TimeInForce.FOK) }, { weight: 1, arbitrary: fc.constant(TimeInForce.GTC) }),
      stp,
      price: fc.oneof({ weight: 10, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constant(MID) }),
    }),
  },
  { weight: 12, arbitrary: fc.record({ t: fc.constant('cancel' as const), ref, account, owner }) },
  {
    weight: 9,
    arbitrary: fc.record({
      t: fc.constant('replace' as const),
      ref,
      account,
      owner,
      price,
      quantity,
      priceDelta: fc.integer({ min: -3, max: 3 }),
      keepPrice: fc.boolean(),
    }),
  },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('cancelAll' as const), account, side: fc.constantFrom(undefined, 0, 1) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('duplicate' as const), ref }) },
);

/**
 * Turns abstract commands into concrete ones: new orders get ascending ids, references resolve to an
 * id issued earlier (owner or not), so cancels and replaces hit live, filled and foreign orders alike.
 */
export function concretize(abstract: readonly Abstract[]): Command[] {
  const issued: { id: number; account: number; price: number; quantity: number }[] = [];
  let nextId = 1;
  const resolve = (r: Ref) => ('raw' in r ? { id: r.raw, account: 1, price: MID, quantity: 1 } : issued.length === 0 ? { id: 424242, account: 1, price: MID, quantity: 1 } : issued[r.issued % issued.length]!);
  const out: Command[] = [];
  for (const a of abstract) {
    switch (a.t) {
      case 'limit':
      case 'market': {
        const id = nextId++;
        const isMarket = a.t === 'market';
        out.push({
          kind: CommandKind.NewOrder,
          orderId: id,
          account: a.account,
          side: a.side as 0 | 1,
          type: isMarket ? OrderType.Market : OrderType.Limit,
          tif: a.tif as 0 | 1 | 2,
          postOnly: isMarket ? false : a.postOnly,
          price: a.price,
          quantity: a.quantity,
          stp: a.stp as 0,
        });
        issued.push({ id, account: a.account, price: a.price, quantity: a.quantity });
        break;
      }
      case 'cancel': {
        const r = resolve(a.ref);
        out.push({ kind: CommandKind.Cancel, orderId: r.id, account: a.owner ? r.account : a.account });
        break;
      }
      case 'replace': {
        const r = resolve(a.ref);
        const p = a.keepPrice ? r.price : Number.isSafeInteger(r.price) ? r.price + a.priceDelta : a.price;
        out.push({ kind: CommandKind.Replace, orderId: r.id, account: a.owner ? r.account : a.account, price: p, quantity: a.quantity });
        break;
      }
      case 'cancelAll':
        out.push({ kind: CommandKind.CancelAll, account: a.account, side: a.side as 0 | 1 | undefined });
        break;
      case 'duplicate': {
        const r = resolve(a.ref);
        out.push({ kind: CommandKind.NewOrder, orderId: r.id, account: r.account, side: 0, type: OrderType.Limit, tif: TimeInForce.GTC, postOnly: false, price: MID, quantity: 1, stp: 0 });
        break;
      }
    }
  }
  return out;
}

export function commandSequence(maxLength = 120): fc.Arbitrary<Command[]> {
  return fc.array(abstractCommand, { minLength: 1, maxLength, size: 'max' }).map(concretize);
}
