/** The PairStateStore port on PostgreSQL: one JSONB document per pair in `pair_state`. */
import type { Pool } from 'pg';
import { UnavailableError } from '../../ports/errors.ts';
import type { PairStateDocument, PairStateStore } from '../../ports/pair-state-store.ts';

export class PostgresPairStateStore implements PairStateStore {
  constructor(private readonly pool: Pool) {}

  async load(pair: string): Promise<PairStateDocument | undefined> {
    const { rows } = await this.pool.query<{ state: PairStateDocument }>('SELECT state FROM pair_state WHERE pair = $1', [pair]);
    return rows[0]?.state;
  }

  async loadAll(): Promise<Map<string, PairStateDocument>> {
    const { rows } = await this.pool.query<{ pair: string; state: PairStateDocument }>('SELECT pair, state FROM pair_state ORDER BY pair');
    return new Map(rows.map((r) => [r.pair, r.state]));
  }

  async save(pair: string, state: PairStateDocument): Promise<void> {
    try {
      await this.pool.query(
        `INSERT INTO pair_state (pair, state, updated_at) VALUES ($1, $2::jsonb, now())
         ON CONFLICT (pair) DO UPDATE SET state = EXCLUDED.state, updated_at = EXCLUDED.updated_at`,
        [pair, JSON.stringify(state)],
      );
    } catch (err) {
      throw new UnavailableError('postgresql', `saving the state of ${pair} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }
}
