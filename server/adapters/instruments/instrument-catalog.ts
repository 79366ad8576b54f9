/**
 * The listed instruments as data: what the service trades at start (config, the `instruments` table,
 * the defaults — precedence below) and every change an operator makes at runtime (list, halt, resume,
 * delist, change sizes), each validated, persisted in the table (when there is one) BEFORE it takes
 * effect, one change at a time in the order they arrive, and carried out through the PairLifecycle.
 *
 * Start-up precedence (`open`):
 * - config (INSTRUMENTS_FILE / INSTRUMENTS) given: its pairs are listed and written to the table (config
 *   updates a stored pair's limits and band; a different tick or lot size for a pair the table lists is
 *   refused at start — that change goes through PATCH, which checks open orders); pairs the table lists
 *   that config does not name stay listed.
 * - no config, the table holds records: exactly the pairs it lists (delisted ones stay out).
 * - neither: the default pairs, written to the table (which then is the record).
 * Halts kept in the table are applied again. Without a table: config, else the defaults; changes last
 * until the process stops.
 */
import { instrumentInput, parseInstrument, patchInstrument, sameInstrument, type InstrumentInput } from '../../core/instrument-input.ts';
import type { Instrument } from '../../core/instrument.ts';
import { ValidationError } from '../../pairs/errors.ts';
import type { PairControls } from '../../pairs/pair-controls.ts';
import type { GateMode } from '../../pairs/trading-gate.ts';
import type { TradingPair } from '../../pairs/trading-pair.ts';
import type { TradingPairs } from '../../pairs/trading-pairs.ts';
import type { InstrumentRecord, InstrumentStore, PairHaltRecord } from '../../ports/instrument-store.ts';
import type { Logger } from '../grpc/call-context.ts';
import type { PairLifecycle } from '../pair-lifecycle.ts';

/** A change refused because of the pair's state (open orders, already listed, the cap): HTTP 409. */
export class InstrumentConflictError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(reason);
    this.name = 'InstrumentConflictError';
  }
}

/** A pair that is not listed: HTTP 404. */
export class UnknownInstrumentError extends Error {
  constructor(readonly symbol: string, known: readonly string[]) {
    super(`pair ${symbol.slice(0, 32)} is not listed; listed: ${known.length > 0 ? known.slice(0, 20).join(', ') + (known.length > 20 ? ', …' : '') : 'none'}`);
    this.name = 'UnknownInstrumentError';
  }
}

/** One listed pair as GET /admin/instruments shows it. */
export interface InstrumentView extends InstrumentInput {
  halted: GateMode;
  open_orders: number;
}

export interface InstrumentCatalogOptions {
  lifecycle: PairLifecycle;
  pairs: TradingPairs;
  control: PairControls;
  /** The table; undefined in-memory. */
  store: InstrumentStore | undefined;
  /** Whether the pairs built at construction came from configuration (else they are the defaults). */
  configured: boolean;
  maxInstruments: number;
  /**
   * Restores a pair listed at runtime from its journal (a symbol listed before has one) and attaches it to
   * the journal; undefined in-memory.
   */
  recover: ((pair: TradingPair) => Promise<number>) | undefined;
  /**
   * Stores a snapshot of the pair covering every command it applied (before its rules change or it is
   * delisted, so its journal is never replayed under other rules); rejects with UnavailableError when it
   * cannot. Undefined in-memory.
   */
  snapshot: ((pair: TradingPair) => Promise<void>) | undefined;
  /** Waits until everything the pair applied is durable (before it is taken out); undefined in-memory. */
  settled: ((pair: TradingPair) => Promise<void> | undefined) | undefined;
  /** Attaches a pair rebuilt from its in-memory state (PATCH) to the journal; undefined in-memory. */
  attachJournal: ((pair: TradingPair) => void) | undefined;
  logger: Logger;
  nowIso: () => string;
  /**
   * Why runtime changes (list, halt, resume, delist, patch) are refused, when they are: in cluster mode the
   * listed set is read at start and every replica must hold the same (docs/cluster.md). @default undefined
   */
  frozen?: string;
}

export class InstrumentCatalog {
  private chain: Promise<unknown> = Promise.resolve();
  /** Stored records by symbol (what the table holds, as this process last wrote or read it). */
  private readonly records = new Map<string, InstrumentRecord>();
  /** Configured rules that differ from a stored pair's, applied after its recovery (applyConfigured). */
  private readonly pending = new Map<string, Instrument>();

  constructor(private readonly o: InstrumentCatalogOptions) {}

