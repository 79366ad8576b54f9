/**
 * A journal of a given size for the recovery benchmarks: a seeded command mix (8 accounts resting
 * limit orders up to `resting` in all, crossing IOC orders, cancels) applied to a real BTCUSDT
 * TradingPair on the legacy book, every entry appended through the PostgresJournal in 10,000-entry
 * chunks (one in flight while the next is generated), optionally with a snapshot stored at `snapshotAt`.
 */
import { openPostgresPersistence } from '../server/adapters/postgres/postgres-persistence.ts';
import { BOOK_IMPLEMENTATIONS } from '../server/core/book-implementations.ts';
import { DEFAULT_INSTRUMENTS, compileInstrument } from '../server/core/instrument.ts';
import { OrderType, Side, StpMode, TimeInForce } from '../server/core/types.ts';
import { AccountIds } from '../server/pairs/account-ids.ts';
import { singleBook } from '../server/pairs/serving-book.ts';
import { TradingPair } from '../server/pairs/trading-pair.ts';
import { ManualClock } from '../server/ports/clock.ts';
import type { JournalEntry } from '../server/ports/journal.ts';
import { Random } from '../simulator/random.ts';

export interface JournalFillOptions {
  databaseUrl: string;
  /** libpq options selecting the schema (TestSchema.options). */
  schemaOptions: string;
  commands: number;
  /** Resting orders the book grows to (each of the 8 accounts capped at a 1/8 share). */
  resting: number;
  /** Non-crossing limits rest up to this many ticks behind the touch. */
  spread: number;
  /** Share (%) of commands that cancel one of the account's resting orders. */
  cancelPct: number;
  /** Store a snapshot after this command (0: none). */
  snapshotAt?: number;
}

export interface FilledJournal {
  /** The generating pair, at the journal's head. */
  pair: TradingPair;
  nowMs: number;
  seconds: number;
  restingOrders: number;
}

export async function fillJournal(o: JournalFillOptions): Promise<FilledJournal> {
  const db = await openPostgresPersistence({ connectionString: o.databaseUrl, options: o.schemaOptions, journal: { maxBatch: 5000, maxDelayMs: 0 }, writeTimeoutMs: 60_000 });
  const instrument = compileInstrument(DEFAULT_INSTRUMENTS.find((i) => i.symbol === 'BTCUSDT')!);
  const accounts = new AccountIds();
  const clock = new ManualClock(1_700_000_000_000);
  const pair = new TradingPair({ instrument, createBook: singleBook(BOOK_IMPLEMENTATIONS.legacy), clock, accountName: (id) => accounts.nameOf(id) ?? '' });
  let chunk: JournalEntry[] = [];
  pair.setRecorder({ record: (_p, e) => chunk.push(e) });
  const ids = Array.from({ length: 8 }, (_, i) => accounts.intern(`recovery-${i}`));
  const open: number[][] = ids.map(() => []);
  const rng = new Random(42);
  const perAccount = Math.max(1, Math.round(o.resting / ids.length));
  const spread = Math.max(1, o.spread);
  const started = performance.now();
  let inFlight: Promise<void> = Promise.resolve();
  try {
    for (let n = 1; n <= o.commands; n++) {
      clock.advanceMs(1);
      const a = rng.nextInt(ids.length);
      const mine = open[a]!;
      const roll = rng.nextInt(100);
      if (mine.length > 0 && (roll < o.cancelPct || mine.length > perAccount)) {
        const i = rng.nextInt(mine.length);
        const id = mine[i]!;
        mine[i] = mine[mine.length - 1]!;
        mine.pop();
        pair.cancel(ids[a]!, id);
      } else {
        const buy = rng.nextInt(2) === 0;
        const crossing = roll >= 85;
        const price = 6_500_000 + (buy ? 1 : -1) * (crossing ? rng.nextInt(20) : -1 - rng.nextInt(spread));
        const r = pair.submit(ids[a]!, {
          clientOrderId: `r${n}`,
          side: buy ? Side.Buy : Side.Sell,
          type: OrderType.Limit,
          tif: crossing ? TimeInForce.IOC : TimeInForce.GTC,
          postOnly: false,
          price,
          quantity: 1 + rng.nextInt(100),
          stp: StpMode.CancelTaker,
        });
        if (r.order !== undefined && r.order.remaining > 0) mine.push(r.order.orderId);
      }
      if (n === o.snapshotAt) {
        await inFlight;
        await db.journal.append(chunk);
        chunk = [];
        await db.recovery.saveSnapshot(pair.exportSnapshot(clock.nowMs()));
      }
      if (chunk.length >= 10_000) {
        const entries = chunk;
        chunk = [];
        await inFlight; // one chunk in flight while the next is generated
        inFlight = db.journal.append(entries);
      }
    }
    await inFlight;
    await db.journal.append(chunk);
  } finally {
    await db.close();
  }
  return { pair, nowMs: clock.nowMs(), seconds: (performance.now() - started) / 1000, restingOrders: open.reduce((a, m) => a + m.length, 0) };
}
