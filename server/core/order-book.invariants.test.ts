/**
 * Invariant properties every implementation must keep on random (and adversarial) command sequences:
 * the resting book is never crossed, quantity is conserved, price-time priority holds, FOK is all or
 * nothing, post-only never takes, IOC and market orders never rest, rejections change nothing.
 * fast-check prints the seed and the shrunk sequence on failure; replay with PROPERTY_SEED.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BOOK_IMPLEMENTATIONS } from './book-implementations.ts';
import { CommandKind, type Command } from './commands.ts';
import { RecordingSink, type BookEvent } from './events.ts';
import type { OrderBook, RestingOrder } from './order-book.ts';
import { CancelReason } from './reasons.ts';
import { OrderType, Side, TimeInForce } from './types.ts';
import { TEST_INSTRUMENT } from '../../test/support/book-fixtures.ts';
import { commandSequence } from '../../test/support/command-arbitraries.ts';
import { propertyParameters } from '../../test/support/property-parameters.ts';

function priorityList(book: OrderBook, side: Side): RestingOrder[] {
  const list: RestingOrder[] = [];
  book.forEachOrder(side, (o) => list.push(o));
  return list;
}

/** Checks one applied command against the rules; returns a description of the first broken one. */
/**
 * Time priority seen from outside: the test numbers each order when it starts resting (or re-rests after
 * a replace that lost priority), and every level must list its orders in that order.
 */
function checkTimePriority(book: OrderBook, events: BookEvent[], restedAt: Map<number, number>, clock: { now: number }): string | undefined {
  for (const e of events) if (e.type === 'replaced' && !e.priorityKept) restedAt.delete(e.orderId);
  for (const id of restedAt.keys()) if (book.getOrder(id) === undefined) restedAt.delete(id); // ids may be reused once gone
  for (const side of [Side.Buy, Side.Sell] as const) {
    let prev: RestingOrder | undefined;
    for (const o of priorityList(book, side)) {
      if (!restedAt.has(o.orderId)) restedAt.set(o.orderId, clock.now++);
      if (prev !== undefined && prev.price === o.price && restedAt.get(prev.orderId)! > restedAt.get(o.orderId)!)
        return `time priority broken at ${o.price}: order ${prev.orderId} queued before earlier order ${o.orderId}`;
      prev = o;
    }
  }
  return undefined;
}