  /** Start-up (before recovery): settles the listed set by the precedence above and writes the table. */
  async open(): Promise<void> {
    const store = this.o.store;
    if (store === undefined) return;
    const stored = await store.loadAll();
    const listed = new Map<string, Instrument>();
    for (const r of stored) {
      this.records.set(r.symbol, r);
      if (!r.listed) continue;
      const p = parseInstrument(r.instrument);
      if (!p.ok) throw new Error(`instruments table: the row of ${r.symbol} is not a valid instrument: ${p.fault.field}: ${p.fault.reason}`);
      if (p.instrument.symbol !== r.symbol) throw new Error(`instruments table: the row of ${r.symbol} holds symbol ${p.instrument.symbol}`);
      listed.set(r.symbol, p.instrument);
    }
    const built = new Map(this.o.pairs.list().map((p) => [p.symbol, p.instrument]));
    const wanted = new Map<string, Instrument>();
    const writes: Instrument[] = [];
    if (this.o.configured) {
      for (const [symbol, i] of built) {
        const s = listed.get(symbol);
        if (s !== undefined && (s.tickSize !== i.tickSize || s.lotSize !== i.lotSize))
          throw new Error(
            `instruments: ${symbol} is configured with tick_size ${i.tickSize} / lot_size ${i.lotSize} but listed with ${s.tickSize} / ${s.lotSize} in the instruments table; ` +
              `change sizes at runtime with PATCH /admin/instruments/${symbol} (refused while it has open orders), or configure the stored sizes`,
          );
        if (s !== undefined && !sameInstrument(s, i)) {
          // The journal after the pair's last snapshot was written under the stored rules: recovered under
          // them, then changed like a PATCH (snapshot first) by applyConfigured().
          wanted.set(symbol, s);
          this.pending.set(symbol, i);
        } else {
          wanted.set(symbol, i);
          if (s === undefined) writes.push(i);
        }
      }
      for (const [symbol, i] of listed) if (!wanted.has(symbol)) wanted.set(symbol, i);
    } else if (stored.length > 0) {
      for (const [symbol, i] of listed) wanted.set(symbol, i);
    } else {
      for (const [symbol, i] of built) {
        wanted.set(symbol, i);
        writes.push(i);
      }
    }
    if (wanted.size > this.o.maxInstruments) throw new Error(`instruments: ${wanted.size} pairs would be listed (config and table), more than MAX_INSTRUMENTS=${this.o.maxInstruments}`);
    for (const i of writes) await this.write(i, true, this.records.get(i.symbol)?.halt ?? null);
    // Nothing has traded yet: a pair built with other rules than wanted is rebuilt.
    for (const [symbol, i] of built) if (!wanted.has(symbol) || !sameInstrument(wanted.get(symbol)!, i)) this.o.lifecycle.detach(symbol);
    for (const [symbol, i] of wanted) if (this.o.pairs.get(symbol) === undefined) this.o.lifecycle.attach(i);
    for (const symbol of wanted.keys()) {
      const h = this.records.get(symbol)?.halt;
      if (h) this.o.control.haltPair(symbol, h.by, h.reason, h.since);
    }
    const source = this.o.configured ? 'configuration (written to the instruments table)' : stored.length > 0 ? 'the instruments table' : 'the defaults (written to the instruments table)';
    this.o.logger.info(`instruments: ${wanted.size} listed from ${source}: ${[...wanted.keys()].join(', ')}`, { event: 'instruments_loaded', pairs: [...wanted.keys()] });
  }

  /**
   * Start-up, after recovery and before gRPC serves: the configured rules that differ from the stored
   * ones (limits, band, assets) take effect, each pair snapshotted first under the rules its journal was
   * written with.
   */
  async applyConfigured(): Promise<void> {
    for (const [symbol, next] of this.pending) {
      const pair = this.o.pairs.get(symbol);
      if (pair !== undefined) await this.rebuild(pair, next);
      this.o.logger.info(`instruments: ${symbol} updated from configuration`, { event: 'instrument_changed', pair: symbol });
    }
    this.pending.clear();
  }

  /** GET /admin/instruments: every listed pair with its rules, halt and open orders. */
  list(): InstrumentView[] {
    return this.o.pairs.list().map((p) => this.view(p));
  }

  view(pair: TradingPair): InstrumentView {
    return { ...instrumentInput(pair.instrument), halted: this.o.control.gate.pairHalt(pair.symbol), open_orders: pair.openOrderCount };
  }

