/**
 * Composition root: reads the config once, opens the persistence (DATABASE_URL, else the embedded
 * PostgreSQL under DATA_DIR), starts the TradingService (recovery, then gRPC + admin HTTP API), and
 * shuts down gracefully on SIGTERM/SIGINT: gRPC drained, journal drained, then the database stopped.
 * Nothing imports this module.
 */
import { loadConfig } from './config.ts';
import { TradingService } from './adapters/trading-service.ts';
import { openServicePersistence } from './adapters/durability/open-persistence.ts';

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
      `(migration starts ${config.migrationInitialState}; pairs: ${service.instruments.map((i) => i.symbol).join(', ')}` +
      `${config.adminToken ? '; admin token required' : ''}${config.chaosEnabled ? '; CHAOS ENDPOINTS ENABLED' : ''})`,
  );

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
