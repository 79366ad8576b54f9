/**
 * The service as `npm run bench:grpc` runs it: the real TradingService (server/adapters/trading-service.ts)
 * as server/main.ts composes it — migration controller, circuit breakers, one OrderBookManager per pair,
 * Performance Monitor, prom-client metrics, trading gate, session hooks, admin HTTP API (on a free loopback
 * port) and its timers — with the config read from the environment like main.ts does. Only the ports are
 * forced (GRPC_PORT/ADMIN_PORT 0 unless set) so several benches can run side by side.
 *
 * What it leaves out, on purpose: persistence (main.ts opens the journal; here TradingService runs
 * in-memory, its documented benchmark baseline), so the figures are the engine + gRPC path without the
 * ack-after-durable wait; and session logins (see AUTH_MODE below).
 *
 * MIGRATION_INITIAL_STATE decides how many books run, as in production:
 *   shadow       (the service's default) legacy book serves, adaptive book shadows every command (dual-run)
 *   legacy_only  legacy book alone
 *
 *   node --import tsx loadtest/grpc-bench-server.ts   # GRPC_HOST (127.0.0.1), GRPC_PORT (0), MIGRATION_INITIAL_STATE (shadow)
 *
 * Prints `grpc-bench-server listening for gRPC on HOST:PORT` once bound; drains and exits on SIGTERM/SIGINT.
 */
import { TradingService } from '../server/adapters/trading-service.ts';
import { loadConfig } from '../server/config.ts';

const quiet = { info: () => {}, error: (m: string, e?: unknown) => console.error(m, e) };

async function main(): Promise<void> {
  const config = loadConfig({
    ...process.env,
    GRPC_HOST: process.env.GRPC_HOST || '127.0.0.1',
    GRPC_PORT: process.env.GRPC_PORT || '0',
    ADMIN_HOST: process.env.ADMIN_HOST || '127.0.0.1',
    ADMIN_PORT: process.env.ADMIN_PORT || '0',
    // The load client names its accounts with x-account-id and sends far more than a trading account may:
    // the bench measures the engine, so header auth (loopback only) and limits out of the way, unless set.
    AUTH_MODE: process.env.AUTH_MODE || 'header',
    RATE_LIMIT_PER_SECOND: process.env.RATE_LIMIT_PER_SECOND || '10000000',
    RATE_LIMIT_BURST: process.env.RATE_LIMIT_BURST || '1000000000',
  });
  // Info logs (ramp ticks, alerts) would be written per event; errors still reach stderr.
  const service = new TradingService(config, { logger: process.env.BENCH_SERVER_LOG === '1' ? undefined : quiet });
  const { grpcPort, adminPort } = await service.start();
  console.log(
    `grpc-bench-server listening for gRPC on ${config.grpcHost}:${grpcPort} (TradingService; migration ${config.migrationInitialState}; ` +
      `books per pair: ${[...service.managers.values()][0]?.implementation ?? '?'}; admin on ${config.adminHost}:${adminPort})`,
  );

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    service.stop(5_000).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  console.error('grpc-bench-server failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