  /** Lists a new pair (or one delisted before: its journal comes back with it). */
  listPair(body: Record<string, unknown>): Promise<InstrumentView> {
    const r = parseInstrument(body);
    if (!r.ok) return Promise.reject(new ValidationError(r.fault.field, r.fault.reason));
    const instrument = r.instrument;
    return this.serial(async () => {
      this.changeable();
      const symbol = instrument.symbol;
      if (this.o.pairs.get(symbol) !== undefined) throw new InstrumentConflictError('symbol', `${symbol} is already listed; change it with PATCH /admin/instruments/${symbol}`);
      if (this.o.pairs.size >= this.o.maxInstruments) throw new InstrumentConflictError('symbol', `${this.o.pairs.size} pairs are listed, the most MAX_INSTRUMENTS=${this.o.maxInstruments} allows; delist one first`);
      const before = this.records.get(symbol);
      const storedRules = before === undefined ? undefined : parseInstrument(before.instrument);
      const sameRules = storedRules === undefined || (storedRules.ok && sameInstrument(storedRules.instrument, instrument));
      const recover = this.o.recover;
      let pair: TradingPair;
      if (recover === undefined) {
        await this.write(instrument, true, null);
        pair = this.o.lifecycle.attach(instrument);
      } else {
        // Recovered (its journal: empty for a new symbol) while nobody can reach it; stored once that
        // succeeded, then served. A failure anywhere leaves the table and the service as they were.
        pair = await this.o.lifecycle.attachRecovered(instrument, async (p) => {
          const replayed = await recover(p);
          // Commands are only ever replayed under the rules they were written with (a delist snapshots first).
          if (replayed > 0 && !sameRules)
            throw new InstrumentConflictError('symbol', `the journal of ${symbol} holds ${replayed} commands after its last snapshot, written under other rules; list it with its stored rules, then PATCH`);
          await this.write(instrument, true, null);
        });
      }
      this.o.logger.info(`instruments: ${symbol} listed (tick ${instrument.tickSize}, lot ${instrument.lotSize})`, { event: 'instrument_listed', pair: symbol });
      return this.view(pair);
    });
  }

  /** Halts new orders and replaces of one pair (cancels work); kept across restarts. */
  halt(symbol: string, by: string, reason: string): Promise<{ changed: boolean; view: InstrumentView }> {
    return this.serial(async () => {
      this.changeable();
      const pair = this.listed(symbol);
      if (this.o.control.gate.pairHalt(symbol).on) return { changed: false, view: this.view(pair) };
      const since = this.o.nowIso();
      await this.write(pair.instrument, true, { by, reason, since });
      this.o.control.haltPair(symbol, by, reason, since);
      this.o.logger.info(`instruments: ${symbol} HALTED by ${by}: ${reason}; its new orders and replaces are refused`, { event: 'instrument_halted', pair: symbol, reason });
      return { changed: true, view: this.view(pair) };
    });
  }

  resume(symbol: string): Promise<{ changed: boolean; view: InstrumentView }> {
    return this.serial(async () => {
      this.changeable();
      const pair = this.listed(symbol);
      if (!this.o.control.gate.pairHalt(symbol).on) return { changed: false, view: this.view(pair) };
      await this.write(pair.instrument, true, null);
      this.o.control.resumePair(symbol);
      this.o.logger.info(`instruments: ${symbol} resumed`, { event: 'instrument_resumed', pair: symbol });
      return { changed: true, view: this.view(pair) };
    });
  }

  /** Delists a pair without open orders: it is no longer served and does not come back at restart; its journal is kept. */
  delist(symbol: string): Promise<InstrumentInput> {
    return this.serial(() => {
      this.changeable();
      return this.quiesced(symbol, 'delisted', async (pair, settle) => {
        await this.o.snapshot?.(pair); // listing it again restores from here, whatever its rules then
        await this.write(pair.instrument, false, null);
        await settle(true);
        this.o.lifecycle.detach(symbol);
        this.o.logger.info(`instruments: ${symbol} delisted (its journal is kept; listing ${symbol} again restores its history)`, { event: 'instrument_delisted', pair: symbol });
        return instrumentInput(pair.instrument);
      });
    });
  }

  /**
   * Changes a listed pair's rules. Tick or lot size only while it has no open orders (prices and quantities
   * of resting orders are counted in them); limits and band at any time (they apply to new orders).
   */
  patch(symbol: string, changes: Record<string, unknown>): Promise<InstrumentView> {
    return this.serial(async () => {
      this.changeable();
      const current = this.listed(symbol);
      const r = patchInstrument(current.instrument, changes);
      if (!r.ok) throw new ValidationError(r.fault.field, r.fault.reason);
      const next = r.instrument;
      if (sameInstrument(next, current.instrument)) return this.view(current);
      const sizes = next.tickSize !== current.instrument.tickSize || next.lotSize !== current.instrument.lotSize;
      return this.quiesced(symbol, sizes ? 'given a new tick or lot size' : undefined, async (pair, settle) => {
        const rebuilt = await this.rebuild(pair, next, settle);
        this.o.logger.info(`instruments: ${symbol} changed: ${JSON.stringify(changes).slice(0, 200)}`, { event: 'instrument_changed', pair: symbol });
        return this.view(rebuilt);
      });
    });
  }