function checkStep(book: OrderBook, cmd: Command, events: BookEvent[], beforeHash: string, oppositeBefore: RestingOrder[], ledger: Map<number, number>): string | undefined {
  book.checkInvariants(); // includes "never crossed"
  const bid = book.bestPrice(Side.Buy);
  const ask = book.bestPrice(Side.Sell);
  if (bid !== undefined && ask !== undefined && bid >= ask) return `crossed book ${bid} >= ${ask}`;

  if (events.length > 0 && events[0]!.type === 'rejected') {
    if (events.length !== 1) return 'a rejection emitted more than one event';
    if (book.stateHash() !== beforeHash) return 'a rejected command changed the book';
    return undefined;
  }

  // Conservation: replay the events on a per-order ledger of open quantity.
  for (const e of events) {
    switch (e.type) {
      case 'accepted':
        ledger.set(e.orderId, e.quantity);
        break;
      case 'replaced':
        ledger.set(e.orderId, e.quantity);
        break;
      case 'fill':
        if (!(e.quantity > 0)) return `non-positive fill ${e.quantity}`;
        ledger.set(e.makerOrderId, (ledger.get(e.makerOrderId) ?? Number.NaN) - e.quantity);
        ledger.set(e.takerOrderId, (ledger.get(e.takerOrderId) ?? Number.NaN) - e.quantity);
        if (ledger.get(e.makerOrderId) !== e.makerRemaining) return `maker ${e.makerOrderId} remaining ${e.makerRemaining} != ledger ${ledger.get(e.makerOrderId)}`;
        if (ledger.get(e.takerOrderId) !== e.takerRemaining) return `taker ${e.takerOrderId} remaining ${e.takerRemaining} != ledger ${ledger.get(e.takerOrderId)}`;
        break;
      case 'cancelled':
        ledger.set(e.orderId, (ledger.get(e.orderId) ?? Number.NaN) - e.quantity);
        if ((ledger.get(e.orderId) ?? -1) < 0) return `order ${e.orderId} cancelled more than it had`;
        break;
      case 'level':
      case 'rejected':
        break;
    }
  }
  for (const [id, open] of ledger) {
    const resting = book.getOrder(id);
    if ((resting?.remaining ?? 0) !== open) return `order ${id}: ledger says ${open} open, book has ${resting?.remaining ?? 0}`;
    if (open === 0) ledger.delete(id);
  }

  // Price-time priority: makers touched are a prefix of the opposite side's priority order.
  const takerId = cmd.kind === CommandKind.CancelAll ? -1 : cmd.orderId;
  const touched = events.filter((e) => (e.type === 'fill') || (e.type === 'cancelled' && e.orderId !== takerId && (e.reason === CancelReason.SelfTradeMaker || e.reason === CancelReason.SelfTradeDecrement)));
  const makerIds = touched.map((e) => (e.type === 'fill' ? e.makerOrderId : e.type === 'cancelled' ? e.orderId : -1)).filter((id, i, all) => all.indexOf(id) === i);
  const expectedPrefix = oppositeBefore.slice(0, makerIds.length).map((o) => o.orderId);
  if (cmd.kind === CommandKind.NewOrder || cmd.kind === CommandKind.Replace) {
    if (JSON.stringify(makerIds) !== JSON.stringify(expectedPrefix)) return `priority broken: makers ${makerIds} but queue starts ${expectedPrefix}`;
  }

  if (cmd.kind === CommandKind.NewOrder) {
    const takerFilled = events.reduce((s, e) => s + (e.type === 'fill' && e.takerOrderId === cmd.orderId ? e.quantity : 0), 0);
    if (cmd.tif === TimeInForce.FOK && takerFilled !== 0 && takerFilled !== cmd.quantity) return `FOK partially filled ${takerFilled}/${cmd.quantity}`;
    if (cmd.postOnly && takerFilled > 0) return 'post-only order took liquidity';
    if ((cmd.tif !== TimeInForce.GTC || cmd.type === OrderType.Market) && book.getOrder(cmd.orderId) !== undefined) return 'IOC/FOK/market order rests';
  }
  return undefined;
}

describe.each(Object.entries(BOOK_IMPLEMENTATIONS))('%s book invariants', (_name, factory) => {
  it('hold on every step of random command sequences', () => {
    fc.assert(
      fc.property(commandSequence(), (commands) => {
        const book = factory(TEST_INSTRUMENT);
        const sink = new RecordingSink();
        const ledger = new Map<number, number>();
        const restedAt = new Map<number, number>();
        const clock = { now: 0 };
        for (const cmd of commands) {
          const beforeHash = book.stateHash();
          const takerSide = cmd.kind === CommandKind.NewOrder ? cmd.side : cmd.kind === CommandKind.Replace ? book.getOrder(cmd.orderId)?.side : undefined;
          const oppositeBefore = takerSide === 0 || takerSide === 1 ? priorityList(book, (1 - takerSide) as Side) : [];
          book.apply(cmd, sink);
          const events = sink.take();
          const broken = checkStep(book, cmd, events, beforeHash, oppositeBefore, ledger) ?? checkTimePriority(book, events, restedAt, clock);
          if (broken !== undefined) throw new Error(`${broken}\n at command ${JSON.stringify(cmd)}`);
        }
      }),
      propertyParameters(300),
    );
  });

  it('is deterministic: the same commands give the same events and state', () => {
    fc.assert(
      fc.property(commandSequence(60), (commands) => {
        const run = () => {
          const book = factory(TEST_INSTRUMENT);
          const sink = new RecordingSink();
          for (const c of commands) book.apply(c, sink);
          return { events: sink.take(), hash: book.stateHash() };
        };
        expect(run()).toEqual(run());
      }),
      propertyParameters(100),
    );
  });
});
