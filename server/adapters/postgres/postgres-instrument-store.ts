/**
 * The InstrumentStore port on PostgreSQL: one row per symbol in `instruments` (001_initial.sql). The `spec`
 * column holds a versioned document `{ "version": 1, "instrument": {...InstrumentInput}, "listed": bool,
 * "halt": {by, reason, since} | null }`, so no schema change was needed for listing state and halts.
 */
import type { Pool } from 'pg';
import { UnavailableError } from '../../ports/errors.ts';
import type { InstrumentRecord, InstrumentStore, PairHaltRecord } from '../../ports/instrument-store.ts';
import type { InstrumentInput } from '../../core/instrument-input.ts';

interface SpecDocument {
  version?: unknown;
  instrument?: unknown;
  listed?: unknown;
  halt?: unknown;
}

function haltOf(v: unknown): PairHaltRecord | null {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return null;
  const h = v as Record<string, unknown>;
  return typeof h['by'] === 'string' && typeof h['reason'] === 'string' && typeof h['since'] === 'string' ? { by: h['by'], reason: h['reason'], since: h['since'] } : null;
}

export class PostgresInstrumentStore implements InstrumentStore {
  constructor(private readonly pool: Pool) {}

  async loadAll(): Promise<InstrumentRecord[]> {
    const { rows } = await this.pool.query<{ symbol: string; spec: SpecDocument }>('SELECT symbol, spec FROM instruments ORDER BY symbol');
    // A document of another version is shown to the reader as is (it refuses what it cannot parse, naming the symbol).
    return rows.map((r) => ({ symbol: r.symbol, instrument: r.spec?.version === 1 ? r.spec.instrument : r.spec, listed: r.spec?.listed !== false, halt: haltOf(r.spec?.halt) }));
  }

  async save(record: { symbol: string; instrument: InstrumentInput; listed: boolean; halt: PairHaltRecord | null }): Promise<void> {
    const doc = { version: 1, instrument: record.instrument, listed: record.listed, halt: record.halt };
    try {
      await this.pool.query(
        `INSERT INTO instruments (symbol, spec, created_at, updated_at) VALUES ($1, $2::jsonb, now(), now())
         ON CONFLICT (symbol) DO UPDATE SET spec = EXCLUDED.spec, updated_at = EXCLUDED.updated_at`,
        [record.symbol, JSON.stringify(doc)],
      );
    } catch (err) {
      throw new UnavailableError('postgresql', `saving instrument ${record.symbol} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }
}