  /**
   * The pair with new rules, from its own state (sequences, order history): a snapshot under the old
   * rules first (recovery never replays a command under rules it was not written with), the record, then
   * the rebuild between two commands.
   */
  private async rebuild(pair: TradingPair, next: Instrument, settle: (check: boolean) => Promise<void> = () => this.settle(pair, undefined, false)): Promise<TradingPair> {
    await this.o.snapshot?.(pair);
    await this.write(next, true, this.records.get(pair.symbol)?.halt ?? null);
    await settle(true);
    // Synchronous from here to the new pair's serving: nothing can come between.
    const state = pair.exportSnapshot(Date.now());
    this.o.lifecycle.detach(pair.symbol);
    return this.o.lifecycle.attachRecovered(next, (p) => {
      p.restoreSnapshot(state, (name) => this.o.pairs.accounts.intern(name));
      this.o.attachJournal?.(p);
      return Promise.resolve();
    });
  }

  /**
   * Runs `change` on a listed pair with its new orders and replaces refused meanwhile (the table, the
   * snapshot and the journal are asynchronous; cancels still work), and — when `what` is given — only while
   * it has no open orders (409 naming the count). `change` gets `settle(check)`: waits until everything the
   * pair applied is durable and, with `check`, refuses if an order admitted before the halt has landed;
   * it returns synchronously-followed by the change. The pair keeps the halt it had; on a refusal or a
   * failure after the record was written, the record goes back.
   */
  /** Refuses a runtime change while the listed set is frozen (cluster mode). */
  private changeable(): void {
    if (this.o.frozen !== undefined) throw new InstrumentConflictError('symbol', this.o.frozen);
  }

  private async quiesced<T>(symbol: string, what: string | undefined, change: (pair: TradingPair, settle: (check: boolean) => Promise<void>) => Promise<T>): Promise<T> {
    const pair = this.listed(symbol);
    if (what !== undefined && pair.openOrderCount > 0) this.refuse(pair, what);
    const gate = this.o.control.gate;
    const before = gate.pairHalt(symbol);
    const stored = this.records.get(symbol);
    const temporary = `being ${what ?? 'changed'} (admin-api)`;
    this.o.control.haltPair(symbol, 'admin-api', temporary);
    try {
      await this.settle(pair, what, true);
      return await change(pair, (check) => this.settle(pair, what, check));
    } catch (err) {
      if (stored !== undefined && this.o.pairs.get(symbol) === pair && this.records.get(symbol) !== stored)
        await this.o.store?.save({ ...stored, instrument: instrumentInput(pair.instrument) }).then(
          () => this.records.set(symbol, stored),
          (e: unknown) => this.o.logger.error(`instruments: restoring the record of ${symbol} failed`, e),
        );
      throw err;
    } finally {
      if (this.o.pairs.get(symbol) !== undefined) {
        if (gate.pairHalt(symbol).reason === temporary) this.o.control.resumePair(symbol);
        if (before.on && !gate.pairHalt(symbol).on) this.o.control.haltPair(symbol, before.by ?? 'admin-api', before.reason ?? '', before.since ?? undefined);
      }
    }
  }

  /** Waits until everything the pair applied is durable (no await left after it returns); with `what`, refuses open orders. */
  private async settle(pair: TradingPair, what: string | undefined, check: boolean): Promise<void> {
    for (let wait = this.o.settled?.(pair); wait !== undefined; wait = this.o.settled?.(pair)) await wait;
    if (check && what !== undefined && pair.openOrderCount > 0) this.refuse(pair, what);
  }

  private refuse(pair: TradingPair, what: string): never {
    const n = pair.openOrderCount;
    throw new InstrumentConflictError('pair', `${pair.symbol} has ${n} open order${n === 1 ? '' : 's'}; it can be ${what} only without any (halt it with POST /admin/instruments/${pair.symbol}/halt, let clients cancel — cancels work while halted — then retry)`);
  }

  private listed(symbol: string): TradingPair {
    const pair = this.o.pairs.get(symbol);
    if (pair === undefined) throw new UnknownInstrumentError(symbol, this.o.pairs.list().map((p) => p.symbol));
    return pair;
  }

  /** The table first: a change takes effect only once it is stored (nothing changes when the write fails). */
  private async write(instrument: Instrument, listed: boolean, halt: PairHaltRecord | null): Promise<void> {
    const record = { symbol: instrument.symbol, instrument: instrumentInput(instrument), listed, halt };
    await this.o.store?.save(record);
    this.records.set(instrument.symbol, record);
  }

  /** One change at a time, in arrival order, so the table and the service go through the same sequence. */
  private serial<T>(run: () => Promise<T>): Promise<T> {
    const next = this.chain.then(run, run);
    this.chain = next.catch(() => undefined);
    return next;
  }
}
