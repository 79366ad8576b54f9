/**
 * Composition root: reads the config once, opens the persistence (DATABASE_URL, else the embedded
 * PostgreSQL under DATA_DIR), starts the TradingService (recovery, then gRPC + admin HTTP API), and
 * shuts down gracefully on SIGTERM/SIGINT: gRPC drained, journal drained, then the database stopped.
 * Nothing imports this module.
 */
import { loadConfig } from './config.ts';
import { TradingService } from './adapters/trading-service.ts';
import { openServicePersistence } from './adapters/durability/open-persistence.ts';
import { describeDemoApiKey, ensureDemoApiKey } from './adapters/demo-account.ts';

/** "BTCUSDT canary 5 %" — the state each pair actually serves in after recovery (restored or MIGRATION_INITIAL_STATE). */
function describeMigration(service: TradingService, pair: string): string {
  const s = service.migration.statusOf(pair);
  const pct = s.state === 'canary' ? ` ${s.current_percentage} %` : '';
  const ramp = s.ramp.active ? (s.ramp.frozen ? ', ramp paused' : ', ramp running') : '';
  return `${pair} ${s.state}${pct}${ramp}`;
}

async function main(): Promise<void> {
  const config = loadConfig();
  const opened = await openServicePersistence(config, (line) => console.log(line));
  const service = new TradingService(config, { persistence: opened.persistence });
  let ports: { grpcPort: number; adminPort: number };
  try {
    ports = await service.start();
  } catch (err) {
    await opened.close(1_000).catch(() => {});
    throw err;
  }
  const { grpcPort, adminPort } = ports;
  console.log(`trading-service: journal in ${opened.description}`);
  console.log(
    `trading-service listening for gRPC on ${config.grpcHost}:${grpcPort}; admin HTTP on http://${config.adminHost}:${adminPort} ` +
      `(migration: ${service.instruments.map((i) => describeMigration(service, i.symbol)).join(', ')}` +
      `${config.adminToken ? '; admin token required' : ''}${config.chaosEnabled ? '; CHAOS ENDPOINTS ENABLED' : ''})`,
  );
  console.log(
    `trading-service: sessions in ${service.sessions.backend === 'redis' ? `Redis (REDIS_URL, prefix ${config.redisPrefix})` : 'the in-process store (no REDIS_URL: lost on restart)'}; ` +
      (config.authMode === 'header' ? 'AUTH_MODE=header: x-account-id is trusted without a session (loopback only)' : 'every OrdersService call needs authorization: Bearer <token> from SessionService.Login'),
  );
  // The demo account, so a new user can trade at once (created on first start; every start in-process).
  const localHost = config.grpcHost === '0.0.0.0' || config.grpcHost === '::' ? '127.0.0.1' : config.grpcHost;
  try {
    const demo = await ensureDemoApiKey(service.sessions);
    console.log(describeDemoApiKey(demo, `${localHost}:${grpcPort}`, `http://${config.adminHost}:${adminPort}`));
  } catch (err) {
    console.error(`trading-service: demo account not set up (${err instanceof Error ? err.message : String(err)}); create keys with POST /admin/accounts/{account}/api-keys once the session store answers`);
  }

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    console.log(`trading-service: ${signal} received; draining (up to ${config.shutdownGraceMs} ms)`);
    service
      .stop(config.shutdownGraceMs)
      .then(async (how) => {
        const left = await opened.close(config.shutdownGraceMs);
        return { how, left };
      })
      .then(
      ({ how, left }) => {
        console.log(`trading-service: stopped (${how})${left > 0 ? `; ${left} journal entries could not be written (their commands were never acknowledged)` : ''}`);
        process.exit(0);
      },
      (err: unknown) => {
        console.error('trading-service: shutdown failed', err);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  console.error('trading-service failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
