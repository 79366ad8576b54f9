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

/** The shape of a seeded command mix (see SeededCommandMix). */
export interface CommandMixOptions {
  seed: number;
  /** Account names are `${accountPrefix}0` … `${accountPrefix}7`. */
  accountPrefix: string;
  /** Resting orders one account keeps; beyond it every command of the account is a cancel. */
  restingPerAccount: number;
  /** Share (%) of commands that cancel one of the account's resting orders. */
  cancelPct: number;
  /** Share (%) of the rest that are crossing IOC limits; the others rest up to `spread` ticks behind the touch. */
  crossingPct: number;
  spread: number;
  /** The client order id of command `n` of account index `a`. */
  clientOrderId: (a: number, n: number) => string;
}

/**
 * A seeded mix of commands on a real BTCUSDT TradingPair (legacy book, a clock moved 1 ms per command):
 * 8 accounts resting limit orders, crossing IOC orders, cancels of their own resting orders. Every
 * journal entry the pair records goes to `record`.
 */
export class SeededCommandMix {
  readonly pair: TradingPair;
  readonly clock = new ManualClock(1_700_000_000_000);
  private readonly ids: number[];
  private readonly open: number[][];
  private readonly rng: Random;

  constructor(
    private readonly o: CommandMixOptions,
    record: (entry: JournalEntry) => void,
  ) {
    const instrument = compileInstrument(DEFAULT_INSTRUMENTS.find((i) => i.symbol === 'BTCUSDT')!);
    const accounts = new AccountIds();
    this.pair = new TradingPair({ instrument, createBook: singleBook(BOOK_IMPLEMENTATIONS.legacy), clock: this.clock, accountName: (id) => accounts.nameOf(id) ?? '' });
    this.pair.setRecorder({ record: (_p, e) => record(e) });
    this.ids = Array.from({ length: 8 }, (_, i) => accounts.intern(`${o.accountPrefix}${i}`));
    this.open = this.ids.map(() => []);
    this.rng = new Random(o.seed);
  }

  /** Applies command number `n` (1, 2, …). */
  step(n: number): void {
    const { o, rng } = this;
    this.clock.advanceMs(1);
    const a = rng.nextInt(this.ids.length);
    const mine = this.open[a]!;
    const roll = rng.nextInt(100);
    if (mine.length > 0 && (roll < o.cancelPct || mine.length > o.restingPerAccount)) {
      const i = rng.nextInt(mine.length);
      const id = mine[i]!;
      mine[i] = mine[mine.length - 1]!;
      mine.pop();
      this.pair.cancel(this.ids[a]!, id);
      return;
    }
    const buy = rng.nextInt(2) === 0;
    const crossing = roll >= 100 - o.crossingPct;
    const price = 6_500_000 + (buy ? 1 : -1) * (crossing ? rng.nextInt(20) : -1 - rng.nextInt(o.spread));
    const r = this.pair.submit(this.ids[a]!, {
      clientOrderId: o.clientOrderId(a, n),
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

  get restingOrders(): number {
    return this.open.reduce((a, m) => a + m.length, 0);
  }
}

export async function fillJournal(o: JournalFillOptions): Promise<FilledJournal> {
  const db = await openPostgresPersistence({ connectionString: o.databaseUrl, options: o.schemaOptions, journal: { maxBatch: 5000, maxDelayMs: 0 }, writeTimeoutMs: 60_000 });
  let chunk: JournalEntry[] = [];
  const mix = new SeededCommandMix(
    { seed: 42, accountPrefix: 'recovery-', restingPerAccount: Math.max(1, Math.round(o.resting / 8)), cancelPct: o.cancelPct, crossingPct: 15, spread: Math.max(1, o.spread), clientOrderId: (_a, n) => `r${n}` },
    (e) => chunk.push(e),
  );
  const started = performance.now();
  let inFlight: Promise<void> = Promise.resolve();
  try {
    for (let n = 1; n <= o.commands; n++) {
      mix.step(n);
      if (n === o.snapshotAt) {
        await inFlight;
        await db.journal.append(chunk);
        chunk = [];
        await db.recovery.saveSnapshot(mix.pair.exportSnapshot(mix.clock.nowMs()));
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
  return { pair: mix.pair, nowMs: mix.clock.nowMs(), seconds: (performance.now() - started) / 1000, restingOrders: mix.restingOrders };
}
