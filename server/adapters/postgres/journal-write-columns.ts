/**
 * A journal batch as the column parameters of the writer's unnest() statements: one PostgreSQL array
 * literal (text) per column, built here in one pass instead of handing pg arrays of values, which it
 * prepares element by element (prepareValue, escapeElement: a regex replace and several strings per
 * value). The statement casts each literal (`$n::bigint[]`), so PostgreSQL reads exactly what pg would
 * have sent. Also each batch's orders reduced to their last state (ON CONFLICT may touch a row only
 * once per statement) and each pair's first sequence (the head check).
 */
import type { Command } from '../../core/commands.ts';
import { CommandKind } from '../../core/commands.ts';
import type { JournaledCommand, JournalEntry, OrderRow } from '../../ports/journal.ts';

/** The command's fields without the process-local account id, in a fixed shape per kind. */
export function serializeCommand(cmd: JournaledCommand | Command): Record<string, unknown> {
  switch (cmd.kind) {
    case CommandKind.NewOrder:
      return { kind: cmd.kind, orderId: cmd.orderId, side: cmd.side, type: cmd.type, tif: cmd.tif, postOnly: cmd.postOnly, price: cmd.price, quantity: cmd.quantity, stp: cmd.stp };
    case CommandKind.Cancel:
      return { kind: cmd.kind, orderId: cmd.orderId };
    case CommandKind.Replace:
      return { kind: cmd.kind, orderId: cmd.orderId, price: cmd.price, quantity: cmd.quantity };
    case CommandKind.CancelAll:
      return { kind: cmd.kind, side: cmd.side ?? null };
    default:
      throw new Error(`unknown command kind ${(cmd as { kind: unknown }).kind}`);
  }
}

/** An element of a text[] (or jsonb[]) literal: always quoted, so commas, braces, spaces and NULL are data. */
function quoted(s: string): string {
  // Backslash and double quote are the only characters special inside a quoted element.
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22 || c === 0x5c) return `"${s.replace(/[\\"]/g, '\\$&')}"`;
  }
  return `"${s}"`;
}

/** A number for a bigint[]/smallint[] literal; anything else is a bug upstream and must not be written. */
function int(n: number): string {
  if (!Number.isSafeInteger(n)) throw new Error(`journal column value ${n} is not a safe integer`);
  return String(n);
}

/**
 * The serializeCommand() JSON of `cmd` as an element of a jsonb[] literal: the JSON has no backslash
 * (integers, booleans, null and fixed keys only), so quoting it is escaping its double quotes, done here
 * by writing them escaped. An unusual value (not an integer where one is expected) takes the generic
 * JSON.stringify path, so the stored JSON is the same either way.
 */
function commandElement(cmd: JournaledCommand | Command): string {
  switch (cmd.kind) {
    case CommandKind.NewOrder:
      if (
        Number.isSafeInteger(cmd.orderId) && Number.isSafeInteger(cmd.side) && Number.isSafeInteger(cmd.type) && Number.isSafeInteger(cmd.tif) && typeof cmd.postOnly === 'boolean' &&
        Number.isSafeInteger(cmd.price) && Number.isSafeInteger(cmd.quantity) && Number.isSafeInteger(cmd.stp)
      ) {
        return `"{\\"kind\\":${cmd.kind},\\"orderId\\":${cmd.orderId},\\"side\\":${cmd.side},\\"type\\":${cmd.type},\\"tif\\":${cmd.tif},\\"postOnly\\":${cmd.postOnly},\\"price\\":${cmd.price},\\"quantity\\":${cmd.quantity},\\"stp\\":${cmd.stp}}"`;
      }
      break;
    case CommandKind.Cancel:
      if (Number.isSafeInteger(cmd.orderId)) return `"{\\"kind\\":${cmd.kind},\\"orderId\\":${cmd.orderId}}"`;
      break;
    case CommandKind.Replace:
      if (Number.isSafeInteger(cmd.orderId) && Number.isSafeInteger(cmd.price) && Number.isSafeInteger(cmd.quantity)) {
        return `"{\\"kind\\":${cmd.kind},\\"orderId\\":${cmd.orderId},\\"price\\":${cmd.price},\\"quantity\\":${cmd.quantity}}"`;
      }
      break;
    case CommandKind.CancelAll:
      if (cmd.side === undefined || Number.isSafeInteger(cmd.side)) return `"{\\"kind\\":${cmd.kind},\\"side\\":${cmd.side ?? 'null'}}"`;
      break;
  }
  return quoted(JSON.stringify(serializeCommand(cmd)));
}

