/**
 * A ramp survives a restart (issue 13, item 12): the pair's migration state, percentage and ramp are
 * kept in pair_state (real PostgreSQL, a fresh schema); after a graceful stop and a new service on the
 * same schema, a running ramp runs on (hold restarted, next step scheduled) and a frozen one is shown
 * paused with how to continue it. Startup prints "adaptive-started" once per pair and the listening
 * state of each pair (item 15) — checked on the logger lines of the restarted service.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TradingService } from '../server/adapters/trading-service.ts';
import type { TestSchema } from '../server/adapters/postgres/test-schema.ts';
import { loadConfig } from '../server/config.ts';
import { openTestPersistence, testSchema } from './support/service-database.ts';

let schema: TestSchema;

beforeAll(async () => {
  schema = await testSchema('ts_ramp_restart');
});
afterAll(async () => {
  await schema?.drop();
});

async function start(lines: string[] = []) {
  const db = await openTestPersistence(schema);
  const logger = { info: (m: string) => lines.push(m), error: (m: string) => lines.push(`[error] ${m}`) };
  const service = new TradingService(
    loadConfig({ GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', ADMIN_PORT: '0', MIGRATION_INITIAL_STATE: 'shadow', RAMP_HOLD_MS: '3600000', SNAPSHOT_EVERY_COMMANDS: '0', SNAPSHOT_INTERVAL_MS: '0' }),
    { logger, persistence: db },
  );
  await service.start();
  return {
    service,
    async stop() {
      await service.stop(1_000);
      await db.close(5_000);
    },
  };
}

/** Until the pair_state rows hold what the service shows (saved on the service's tick). */
async function saved(pair: string, check: (doc: any) => boolean): Promise<void> {
  const db = await openTestPersistence(schema);
  try {
    for (let i = 0; i < 500; i++) {
      const doc = await db.pairState.load(pair);
      if (doc !== undefined && check(doc)) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`pair_state of ${pair} never matched; last ${JSON.stringify(await db.pairState.load(pair))}`);
  } finally {
    await db.close(1_000);
  }
}

describe('ramps across a restart', () => {
  it('a running ramp runs on after the restart; a frozen one is shown paused with how to continue', async () => {
    const first = await start();
    try {
      first.service.migration.startRamp('BTCUSDT', [5, 50, 100], 'test ramp');
      first.service.migration.startRamp('ETHUSDT', [10, 100], 'test ramp');
      first.service.migration.stopAll('frozen by the test'); // freezes both
      first.service.migration.startRamp('BTCUSDT', [5, 50, 100], 'running again'); // BTCUSDT runs, ETHUSDT stays frozen
      expect(first.service.migration.statusOf('BTCUSDT').ramp).toMatchObject({ active: true, frozen: false });
      expect(first.service.migration.statusOf('ETHUSDT').ramp).toMatchObject({ active: true, frozen: true });
      await saved('BTCUSDT', (d) => d.migration?.ramp?.frozen === false && d.migration.percentage === 5);
      await saved('ETHUSDT', (d) => d.migration?.ramp?.frozen === true && d.migration.percentage === 10);
    } finally {
      await first.stop();
    }

    const lines: string[] = [];
    const second = await start(lines);
    try {
      const btc = second.service.migration.statusOf('BTCUSDT');
      expect(btc).toMatchObject({ state: 'canary', current_percentage: 5, target_percentage: 100 });
      expect(btc.ramp).toMatchObject({ active: true, frozen: false, steps: [5, 50, 100], step_index: 0 });
      expect(btc.ramp.next_step_at).not.toBeNull();
      expect(btc.last_reason).toMatch(/resumed after restart at 5 %/);

      const eth = second.service.migration.statusOf('ETHUSDT');
      expect(eth).toMatchObject({ state: 'canary', current_percentage: 10 });
      expect(eth.ramp).toMatchObject({ active: true, frozen: true, steps: [10, 100], next_step_at: null });
      expect(eth.last_reason).toMatch(/restored paused after restart; continue it with POST \/admin\/migration\/ramp \{"pair": "ETHUSDT", "steps": \[10, 100\]\}/);
      expect(second.service.migration.summary()).toMatchObject({ active_ramps: 1, frozen_ramps: 1 });

      // Item 15: one "adaptive-started" per pair at start, after the restored states were applied.
      for (const pair of ['BTCUSDT', 'ETHUSDT', 'SOLUSDT']) {
        expect(lines.filter((l) => l.startsWith(`order-book-manager ${pair}: adaptive-started`))).toHaveLength(1);
      }
      expect(lines.some((l) => /pair state: BTCUSDT restored: migration canary 5 %, ramp resumed/.test(l))).toBe(true);
      expect(lines.some((l) => /pair state: ETHUSDT restored: migration canary 10 %, ramp paused/.test(l))).toBe(true);
    } finally {
      await second.stop();
    }
  });
});