/** Appends elements to one column's literal. */
class Column {
  private text = '';
  private n = 0;
  push(element: string): void {
    this.text += this.n === 0 ? element : `,${element}`;
    this.n++;
  }
  get length(): number {
    return this.n;
  }
  literal(): string {
    return `{${this.text}}`;
  }
}

const columns = (n: number): Column[] => Array.from({ length: n }, () => new Column());

export interface JournalWriteColumns {
  /** Pairs in the order of their first entry in the batch, and each one's first sequence. */
  firstPairs: string[];
  firstSequence: Map<string, number>;
  /** Literals: pair, sequence, command (jsonb), account, client_order_id, timestamp_ms. */
  journal: string[];
  /** Literals of the orders' columns (18, INSERT_ORDERS order); orderCount rows. */
  orders: string[];
  orderCount: number;
  /** Literals of the trades' columns (11, INSERT_TRADES order); tradeCount rows. */
  trades: string[];
  tradeCount: number;
}

/** The column literals of a batch, and each pair's first sequence. */
export function journalWriteColumns(entries: readonly JournalEntry[]): JournalWriteColumns {
  const firstSequence = new Map<string, number>();
  const [pairs, sequences, commands, accounts, clientOrderIds, timestamps] = columns(6) as [Column, Column, Column, Column, Column, Column];
  // Orders: the last state per (pair, order) in this batch. A batch is nearly always one pair's or a
  // few pairs', so the map is per pair and keyed by the order id itself (no string key per row).
  const latest = new Map<string, Map<number, { sequence: number; row: OrderRow }>>();
  const trades = columns(11);
  let tradeCount = 0;
  let lastPair: string | undefined;
  let lastPairLiteral = '';
  let pairOrders: Map<number, { sequence: number; row: OrderRow }> | undefined;
  for (const e of entries) {
    if (e.pair !== lastPair) {
      lastPair = e.pair;
      lastPairLiteral = quoted(e.pair);
      if (!firstSequence.has(e.pair)) firstSequence.set(e.pair, e.sequence);
      pairOrders = latest.get(e.pair);
      if (pairOrders === undefined) latest.set(e.pair, (pairOrders = new Map()));
    }
    const seq = int(e.sequence);
    pairs.push(lastPairLiteral);
    sequences.push(seq);
    commands.push(commandElement(e.command));
    accounts.push(quoted(e.account));
    clientOrderIds.push(quoted(e.clientOrderId));
    timestamps.push(int(e.timestampMs));
    for (const row of e.orders) pairOrders!.set(row.orderId, { sequence: e.sequence, row });
    for (const r of e.trades) {
      trades[0]!.push(lastPairLiteral);
      trades[1]!.push(int(r.tradeId));
      trades[2]!.push(int(r.makerOrderId));
      trades[3]!.push(quoted(r.makerAccount));
      trades[4]!.push(int(r.takerOrderId));
      trades[5]!.push(quoted(r.takerAccount));
      trades[6]!.push(int(r.takerSide));
      trades[7]!.push(int(r.price));
      trades[8]!.push(int(r.quantity));
      trades[9]!.push(seq);
      trades[10]!.push(int(r.timestampMs));
      tradeCount++;
    }
  }
  const orders = columns(18);
  let orderCount = 0;
  for (const [pair, byId] of latest) {
    const p = quoted(pair);
    for (const { sequence, row: r } of byId.values()) {
      orders[0]!.push(p);
      orders[1]!.push(int(r.orderId));
      orders[2]!.push(quoted(r.account));
      orders[3]!.push(quoted(r.clientOrderId));
      orders[4]!.push(int(r.side));
      orders[5]!.push(int(r.type));
      orders[6]!.push(int(r.tif));
      orders[7]!.push(r.postOnly ? 't' : 'f');
      orders[8]!.push(int(r.stp));
      orders[9]!.push(int(r.price));
      orders[10]!.push(int(r.quantity));
      orders[11]!.push(int(r.filled));
      orders[12]!.push(int(r.remaining));
      orders[13]!.push(quoted(r.status));
      orders[14]!.push(int(r.cancelReason));
      orders[15]!.push(int(sequence));
      orders[16]!.push(int(r.createdAtMs));
      orders[17]!.push(int(r.updatedAtMs));
      orderCount++;
    }
  }
  return {
    firstPairs: [...firstSequence.keys()],
    firstSequence,
    journal: [pairs.literal(), sequences.literal(), commands.literal(), accounts.literal(), clientOrderIds.literal(), timestamps.literal()],
    orders: orders.map((c) => c.literal()),
    orderCount,
    trades: trades.map((c) => c.literal()),
    tradeCount,
  };
}
